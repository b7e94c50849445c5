"""Opting out of Rapport and back in: `/rapport optout` and `/rapport optin`.

Opting out sets people.opted_out (captures and the graph then skip the person)
and deletes the edges already captured for them, in one transaction: their
participant rows, their place as sender, and every interaction of theirs left
with fewer than two participants. Notes people logged by hand stay: they are
records colleagues wrote, not captured metadata. Opting in only clears the
flag; the deleted edges come back only as new mail and meetings are captured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.crm import UsersInfo, person_for_slack_user
from bot.services import Services
from storage.connection import transaction
from storage.google import forget_account
from storage.sql import chunked, placeholders

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OptOutResult:
    person_id: int | None
    removed_participations: int
    removed_interactions: int
    already: bool = False


async def opt_out(
    services: Services,
    *,
    slack_user_id: str,
    users_info: UsersInfo | None = None,
    team_id: str | None = None,
) -> OptOutResult:
    """Exclude the user from Rapport and delete their captured edges, atomically.

    An unknown user is created (from users.info) only to carry the flag, so a
    later capture that meets them skips them from the start.
    """
    person_id = await person_for_slack_user(
        services, slack_user_id, users_info=users_info, team_id=team_id
    )
    if person_id is None:
        return OptOutResult(None, 0, 0)
    result = await delete_captured_edges(services, person_id)
    await services.graphs.refresh()
    logger.info(
        "Opted a person out: %d participations and %d interactions removed",
        result.removed_participations,
        result.removed_interactions,
    )
    return result


async def delete_captured_edges(services: Services, person_id: int) -> OptOutResult:
    """Set opted_out and delete the person's edges in one transaction."""
    db = services.db
    async with transaction(db):
        async with db.execute(
            "SELECT opted_out FROM people WHERE id = ?", (person_id,)
        ) as cursor:
            row = await cursor.fetchone()
        already = bool(row and row[0])
        async with db.execute(
            "SELECT interaction_id FROM interaction_participants WHERE person_id = ?",
            (person_id,),
        ) as cursor:
            touched = [r[0] for r in await cursor.fetchall()]
        cursor = await db.execute(
            "DELETE FROM interaction_participants WHERE person_id = ?", (person_id,)
        )
        removed_rows = cursor.rowcount
        # A sender without a participant row would still draw edges to every
        # recipient once the person opts back in.
        await db.execute(
            "UPDATE interactions SET sender_id = NULL WHERE sender_id = ?", (person_id,)
        )
        removed_interactions = 0
        for chunk in chunked(touched, 500):
            cursor = await db.execute(
                f"DELETE FROM interactions WHERE id IN ({placeholders(len(chunk))})"
                " AND (SELECT COUNT(*) FROM interaction_participants ip"
                "      WHERE ip.interaction_id = interactions.id) < 2",
                list(chunk),
            )
            removed_interactions += cursor.rowcount
        await db.execute("UPDATE people SET opted_out = 1 WHERE id = ?", (person_id,))
        # Their Gmail and Calendar cursors go too: an opt-in later starts a
        # fresh listing instead of reading what arrived while they were out.
        async with db.execute(
            "SELECT address_key FROM email_addresses WHERE person_id = ?", (person_id,)
        ) as cursor:
            for (mailbox,) in await cursor.fetchall():
                await forget_account(db, mailbox)
    return OptOutResult(person_id, removed_rows, removed_interactions, already=already)


async def opt_in(services: Services, *, slack_user_id: str) -> bool:
    """Clear the opt-out flag; False when the user was not opted out."""
    person_id = await person_for_slack_user(services, slack_user_id)
    if person_id is None:
        return False
    cursor = await services.db.execute(
        "UPDATE people SET opted_out = 0 WHERE id = ? AND opted_out = 1", (person_id,)
    )
    changed = cursor.rowcount > 0
    if changed:
        await services.graphs.refresh()
        logger.info("Opted a person back in")
    return changed
