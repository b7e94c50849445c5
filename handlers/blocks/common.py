"""Block Kit limits and the small builders every surface shares."""

from __future__ import annotations

from handlers.escape import escape

# Slack's documented limits; the fake Web API in tests enforces the same.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_OPTION_TEXT = 75
MAX_BUTTON_TEXT = 75
MAX_MODAL_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_FALLBACK_TEXT = 3000
EMPTY = "—"


def cut(text: str, limit: int) -> str:
    """Shorten to `limit` characters, ending with "…" when anything was dropped."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def mrkdwn(text: str, *, limit: int = MAX_SECTION_TEXT) -> dict:
    return {"type": "mrkdwn", "text": cut(text or EMPTY, limit)}


def plain(text: str, *, limit: int = MAX_SECTION_TEXT, emoji: bool = True) -> dict:
    return {"type": "plain_text", "text": cut(text or EMPTY, limit), "emoji": emoji}


def section(
    text: str, *, accessory: dict | None = None, block_id: str | None = None
) -> dict:
    """A section whose mrkdwn text the caller has already escaped where needed."""
    block: dict = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> dict:
    return {"type": "header", "text": plain(text, limit=MAX_HEADER_TEXT)}


def context(*texts: str) -> dict:
    return {
        "type": "context",
        "elements": [mrkdwn(t) for t in texts[:MAX_CONTEXT_ELEMENTS]],
    }


def divider() -> dict:
    return {"type": "divider"}


def button(
    text: str,
    *,
    action_id: str,
    value: str = "",
    style: str | None = None,
    url: str | None = None,
) -> dict:
    element: dict = {
        "type": "button",
        "text": plain(text, limit=MAX_BUTTON_TEXT),
        "action_id": action_id,
    }
    if value:
        element["value"] = value[:2000]
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def actions(*elements: dict, block_id: str | None = None) -> dict:
    block: dict = {"type": "actions", "elements": list(elements)[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def option(text: str, value: str) -> dict:
    return {"text": plain(text, limit=MAX_OPTION_TEXT), "value": value[:150]}


def user_text(text: str | None, *, limit: int = MAX_SECTION_TEXT) -> str:
    """Escape then cut: what users typed, safe to put in any mrkdwn field."""
    return cut(escape(text) if text else EMPTY, limit)


def fit_blocks(
    blocks: list[dict], *, limit: int = MAX_MESSAGE_BLOCKS, more: str
) -> list[dict]:
    """Keep within Slack's block count, ending with a note when blocks were dropped."""
    if len(blocks) <= limit:
        return blocks
    return blocks[: limit - 1] + [context(more)]
