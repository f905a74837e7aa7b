"""--force replaces only a folder mlops-nb made (a marker file): never a link, never user files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_nb.exceptions import ConfigError
from mlops_nb.productionize import steps


def _user_folder(path: Path) -> Path:
    (path / "app").mkdir(parents=True)
    (path / "app" / "main.py").write_text("my own app\n")
    (path / "notes.txt").write_text("canary\n")
    return path


def _files(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


def _made_by_us(tmp_path: Path, name: str = "svc") -> Path:
    out = tmp_path / name
    stage = steps.staging_dir(out)
    (stage / "app").mkdir()
    (stage / "app" / "main.py").write_text("generated\n")
    steps.publish(stage, out)
    return out


def test_a_user_folder_with_app_inside_is_refused_even_with_force(tmp_path: Path) -> None:
    out = _user_folder(tmp_path / "svc")
    before = _files(out)
    refused = r"not made by mlops-nb productionize .*even with --force"
    with pytest.raises(ConfigError, match=refused):
        steps.check_out_dir(out, force=True)
    with pytest.raises(ConfigError, match="pass --force to replace it"):
        steps.check_out_dir(out, force=False)
    assert _files(out) == before


def test_a_forged_metadata_file_is_not_a_marker(tmp_path: Path) -> None:
    out = _user_folder(tmp_path / "svc")
    (out / "model").mkdir()
    (out / "model" / "metadata.json").write_text(json.dumps({"generated_by": "mlops-nb 0.1.0"}))
    before = _files(out)
    with pytest.raises(ConfigError, match=r"has no \.mlops-nb-service file"):
        steps.check_out_dir(out, force=True)
    assert _files(out) == before


def test_a_symlink_is_refused_not_followed(tmp_path: Path) -> None:
    target = _made_by_us(tmp_path, "real-service")  # even a link to a service we made
    user = _user_folder(tmp_path / "user")
    for link_to in (user, target, tmp_path / "missing"):
        link = tmp_path / "linked-service"
        link.symlink_to(link_to, target_is_directory=True)
        for force in (True, False):
            with pytest.raises(ConfigError, match="is a symbolic link"):
                steps.check_out_dir(link, force=force)
        link.unlink()
    assert _files(user) == {"app/main.py": "my own app\n", "notes.txt": "canary\n"}
    assert (target / "app" / "main.py").read_text() == "generated\n"


def test_force_replaces_a_folder_we_made(tmp_path: Path) -> None:
    out = _made_by_us(tmp_path)
    marker = json.loads((out / steps.MARKER).read_text())
    assert marker["generated_by"] == "mlops-nb" and marker["version"]
    assert steps.check_out_dir(out, force=True) == out.resolve()
    stage = steps.staging_dir(out)
    (stage / "app").mkdir()
    (stage / "app" / "main.py").write_text("second\n")
    steps.publish(stage, out)
    assert set(_files(out)) == {"app/main.py", steps.MARKER}
    assert (out / "app" / "main.py").read_text() == "second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["svc"]  # no stage, no old copy left


def test_publish_rechecks_what_appeared_meanwhile(tmp_path: Path) -> None:
    out = tmp_path / "svc"
    assert steps.check_out_dir(out, force=True) == out
    stage = steps.staging_dir(out)
    _user_folder(out)  # a user folder appears while productionize runs
    with pytest.raises(ConfigError, match="appeared while productionize ran"):
        steps.publish(stage, out)
    assert _files(out) == {"app/main.py": "my own app\n", "notes.txt": "canary\n"}


def test_an_empty_folder_and_a_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert steps.check_out_dir(empty, force=False) == empty
    stage = steps.staging_dir(empty)
    steps.publish(stage, empty)
    assert (empty / steps.MARKER).is_file()
    file = tmp_path / "file-service"
    file.write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        steps.check_out_dir(file, force=True)
    assert file.read_text() == "x"
