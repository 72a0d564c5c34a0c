"""Recognising needs, offers and questions in chat messages (French and English)."""

from core.recognise._lexicon import LexEntry, Lexicon
from core.recognise._recogniser import DEFAULT_THRESHOLD, ItemMention, Recognition, Recogniser
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
