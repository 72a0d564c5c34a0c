"""Turn neutral text into safe Discord message content.

Everything user-provided is escaped so it shows literally: markdown is escaped (links
keep working) and mentions are neutralised in the text itself, as a second line of
defence behind ``allowed_mentions=NO_MENTIONS`` on every send.
"""

from __future__ import annotations

import re

import discord
import discord.utils

__all__ = ["MESSAGE_LIMIT", "NO_MENTIONS", "render", "split_message"]

MESSAGE_LIMIT = 2000
NO_MENTIONS = discord.AllowedMentions.none()

_ZWSP = "\u200b"
_EVERYONE = re.compile(r"@(everyone|here)")
_ENTITY_MENTION = re.compile(r"<(@[!&]?|#)(\d+)>")
_LINE_START_MARKUP = re.compile(r"^(\s*)([#>-])")


def _neutralise_mentions(text: str) -> str:
    text = _EVERYONE.sub(f"@{_ZWSP}\\1", text)
    return _ENTITY_MENTION.sub(f"<{_ZWSP}\\1\\2>", text)


# A bare link (left as is so it stays clickable): a scheme, a host name, then an optional path.
_URL = re.compile(r"<[^: >]+:/[^ >]+>|(?:https?|steam)://[A-Za-z0-9][A-Za-z0-9.-]*(?::\d+)?"
                  r"(?:[/?#][^\s<]*[^<.,:;\"'\]\s])?")
_INLINE_MARKUP = re.compile(r"([*_~|`\[\]])")


def _escape_plain(text: str) -> str:
    text = text.replace("\\", "\\\\")
    text = _INLINE_MARKUP.sub(r"\\\1", text)
    return re.sub(r"^(\s*)(>|#|-)", r"\1\\\2", text, flags=re.MULTILINE)


def _escape_markdown(text: str) -> str:
    """Escape every markdown character outside bare links; brackets too, so user text can never
    make a masked link (``[text](url)``) or hide markup inside one."""
    out, pos = [], 0
    for link in _URL.finditer(text):
        out.append(_escape_plain(text[pos:link.start()]))
        out.append(link.group(0))
        pos = link.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def _escape(text: str) -> str:
    return _neutralise_mentions(_escape_markdown(text))


def render(text: str, title: str | None = None) -> str:
    """Escape ``text`` (and ``title``, shown in bold on its own line) for Discord."""
    body = _escape(text)
    title = " ".join((title or "").split())
    if not title:
        return body
    heading = f"**{_escape(title)}**"
    return f"{heading}\n{body}" if body else heading


def _safe_cut(segment: str, limit: int) -> int:
    """Where to cut an over-long line: a space in the second half if any, never
    right after an escaping backslash."""
    cut = limit
    space = segment.rfind(" ", limit // 2, limit)
    if space > 0:
        cut = space + 1
    backslashes = len(segment[:cut]) - len(segment[:cut].rstrip("\\"))
    if backslashes % 2 == 1 and cut > 1:
        cut -= 1
    return cut


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters on line boundaries.

    A line longer than ``limit`` is cut (at a space when possible, never inside a
    backslash escape). Parts holding only whitespace are dropped, as Discord
    refuses empty messages.
    """
    if limit < 8:
        raise ValueError("limit must be at least 8")
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = _safe_cut(line, limit)
            pieces = [current, line[:cut]] if current else [line[:cut]]
            parts.extend(pieces)
            current = ""
            # The rest starts a new message: keep a heading, quote or list marker literal.
            line = _LINE_START_MARKUP.sub(r"\1\\\2", line[cut:], count=1)
        if not current:
            current = line
        elif len(current) + 1 + len(line) <= limit:
            current = f"{current}\n{line}"
        else:
            parts.append(current)
            current = line
    parts.append(current)
    return [p for p in parts if p.strip()]
