"""storage/crm.py and storage/drafts.py against a real migrated SQLite file."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from storage import crm as store
from storage import drafts
from storage.connection import transaction
from tests.crm_seed import NOW, log_note, make_services, seed_acme


@pytest.fixture
async def services(tmp_path):
    services = await make_services(tmp_path)
    try:
        yield services
    finally:
        await services.db.close()


async def test_private_entries_are_returned_only_when_the_viewer_logged_them(
    services,
):
    seeded = await seed_acme(services.db)
    await log_note(services, org_id=seeded.org_id, note="team", token="t1")
    await log_note(
        services, org_id=seeded.org_id, note="secret", token="t2", visibility="private"
    )

    as_ada = await store.logged_interactions(
        services.db, org_id=seeded.org_id, viewer_person_id=seeded.ada_id
    )
    as_bea = await store.logged_interactions(
        services.db, org_id=seeded.org_id, viewer_person_id=seeded.bea_id
    )
    as_nobody = await store.logged_interactions(services.db, org_id=seeded.org_id)

    assert sorted(i.note for i in as_ada) == ["secret", "team"]
    assert [i.note for i in as_bea] == ["team"]
    assert [i.note for i in as_nobody] == ["team"]
    assert (
        await store.count_logged(
            services.db, org_id=seeded.org_id, viewer_person_id=seeded.bea_id
        )
        == 1
    )


async def test_since_is_inclusive_and_until_exclusive_when_filtering_logs(services):
    seeded = await seed_acme(services.db)
    for n, day in enumerate(("2025-03-01", "2025-03-02", "2025-03-03")):
        await log_note(services, org_id=seeded.org_id, note=day, token=f"d{n}", day=day)

    found = await store.logged_interactions(
        services.db,
        since="2025-03-01T12:00:00+00:00",
        until="2025-03-03T12:00:00+00:00",
    )

    assert [i.note for i in found] == ["2025-03-02", "2025-03-01"]


async def test_followups_are_due_on_or_before_the_date_and_respect_visibility(
    services,
):
    seeded = await seed_acme(services.db)
    await log_note(
        services, org_id=seeded.org_id, note="a", token="f1", followup_on="2025-03-12"
    )
    await log_note(
        services,
        org_id=seeded.org_id,
        note="b",
        token="f2",
        followup_on="2025-03-14",
        visibility="private",
    )

    owner = await store.followups_due(
        services.db, person_id=seeded.ada_id, due_before="2025-03-14"
    )
    team = await store.followups_due(services.db, due_before=date(2025, 3, 31))
    early = await store.followups_due(services.db, due_before="2025-03-11")

    assert [f.note for f in owner] == ["a", "b"]
    assert [f.note for f in team] == ["a"]
    assert early == []


async def test_done_and_snoozed_followups_leave_the_due_list(services):
    seeded = await seed_acme(services.db)
    for n in range(2):
        await log_note(
            services,
            org_id=seeded.org_id,
            note=str(n),
            token=f"s{n}",
            followup_on="2025-03-10",
        )
    first, second = await store.followups_due(services.db, due_before="2025-03-10")

    assert await store.mark_followup_done(services.db, first.id, done_at=NOW)
    assert not await store.mark_followup_done(services.db, first.id, done_at=NOW)
    assert await store.snooze_followup(
        services.db, second.id, until=date(2025, 3, 10) + timedelta(days=7)
    )

    assert await store.followups_due(services.db, due_before="2025-03-16") == []
    [snoozed] = await store.followups_due(services.db, due_before="2025-03-17")
    assert snoozed.due_on == "2025-03-17"


async def test_a_draft_is_read_back_whole_by_its_owner_only(services):
    data = {
        "note": "x" * 40_000,
        "candidates": [{"ref": f"u:U{n:04d}"} for n in range(40)],
    }
    async with transaction(services.db):
        draft = await drafts.create_draft(
            services.db, slack_user_id="U1", data=data, now=NOW
        )

    again = await drafts.get_draft(services.db, draft.id, slack_user_id="U1")

    assert again is not None and again.data == data
    assert again.client_token == draft.client_token
    assert len(draft.id) <= 20
    assert await drafts.get_draft(services.db, draft.id, slack_user_id="U2") is None


async def test_expired_drafts_are_dropped_when_a_new_one_is_made(services):
    async with transaction(services.db):
        old = await drafts.create_draft(
            services.db, slack_user_id="U1", data={}, now=NOW - timedelta(days=8)
        )
        await drafts.create_draft(services.db, slack_user_id="U1", data={}, now=NOW)

    assert await drafts.get_draft(services.db, old.id) is None
