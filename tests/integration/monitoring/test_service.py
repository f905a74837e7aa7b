"""``drift(service=URL)`` and ``mlops-nb drift --service`` against a real HTTP service."""

from __future__ import annotations

import json

import pytest
from drift_data import customers

import mlops_nb
from mlops_nb.cli import main
from mlops_nb.monitoring.errors import DriftServiceError


def test_widget_flips_when_live_traffic_shifts(service) -> None:
    service.send(customers(600, seed=2))
    calm = mlops_nb.drift(service=service.url)
    assert calm.dataset_drift is False and calm.drifted_columns == []
    assert calm.summary["current_rows"] == 600

    service.send(customers(1000, seed=3, shift=("age", "income", "plan", "region")))
    shifted = mlops_nb.drift(service=service.url)

    assert shifted.dataset_drift is True
    assert shifted.drifted_columns == ["age", "income", "plan", "region"]
    w = shifted.widget()
    assert w.summary["dataset_drift"] is True
    assert set(shifted.drifted_columns) <= set(w.distributions)
    assert "on 1,000 recorded inputs vs 2,000 reference rows" in w.note
    assert "latest 1,000 of 1,600 inputs seen" in w.note
    html = shifted.to_html()  # the full Evidently report on the fetched rows
    assert '"column_name": "region"' in html


def test_cli_gates_on_live_drift(service, capsys) -> None:
    service.send(customers(500, seed=2))
    assert main(["drift", "--service", service.url, "--fail-on-drift"]) == 0
    service.send(customers(1000, seed=3, shift=("age", "income", "plan", "region")))
    assert main(["drift", "--service", service.url, "--fail-on-drift", "--json"]) == 1
    out = capsys.readouterr().out
    summary = json.loads(out[out.index("{\n") :])
    assert summary["dataset_drift"] is True and summary["n_drifted"] == 4


def test_unreachable_and_foreign_services_fail_clearly(broken_service, capsys) -> None:
    from support import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DriftServiceError, match=r"cannot reach .*is the service running"):
        mlops_nb.drift(service=dead)
    assert main(["drift", "--service", dead]) == 2
    with pytest.raises(DriftServiceError, match="unexpected summary"):
        mlops_nb.drift(service=broken_service)
    with pytest.raises(DriftServiceError, match="404"):
        mlops_nb.drift(service=broken_service + "/nothing-here")


def test_api_key_is_sent_when_given(keyed_service, monkeypatch) -> None:
    import httpx

    rows = customers(200, seed=2).to_dict("records")
    headers = {"X-API-Key": "s3cret"}
    httpx.post(keyed_service.url + "/predict", json={"records": rows}, headers=headers)
    with pytest.raises(DriftServiceError, match="needs an API key"):
        mlops_nb.drift(service=keyed_service.url)
    assert mlops_nb.drift(service=keyed_service.url, api_key="s3cret").summary["n_columns"] == 6
    monkeypatch.setenv("MLOPS_NB_SERVICE_API_KEY", "s3cret")
    assert main(["drift", "--service", keyed_service.url]) == 0
