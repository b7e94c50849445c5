"""Address-list parsing for From/To/Cc values, tuned for speed and bad input.

Most real headers are plain ("a@x, Name <b@y>"); those are split with string
operations. Anything with quotes, comments or odd shapes goes element by
element through the standard library's ``getaddresses``, so a broken element
costs only itself and can be named in the problem notes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.header import decode_header
from email.utils import getaddresses

from bot.identity.addresses import CONTROL_CHARACTERS, CONTROL_RE

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Address:
    """A display name (decoded, whitespace collapsed, may be "") and addr-spec.

    ``address`` keeps the case it was written in; compare case-insensitively.
    """

    name: str
    address: str


# A dot-atom addr-spec, the common case, checked in one step; anything else
# (quoted local parts, [literal] domains) goes through _valid. Control and
# invisible characters (NUL, U+202E) are never part of one; the root dot
# that may end the domain ("user@example.com.") is allowed.
_PLAIN_ADDRESS = re.compile(
    rf'[^\s@"()<>\[\],;:\\\ufffd{CONTROL_CHARACTERS}]+'
    rf'@[^\s@"()<>\[\],;:\\.\ufffd{CONTROL_CHARACTERS}]+'
    rf'(?:\.[^\s@"()<>\[\],;:\\.\ufffd{CONTROL_CHARACTERS}]+)*\.?'
)
# Characters that make an element more than a bare addr-spec.
_COMPLEX = re.compile(r'["()<>\\\s]')
# Characters that matter when splitting a list at its top level.
_LIST_SPECIALS = re.compile(r'[",()<>:;\\]')
_NEEDS_SPLITTER = re.compile(r'["()<>:;\\]')
# "Name <addr>" with an unquoted, comment-free name, and '"Name" <addr>'.
_NAME_ANGLE = re.compile(r'([^"()<>\\]*?)\s*<([^<>"()\\\s]*)>\s*$')
_QUOTED_ANGLE = re.compile(r'"([^"\\]*)"\s*<([^<>"()\\\s]*)>\s*$')
# Pipermail hides addresses as "jgb at example.com (Jesus M. Gonzalez)".
_OBFUSCATED = re.compile(r'([^\s@()<>",]+) at ([^\s@()<>",]+\.[^\s@()<>",]+)$')
_COMMENT_SPECIALS = re.compile(r'[()"\\]')
_ESCAPE = re.compile(r"\\(.)")
_DOT_SPACES = re.compile(r"\s*\.\s*")
_DOMAIN_BAD = re.compile(r'[\s()<>\[\],;:"\\@]')
_LOCAL_BAD = re.compile(r"[\s()<>\[\],;:\\]")
# RFC 5322 quoted-string local part: '"a@b"', '"john doe"', '"a\\"b"'.
_QUOTED_LOCAL = re.compile(r'"(?:[^"\\]|\\.)+"')

# Charset labels mail clients write that Python either lacks or maps to a
# narrower codec than the sender used: Outlook's "ks_c_5601-1987" is really
# cp949, "gb2312" mail is routinely gbk, "shift_jis" from phones is cp932.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gbk",
    "x-gbk": "gbk",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "unicode-1-1-utf-7": "utf-7",
}


def parse_address_list(value: str, problems: list[str]) -> list[Address]:
    """Every valid address in ``value``, in order; bad elements go to problems."""
    result: list[Address] = []
    if _NEEDS_SPLITTER.search(value) is None:
        # The bulk of real headers: bare addresses separated by commas.
        for element in value.split(","):
            element = element.strip()
            if _PLAIN_ADDRESS.fullmatch(element) is not None:
                result.append(Address("", element))
            elif element:
                found = _parse_element(element, [], problems)
                if found:
                    result.extend(found)
                else:
                    problems.append("bad-address:" + element[:40])
        return result
    for element in _split_elements(value):
        comments: list[str] = []
        text = element
        if "(" in text:
            text, comments = _strip_comments(text)
        text = text.strip()
        if not text:
            continue  # an empty list element or a lone comment
        found = _parse_element(text, comments, problems)
        if found:
            result.extend(found)
        else:
            problems.append("bad-address:" + element.strip()[:40])
    return result


def decode_words(text: str, problems: list[str]) -> str:
    """Decode RFC 2047 encoded words; keep the raw text when that fails."""
    try:
        parts = decode_header(text)
    except Exception:  # the stdlib raises several types on broken words
        _note(problems, "encoding")
        return text
    pieces: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            pieces.append(chunk)
            continue
        if charset is None:
            pieces.append(chunk.decode("raw-unicode-escape", "replace"))
            continue
        codec = _CHARSET_ALIASES.get(charset.lower(), charset)
        try:
            pieces.append(chunk.decode(codec))
        except LookupError:
            # Unknown charset ("x-unknown"): the encoded form is all we have.
            _note(problems, "encoding")
            return text
        except UnicodeDecodeError:
            # Mislabelled words ("UTF-8" holding Latin-1 bytes) are common.
            _note(problems, "encoding")
            pieces.append(chunk.decode("cp1252", "replace"))
    return "".join(pieces)


def _split_elements(value: str) -> list[str]:
    """Split at top-level commas; group names ("Team:" ... ";") are dropped."""
    elements: list[str] = []
    start = 0
    depth = 0
    in_quote = False
    in_angle = False
    escaped = -1
    for match in _LIST_SPECIALS.finditer(value):
        i = match.start()
        if i == escaped:
            continue
        ch = value[i]
        if ch == "\\":
            escaped = i + 1
            continue
        if in_quote:
            if ch == '"':
                in_quote = False
        elif depth:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
        elif ch == '"':
            in_quote = True
        elif ch == "(":
            depth = 1
        elif in_angle:
            if ch == ">":
                in_angle = False
        elif ch == "<":
            in_angle = True
        elif ch == "," or ch == ";":
            elements.append(value[start:i])
            start = i + 1
        elif ch == ":":
            start = i + 1
    elements.append(value[start:])
    return elements


def _parse_element(
    element: str, comments: list[str], problems: list[str]
) -> list[Address]:
    """Addresses in one list element whose comments were already taken out."""
    if not _COMPLEX.search(element):
        if _PLAIN_ADDRESS.fullmatch(element) is not None or _valid(element):
            return [Address(_comment_name(comments, problems), element)]
        return []

    match = _NAME_ANGLE.match(element) or _QUOTED_ANGLE.match(element)
    if match is not None:
        address = _addr_spec(match.group(2))
        if _PLAIN_ADDRESS.fullmatch(address) is None and not _valid(address):
            return []
        name = _clean_name(match.group(1), problems)
        return [Address(name or _comment_name(comments, problems), address)]

    if "@" not in element and " at " in element:
        match = _OBFUSCATED.match(element)
        if match is not None:
            address = f"{match.group(1)}@{match.group(2)}"
            if _valid(address):
                return [Address(_comment_name(comments, problems), address)]

    if not _NEEDS_SPLITTER.search(element):
        collapsed = _DOT_SPACES.sub(".", element)
        if " " not in collapsed and _valid(collapsed):
            return [Address("", collapsed)]  # obsolete "jdoe@test . example"
        # Bare words around addresses: "Big Bug bb@bug.com" is one person,
        # "a@x b@y" (a missing comma) is two.
        words = element.split()
        with_at = [w for w in words if "@" in w]
        if len(with_at) == len(words):
            return [Address("", w) for w in words if _valid(w)]
        if len(with_at) == 1 and _valid(with_at[0]):
            name = " ".join(w for w in words if "@" not in w)
            return [Address(_clean_name(name, problems), with_at[0])]
        return []

    for name, address in getaddresses([element]):
        address = _addr_spec(address.strip())
        if address and _valid(address):
            name = _clean_name(name, problems)
            return [Address(name or _comment_name(comments, problems), address)]
    return []


def _strip_comments(text: str) -> tuple[str, list[str]]:
    """Text without its (comments), quoted strings kept, plus the comments."""
    pieces: list[str] = []
    comments: list[str] = []
    depth = 0
    in_quote = False
    last = 0
    comment_start = 0
    escaped = -1
    for match in _COMMENT_SPECIALS.finditer(text):
        i = match.start()
        if i == escaped:
            continue
        ch = text[i]
        if ch == "\\":
            escaped = i + 1
        elif depth == 0:
            if ch == '"':
                in_quote = not in_quote
            elif ch == "(" and not in_quote:
                pieces.append(text[last:i])
                depth = 1
                comment_start = i + 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                comments.append(text[comment_start:i])
                last = i + 1
    if depth:
        comments.append(text[comment_start:])  # unclosed: the rest is comment
    else:
        pieces.append(text[last:])
    return "".join(pieces), comments


def _comment_name(comments: list[str], problems: list[str]) -> str:
    """The "addr (Full Name)" convention: the first non-empty comment."""
    for comment in comments:
        name = _clean_name(_ESCAPE.sub(r"\1", comment), problems)
        if name:
            return name
    return ""


def _addr_spec(address: str) -> str:
    if address.startswith("@") and ":" in address:
        address = address.rpartition(":")[2]  # obsolete route "@relay:user@host"
    elif address[:7].lower() == "mailto:":
        address = address[7:]
    return address


def _clean_name(name: str, problems: list[str]) -> str:
    if "=?" in name:
        name = decode_words(name, problems)
    name = " ".join(name.split())
    if CONTROL_RE.search(name) is not None:
        # NUL, bidi overrides (U+202E turns "moc.evil" into "live.com" on
        # screen) and zero-width characters: dropped, never shown.
        name = " ".join(CONTROL_RE.sub("", name).split())
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1].strip()
    return name


def _valid(address: str) -> bool:
    """One @ with a plausible local part and domain on either side."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "\ufffd" in address:
        return False
    if CONTROL_RE.search(address) is not None:
        return False
    if domain[-1] == ".":
        domain = domain[:-1]  # the root: "example.com." is example.com
        if not domain:
            return False
    if domain[0] == "." or domain[-1] == "." or ".." in domain:
        return False
    if _DOMAIN_BAD.search(domain) is not None and not (
        domain[0] == "[" and domain[-1] == "]"
    ):
        return False
    if local[0] == '"':
        return _QUOTED_LOCAL.fullmatch(local) is not None
    if "@" in local or _LOCAL_BAD.search(local) is not None:
        return False
    return True


def _note(problems: list[str], note: str) -> None:
    if note not in problems:
        problems.append(note)
