"""Relationship strength: the formula, its defaults and its explanation.

Each interaction between a colleague and an outside contact adds a weight

    w = channel[kind] x exclusivity x decay

    exclusivity = role x 1 / sqrt(people on it - 1)     (to: 1, cc: 0.5)
    decay       = 0.5 ** (age in days / half-life)      (default 180 days)

to one of three sums for the pair: sent by the colleague (out), received by
the colleague (in), or shared (meetings and logged interactions count both
ways). Two-way contact counts far more than one-way:

    effective = 2 x min(out, in) + one_way x |out - in| + shared
    score     = 100 x (1 - exp(-effective / saturation))

A colleague's score with an organisation applies the same curve to the sum of
their effective weights with everyone there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    half_life_days: float = 180.0
    saturation: float = 8.0
    one_way: float = 0.3
    cc: float = 0.5
    channels: dict[str, float] = field(
        default_factory=lambda: {
            "meeting": 3.0,
            "logged": 3.0,
            "email": 1.0,
            "slack": 0.6,
        }
    )

    def channel(self, kind: str) -> float:
        return self.channels.get(kind, 0.5)


DEFAULT_SCORING = ScoringConfig()


def exclusivity(participant_count: int, role: str, config: ScoringConfig) -> float:
    """1:1 above small groups above large ones; cc below to."""
    others = max(participant_count - 1, 1)
    factor = 1.0 / math.sqrt(others)
    return factor * (config.cc if role == "cc" else 1.0)


def decay(age_seconds: float, config: ScoringConfig) -> float:
    age_days = max(age_seconds, 0.0) / SECONDS_PER_DAY
    return 0.5 ** (age_days / config.half_life_days)


def effective(
    out: float, inbound: float, shared: float, config: ScoringConfig
) -> float:
    return 2.0 * min(out, inbound) + config.one_way * abs(out - inbound) + shared


def to_score(effective_weight: float, config: ScoringConfig) -> float:
    return 100.0 * (1.0 - math.exp(-effective_weight / config.saturation))


@dataclass(slots=True)
class PairStats:
    """What one colleague and one outside contact have done together."""

    out: float = 0.0
    inbound: float = 0.0
    shared: float = 0.0
    sent: int = 0
    received: int = 0
    meetings: int = 0
    logged: int = 0
    slack: int = 0
    last: float = 0.0  # epoch seconds of the latest interaction

    def add(self, other: PairStats) -> None:
        self.out += other.out
        self.inbound += other.inbound
        self.shared += other.shared
        self.sent += other.sent
        self.received += other.received
        self.meetings += other.meetings
        self.logged += other.logged
        self.slack += other.slack
        self.last = max(self.last, other.last)

    def effective(self, config: ScoringConfig) -> float:
        return effective(self.out, self.inbound, self.shared, config)


def explain(stats: PairStats, *, people: int | None = None) -> str:
    """A short, true sentence: "14 emails both ways with 3 people, last 12 Mar 2001"."""
    parts = []
    emails = stats.sent + stats.received
    if stats.sent and stats.received:
        parts.append(f"{_n(emails, 'email')} both ways")
    elif stats.sent:
        parts.append(f"{_n(stats.sent, 'email')} sent, none back")
    elif stats.received:
        parts.append(f"{_n(stats.received, 'email')} received, none sent")
    if stats.meetings:
        parts.append(_n(stats.meetings, "meeting"))
    if stats.logged:
        parts.append(_n(stats.logged, "logged interaction"))
    if stats.slack:
        parts.append(_n(stats.slack, "Slack message"))
    text = ", ".join(parts) or "no direct contact"
    if people is not None:
        text += f" with {_n(people, 'person', 'people')}"
    if stats.last:
        text += f", last {format_day(datetime.fromtimestamp(stats.last, UTC))}"
    return text


def format_day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
