"""Normalising and tokenising chat text for the recogniser.

Normalisation is character by character (lower case, accents stripped, typographic apostrophes and
dashes folded) so that offsets in the normalised text are offsets in the original text too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Only the beginning of a message is analysed: nobody hides a need after 4,000 characters, and it caps work.
MAX_CHARS = 4000
MAX_TOKENS = 600

_FOLD = {
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\t": " ", "\r": " ",
    "\u00ab": '"', "\u00bb": '"', "\u201c": '"', "\u201d": '"',
    "\u0153": "o", "\u0152": "o", "\u00e6": "a", "\u00c6": "a", "\u00df": "s",
}


class _FoldTable(dict):
    """str.translate table computed lazily: every character maps to exactly one character."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = _FOLD.get(ch)
        if out is None:
            if code < 128:
                out = ch.lower()
            else:
                low = ch.lower()
                low = low[0] if low else ch
                dec = unicodedata.normalize("NFKD", low)
                base = dec[0] if dec else low
                out = base if unicodedata.category(base)[0] != "M" else low
                if len(out) != 1:
                    out = ch
        if len(self) < 20000:
            self[code] = out
        return out


_TABLE = _FoldTable()

_QUOTE_LINE = re.compile(r"(?m)^[ \t]*>[^\n]*")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]{1,500}")
_PHONE = re.compile(r"(?<![\w+])(?:\+33 ?|0)[1-9](?:[ .-]?(?:\d\d|xx)){4}(?!\w)")
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,5}")

# numbers (with glued suffix like 48h, 100w, 5th), words (may carry digits: mk3, x30), newlines, other symbols
_TOKEN = re.compile(r"\d{1,40}(?:[.,]\d{1,40}){0,3}[^\W_]{0,20}|[^\W\d_][^\W_]{0,40}|\n|[^\w\s'\-]")

STEM_MIN = 4

#: chat spellings read as the word they stand for (the offsets still point at what was typed)
_ALIASES = {
    "qqun": "qqn", "qq1": "qqn", "kelkun": "qqn", "quelquun": "qqn", "qqns": "qqn",
    "ds": "dans", "tjrs": "toujours", "tjs": "toujours", "pk": "pourquoi", "pq": "pourquoi", "cmt": "comment",
    "koi": "quoi", "hosto": "hopital", "hostos": "hopitaux", "hopitals": "hopitaux", "bjr": "bonjour",
    "slt": "salut", "pls": "please", "plz": "please", "thx": "thanks", "pr": "pour",
}
#: chat contractions of "je" glued to its verb ("jpeux", "jdois", "chuis"), read as two tokens over the typed word
_JE_VOWEL = frozenset({"jai", "javais", "jaurais", "jaimerais", "jarrive", "jarrete", "jen", "jhabite"})
_JE_SPLIT = {"chuis": ("je", "suis"), "chui": ("je", "suis")}
_JE_CONSONANTS = frozenset("bcdfgklmnpqrstvz")
_NOT_JE = frozenset({"jpeg", "jpegs", "jpg", "jpgs"})


def _je_split(tok: str) -> tuple[str, str] | None:
    """("je", "peux") for "jpeux", ("j", "ai") for "jai", None for a word that is not such a contraction."""
    if tok in _JE_SPLIT:
        return _JE_SPLIT[tok]
    if tok[0] != "j" or len(tok) < 3:
        return None
    if tok in _JE_VOWEL:
        return "j", tok[1:]
    if len(tok) >= 4 and tok[1] in _JE_CONSONANTS and tok.isalpha() and any(c in "aeiouy" for c in tok[2:]) \
            and tok not in _NOT_JE:
        return "je", tok[1:]
    return None


def fold(text: str) -> str:
    """Lower-case, accent-free text of the same length as `text`."""
    return text.translate(_TABLE)


def _blank(match: re.Match) -> str:
    s = match.group(0)
    return " " * len(s)


@dataclass(slots=True)
class Prepared:
    original: str          # the text actually analysed (truncated, quotes removed)
    norm: str              # folded version, same length
    toks: list[str]        # normalised tokens
    starts: list[int]
    ends: list[int]
    has_url: bool


def prepare(text: str) -> Prepared:
    """Truncate, drop quoted lines, links, phones and e-mails (blanked, offsets kept), tokenise."""
    text = text[:MAX_CHARS]
    if ">" in text:
        text = _QUOTE_LINE.sub(_blank, text)
    has_url = False
    if "http" in text or "www." in text:
        new = _URL.sub(_blank, text)
        has_url = new != text
        text = new
    if "@" in text:
        text = _EMAIL.sub(_blank, text)
    norm = fold(text)
    if any(c.isdigit() for c in norm):
        spans = [m.span() for m in _PHONE.finditer(norm)]
        if spans:
            tparts, nparts, last = [], [], 0
            for a, b in spans:
                tparts += [text[last:a], " " * (b - a)]
                nparts += [norm[last:a], " " * (b - a)]
                last = b
            text = "".join(tparts) + text[last:]
            norm = "".join(nparts) + norm[last:]
    toks: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for m in _TOKEN.finditer(norm):
        tok = m.group(0)
        if tok[0] in "jc" and (split := _je_split(tok)) is not None:
            cut = m.start() + len(tok) - len(split[1])
            toks += split
            starts += (m.start(), cut)
            ends += (cut, m.end())
            continue
        toks.append(_ALIASES.get(tok, tok))
        starts.append(m.start())
        ends.append(m.end())
        if len(toks) >= MAX_TOKENS:
            break
    return Prepared(text, norm, toks, starts, ends, has_url)


def stem(tok: str) -> str:
    """A very light plural folding shared by the lexicon and the text."""
    if len(tok) >= STEM_MIN and tok[-1] in "sx" and tok[-2] != "s" and not tok[-2].isdigit():
        return tok[:-1]
    return tok


def tokenize_phrase(phrase: str) -> tuple[str, ...]:
    return tuple(m.group(0) for m in _TOKEN.finditer(fold(phrase)) if m.group(0) != "\n")
