"""Block Kit for CRM confirmations, organisation choices and ephemeral replies."""

from __future__ import annotations

from bot.crm import LogResult
from bot.queries import Match
from handlers.blocks.common import MAX_FALLBACK_TEXT, actions, button, cut, section
from handlers.blocks.crm_card import _day
from handlers.blocks.crm_form import org_label
from handlers.blocks.crm_ids import SHOW_CARD
from handlers.blocks.crm_wording import (
    KIND_LABELS,
    LOG_NEW_ORG_BUTTON,
    LOG_USAGE,
    LOGGED,
    LOGGED_NO_ORG,
    LOGGED_PRIVATE,
    ORG_CLOSEST,
    ORG_NONE,
    ORG_SEVERAL,
    SHOW_CARD_BUTTON,
)
from handlers.escape import escape


def logged_message(result: LogResult) -> dict:
    private = LOGGED_PRIVATE if result.visibility == "private" else ""
    kind = KIND_LABELS.get(result.kind, result.kind).lower()
    kind = (
        "a note" if kind == "note" else f"a {kind}" if kind != "email" else "an email"
    )
    day = _day(result.occurred_at)
    if result.org_name:
        text = LOGGED.format(
            kind=kind, org=escape(result.org_name), day=day, private=private
        )
    else:
        text = LOGGED_NO_ORG.format(kind=kind, day=day, private=private)
    blocks: list[dict] = [section(":white_check_mark: " + text)]
    if result.org_id is not None and result.org_name:
        blocks.append(
            actions(
                button(
                    cut(SHOW_CARD_BUTTON.format(org=result.org_name), 75),
                    action_id=SHOW_CARD,
                    value=str(result.org_id),
                )
            )
        )
    return {"text": cut(text, MAX_FALLBACK_TEXT), "blocks": blocks}


def org_choices_message(
    query: str,
    choices: tuple[Match, ...],
    *,
    action_id: str,
    value_prefix: str = "",
    new_org_value: str | None = None,
) -> dict:
    """The answer to an unknown or ambiguous organisation: choices, not a guess."""
    if len(choices) > 1:
        intro = ORG_SEVERAL.format(query=escape(query))
    elif choices:
        intro = ORG_NONE.format(query=escape(query)) + " " + ORG_CLOSEST
    else:
        intro = ORG_NONE.format(query=escape(query))
    buttons = [
        button(
            org_label(m.name, m.domains),
            action_id=f"{action_id}_{i}",
            value=f"{value_prefix}org:{m.id}",
        )
        for i, m in enumerate(choices[:5])
    ]
    if new_org_value is not None:
        name = " ".join(query.split())
        buttons.append(
            button(
                cut(LOG_NEW_ORG_BUTTON.format(name=name), 75),
                action_id=f"{action_id}_new",
                value=new_org_value,
            )
        )
    blocks = [section(intro)]
    if buttons:
        blocks.append(actions(*buttons))
    return {
        "response_type": "ephemeral",
        "text": cut(intro, MAX_FALLBACK_TEXT),
        "blocks": blocks,
    }


def log_usage_message() -> dict:
    return {
        "response_type": "ephemeral",
        "text": LOG_USAGE,
        "blocks": [section(LOG_USAGE)],
    }


def text_message(text: str) -> dict:
    return {"response_type": "ephemeral", "text": text, "blocks": [section(text)]}
