"""``%%track`` and ``%mlops``: thin adapters over :mod:`mlops_nb.tracking.session`.

``%load_ext mlops_nb`` only registers the magics and starts the background writer (which
imports MLflow off the critical path); it does not import MLflow, pandas or scikit-learn itself.
"""

from __future__ import annotations

import time
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from mlops_nb.config import configure, get_settings
from mlops_nb.tracking import capture
from mlops_nb.tracking.recorder import CellRun
from mlops_nb.tracking.runner import Observation, execute, new_open_figures
from mlops_nb.tracking.session import cell_key, get_session, namespace_params, reset_session


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _tags(values: list[str] | None) -> dict[str, str]:
    tags = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            from mlops_nb.exceptions import ConfigError

            raise ConfigError(f"--tag expects key=value, got {item!r}")
        tags[key] = value
    return tags


@magics_class
class TrackMagics(Magics):
    """The magics; state lives in the tracking session, not here."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.cell_id: str | None = None

    def pre_run_cell(self, info: Any) -> None:
        self.cell_id = getattr(info, "cell_id", None)

    @magic_arguments()
    @argument("--experiment", "-e", help="MLflow experiment (default: the notebook's name)")
    @argument("--name", "-n", help="run name (default: the model class, else cell-<count>)")
    @argument("--tag", "-t", action="append", help="extra tag key=value (repeatable)")
    @argument("--params", action="append", help="also log these variables as params: a,b")
    @argument("--metrics", action="append", help="also log these variables as metrics: x,y")
    @argument("--no-model", action="store_true", help="do not log fitted models")
    @argument("--no-env", action="store_true", help="do not log pip freeze / Python version")
    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Run the cell and record it as one MLflow run (params, metrics, models, figures...)."""
        __tracebackhide__ = True  # IPython shows the user's frames, not ours
        args = parse_argstring(self.track, line)
        user_tags = _tags(args.tag)
        shell = self.shell
        assert shell is not None
        session = get_session()
        ns = shell.user_ns
        transformed = shell.transform_cell(cell)
        info = capture.analyze_source(transformed)
        before = capture.snapshot(ns)
        shown = capture.ShownMetrics()
        error: BaseException | None = None
        result = None
        started, t0 = time.time(), time.perf_counter()
        with Observation(shell) as seen:
            try:
                result = execute(shell, cell, transformed, shown.observe)
            except BaseException as exc:
                error = exc
        duration = time.perf_counter() - t0
        try:
            self._record(
                args, user_tags, cell, info, before, seen, shown, error, started, duration, session
            )
        except Exception as exc:  # tracking never breaks the cell
            session.report_once("magic", f"mlops-nb: this cell was not tracked: {exc}")
        if error is not None:
            raise error
        return result

    def _record(
        self,
        args: Any,
        user_tags: dict[str, str],
        cell: str,
        info: capture.SourceInfo,
        before: capture.Snapshot,
        seen: Observation,
        shown: capture.ShownMetrics,
        error: BaseException | None,
        started: float,
        duration: float,
        session: Any,
    ) -> None:
        from IPython.display import display

        from mlops_nb.tracking.context import detect_notebook
        from mlops_nb.tracking.widget import RunCard

        shell = self.shell
        assert shell is not None
        ns = shell.user_ns
        notebook = detect_notebook(ns)
        injected = namespace_params(session.parameter_names(notebook.path), ns)
        cap = capture.collect(
            before,
            ns,
            info,
            explicit_params=_split(args.params),
            explicit_metrics=_split(args.metrics),
            injected_params=injected,
            shown_metrics=shown.values,
            models=not args.no_model,
        )
        cap.open_figures = new_open_figures(seen.figures_before)
        run = CellRun(
            source=cell,
            started=started,
            duration=duration,
            namespace=ns,
            capture=cap,
            error=error,
            experiment=args.experiment,
            run_name=args.name,
            user_tags=user_tags,
            cell_id=self.cell_id,
            cell_key=cell_key(cell, self.cell_id, args.name),
            execution_count=shell.execution_count,
            displayed_images=seen.images,
            displayed_plotly=seen.plotly,
            log_env=not args.no_env,
        )
        card = session.record(run, card=RunCard.create())
        if card is not None:
            display(card)

    @line_magic
    def mlops(self, line: str) -> Any:
        """``%mlops config [--tracking-uri U] [--experiment E]`` | ``status`` | ``flush [s]`` |
        ``sync``."""
        words = line.split()
        command = words[0] if words else "status"
        if command == "config":
            return self._config(words[1:])
        if command == "flush":
            timeout = float(words[1]) if len(words) > 1 else 60.0
            ok = get_session().flush(timeout)
            pending = len(get_session().outbox.pending())
            print("mlops-nb: all runs delivered" if ok else f"mlops-nb: {pending} run(s) queued")
            return None
        if command == "sync":
            from mlops_nb.tracking.api import sync
            from mlops_nb.tracking.status import summary

            print("mlops-nb: " + summary(sync(retry_failed="--retry-failed" in words)))
            return None
        if command == "status":
            from mlops_nb.tracking.status import status_lines

            session = get_session()
            for line in status_lines(session.outbox, session.client.outage, session.held):
                print(line)
            return None
        if command in ("promote", "card"):  # the registry's: mlops_nb/registry/magics.py
            from mlops_nb.registry.magics import run_line

            shell = self.shell
            assert shell is not None
            return run_line(command, line.strip()[len(command) :], shell.user_ns)
        from mlops_nb.exceptions import ConfigError

        raise ConfigError(f"unknown %mlops command {command!r}: use config, status, flush or sync")

    def _config(self, words: list[str]) -> None:
        values: dict[str, str | None] = {}
        it = iter(words)
        for word in it:
            key = word.lstrip("-").replace("-", "_")
            values[key] = next(it, None)
        if values:  # tracked cells only: the user's own `import mlflow` keeps its settings
            spool = get_settings().spool_dir
            configure(**values)
            if get_settings().spool_dir != spool:  # records name their store: one worker serves
                reset_session()  # any store; only another outbox needs another worker
            get_session().start()
        settings = get_settings()
        print(f"tracking uri: {settings.tracking_uri}\nexperiment:   {settings.experiment}")


_loaded: dict[int, TrackMagics] = {}


def _after_cell(result: Any = None) -> None:
    """After every cell: runs held in memory go to the outbox, notices are printed."""
    get_session().tick()


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics and start the delivery worker. Never raises: a read-only or full
    ``MLOPS_NB_HOME`` is reported in one line (tracking resumes when it can write again)."""
    magics = TrackMagics(ipython)
    ipython.register_magics(magics)
    ipython.events.register("pre_run_cell", magics.pre_run_cell)
    if _after_cell not in ipython.events.callbacks["post_run_cell"]:
        ipython.events.register("post_run_cell", _after_cell)
    _loaded[id(ipython)] = magics
    try:
        from mlops_nb.monitoring.magics import register_magics
    except ImportError:
        pass
    else:
        register_magics(ipython)
    try:
        get_session().start()
    except Exception as exc:  # pragma: no cover - start() reports its own failures
        print(f"mlops-nb: tracking is not available: {exc}")


def unload_ipython_extension(ipython: Any) -> None:
    magics = _loaded.pop(id(ipython), None)
    if magics is not None:
        ipython.events.unregister("pre_run_cell", magics.pre_run_cell)
        if _after_cell in ipython.events.callbacks["post_run_cell"]:
            ipython.events.unregister("post_run_cell", _after_cell)
