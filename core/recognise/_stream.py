"""Corpus-format JSON lines in, prediction dicts out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime


def _parse_when(value) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def analyse_stream(lines: Iterable[str], recogniser) -> Iterator[dict]:
    """Recognise each JSON line ({id, text, channel, sent_at[, timezone]}) and yield a prediction dict.

    Dates are resolved against the local date carried by `sent_at`'s own offset unless the line names a
    `timezone`. Blank or malformed lines are skipped.
    """
    for n, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        r = recogniser.recognise(
            str(msg.get("text") or ""),
            channel=str(msg.get("channel") or "console"),
            sent_at=_parse_when(msg.get("sent_at")),
            timezone=msg.get("timezone") if isinstance(msg.get("timezone"), str) else None,
            language=str(msg.get("language") or "fr"),
        )
        yield r.to_prediction(msg.get("id", f"line-{n}"))
