"""Opting out deletes a person's captured edges at once; opting in clears the flag."""

from __future__ import annotations

import pytest

from bot import privacy
from storage.connection import transaction
from storage.interactions import NewInteraction, insert_interactions
from tests.crm_seed import (
    ADA_SLACK_ID,
    BEA_SLACK_ID,
    SEED_TIME,
    log_note,
    make_services,
    seed_acme,
)


@pytest.fixture
async def services(tmp_path):
    services = await make_services(tmp_path)
    try:
        yield services
    finally:
        await services.db.close()


async def _count(db, sql: str, *params) -> int:
    async with db.execute(sql, params) as cursor:
        return (await cursor.fetchone())[0]


async def _group_mail(db, sender: int, recipients: list[int]) -> None:
    async with transaction(db):
        await insert_interactions(
            db,
            [
                NewInteraction(
                    keys=("msgid:group-1",),
                    source="mbox",
                    occurred_at=SEED_TIME.isoformat(),
                    kind="email",
                    sender_id=sender,
                    participants={sender: "from", **{r: "to" for r in recipients}},
                )
            ],
        )


async def test_opting_out_deletes_the_persons_edges_and_their_lonely_interactions(
    services,
):
    seeded = await seed_acme(services.db, contacts=6, with_mail=5)
    await _group_mail(services.db, seeded.ada_id, seeded.contact_ids[:3])
    await services.graphs.refresh()
    before = await _count(services.db, "SELECT COUNT(*) FROM interactions")

    result = await privacy.opt_out(services, slack_user_id=ADA_SLACK_ID)

    # Ada's ten 1:1 emails go; the group mail keeps its three recipients.
    assert result.removed_interactions == 10
    assert result.removed_participations == 11
    assert await _count(services.db, "SELECT COUNT(*) FROM interactions") == before - 10
    assert (
        await _count(
            services.db,
            "SELECT COUNT(*) FROM interaction_participants WHERE person_id = ?",
            seeded.ada_id,
        )
        == 0
    )
    assert (
        await _count(
            services.db,
            "SELECT COUNT(*) FROM interactions WHERE sender_id = ?",
            seeded.ada_id,
        )
        == 0
    )
    assert (
        await _count(
            services.db, "SELECT opted_out FROM people WHERE id = ?", seeded.ada_id
        )
        == 1
    )
    graph, _ = await services.graphs.current()
    assert seeded.ada_id not in graph.people


async def test_opting_out_leaves_other_peoples_single_participant_logs_alone(
    services,
):
    seeded = await seed_acme(services.db, contacts=2, with_mail=0)
    # A note Bea logged with no contacts: one participant from the start.
    await log_note(
        services,
        org_id=seeded.org_id,
        note="solo",
        token="solo",
        slack_user_id=BEA_SLACK_ID,
    )

    await privacy.opt_out(services, slack_user_id=ADA_SLACK_ID)

    assert (
        await _count(
            services.db, "SELECT COUNT(*) FROM interactions WHERE kind = 'logged'"
        )
        == 1
    )


async def test_opting_back_in_clears_the_flag_but_not_the_deletion(services):
    seeded = await seed_acme(services.db, contacts=3, with_mail=3)
    await privacy.opt_out(services, slack_user_id=ADA_SLACK_ID)

    assert await privacy.opt_in(services, slack_user_id=ADA_SLACK_ID)
    assert not await privacy.opt_in(services, slack_user_id=ADA_SLACK_ID)

    graph, _ = await services.graphs.current()
    assert seeded.ada_id in graph.people
    assert graph.pair(seeded.ada_id, seeded.contact_ids[0]) is None


async def test_a_failure_midway_rolls_the_whole_opt_out_back(services):
    seeded = await seed_acme(services.db, contacts=3, with_mail=3)
    before = await _count(services.db, "SELECT COUNT(*) FROM interaction_participants")
    # A trigger makes the final flag update fail after the deletes ran.
    await services.db.execute(
        "CREATE TEMP TRIGGER refuse BEFORE UPDATE OF opted_out ON people"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )

    with pytest.raises(Exception, match="refused"):
        await privacy.opt_out(services, slack_user_id=ADA_SLACK_ID)

    assert (
        await _count(services.db, "SELECT COUNT(*) FROM interaction_participants")
        == before
    )
    assert (
        await _count(
            services.db, "SELECT opted_out FROM people WHERE id = ?", seeded.ada_id
        )
        == 0
    )


async def test_an_unknown_user_who_opts_out_is_recorded_from_users_info(services):
    await seed_acme(services.db, contacts=1, with_mail=0)

    async def users_info(user_id):
        return {"id": user_id, "team_id": "T1", "profile": {"real_name": "Dee"}}

    result = await privacy.opt_out(
        services, slack_user_id="U0DEE00004", users_info=users_info, team_id="T1"
    )

    assert result.person_id is not None
    assert (
        await _count(
            services.db,
            "SELECT opted_out FROM people WHERE slack_user_id = 'U0DEE00004'",
        )
        == 1
    )
