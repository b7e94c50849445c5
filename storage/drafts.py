"""Drafts behind open modals: what a form needs on submission, kept in SQLite.

Slack caps a view's private_metadata at 3,000 characters, and a message
shortcut can bring a 40,000-character message and dozens of people; so the
view carries only the draft id and the rest waits here.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

# Long enough for a form left open over a weekend.
DRAFT_LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Draft:
    id: str
    slack_user_id: str
    data: dict
    client_token: str
    logged_id: int | None
    created_at: str


async def create_draft(
    db: aiosqlite.Connection, *, slack_user_id: str, data: dict, now: datetime
) -> Draft:
    """Store a new draft (and drop expired ones); its id is short and unguessable."""
    draft = Draft(
        id=secrets.token_urlsafe(12),
        slack_user_id=slack_user_id,
        data=data,
        client_token=uuid.uuid4().hex,
        logged_id=None,
        created_at=now.isoformat(),
    )
    await db.execute(
        "DELETE FROM modal_drafts WHERE created_at < ?",
        ((now - DRAFT_LIFETIME).isoformat(),),
    )
    await db.execute(
        "INSERT INTO modal_drafts (id, slack_user_id, data, client_token, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            draft.id,
            slack_user_id,
            json.dumps(data, ensure_ascii=False),
            draft.client_token,
            draft.created_at,
        ),
    )
    return draft


async def get_draft(
    db: aiosqlite.Connection, draft_id: str, *, slack_user_id: str | None = None
) -> Draft | None:
    """The draft, or None when unknown, expired, or owned by another user."""
    async with db.execute(
        "SELECT id, slack_user_id, data, client_token, logged_id, created_at"
        " FROM modal_drafts WHERE id = ?",
        (draft_id,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None or (slack_user_id is not None and row[1] != slack_user_id):
        return None
    return Draft(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5])


async def mark_draft_logged(
    db: aiosqlite.Connection, draft_id: str, logged_id: int
) -> None:
    """Record the entry the draft became and drop its content.

    The message text a shortcut brought along is kept no longer than the form
    is open; the row stays so a repeated submission still finds `logged_id`.
    """
    await db.execute(
        "UPDATE modal_drafts SET logged_id = ?, data = '{}' WHERE id = ?",
        (logged_id, draft_id),
    )


async def delete_draft(
    db: aiosqlite.Connection, draft_id: str, *, slack_user_id: str
) -> None:
    """Forget a draft whose form was closed without being logged."""
    await db.execute(
        "DELETE FROM modal_drafts WHERE id = ? AND slack_user_id = ?"
        " AND logged_id IS NULL",
        (draft_id, slack_user_id),
    )
