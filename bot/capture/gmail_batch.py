"""Google's batch format: many GETs in one multipart/mixed request, and back.

Each part of the request is an HTTP request line in an `application/http`
part with a Content-ID; each part of the answer carries its own status line
and JSON body, and a `response-` prefixed Content-ID naming the request.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

# Gmail accepts up to 100 parts but throttles batches above 50.
MAX_PARTS = 50

_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_STATUS_RE = re.compile(rb"^HTTP/\d(?:\.\d)?\s+(\d{3})")


@dataclass(slots=True)
class PartReply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class BatchFormatError(ValueError):
    """The batch answer could not be read as multipart/mixed."""


def encode_batch(paths: dict[str, str]) -> tuple[str, bytes]:
    """(Content-Type, body) for GETs of `paths` (part id -> path with query)."""
    if len(paths) > MAX_PARTS:
        raise ValueError(f"{len(paths)} parts in one batch; at most {MAX_PARTS}")
    boundary = "rapport_" + secrets.token_hex(12)
    chunks = []
    for part_id, path in paths.items():
        chunks.append(
            f"--{boundary}\r\n"
            "Content-Type: application/http\r\n"
            f"Content-ID: <{part_id}>\r\n"
            "\r\n"
            f"GET {path}\r\n"
            "\r\n"
        )
    chunks.append(f"--{boundary}--\r\n")
    return f"multipart/mixed; boundary={boundary}", "".join(chunks).encode()


def decode_batch(content_type: str, body: bytes) -> dict[str, PartReply]:
    """Replies by the part id they answer; parts without an id are dropped."""
    match = _BOUNDARY_RE.search(content_type)
    if match is None:
        raise BatchFormatError("batch answer without a multipart boundary")
    delimiter = b"--" + match.group(1).encode()
    replies: dict[str, PartReply] = {}
    for chunk in body.replace(b"\r\n", b"\n").split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        part_head, _, http = chunk.strip(b"\n").partition(b"\n\n")
        part_id = _content_id(part_head)
        if part_id is None:
            logger.debug("batch answer part without Content-ID ignored")
            continue
        replies[part_id] = _http_reply(http)
    return replies


def _content_id(head: bytes) -> str | None:
    for line in head.decode("latin-1").split("\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-id":
            value = value.strip().strip("<>")
            return value.removeprefix("response-")
    return None


def _http_reply(http: bytes) -> PartReply:
    head, _, body = http.partition(b"\n\n")
    lines = head.split(b"\n")
    match = _STATUS_RE.match(lines[0]) if lines else None
    if match is None:
        return PartReply(0, None)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    text = body.strip()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return PartReply(int(match.group(1)), parsed, headers)
