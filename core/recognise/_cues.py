"""Cue lexicons (need verbs, offer verbs, negations, topics...) loaded from cues.json into lookup tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.recognise._text import tokenize_phrase

CUES_PATH = Path(__file__).resolve().parent / "cues.json"

#: categories that add to an intent or topic score; the others only give context to items and numbers
SCORING = ("need", "request", "offer", "offer_q", "question", "thanks", "report", "cancel", "stopped", "news", "neutral",
           "topic:sanitary", "topic:legal", "topic:technical", "topic:logistics")
TOPICS = ("sanitary", "legal", "technical", "logistics")

NUMBER_WORDS = {
    "zero": 0, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20, "vingts": 20,
    "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "septante": 70, "huitante": 80, "octante": 80,
    "nonante": 90, "cent": 100, "cents": 100, "mille": 1000,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "dozen": 12,
}
MULTIPLIERS = {"cent": 100, "cents": 100, "hundred": 100, "mille": 1000, "thousand": 1000}
APPROX_NOUNS = {
    "dizaine": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20, "trentaine": 30, "quarantaine": 40,
    "cinquantaine": 50, "soixantaine": 60, "centaine": 100, "millier": 1000,
}
ARTICLES = frozenset({"un", "une", "a", "an"})
#: nouns for a group of a known size: "deux douzaines" is 24, "3 centaines" is 300
GROUP_NOUNS = {"douzaine": 12, "douzaines": 12, "dozen": 12, "dozens": 12, "dizaines": 10, "centaines": 100,
               "milliers": 1000, "hundred": 100, "hundreds": 100, "thousand": 1000, "thousands": 1000}
#: a plural group with no count ("des centaines", "hundreds of", "dozens of") is at least two groups
PLURAL_GROUPS = frozenset({"douzaines", "dozens", "dizaines", "centaines", "milliers", "hundreds", "thousands"})
#: words before a group that leave its count vague: "a few hundred", "quelques centaines" (at least two groups)
FEW = frozenset({"few", "several", "quelques", "plusieurs", "des"})
#: clitic pronouns between a count and its verb: "25 nous suffiraient", "une cinquantaine nous dépannerait"
CLITICS = frozenset({"nous", "me", "m", "vous", "leur", "lui", "te", "t", "y"})
#: words after a number that still let it be a count of the item named just before
SKIP_BEFORE_ITEM = frozenset("de d of more extra other autres new nouveaux nouvelles nouvelle petits petites small big "
                             "grands grandes supplementaires additional".split())
#: words before a number that make it a date, a department or a rank, not a count
NOT_COUNT_BEFORE = frozenset("le du au dans sur in on depuis since n no num numero samu departement dept page "
                             "version v rc mk i top from until over under above below aged lundi mardi mercredi "
                             "jeudi vendredi samedi dimanche monday tuesday wednesday thursday friday saturday "
                             "sunday".split())


@dataclass(frozen=True)
class CueTables:
    scoring: dict[str, list[tuple[tuple[str, ...], list[tuple[str, float]]]]]
    context: dict[str, list[tuple[tuple[str, ...], list[tuple[str, float]]]]]
    prefixes: dict[str, list[tuple[str, float]]]
    prefix_lengths: tuple[int, ...]
    brands: dict[str, str]
    design_words: frozenset[str]
    model_words: frozenset[str]
    implied_items: tuple[tuple[frozenset[str], str, frozenset[str], frozenset[str]], ...]
    words: dict[str, frozenset[str]]  # single-token context words by category
    known: frozenset[str]
    variant_words: frozenset[str]
    en_verbs: frozenset[str]
    part_words: frozenset[str] = frozenset()  # "parts", "adapters": a singular item right before one is a modifier
    design_names: frozenset[str] = frozenset()  # "rc3" after a brand: a design ("Prusa RC3"), not a machine
    equipment_items: frozenset[str] = frozenset()  # "ventilator": a part word after it names one of its parts
    equipment_part: str = ""  # the item such a part is ("spare_part")


def _index(phrases: dict[tuple[str, ...], list[tuple[str, float]]]):
    index: dict[str, list] = {}
    for key, cats in phrases.items():
        index.setdefault(key[0], []).append((key, cats))
    for cands in index.values():
        cands.sort(key=lambda c: -len(c[0]))
    return index


def _with_plurals(brands: dict[str, str]) -> dict[str, str]:
    """Brand names and their plurals: "3 Prusas", "two Epilogs"."""
    out = dict(brands)
    for k, v in brands.items():
        if len(k) >= 4 and k.isalpha() and not k.endswith("s"):
            out.setdefault(k + "s", v)
    return out


@lru_cache(maxsize=1)
def load_cues() -> CueTables:
    data = json.loads(CUES_PATH.read_text(encoding="utf-8"))
    scoring: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    context: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    words: dict[str, set[str]] = {}
    known: set[str] = set()
    for cat, table in data["phrases"].items():
        target = scoring if cat in SCORING else context
        for phrase, weight in table.items():
            key = tokenize_phrase(phrase)
            if not key:
                continue
            known.update(key)
            cats = target.setdefault(key, [])
            for k, (c, w) in enumerate(cats):
                if c == cat:  # "merci à" and "merci a" fold to the same key: count it once
                    cats[k] = (c, max(w, float(weight)))
                    break
            else:
                cats.append((cat, float(weight)))
            if len(key) == 1:
                words.setdefault(cat, set()).add(key[0])
    prefixes: dict[str, list[tuple[str, float]]] = {}
    for cat, table in data["prefixes"].items():
        for prefix, weight in table.items():
            for p in tokenize_phrase(prefix)[:1]:
                prefixes.setdefault(p, []).append((cat, float(weight)))
    implied = tuple(
        (frozenset(w for x in rule["words"] for w in tokenize_phrase(x)), rule["item"],
         frozenset(rule.get("with_capabilities", ())),
         frozenset(w for x in rule.get("with_words", ()) for w in tokenize_phrase(x)))
        for rule in data.get("implied_items", [])
    )
    return CueTables(
        scoring=_index(scoring), context=_index(context), prefixes=prefixes,
        prefix_lengths=tuple(sorted({len(p) for p in prefixes})),
        brands=_with_plurals({tokenize_phrase(k)[0]: v for k, v in data["brands"].items()}),
        design_words=frozenset(w for x in data["design_words"] for w in tokenize_phrase(x)),
        model_words=frozenset(w for x in data["model_words"] for w in tokenize_phrase(x)),
        implied_items=implied,
        words={k: frozenset(v) for k, v in words.items()},
        known=frozenset(known),
        variant_words=frozenset(w for x in data.get("variant_words", []) for w in tokenize_phrase(x)),
        en_verbs=frozenset(w for x in data.get("en_verbs", []) for w in tokenize_phrase(x)),
        part_words=frozenset(w for x in data.get("part_words", []) for w in tokenize_phrase(x)),
        design_names=frozenset(w for x in data.get("design_names", []) for w in tokenize_phrase(x)),
        equipment_items=frozenset(data.get("equipment_items", {}).get("items", ())),
        equipment_part=data.get("equipment_items", {}).get("part", ""),
    )
