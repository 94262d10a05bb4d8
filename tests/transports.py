"""Transports that only tests use: they stand in for ``SmtpTransport``.

``RecordingTransport`` keeps every message and plays back scripted results;
``FileTransport`` writes each message to a folder.  The real dry run
(``SendSession.dry_run``) writes its own numbered files and needs neither,
so they live here rather than in ``lgp_mailer.smtp``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lgp_mailer.smtp.transport import SendResult, TransportBase


def _safe_name(address: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", address)[:150] or "_"


class FileTransport(TransportBase):
    """Writes each message to ``outbox_dir/<recipient>.eml``."""

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.written: list[Path] = []

    def open(self) -> None:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)

    def send(self, msg: bytes, envelope_from: str, rcpt: str) -> SendResult:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        path = self.outbox_dir / f"{_safe_name(rcpt)}.eml"
        path.write_bytes(msg)  # bytes: exactly what SMTP would carry
        self.written.append(path)
        return SendResult("sent", 250, None, f"written to {path}", "file")


@dataclass
class Delivery:
    envelope_from: str
    rcpt: str
    msg: bytes


class RecordingTransport(TransportBase):
    """Keeps every message; ``script`` gives results per recipient
    (lower-cased), consumed in order, else ``sent``."""

    def __init__(self, script: Mapping[str, list[SendResult]] | None = None) -> None:
        self.script = {k.lower(): list(v) for k, v in (script or {}).items()}
        self.attempts: list[Delivery] = []
        self.delivered: list[Delivery] = []
        self.opened = self.closed = 0

    def open(self) -> None:
        self.opened += 1

    def close(self) -> None:
        self.closed += 1

    def send(self, msg: bytes, envelope_from: str, rcpt: str) -> SendResult:
        delivery = Delivery(envelope_from, rcpt, msg)
        self.attempts.append(delivery)
        queue = self.script.get(rcpt.lower())
        result = queue.pop(0) if queue else SendResult("sent", 250, "2.0.0", "ok", "dot")
        if result.status in ("sent", "unknown"):
            self.delivered.append(delivery)
        return result
