"""Turn neutral text into Telegram HTML messages that Telegram accepts.

All text is escaped, so user input can never form a tag or an entity. Long texts
are split on the plain text, before escaping, and each piece is measured by its
escaped length: a cut can never fall inside ``&amp;`` and every part fits the
limit even though escaping makes text longer. Lengths are counted on the HTML
that is sent, which is never shorter than what Telegram counts after parsing.
"""

from __future__ import annotations

import html
from collections.abc import Callable

__all__ = ["MESSAGE_LIMIT", "escape", "render_parts", "split_message", "to_html"]

MESSAGE_LIMIT = 4096

_TITLE_SEPARATOR = "\n"


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Telegram shows the text literally."""
    return html.escape(text, quote=False)


def _escaped_length(text: str) -> int:
    return len(escape(text))


def to_html(text: str, title: str | None = None) -> str:
    """The whole text as one HTML message, with an optional bold title line."""
    if title is None:
        return escape(text)
    head = f"<b>{escape(title)}</b>"
    return f"{head}{_TITLE_SEPARATOR}{escape(text)}" if text else head


def split_message(
    text: str, limit: int = MESSAGE_LIMIT, *, measure: Callable[[str], int] = len
) -> list[str]:
    """Cut ``text`` into consecutive pieces whose ``measure`` is at most ``limit``.

    ``"".join(parts) == text`` always holds. Cuts fall after a line break when a line
    fits; a line longer than the limit is cut after its last space that fits, or
    hard. ``measure`` must be additive (``len``, or the escaped length).
    """
    return _split(text, limit, limit, measure)


def render_parts(text: str, title: str | None = None, limit: int = MESSAGE_LIMIT) -> list[str]:
    """HTML messages (``parse_mode="HTML"``) for ``text``, each at most ``limit`` characters.

    The title, in bold, opens the first part. Parts that would be only whitespace are
    left out, since Telegram rejects them as empty.

    Raises:
        ValueError: if the title alone does not leave room for any text.
    """
    if limit < 5:
        raise ValueError("limit must leave room for at least one escaped character")
    first_limit = limit
    if title is not None:
        first_limit = limit - len(to_html("", title)) - len(_TITLE_SEPARATOR)
        if first_limit < 5:
            raise ValueError(f"title too long for a {limit}-character message")
    pieces = _split(text, first_limit, limit, _escaped_length)
    parts: list[str] = []
    for index, piece in enumerate(pieces):
        if index == 0 and title is not None:
            parts.append(to_html(piece if piece.strip() else "", title))
        elif piece.strip():
            parts.append(escape(piece))
    if not parts and title is not None:
        parts.append(to_html("", title))
    return parts


def _split(text: str, first_limit: int, limit: int, measure: Callable[[str], int]) -> list[str]:
    if limit < 1 or first_limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    current: list[str] = []
    size = 0

    def budget() -> int:
        return first_limit if not parts else limit

    def flush() -> None:
        nonlocal current, size
        if current:
            parts.append("".join(current))
        current, size = [], 0

    for line in text.splitlines(keepends=True):
        width = measure(line)
        if size + width <= budget():
            current.append(line)
            size += width
            continue
        flush()
        if width <= budget():
            current, size = [line], width
            continue
        rest = line
        while rest:
            piece = _longest_prefix(rest, budget(), measure)
            if piece == rest:
                current, size = [rest], measure(rest)
                break
            parts.append(piece)
            rest = rest[len(piece) :]
    flush()
    return parts


def _longest_prefix(line: str, budget: int, measure: Callable[[str], int]) -> str:
    """The prefix of ``line`` to send now: all of it if it fits, else cut at a space or hard."""
    if measure(line) <= budget:
        return line
    size = 0
    end = 0
    for index, char in enumerate(line):
        width = measure(char)
        if size + width > budget:
            break
        size += width
        end = index + 1
    if end == 0:
        raise ValueError(f"a single character does not fit in {budget}")
    space = max(line.rfind(" ", 0, end), line.rfind("\t", 0, end))
    if space >= end // 2:
        return line[: space + 1]
    return line[:end]
