"""Properties the relationship score must have, whatever the constants."""

from __future__ import annotations

import pytest

from bot.scoring import (
    DEFAULT_SCORING,
    PairStats,
    decay,
    effective,
    exclusivity,
    explain,
    to_score,
)

DAY = 86400.0


def score(out: float, inbound: float, shared: float = 0.0) -> float:
    return to_score(effective(out, inbound, shared, DEFAULT_SCORING), DEFAULT_SCORING)


def test_recent_contact_scores_above_older_contact():
    recent = decay(10 * DAY, DEFAULT_SCORING)
    old = decay(400 * DAY, DEFAULT_SCORING)

    assert score(recent, recent) > score(old, old)


def test_two_way_scores_far_above_one_way_with_the_same_volume():
    assert effective(5, 5, 0, DEFAULT_SCORING) > 3 * effective(
        10, 0, 0, DEFAULT_SCORING
    )
    assert score(5, 5) > 2 * score(10, 0)


def test_one_to_one_above_small_group_above_large_group():
    one = exclusivity(2, "to", DEFAULT_SCORING)
    small = exclusivity(4, "to", DEFAULT_SCORING)
    large = exclusivity(200, "to", DEFAULT_SCORING)

    assert one > small > large
    assert exclusivity(2, "cc", DEFAULT_SCORING) < one


@pytest.mark.parametrize("inbound", [0.0, 3.0, 10.0])
def test_score_is_monotone_in_frequency(inbound):
    scores = [score(out, inbound) for out in range(30)]

    assert all(a < b for a, b in zip(scores, scores[1:], strict=False))
    assert all(0.0 <= s < 100.0 for s in scores)


def test_meetings_and_logged_interactions_outweigh_email_and_slack():
    channels = DEFAULT_SCORING.channels

    assert channels["meeting"] > channels["email"] > channels["slack"]
    assert channels["logged"] > channels["email"]


def test_half_life_halves_the_weight():
    assert decay(180 * DAY, DEFAULT_SCORING) == pytest.approx(0.5)


def test_explanation_states_counts_people_and_last_date():
    stats = PairStats(out=3, inbound=3, sent=8, received=6, last=984355200.0)

    assert (
        explain(stats, people=3)
        == "14 emails both ways with 3 people, last 12 Mar 2001"
    )


def test_explanation_says_when_mail_went_one_way_only():
    stats = PairStats(out=1, sent=2, meetings=1, last=984355200.0)

    assert explain(stats) == "2 emails sent, none back, 1 meeting, last 12 Mar 2001"
