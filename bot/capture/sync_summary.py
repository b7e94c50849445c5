"""What one capture run of one source did, as counts and one log line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class SyncSummary:
    """Counts of one source's run; `error` is set when the run itself failed.

    `deferred` accounts are left for the next run (the API kept failing, or
    messages are still pending); `problems` are accounts skipped until
    someone acts (access revoked or never granted), with the reason.
    """

    source: str
    accounts: int = 0
    imported: int = 0
    duplicates: int = 0
    pending: int = 0
    retries: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    deferred: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    note: str | None = None
    error: str | None = None
    seconds: float = 0.0
    # A source with its own wording (Slack) hands its line over whole, and
    # says whether it has logged it already.
    detail: str | None = None
    logged: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        if self.error is not None:
            return f"{self.source}: failed after {self.seconds:.1f}s: {self.error}"
        if self.detail is not None:
            return self.detail
        if self.note is not None and not self.accounts:
            return f"{self.source}: {self.note}"
        parts = [
            f"{self.accounts} accounts, {self.imported} imported, "
            f"{self.duplicates} duplicates, {self.retries} retries, "
            f"{self.pending} pending"
        ]
        if self.skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in self.skipped.most_common())
            parts.append(f"skipped {reasons}")
        if self.deferred:
            parts.append(f"{len(self.deferred)} deferred to the next run")
        if self.problems:
            who = ", ".join(f"{box} ({why})" for box, why in self.problems)
            parts.append(f"no access to {who}")
        return f"{self.source}: " + "; ".join(parts) + f"; {self.seconds:.1f}s"
