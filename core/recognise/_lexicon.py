"""What the recogniser can name: items and capabilities, from catalogue data, never from code."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.recognise._text import stem, tokenize_phrase

CATALOG_PATH = Path(__file__).resolve().parent.parent / "data" / "catalog.json"

#: Function words ignored when matching names, so "masque en tissu" = "masques tissu" = "masque de tissu".
STOPWORDS = frozenset(
    "de d du des en pour a au aux l la le les un une the of for an type".split()
)

ITEM = "item"
CAPABILITY = "capability"


@dataclass(frozen=True, slots=True)
class LexEntry:
    """One catalogue entry: an id, its names and synonyms by language code."""

    id: str
    names: dict[str, str] = field(default_factory=dict)
    synonyms: dict[str, list[str]] = field(default_factory=dict)

    def __hash__(self) -> int:  # dicts inside: hash on the id only
        return hash(self.id)

    def phrases(self) -> list[str]:
        out = list(self.names.values())
        for words in self.synonyms.values():
            out.extend(words)
        return out


def phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(stem(t) for t in tokenize_phrase(phrase) if t not in STOPWORDS and t.isalnum())


class Lexicon:
    """Item and capability names indexed for longest-match lookup over stemmed tokens."""

    def __init__(self, items: tuple[LexEntry, ...], capabilities: tuple[LexEntry, ...]):
        self.items = items
        self.capabilities = capabilities
        self.item_ids = frozenset(e.id for e in items)
        self.capability_ids = frozenset(e.id for e in capabilities)
        index: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
        seen: set[tuple[str, ...]] = set()
        # items first: an ambiguous phrase belongs to the item (what is made) rather than the capability
        for kind, entries in ((ITEM, items), (CAPABILITY, capabilities)):
            for entry in entries:
                for phrase in entry.phrases():
                    variants = {phrase, phrase.replace("-", " "), phrase.replace("-", "")}
                    for v in variants:
                        key = phrase_key(v)
                        if not key or key in seen:
                            continue
                        seen.add(key)
                        index.setdefault(key[0], []).append((key, kind, entry.id))
        for cands in index.values():
            cands.sort(key=lambda c: -len(c[0]))
        self.index = index
        self.max_len = max((len(k) for c in index.values() for k, _, _ in c), default=1)
        # words used in item names, the only ones typo-tolerant matching may correct towards
        self.item_vocab = tuple(sorted({w for c in index.values() for k, kind, _ in c if kind == ITEM
                                        for w in k if len(w) >= 6 and w.isalpha()}))
        self.vocab = frozenset(w for c in index.values() for k, _, _ in c for w in k)

    @classmethod
    def from_entries(cls, items: Iterable[LexEntry], capabilities: Iterable[LexEntry]) -> Lexicon:
        return cls(tuple(items), tuple(capabilities))

    @classmethod
    def from_catalog(cls, data: dict) -> Lexicon:
        def entries(key: str) -> list[LexEntry]:
            return [LexEntry(e["id"], dict(e.get("name") or {}), {k: list(v) for k, v in (e.get("synonyms") or {}).items()})
                    for e in data.get(key) or []]
        return cls.from_entries(entries("items"), entries("capabilities"))

    @classmethod
    def default(cls) -> Lexicon:
        return _default_lexicon()

    def with_entry(self, entry: LexEntry, kind: str = ITEM) -> Lexicon:
        """A new lexicon with one more (or a replaced) entry, e.g. an item a moderator added."""
        if kind == ITEM:
            return Lexicon(tuple(e for e in self.items if e.id != entry.id) + (entry,), self.capabilities)
        return Lexicon(self.items, tuple(e for e in self.capabilities if e.id != entry.id) + (entry,))


@lru_cache(maxsize=1)
def _default_lexicon() -> Lexicon:
    return Lexicon.from_catalog(json.loads(CATALOG_PATH.read_text(encoding="utf-8")))
