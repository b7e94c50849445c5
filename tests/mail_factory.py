"""Building small mbox files for tests, one header block per message."""

from __future__ import annotations

from pathlib import Path


def message(
    sender: str,
    to: str,
    *,
    date: str = "Mon, 3 Mar 2025 10:00:00 -0000",
    cc: str | None = None,
    message_id: str | None = None,
    extra: dict[str, str] | None = None,
    envelope: str = "From MAILER-DAEMON Mon Mar  3 10:00:00 2025",
) -> str:
    lines = [envelope, f"From: {sender}", f"To: {to}"]
    if cc:
        lines.append(f"Cc: {cc}")
    if date is not None:
        lines.append(f"Date: {date}")
    if message_id:
        lines.append(f"Message-ID: <{message_id}>")
    for name, value in (extra or {}).items():
        lines.append(f"{name}: {value}")
    return "\n".join(lines) + "\n\nbody text that must never be stored\n\n"


def write_mbox(path: Path, messages: list[str]) -> Path:
    path.write_text("".join(messages), encoding="utf-8")
    return path
