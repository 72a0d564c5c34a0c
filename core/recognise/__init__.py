"""Recognising needs, offers and questions in chat messages (French and English)."""

from core.recognise._lexicon import LexEntry, Lexicon
from core.recognise._recogniser import DEFAULT_THRESHOLD, ItemMention, Recogniser, Recognition
from core.recognise._stream import analyse_stream

__all__ = [
    "DEFAULT_THRESHOLD",
    "ItemMention",
    "LexEntry",
    "Lexicon",
    "Recognition",
    "Recogniser",
    "analyse_stream",
    "default_recogniser",
    "parse_deadline",
]


def default_recogniser() -> Recogniser:
    """A recogniser over the default catalogue, with the offline gazetteer when it is installed."""
    gazetteer = None
    try:
        from core.places import Gazetteer  # noqa: PLC0415 - optional until the gazetteer lands

        gazetteer = Gazetteer.default()
    except (ImportError, AttributeError):
        gazetteer = None
    return Recogniser(Lexicon.default(), gazetteer=gazetteer)


def parse_deadline(text: str, now, timezone: str = "Europe/Paris"):
    """The date a short answer such as "vendredi", "sous 48h" or "11/05" names, relative to ``now``."""
    from datetime import timedelta  # noqa: PLC0415
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from core.recognise._dates import find_deadline  # noqa: PLC0415
    from core.recognise._text import prepare  # noqa: PLC0415

    today = now.astimezone(ZoneInfo(timezone)).date()
    found = find_deadline(prepare(text).norm, today)
    if found is None:
        norm = prepare("pour " + text).norm
        found = find_deadline(norm, today)
    return found[0] if found and found[0] >= today - timedelta(days=1) else None
