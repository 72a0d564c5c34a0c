"""Text normalisation shared by the gazetteer and the script that builds its data.

A place name and a chat message are reduced to the same token form: lower case,
no accents, apostrophes and hyphens as separators, and a few spelling variants
folded together ("Saint" and "St", "Clermont-Fd" and "Clermont-Ferrand").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Bumped whenever the token form changes: the shipped data caches keys of this version.
KEY_VERSION = 1

# Word characters of a message: letters and digits (underscore excluded).
TOKEN_RE = re.compile(r"[^\W_]+")

# Abbreviations people type, folded to the token used in official names.
TOKEN_ALIASES: dict[str, str] = {
    "saint": "st",
    "sainte": "ste",
    "saints": "sts",
    "saintes": "saintes",  # the town of Saintes stays itself
    "fd": "ferrand",
    "ferr": "ferrand",
    "pce": "provence",
    "prov": "provence",
    "mt": "mont",
    "gd": "grand",
    "gde": "grande",
    "vx": "vieux",
    "lez": "les",
    "lz": "les",
    "ss": "sous",
    "sr": "sur",
    "arrdt": "arrondissement",
    "arr": "arrondissement",
    # Nicknames of big cities in chat.
    "bdx": "bordeaux",
    "tlse": "toulouse",
    "mtp": "montpellier",
    "mtpl": "montpellier",
    "strasbg": "strasbourg",
}

# Joining words inside compound names ("Chalon-sur-Saône", "Brive-la-Gaillarde").
CONNECTORS = frozenset(
    {"sur", "sous", "en", "la", "le", "les", "de", "des", "du", "d", "l", "aux", "au", "et", "sainte", "ste"}
)
ARTICLES = frozenset({"le", "la", "les", "l"})
# Short forms that would be noise as prefix aliases.
_BAD_PREFIXES = frozenset(
    {"st", "ste", "sts", "notre", "le", "la", "les", "l", "d", "de", "du", "des", "grand", "petit"}
)

_SPECIAL = str.maketrans(
    {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o", "ł": "l"}
)


def fold_text(text: str) -> str:
    """Lower-case a text and strip its accents (not cached: for whole messages)."""
    text = text.translate(_SPECIAL).casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lower-case a word and strip its accents."""
    return fold_text(word)


@lru_cache(maxsize=65536)
def norm_token(word: str) -> str:
    """Token form of one word: folded, then common abbreviations expanded."""
    folded = fold(word)
    return TOKEN_ALIASES.get(folded, folded)


def tokens(text: str) -> list[str]:
    """Token forms of every word of a text, in order."""
    text = re.sub(r"(?i)\bs/\s*", "sur ", text)
    out = []
    for m in TOKEN_RE.finditer(text):
        t = norm_token(m.group())
        if t:
            out.extend(t.split())
    return out


def key(text: str) -> str:
    """Lookup key of a name: its token forms joined by single spaces."""
    return " ".join(tokens(text))


def prefix_aliases(name_key: str) -> list[str]:
    """Short forms of a compound name that people use alone.

    "chalon sur saone" -> ["chalon"], "st die des vosges" -> ["st die"],
    "clermont ferrand" -> ["clermont"], "chamonix mont blanc" -> ["chamonix"].
    A prefix stops before a joining word; a name without one gives its first word.
    """
    toks = name_key.split()
    if len(toks) < 2:
        return []
    out = []
    for i in range(1, len(toks)):
        if toks[i] in CONNECTORS and toks[i - 1] not in CONNECTORS:
            prefix = toks[:i]
            if len(prefix) == 1 and (prefix[0] in _BAD_PREFIXES or len(prefix[0]) < 3):
                continue
            if prefix[0] in ARTICLES and len(prefix) == 1:
                continue
            out.append(" ".join(prefix))
    if not out and toks[0] not in _BAD_PREFIXES and len(toks[0]) >= 4:
        out.append(toks[0])
    return out


def article_less(name_key: str) -> str | None:
    """Name without its leading article ("le mans" -> "mans"), used after "au", "du", "aux"."""
    toks = name_key.split()
    if len(toks) >= 2 and toks[0] in ARTICLES:
        return " ".join(toks[1:])
    return None
