"""Checks the CRM tests share: Block Kit text, limits, and how Slack would show it."""

from __future__ import annotations

import html
from collections.abc import Iterator

TRICKY_NOTE = "Ping <!channel> and <@U123>, see <https://x|y> &amp; more"
# What must never reach a mrkdwn field unescaped: each would ping or link.
ACTIVE_MARKUP = ("<!channel>", "<@U123>", "<https://x|y>")


def text_objects(node: object) -> Iterator[dict]:
    """Every text object (mrkdwn or plain_text) anywhere inside blocks or a view."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def shown(node: object) -> str:
    """All text as a person would read it: mrkdwn entities decoded, plain as is."""
    parts = []
    for obj in text_objects(node):
        text = obj["text"]
        parts.append(html.unescape(text) if obj["type"] == "mrkdwn" else text)
    return "\n".join(parts)


def raw_mrkdwn(node: object) -> str:
    return "\n".join(o["text"] for o in text_objects(node) if o["type"] == "mrkdwn")


def section_texts(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def total_text(blocks: list[dict]) -> int:
    return sum(len(o["text"]) for o in text_objects(blocks))


def assert_shown_literally(node: object, text: str = TRICKY_NOTE) -> None:
    assert text in shown(node)
    mrkdwn = raw_mrkdwn(node)
    for markup in ACTIVE_MARKUP:
        assert markup not in mrkdwn
