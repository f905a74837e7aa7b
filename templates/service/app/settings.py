"""Settings from the environment, read once when the app is created."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class Settings:
    model_dir: Path
    api_key: str | None
    max_body_bytes: int
    max_batch_rows: int
    max_concurrency: int
    body_timeout: float
    threadpool_rows: int
    engine: str
    micro_batch: str
    micro_batch_rows: int
    monitor_capacity: int
    monitor_min_rows: int
    monitor_dir: Path | None
    monitor_flush_seconds: int
    monitor_files: int
    log_level: str
    access_log: bool

    @classmethod
    def from_env(cls) -> Settings:
        monitor_dir = os.environ.get("MONITOR_DIR")
        return cls(
            model_dir=Path(os.environ.get("MODEL_DIR") or SERVICE_DIR / "model"),
            api_key=os.environ.get("API_KEY") or None,
            max_body_bytes=_int("MAX_BODY_BYTES", 10_000_000),
            max_batch_rows=_int("MAX_BATCH_ROWS", 10_000),
            max_concurrency=_int("MAX_CONCURRENCY", 64),
            body_timeout=_float("BODY_TIMEOUT", 30.0),
            threadpool_rows=_int("THREADPOOL_ROWS", 256),
            engine=os.environ.get("ENGINE", "auto").lower(),
            micro_batch=os.environ.get("MICRO_BATCH", "auto").lower(),
            micro_batch_rows=_int("MICRO_BATCH_ROWS", 64),
            monitor_capacity=_int("MONITOR_CAPACITY", 10_000),
            monitor_min_rows=_int("MONITOR_MIN_ROWS", 30),
            monitor_dir=Path(monitor_dir) if monitor_dir else None,
            monitor_flush_seconds=_int("MONITOR_FLUSH_SECONDS", 30),
            monitor_files=_int("MONITOR_FILES", 5),
            log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
            access_log=os.environ.get("ACCESS_LOG", "0") == "1",
        )
