"""Block Kit limits as Slack enforces them, phrased the way Slack reports them.

Each problem reads like Slack's own, e.g. ``must be less than 3001 characters
[json-pointer:/blocks/0/text/text]``, so tests can assert on the pointer. The
fake Web API uses these checks; tests of block builders may call them directly.

Limits come from Slack's reference pages on docs.slack.dev: blocks (50 per
message, 100 per modal or Home tab), section block (text 3000, 10 fields of
2000), header block (150), context block (10 elements), actions block (25
elements), button element (text 75, value 2000, url 3000), option object
(text and description 75, value 150), modal views (title, close and submit 24,
private_metadata 3000, callback_id 255). Only these are checked: a block Slack
would refuse for another reason (an unknown type, a missing field) passes.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_TITLE = 24


def message_block_problems(blocks: Any) -> list[str]:
    """What Slack would object to in a message's ``blocks``; empty when fine."""
    return _blocks_problems(blocks, at="/blocks", limit=MAX_MESSAGE_BLOCKS)


def view_problems(view: dict[str, Any]) -> list[str]:
    """What Slack would object to in a modal or Home tab view; empty when fine."""
    problems = _blocks_problems(
        view.get("blocks"), at="/view/blocks", limit=MAX_VIEW_BLOCKS
    )
    problems += _string_problems(view, "private_metadata", limit=3000, at="/view")
    problems += _string_problems(view, "callback_id", limit=255, at="/view")
    problems += _string_problems(view, "external_id", limit=255, at="/view")
    if view.get("type") == "modal":
        if not isinstance(view.get("title"), dict):
            problems.append("missing required field: title [json-pointer:/view]")
        for name in ("title", "close", "submit"):
            problems += _text_problems(
                view.get(name), limit=MAX_VIEW_TITLE, at=f"/view/{name}"
            )
    return problems


def _too_long(limit: int, at: str) -> list[str]:
    return [f"must be less than {limit + 1} characters [json-pointer:{at}]"]


def _text_problems(obj: Any, *, limit: int, at: str) -> list[str]:
    text = obj.get("text") if isinstance(obj, dict) else None
    if isinstance(text, str) and len(text) > limit:
        return _too_long(limit, f"{at}/text")
    return []


def _string_problems(
    obj: dict[str, Any], name: str, *, limit: int, at: str
) -> list[str]:
    value = obj.get(name)
    if isinstance(value, str) and len(value) > limit:
        return _too_long(limit, f"{at}/{name}")
    return []


def _count_problems(
    obj: dict[str, Any], name: str, *, limit: int, at: str
) -> list[str]:
    if len(obj.get(name) or []) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{at}/{name}]"]
    return []


def _option_problems(option: Any, at: str) -> list[str]:
    if not isinstance(option, dict):
        return []
    return (
        _text_problems(option.get("text"), limit=75, at=f"{at}/text")
        + _text_problems(option.get("description"), limit=75, at=f"{at}/description")
        + _string_problems(option, "value", limit=150, at=at)
    )


def _element_problems(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict):
        return []
    problems = _string_problems(element, "action_id", limit=255, at=at)
    problems += _text_problems(
        element.get("placeholder"), limit=150, at=f"{at}/placeholder"
    )
    if element.get("type") == "button":
        problems += _text_problems(element.get("text"), limit=75, at=f"{at}/text")
        problems += _string_problems(element, "value", limit=2000, at=at)
        problems += _string_problems(element, "url", limit=3000, at=at)
    for i, option in enumerate(element.get("options") or []):
        problems += _option_problems(option, f"{at}/options/{i}")
    for g, group in enumerate(element.get("option_groups") or []):
        for i, option in enumerate(group.get("options") or []):
            problems += _option_problems(option, f"{at}/option_groups/{g}/options/{i}")
    return problems


def _block_problems(block: Any, at: str) -> list[str]:
    if not isinstance(block, dict) or not block.get("type"):
        return [f"missing required field: type [json-pointer:{at}]"]
    kind = block["type"]
    problems = _string_problems(block, "block_id", limit=255, at=at)
    if kind == "section":
        problems += _text_problems(block.get("text"), limit=3000, at=f"{at}/text")
        problems += _count_problems(block, "fields", limit=10, at=at)
        for i, item in enumerate(block.get("fields") or []):
            problems += _text_problems(item, limit=2000, at=f"{at}/fields/{i}")
        problems += _element_problems(block.get("accessory"), f"{at}/accessory")
    elif kind == "header":
        problems += _text_problems(block.get("text"), limit=150, at=f"{at}/text")
    elif kind == "context":
        problems += _count_problems(block, "elements", limit=10, at=at)
        for i, item in enumerate(block.get("elements") or []):
            problems += _text_problems(item, limit=3000, at=f"{at}/elements/{i}")
    elif kind == "actions":
        problems += _count_problems(block, "elements", limit=25, at=at)
        for i, item in enumerate(block.get("elements") or []):
            problems += _element_problems(item, f"{at}/elements/{i}")
    elif kind == "input":
        problems += _text_problems(block.get("label"), limit=2000, at=f"{at}/label")
        problems += _text_problems(block.get("hint"), limit=2000, at=f"{at}/hint")
        problems += _element_problems(block.get("element"), f"{at}/element")
    return problems


def _blocks_problems(blocks: Any, *, at: str, limit: int) -> list[str]:
    if not isinstance(blocks, list):
        return [f"must provide an array [json-pointer:{at}]"]
    problems = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:{at}]")
    for i, block in enumerate(blocks):
        problems += _block_problems(block, f"{at}/{i}")
    return problems
