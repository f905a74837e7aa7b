"""What the delivery worker tells the kernel that started it: one JSON object a line.

``delivered`` (a run reached the store), ``outage`` (the store cannot be used: runs stay queued),
``back`` (it can again, and the queued runs went out), ``failed`` (a record that can never be
delivered was set aside in ``failed/``, with the reason).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Literal

Kind = Literal["delivered", "outage", "back", "failed"]
KINDS = ("delivered", "outage", "back", "failed")


@dataclass(frozen=True)
class Event:
    kind: Kind
    record_id: str | None = None
    run_id: str | None = None
    experiment_id: str | None = None
    run_name: str | None = None
    uri: str | None = None
    error: str | None = None
    queued: int = 0
    delivered: int = 0
    where: str | None = None

    def encode(self) -> bytes:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}).encode() + b"\n"

    @classmethod
    def decode(cls, raw: bytes) -> Event | None:
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
