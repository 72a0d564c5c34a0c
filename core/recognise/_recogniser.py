"""The chat-message recogniser: intent, items and quantities, capabilities, place, deadline, question topic.

A pure function of the text, the catalogue and the clock: cue lexicons score each intent, catalogue names
give items and capabilities, small rules attach numbers to items, and every decision leaves a readable cue.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from rapidfuzz import process
from rapidfuzz.distance import OSA

from core.recognise._cues import (
    APPROX_NOUNS,
    ARTICLES,
    CLITICS,
    FEW,
    GROUP_NOUNS,
    MULTIPLIERS,
    NOT_COUNT_BEFORE,
    NUMBER_WORDS,
    PLURAL_GROUPS,
    SKIP_BEFORE_ITEM,
    TOPICS,
    load_cues,
)
from core.recognise._dates import MONTHS, find_deadline
from core.recognise._lexicon import CAPABILITY, ITEM, STOPWORDS, Lexicon
from core.recognise._text import prepare, stem

log = logging.getLogger(__name__)

INTENTS = ("need", "offer", "question", "other")
#: The hub acts on a need, offer or question only at or above this confidence; below, it stays silent in public.
DEFAULT_THRESHOLD = 0.5

_SENT_END = frozenset({".", "!", "?", "\n", ";", "…"})
_CLAUSE_END = frozenset({",", ":", "(", ")", "[", "]", "mais", "but", "however", "cependant", "contre", "revanche",
                         "though", '"'})
_CONTRAST = frozenset({"mais", "but", "however", "cependant", "contre", "revanche", "though"})
_THIRD_PARTY = frozenset({"par", "by", "a", "au", "aux"})
_DETS = frozenset({"le", "la", "les", "l", "un", "une", "the", "a", "an", "des", "ma", "mon", "sa", "son", "leur"})
_EN_PRONOUN_BEFORE = frozenset("j je il on nous vous ils elles leur me m ne n y qui peux peut pouvons pourrais pourrait "
                               "vais va t s lui".split())
_FOR = frozenset({"pour", "de", "d", "du", "des", "for", "of"})
_POSSESSIVES = frozenset("nos vos leurs notre votre leur mes tes ses ces cet cette ce our their your my these those its".split())
_LOST = frozenset({"je n ai plus", "j ai plus de", "no longer have", "i no longer", "je n ai plus de", "j ai plus"})
_OF_THEM = frozenset({"them", "those", "these", "entre"})
_PER_PERSON = frozenset({"chacun", "chacune", "each", "apiece", "perso"})
_ABBREV = frozenset("env dr mme m mr st ste cf etc ex approx qte n no tel av bd ca vs".split())
_PASSIVE_TO_COME = frozenset({"etre", "sera", "seront", "serons", "serez", "soit", "soient", "seraient", "serait"})
_PAST_PARTICIPLE_STEMS = frozenset({"livre", "livres", "livree", "livrees", "depose", "deposes", "deposees", "deposee"})
_NEG_BEFORE_CAP = frozenset({"ne", "n", "pas", "plus", "jamais", "no", "not", "sans", "without", "never", "aucun",
                             "aucune", "t"})
_NEG_BEFORE_NEED = frozenset({"n", "ne", "pas", "jamais", "never", "not", "no", "aucun", "aucune", "nullement"})
_RANGE_SEP = frozenset({"a", "to", "ou", "or", "et"})
_BLOCK_UNITS = frozenset("h heure heures hour hours hrs min mn jour jours j day days semaine semaines week weeks mois "
                         "month months an ans year years % ° € euros eur e mm cm m km kg g ml l w watts".split())
_COND_ANY = frozenset({"si", "s", "if"})
_COND_WHO = frozenset({"qui", "who", "whoever", "quiconque"})
_WHO_LEAD = frozenset({"anyone", "someone", "ceux", "celles", "those", "for", "pour", "quelqu", "qqn", "people"})
_MODIFIER = "what names the"
_ADDED = "added to the previous figure"
_ASK_FILLERS = frozenset("be able to help us me m en aider a d de guys folks all please maybe possibly perhaps kindly svp "
                         "stp eventuellement peut etre".split())
#: someone gives to us: "si on nous donne du tissu", "if someone gives us elastic" is no material to give
_RECEIVER_BEFORE = frozenset({"nous", "me", "m"})
_RECEIVER_AFTER = frozenset({"us", "me"})
#: subjects before "a" that make it the verb "has" ("on a une fraiseuse"), not the preposition "à"
_HAS_SUBJECT = frozenset({"on", "il", "elle", "qui", "y", "ca", "cela", "atelier", "fablab"})
_BENEFACTIVE = frozenset({"nous", "us", "our", "notre", "nos"})
_DESIGN_OBJECTS = frozenset({"stl", "lien", "link", "plan", "plans", "patron", "gabarit", "template", "photo", "photos"})
#: a lack of these is a need: "n'ont aucune protection", "we have no PPE"
_LACK_OF = frozenset("protection protections materiel equipement equipements equipment ppe epi".split())
_ANY = frozenset({"any", "some", "encore", "still", "at", "all", "toujours"})
#: past participles of making, and what may come between them and "have": "j'ai déjà cousu", "we've printed"
_MADE = frozenset("imprime imprimes imprimee imprimees cousu cousus cousue cousues fabrique fabriques fabriquee "
                  "fabriquees decoupe decoupes decoupees printed sewn sewed made produced manufactured".split())
_HAVE = frozenset({"ai", "a", "avons", "avez", "ont", "ve", "have", "has", "had"})
_ADVERBS = frozenset("deja tellement beaucoup bien enfin trop tant already so just finally".split())
_OWN = frozenset({"our", "my", "nos", "mes", "notre"})
#: French question words put last: "on les dépose où ?", "c'est combien ?", "on fait comment ?"
_WH_LAST = frozenset({"ou", "quand", "combien", "comment", "quoi", "lequel", "laquelle", "lesquels", "lesquelles"})
#: before a figure given up: "60 rather than 40", "80 au lieu de 50", "plutôt que 30", "instead of 20"
_REPLACED = (" rather than", " instead of", " au lieu de", " au lieu des", " plutot que", " et non", " and not", " not")
#: before a total that restates a share: "2 chacun, donc 180", "soit environ 220", "so 90", "that's 60 in all"
_SO = frozenset({"donc", "soit", "so", "that s", "au total", "en tout", "in total", "that makes", "makes", "i e"})
#: a count of what is had: "nous avons 4 boîtes", "we've got 3 ventilators" (then "2 de plus", "2 more" is the ask)
_HAVE_NOW = frozenset({"avons", "ai", "got", "have", "possedons", "disposons"})
_MORE = frozenset({"more", "extra", "additional", "supplementaires", "supplementaire", "additionnels",
                   "additionnelles"})
#: pronouns for items named before, around a verb of making: "peuvent en fabriquer", "could make them"
_THEM_BEFORE = frozenset({"en", "les"})
_THEM_AFTER = frozenset({"them", "some", "these", "those", "any"})
#: a part word with these is a spare part: "clapets de rechange", "replacement valves", "spare filters"
_SPARE_AFTER = ("de rechange", "de remplacement", "d origine")
_SPARE_BEFORE = frozenset({"replacement", "spare", "rechange"})
#: tools and processes after "à la" are how something is made, not whose: "à la découpe laser", "à l'imprimante 3D"
_TOOLS = frozenset("decoupe decoupeuse laser imprimante imprimantes machine machines cnc fraiseuse graveuse".split())
#: one item per person: "one each", "un chacun", "une par personne"
_ONE = frozenset({"one", "un", "une", "1"})
_PERSON = frozenset("personne personnes person head tete agent salarie soignant soignante resident".split())
_PIECES = frozenset({"piece", "pieces", "composant", "composants", "component", "components"})
_DIGITS = re.compile(r"(\d+)(?:([.,])(\d+))?([^\W\d_]*)$")
_XNUM = re.compile(r"x(\d{1,6})$")
_MAX_VALUE = 10_000_000


class PlaceFinder(Protocol):
    def find_in_text(self, text: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class ItemMention:
    item: str
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class Recognition:
    intent: str
    confidence: float
    items: tuple[ItemMention, ...] = ()
    capabilities: tuple[str, ...] = ()
    place: Any = None
    deadline: date | None = None
    topic: str | None = None
    cues: tuple[str, ...] = ()

    def to_prediction(self, id: str) -> dict:
        """This recognition in the corpus scorer's prediction format."""
        place = None
        if self.place is not None:
            place = {"name": getattr(self.place, "name", str(self.place)),
                     "lat": getattr(self.place, "lat", None), "lon": getattr(self.place, "lon", None)}
        return {
            "id": id,
            "intent": self.intent,
            "confidence": round(self.confidence, 3),
            "items": [{"item": m.item, "quantity": m.quantity} for m in self.items],
            "capabilities": list(self.capabilities),
            "place": place,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "topic": self.topic,
        }


@dataclass(slots=True)
class _Mention:
    kind: str
    id: str
    i0: int
    i1: int
    surface: str
    kept: bool = True
    why: str = ""


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except Exception:  # unknown or malformed zone name: the caller falls back to the message's own offset
        return None


def _local_date(sent_at: datetime | None, tz: str | None) -> date:
    if sent_at is None:
        sent_at = datetime.now(UTC)
    zone = _zone(tz) if tz else None
    if sent_at.tzinfo is None:
        return sent_at.date()
    if zone is not None:
        try:
            return sent_at.astimezone(zone).date()
        except (OverflowError, ValueError):
            pass
    return sent_at.date()


class Recogniser:
    """Recognises what a chat message is about. Thread-safe; build once and reuse."""

    def __init__(self, lexicon: Lexicon | None = None, gazetteer: PlaceFinder | None = None):
        self.lexicon = lexicon or Lexicon.default()
        self.gazetteer = gazetteer
        self.cues = load_cues()
        self._fuzzy: dict[str, str] = {}

    # ------------------------------------------------------------------ public
    def recognise(self, text: str, *, channel: str = "discord", sent_at: datetime | None = None,
                  timezone: str | None = "Europe/Paris", language: str = "fr") -> Recognition:
        """Recognise one message. `timezone` None means: use the offset carried by `sent_at`."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        try:
            return self._recognise(text, channel, sent_at, timezone)
        except Exception:  # a chat hub must never fall over on what someone typed
            log.exception("recogniser failed on a message of %d characters", len(text))
            return Recognition("other", 0.0, cues=("recogniser error",))

    # ------------------------------------------------------------------ steps
    def _stem(self, tok: str) -> str:
        s = stem(tok)
        lex = self.lexicon
        if len(tok) < 7 or s in lex.vocab or tok in self.cues.known or not tok.isalpha():
            return s
        hit = self._fuzzy.get(s)
        if hit is None:
            found = process.extractOne(s, lex.item_vocab, scorer=OSA.distance, score_cutoff=1)
            hit = found[0] if found and found[0][0] == s[0] and len(found[0]) >= 7 else s
            if len(self._fuzzy) < 50_000:
                self._fuzzy[s] = hit
        return hit

    def _mentions(self, toks: list[str], p) -> list[_Mention]:
        lex = self.lexicon
        # "masques enfants en tissu" is "masques en tissu" for children, "pièces pour nos respirateurs" names
        # "pièces pour respirateur"
        variants = self.cues.variant_words
        content = [i for i, t in enumerate(toks) if t not in STOPWORDS and t not in variants and t not in _POSSESSIVES]
        stems = [self._stem(toks[i]) for i in content]
        out: list[_Mention] = []
        j, m = 0, len(content)
        while j < m:
            cands = lex.index.get(stems[j])
            step = 1
            if cands:
                for key, kind, ident in cands:
                    L = len(key)
                    if j + L <= m and (L == 1 or tuple(stems[j:j + L]) == key) and content[j + L - 1] - content[j] <= 2 * L:
                        a, b = content[j], content[j + L - 1] + 1
                        out.append(_Mention(kind, ident, a, b, p.original[p.starts[a]:p.ends[b - 1]]))
                        step = L
                        break
            j += step
        brands = self.cues.brands
        design = self.cues.design_words
        item_edges = {mm.i1 for mm in out if mm.kind == ITEM} | {mm.i0 - 1 for mm in out if mm.kind == ITEM}
        for i, t in enumerate(toks):
            cap = brands.get(t)
            if cap and cap in lex.capability_ids:
                if i + 1 < len(toks) and toks[i + 1] in self.cues.design_names:
                    continue  # "Prusa RC3" names a face shield design, not a printer
                if (i > 0 and toks[i - 1] in design) or i in item_edges or (i + 1) in item_edges or (i - 1) in {mm.i1 - 1 for mm in out if mm.kind == ITEM}:
                    continue
                out.append(_Mention(CAPABILITY, cap, i, i + 1, p.original[p.starts[i]:p.ends[i]]))
        return out

    def _equipment_parts(self, toks: list[str], p, mentions: list[_Mention]) -> None:
        """Parts of medical equipment are spare parts: "composants pour respirateurs", "filtres pour nos
        pousse-seringues", "ventilator filter housings" (part words after or before the equipment's name)."""
        cues = self.cues
        part = cues.equipment_part
        if part not in self.lexicon.item_ids:
            return
        n = len(toks)
        taken = {k for mm in mentions if mm.kind == ITEM for k in range(mm.i0, mm.i1)}
        if any(mm.kind == ITEM and mm.id in cues.equipment_items for mm in mentions):
            # "il nous faudrait 3 clapets de rechange", "we need 4 replacement valves" for the equipment named
            for i, t in enumerate(toks):
                if t not in cues.part_words or t in _SPARE_BEFORE or i in taken:
                    continue
                if " ".join(toks[i + 1:i + 3]) in _SPARE_AFTER:
                    mentions.append(_Mention(ITEM, part, i, i + 3, p.original[p.starts[i]:p.ends[i + 2]]))
                elif i > 0 and toks[i - 1] in _SPARE_BEFORE and i - 1 not in taken:
                    mentions.append(_Mention(ITEM, part, i - 1, i + 1, p.original[p.starts[i - 1]:p.ends[i]]))
        for mm in mentions:
            if mm.kind != ITEM or mm.id not in cues.equipment_items:
                continue
            # English compound: a singular equipment name right before part words ("ventilator filter housings")
            j = mm.i1
            last = toks[j - 1]
            while j < n and toks[j] in cues.part_words and j not in taken and stem(last) == last:
                j += 1
            if j > mm.i1:
                mm.id, mm.i1 = part, j
                mm.surface = p.original[p.starts[mm.i0]:p.ends[j - 1]]
                continue
            # a part word, "pour"/"for", maybe a possessive, then the equipment ("composants pour nos respirateurs")
            k = mm.i0 - 1
            while k >= 0 and mm.i0 - k <= 3 and (toks[k] in STOPWORDS or toks[k] in _POSSESSIVES) and k not in taken:
                k -= 1
            if k >= 0 and k < mm.i0 - 1 and toks[k] in cues.part_words and k not in taken and any(
                    toks[x] in _FOR for x in range(k + 1, mm.i0)):
                mm.id, mm.i0 = part, k
                mm.surface = p.original[p.starts[k]:p.ends[mm.i1 - 1]]

    @staticmethod
    def _scan(index, toks: list[str]) -> list[tuple[int, int, list[tuple[str, float]]]]:
        out = []
        i, n = 0, len(toks)
        while i < n:
            cands = index.get(toks[i])
            step = 1
            if cands:
                for key, cats in cands:
                    L = len(key)
                    if L == 1 or tuple(toks[i:i + L]) == key:
                        out.append((i, i + L, cats))
                        step = L
                        break
            i += step
        return out

    def _recognise(self, text: str, channel: str, sent_at: datetime | None, tz: str | None) -> Recognition:
        p = prepare(text)
        toks = p.toks
        n = len(toks)
        cues = self.cues
        words = cues.words
        why: list[str] = []

        # segmentation
        sent = [0] * n
        clause = [0] * n
        s = c = 0
        q_sents: set[int] = set()
        contrast_at: list[int] = []
        for i, t in enumerate(toks):
            sent[i] = s
            clause[i] = c
            if t in _SENT_END and not (t == "." and i > 0 and toks[i - 1] in _ABBREV):
                if t == "?":
                    q_sents.add(s)
                s += 1
                c += 1
            elif t in _CLAUSE_END:
                c += 1
                if t in _CONTRAST:
                    contrast_at.append(i)
        sent_start: dict[int, int] = {}
        for i in range(n):
            sent_start.setdefault(sent[i], i)

        scoring = self._scan(cues.scoring, toks)
        context = self._scan(cues.context, toks)
        ctx_start: dict[int, list[tuple[str, int]]] = {}
        clause_ctx: dict[int, set[str]] = {}
        for a, b, cats in context:
            for cat, _w in cats:
                ctx_start.setdefault(a, []).append((cat, b))
                clause_ctx.setdefault(clause[a], set()).add(cat)

        repair_at = [(k, b) for k, lst in ctx_start.items() for cat, b in lst if cat == "repair"]
        verb_at = [a for a, b, cats in scoring for cat, _w in cats if cat in ("need", "request", "offer", "offer_q")]

        def is_if(k: int) -> bool:
            """"si", "if", or the "s'" of "s'il" (not the "'s" of "St Mary's")."""
            t = toks[k]
            return t in _COND_ANY and (t != "s" or (k + 1 < n and toks[k + 1] in ("il", "ils")))

        def conditional(a: int) -> bool:
            """Is the cue at `a` inside an if-clause ("si un hôpital a des appareils en panne") or about things
            someone offers to repair ("je peux réparer des respirateurs en panne")?"""
            return any(is_if(k) and clause[k] == clause[a] for k in range(max(0, a - 6), a)) or any(
                k < a and sent[k] == sent[a] for k, _b in repair_at)

        def negated(a: int) -> bool:
            """Is the cue at `a` negated ("nous n'avons pas reçu", "we haven't received")?"""
            return any(toks[k] in _NEG_BEFORE_NEED or toks[k] == "t" for k in range(max(0, a - 3), a))

        report_at: list[int] = []
        for a, b, cats in scoring:
            for cat, _w in cats:
                if cat in ("stopped", "cancel", "report") and not conditional(a) and not (cat == "report" and negated(a)):
                    clause_ctx.setdefault(clause[a], set()).add(cat)
                    if cat == "report":
                        report_at.append(b)

        def ctx_at(i: int, cat: str) -> int | None:
            for k, b in ctx_start.get(i, ()):
                if k == cat:
                    return b
            return None

        def ctx_before(i: int, cat: str, window: int) -> bool:
            lo = max(0, i - window)
            for a in range(lo, i):
                if clause[a] != clause[i]:
                    continue
                for k, b in ctx_start.get(a, ()):
                    if k == cat and b <= i:
                        return True
            return False

        give_cue = any(
            cat == "give" and not (a > 0 and toks[a - 1] in ("les", "des", "the"))
            and not (a > 0 and toks[a - 1] in _RECEIVER_BEFORE) and not (b < n and toks[b] in _RECEIVER_AFTER)
            for a, b, cats in context for cat, _ in cats
        )

        def received_before(i: int) -> bool:
            """Is the item at `i` one already received ("on a bien reçu 20 visières", "we received gowns"), not one
            still awaited ("nous n'avons pas reçu les blouses") or a request received ("reçu une demande de")?"""
            for a in range(max(0, i - 6), i):
                b = ctx_at(a, "received")
                if b is None or b > i or clause[a] != clause[i]:
                    continue
                if all(toks[k] in STOPWORDS or toks[k] in _POSSESSIVES or toks[k][0].isdigit() for k in range(b, i)) \
                        and not negated(a):
                    return True
            return False

        # ---- items and capabilities
        mentions = self._mentions(toks, p)
        for mm in mentions:
            cl = clause_ctx.get(clause[mm.i0], set())
            if mm.kind == ITEM:
                if "satisfied" in cl or "cancel" in cl:
                    mm.kept, mm.why = False, "already covered"
                elif "broken_ctx" in cl:
                    mm.kept, mm.why = False, "broken equipment"
                elif ctx_before(mm.i0, "repair", 6) or any(
                        k < mm.i0 <= k + 15 and not any(k < x < mm.i0 for x in verb_at) for k, _b in repair_at):
                    mm.kept, mm.why = False, "equipment to repair"
                elif any(b <= mm.i0 and mm.i0 - b <= 6 and clause[b - 1] == clause[mm.i0] for b in report_at):
                    mm.kept, mm.why = False, "already made or delivered"  # "j'ai fini la commande de visières"
                elif received_before(mm.i0):
                    mm.kept, mm.why = False, "already received"  # "nous avons déjà reçu des visières"
                elif ctx_before(mm.i0, "cargo", 4) and any(x.kind == CAPABILITY and x.id == "transport" and x.i1 <= mm.i0
                                                            and sent[x.i0] == sent[mm.i0] for x in mentions):
                    mm.kept, mm.why = False, "what would be carried"
                elif give_cue and ctx_before(mm.i0, "purpose", 4):
                    mm.kept, mm.why = False, "what donated material is for"
                elif ctx_before(mm.i0, "negation", 2) and ("stopped" in cl):
                    mm.kept, mm.why = False, "no longer made"
            else:
                if ctx_before(mm.i0, "negation", 3) or any(
                        toks[k] in _NEG_BEFORE_CAP and clause[k] == clause[mm.i0] for k in range(max(0, mm.i0 - 3), mm.i0)):
                    mm.kept, mm.why = False, "negated"
                elif "stopped" in cl or "broken_ctx" in cl:
                    mm.kept, mm.why = False, "out of order"
                elif any(toks[k] in _THIRD_PARTY and toks[k + 1] in _DETS and clause[k] == clause[mm.i0]
                         and not (toks[k] == "a" and k > 0 and toks[k - 1] in _HAS_SUBJECT)  # "on a une fraiseuse"
                         and not (toks[k] == "a" and k + 2 == mm.i0 and toks[mm.i0] in _TOOLS)  # "à la découpe laser"
                         for k in range(max(0, mm.i0 - 4), mm.i0 - 1)):
                    mm.kept, mm.why = False, "someone else's"
        caps_kept = {mm.id for mm in mentions if mm.kind == CAPABILITY and mm.kept}
        if "materials" in caps_kept and not give_cue:
            caps_kept.discard("materials")
        # implied items ("masques" from someone who sews are fabric masks; "raccords" for diving masks are valve adapters)
        tok_set = None
        for words_set, item, needs_caps, needs_words in cues.implied_items:
            if needs_words and tok_set is None:
                tok_set = set(toks)
            if item in self.lexicon.item_ids and ((needs_caps & caps_kept) or (needs_words and needs_words & tok_set)) \
                    and not any(mm.kind == ITEM and mm.id == item for mm in mentions):
                taken = {k for mm in mentions for k in range(mm.i0, mm.i1)}
                for i, t in enumerate(toks):
                    if t in words_set and i not in taken:
                        mm = _Mention(ITEM, item, i, i + 1, p.original[p.starts[i]:p.ends[i]])
                        if give_cue and ctx_before(i, "purpose", 4):
                            mm.kept, mm.why = False, "what donated material is for"
                        mentions.append(mm)
        self._equipment_parts(toks, p, mentions)
        items = sorted((mm for mm in mentions if mm.kind == ITEM), key=lambda mm: mm.i0)
        for prev_mm, mm in zip(items, items[1:]):
            # "pièces détachées pour respirateur": the second item is what the first one is for
            if prev_mm.id != mm.id and mm.i0 > prev_mm.i1 and mm.i0 - prev_mm.i1 <= 3 and any(
                    toks[k] in _FOR for k in range(prev_mm.i1, mm.i0)) and all(
                    toks[k] in STOPWORDS or toks[k] in _POSSESSIVES for k in range(prev_mm.i1, mm.i0)):
                mm.kept, mm.why = False, f"what the {prev_mm.id} is for"
            # "ventilator spare parts", "syringe pump replacement parts": in an English compound the last noun is
            # the thing, a singular item right before a part is what the part is for
            elif prev_mm.id != mm.id and mm.i0 == prev_mm.i1 and toks[mm.i0] in cues.part_words and \
                    stem(toks[prev_mm.i1 - 1]) == toks[prev_mm.i1 - 1] and prev_mm.kept:
                prev_mm.kept, prev_mm.why = False, f"{_MODIFIER} {mm.id}"
                if prev_mm.id in cues.equipment_items and mm.id not in cues.equipment_items and \
                        toks[mm.i1 - 1] in cues.part_words and cues.equipment_part in self.lexicon.item_ids:
                    mm.id = cues.equipment_part  # "ventilator valve adapters" are parts of a ventilator
        kept_items = [mm for mm in items if mm.kept]
        item_at = {mm.i0: mm for mm in items}

        # ---- numbers
        qty_strong: dict[str, int] = {}
        qty_weak: dict[str, int] = {}
        qty_vague: dict[str, int] = {}  # "des centaines", "hundreds of": used when no figure is given
        qty_why: list[str] = []
        last_attach: list[tuple[str, int]] = []  # (item id, token index of the item's end)
        rate_at: list[int] = []  # counts given per day or week: "100 par jour", "80 a day"
        month_words = MONTHS
        cap_tokens = {k for mm in mentions if mm.kind == CAPABILITY for k in range(mm.i0, mm.i1)}
        item_ends = {mm.i1 for mm in kept_items}

        def prev_item(i: int, same_sentence: bool, window: int = 10_000) -> _Mention | None:
            best = None
            for mm in kept_items:
                if mm.i1 <= i and i - mm.i1 <= window and (not same_sentence or sent[mm.i0] == sent[i]):
                    best = mm
            return best

        def next_item(i: int, same_sentence: bool) -> _Mention | None:
            for mm in kept_items:
                if mm.i0 >= i and (not same_sentence or sent[mm.i0] == sent[i]):
                    return mm
            return None

        def nearest(i: int) -> _Mention | None:
            return prev_item(i, True) or next_item(i, True) or prev_item(i, False) or next_item(i, False)

        def item_after(b: int) -> _Mention | None:
            j = b
            for _ in range(3):
                if j in item_at:
                    hit = item_at[j]
                    if not hit.kept and hit.why.startswith(_MODIFIER):  # "two ventilator spare parts"
                        hit = item_at.get(hit.i1, hit)
                    return hit
                if j < n and (toks[j] in SKIP_BEFORE_ITEM or toks[j] in words.get("unit", ())):
                    j += 1
                elif apposed(j):
                    return item_at[j + 1]  # "une soixantaine de clips attache-masque", "100 hooks door-opener"
                else:
                    return None
            return item_at.get(j)

        def apposed(j: int) -> bool:
            """Is toks[j] a noun or an adjective set right before an item name ("clips attache-masque",
            "plastic ear savers")?"""
            if j + 1 >= n or j + 1 not in item_at or not item_at[j + 1].kept:
                return False
            t = toks[j]
            return len(t) >= 3 and t.isalpha() and j not in cap_tokens and t not in cues.brands and t not in STOPWORDS \
                and t not in _BLOCK_UNITS and t not in NUMBER_WORDS and t not in month_words \
                and t not in NOT_COUNT_BEFORE and p.norm[p.ends[j]:p.starts[j + 1]] == " "

        def is_rate(b: int) -> bool:
            return b < n and ctx_at(b, "rate") is not None

        def unknown_noun(b: int) -> bool:
            if b >= n:
                return False
            t = toks[b]
            if not t[0].isalpha() or t in words.get("free_after", ()) or t in words.get("unit", ()):
                return False
            if t in ("of", "d") and b + 1 < n and toks[b + 1] in _OF_THEM:
                return False
            if b in item_at or is_rate(b) or ctx_at(b, "approx") is not None or ctx_at(b, "free_after") is not None:
                return False
            return True

        def attach(mm: _Mention | None, value: int, a: int, b: int, how: str, weak: bool = False) -> bool:
            if mm is None:
                return False
            if not mm.kept:
                return True  # the number belongs to an item that was set aside
            if weak:
                qty_weak.setdefault(mm.id, value)
            elif indefinite:  # the loop's current count: "by the hundreds" gives way to "say 300 a day"
                qty_vague.setdefault(mm.id, value)
                last_attach.append((mm.id, b))
            else:
                base = qty_strong.get(mm.id)
                if base is None and how == _ADDED:  # "une centaine de masques adultes + 20 enfants"
                    base = qty_vague.get(mm.id)
                if restated or (more and mm.id in owned_qty):
                    # "2 masques chacun, donc 180", "30 each, so 90 in all": the total replaces its parts;
                    # "nous en avons 4, il en faudrait 2 de plus": what is had is not asked for
                    base = None
                qty_strong[mm.id] = (base or 0) + value
                if owned:
                    owned_qty.add(mm.id)
                else:
                    owned_qty.discard(mm.id)
                last_attach.append((mm.id, b))
            qty_why.append(f"quantity {value} for {mm.id} ({how} '{p.original[p.starts[a]:p.ends[b - 1]]}')")
            return True

        restated = owned = more = False
        owned_qty: set[str] = set()
        people: list[tuple[int, int]] = []
        i = 0
        while i < n:
            t = toks[i]
            value = None
            a, b = i, i + 1
            is_word = False
            vague = False  # "une cinquantaine", "a couple", "a few hundred": a count that may follow its item
            marker = False
            indefinite = False  # "des centaines", "by the hundreds": a magnitude a figure may make precise
            if t[0].isdigit():
                m = _DIGITS.match(t)
                if m and len(m.group(1)) <= 7 and not (len(m.group(1)) > 1 and m.group(1)[0] == "0"):
                    head, sep, tail, suffix = m.groups()
                    ok = True
                    v = int(head)
                    if sep:
                        if len(tail) == 3 and len(head) <= 3 and head[0] != "0":
                            v = v * 1000 + int(tail)
                        else:
                            ok = False
                    if suffix == "k":
                        v *= 1000
                    elif suffix == "x":
                        marker = True
                    elif suffix:
                        ok = False
                    if ok and not sep and not suffix:
                        # thousands written with a space: "1 500", "12 430"
                        while b < n and len(toks[b]) == 3 and toks[b].isdigit() and p.norm[p.ends[b - 1]:p.starts[b]] == " " and v < 1000:
                            v = v * 1000 + int(toks[b])
                            b += 1
                        # a range gives its lower bound: "3-4", "20 à 30", "20 to 30"
                        if b < n and toks[b][:1].isdigit() and p.norm[p.ends[b - 1]:p.starts[b]].strip() in ("-", ""):
                            b += 1
                        elif b + 1 < n and toks[b] in _RANGE_SEP and toks[b + 1].isdigit() and int(toks[b + 1]) > v:
                            b += 2
                    if ok and b < n and toks[b] in GROUP_NOUNS:
                        v, b = v * GROUP_NOUNS[toks[b]], b + 1
                    if ok:
                        value = v
            elif t in PLURAL_GROUPS or (t in FEW and i + 1 < n and toks[i + 1] in GROUP_NOUNS):
                # "des centaines", "hundreds of", "a few hundred", "plusieurs milliers": the lower bound, two groups
                k = i if t in PLURAL_GROUPS else i + 1
                value, b, is_word, vague = 2 * GROUP_NOUNS[toks[k]], k + 1, True, True
                indefinite = True
            elif t in ARTICLES and i + 1 < n and toks[i + 1] == "couple":
                # "a couple of gowns" is 2, "a couple dozen" 24, "a couple (of) hundred" 200
                k, unit = i + 2, 1
                if k + 1 < n and toks[k] == "of" and toks[k + 1] in GROUP_NOUNS:
                    k += 1
                if k < n and toks[k] in GROUP_NOUNS:
                    k, unit = k + 1, GROUP_NOUNS[toks[k]]
                value, b, is_word, vague = 2 * unit, k, True, True
            elif t in NUMBER_WORDS or (t in ARTICLES and i + 1 < n and (toks[i + 1] in MULTIPLIERS or toks[i + 1] == "dozen")) \
                    or (t in ARTICLES and i + 2 < n and toks[i + 1] in ("ou", "or") and toks[i + 2] in NUMBER_WORDS):
                total, cur, j = 0, 0, i
                while j < n and (toks[j] in NUMBER_WORDS or (j == i and toks[j] in ARTICLES) or (toks[j] == "et" and j + 1 < n and toks[j + 1] in ("un", "une"))
                                 or (j > i and toks[j] in GROUP_NOUNS)):
                    w = toks[j]
                    val = 1 if w in ARTICLES else NUMBER_WORDS.get(w, 0)
                    if w in ("et",):
                        j += 1
                        continue
                    if w in GROUP_NOUNS and w not in NUMBER_WORDS:
                        cur = max(cur, 1) * GROUP_NOUNS[w]  # "deux douzaines", "trois centaines"
                    elif w in MULTIPLIERS:
                        if val == 1000:
                            total += max(cur, 1) * 1000
                            cur = 0
                        else:
                            cur = max(cur, 1) * val
                    elif w == "dozen":
                        cur = max(cur, 1) * 12
                    else:
                        cur += val
                    j += 1
                value, b, is_word = total + cur, j, True
                if b + 1 < n and toks[b] in _RANGE_SEP and toks[b + 1] in NUMBER_WORDS and toks[b + 1] not in MULTIPLIERS:
                    # "deux ou trois par jour", "two to three hundred": a range gives its lower bound
                    j = b + 1
                    while j < n and toks[j] in NUMBER_WORDS:
                        j += 1
                    last = toks[j - 1]
                    if NUMBER_WORDS[toks[b + 1]] > value or last in MULTIPLIERS:
                        if last in MULTIPLIERS and value < MULTIPLIERS[last] and toks[b] != "et":
                            value *= MULTIPLIERS[last]
                        b = j
            elif t in ARTICLES and i + 1 < n and toks[i + 1] in APPROX_NOUNS:
                value, b, is_word, vague = APPROX_NOUNS[toks[i + 1]], i + 2, True, True
            else:
                xm = _XNUM.match(t)
                if xm:
                    value, marker = int(xm.group(1)), True
            if value is None or value <= 0 or value > _MAX_VALUE:
                i += 1 if value is None else b - i
                continue
            i = b
            prev = toks[a - 1] if a > 0 else ""
            nxt = toks[b] if b < n else ""
            # numbers that are not counts
            if a > 0 and prev[0].isalpha() and p.norm[p.ends[a - 1]:p.starts[a]] in ("", "-") and not marker and not is_word:
                continue  # glued to a word: CR-10, covid-19
            if prev in NOT_COUNT_BEFORE or prev in cues.model_words or prev in cues.brands:
                continue
            if prev in month_words or nxt in month_words:
                continue
            if nxt in ("of", "de", "d") and b + 1 < n and toks[b + 1] in _OWN:
                continue  # "two of our pumps", "deux de nos respirateurs": things we have, not a count asked for
            if nxt in ("par", "per") and b + 1 < n and toks[b + 1][:1].isalpha() and not is_rate(b):
                continue  # "2 par résident", "2 per person": a share, not a count
            if (nxt == "/" and b + 1 < n and toks[b + 1][:1].isdigit()) or (prev == "/" and a > 1 and toks[a - 2][:1].isdigit()):
                continue
            if not is_word and value >= 1000 and len(t) == 5 and t.isdigit() and b == a + 1 and b not in item_at and not item_after(b):
                continue  # a postcode
            if not is_word and 1900 <= value <= 2100 and not item_after(b) and not (
                    nxt in words.get("unit", ()) or is_rate(b)):
                continue  # a year
            if "report_ctx" in clause_ctx.get(clause[a], ()) and any(
                    ctx_at(k, "report_ctx") is not None and clause[k] == clause[a] and not negated(k)
                    for k in range(max(0, a - 8), a)):
                continue  # "on en a reçu 10"
            back = " " + " ".join(toks[max(0, a - 3):a])
            if back.endswith(_REPLACED):
                continue  # "60 face shields rather than 40", "80 au lieu de 50": the figure given up
            k = a - 1
            while k >= 0 and a - k <= 2 and ctx_at(k, "approx") is not None:
                k -= 1
            restated = k >= 0 and (toks[k] in _SO or " ".join(toks[max(0, k - 1):k + 1]) in _SO)
            owned = any(toks[k] in _HAVE_NOW for k in range(max(0, a - 3), a)) and not restated
            more = (nxt == "de" and b + 1 < n and toks[b + 1] == "plus") or nxt in _MORE
            # attach
            target = item_after(b)
            if target is not None:
                # "deux pousse-seringues à l'arrêt, il nous faut 2 pièces": a count of machines is no count of parts
                machines = target.id == cues.equipment_part and not any(
                    toks[k] in cues.part_words or toks[k] in _PIECES for k in range(target.i0, target.i1))
                attach(target, value, a, target.i1, "count before the item", weak=machines)
                continue
            if is_word and value == 1 and t in ARTICLES and b == a + 1:
                continue
            k = b + 1 if nxt in CLITICS else b
            if k < n and ctx_at(k, "enough") is not None and prev_item(a, False, 12) is not None:
                # "des visières, 20 suffiront", "une cinquantaine nous dépannerait", "a couple would help": the count
                # of the item just named (not "j'ai 3 imprimantes, 2 seraient dispo")
                attach(prev_item(a, True) or prev_item(a, False, 12), value, a, b, "count before 'would do'")
                continue
            before = toks[max(0, a - 3):a]
            if marker or any(w in words.get("qty_marker", ()) for w in before) or any(
                    ctx_at(k, "qty_marker") is not None for k in range(max(0, a - 3), a)):
                attach(prev_item(a, False) or next_item(a, False), value, a, b, "quantity marker")
                continue
            if prev == "(" and a >= 2 and (a - 1) in {mm.i1 for mm in kept_items}:
                attach(prev_item(a, True), value, a, b, "in brackets after the item")
                continue
            if nxt in words.get("unit", ()) or is_rate(b) or (nxt == "/" and b + 1 < n and is_rate(b)):
                if attach(nearest(a), value, a, b, "rate or unit") and nxt not in words.get("unit", ()):
                    rate_at.append(a)
                continue
            if nxt in _BLOCK_UNITS and nxt not in words.get("free_after", ()):
                continue
            if nxt in _PER_PERSON:
                continue
            if any(toks[k] == "en" and k > 0 and sent[k] == sent[a] and (
                    toks[k - 1] in _EN_PRONOUN_BEFORE or toks[k + 1] in cues.en_verbs)
                   for k in range(max(1, a - 4), a)) and not unknown_noun(b):
                # "il nous en faudrait 200", "il leur en faut deux cents": a count, in figures or in words
                attach(prev_item(a, False) or next_item(a, False), value, a, b, "'en' refers to the item")
                continue
            if is_word and not vague and value not in APPROX_NOUNS.values() and not (
                    (prev in (",", ":") and (a - 1) in item_ends) or ctx_at(b, "start_qty") is not None):
                continue  # a count in words only right after its item ("des écouvillons, deux cents") or as a start
            if last_attach and a - 1 - last_attach[-1][1] <= 4 and (
                    prev == "+" or (prev in ("et", "and", ",") and nxt in cues.variant_words)):
                item_id = last_attach[-1][0]
                mm = next((x for x in kept_items if x.id == item_id), None)
                attach(mm, value, a, b, _ADDED)
                continue
            if unknown_noun(b):
                people.append((a, value))  # "our 15 nurses": a count of people, maybe the count of a share
                continue
            approx = any(ctx_at(k, "approx") is not None for k in range(max(0, a - 3), a))
            if approx:
                attach(nearest(a), value, a, b, "approximate count")
                continue
            attach(prev_item(a, True, 12) or prev_item(a, False, 25), value, a, b, "count after the item")

        for k, t in enumerate(toks):
            # "our 15 nurses need face shields, one each", "nos 12 agents voudraient une visière chacun": one per person
            one = item_at.get(k + 1) if t in _ONE else None  # "une visière chacune", "one shield each"
            j = one.i1 if one is not None else k + 1
            if t in _ONE and j < n and (toks[j] in _PER_PERSON or (
                    toks[j] in ("par", "per") and j + 1 < n and toks[j + 1] in _PERSON)):
                counts = [v for a_, v in people if sent[a_] == sent[k]]
                if len(counts) == 1:
                    for mm in kept_items:
                        if sent[mm.i0] == sent[k] and qty_strong.get(mm.id, 1) == 1:
                            qty_strong[mm.id] = counts[0]
                            qty_why.append(f"quantity {counts[0]} for {mm.id} (one per person '{' '.join(toks[k:k + 2])}')")
        for mm in kept_items:
            if mm.id not in qty_strong and mm.i0 > 0 and toks[mm.i0 - 1] in ARTICLES:
                qty_weak.setdefault(mm.id, 1)

        # ---- intent scores
        mention_starts = {mm.i0 for mm in mentions}
        design = cues.design_words
        units = words.get("unit", ())
        has_institution = any(cat == "institution" for a, b, cats in context for cat, _ in cats)
        S = {"need": 0.0, "offer": 0.0, "question": 0.0, "other": 0.5}
        topic = dict.fromkeys(TOPICS, 0.0)
        seen_qmark = False
        request = False
        contrast_last = contrast_at[-1] if contrast_at else -1
        # a "?" closing a request ("Anyone near Lille?") or an offer ("qui en veut ?") is not a question

        def asks_for_answer(b: int) -> bool:
            """Is the request ending at `b` one for an answer ("pourriez-vous nous dire", "can someone explain")?"""
            k = b
            while k < n and k < b + 3 and (toks[k] in CLITICS or toks[k] in _ASK_FILLERS):
                k += 1
            return k < n and ctx_at(k, "say_verb") is not None

        # a weak request ("des makers") inside a question built as one ("pouvons-nous acheter ... ?") leaves the
        # question standing
        built_q = {sent[a] for a, b, cats in scoring for cat, w in cats if cat == "question" and w >= 2 and toks[a] != "?"}
        ask_sents = {sent[a] for a, b, cats in scoring for cat, w in cats
                     if cat == "offer_q" or (cat == "request" and not asks_for_answer(b)
                                             and (w >= 2 or sent[a] not in built_q))}
        # a need asked of makers: "Pouvez-vous imprimer 4 pièces pour nos pousse-seringues ?", "Would anyone be able
        # to sew 40 gowns for our care home?" (someone else asked to make, an item, and a count or who it is for)
        asked_at = [(a, b) for a, b, cats in context for cat, _ in cats if cat == "ask_you"] if kept_items else ()
        for a, b in asked_at:
            verb = next((k for k in range(b, min(n, b + 5)) if ctx_at(k, "make_verb") is not None
                         and sent[k] == sent[a]), None)
            if verb is None or any(toks[k] not in CLITICS and toks[k] not in _ASK_FILLERS for k in range(b, verb)):
                continue
            made = [mm for mm in kept_items if mm.i0 > verb and sent[mm.i0] == sent[a]]
            if not made and (any(toks[k] in _THEM_BEFORE for k in range(b, verb)) or (
                    verb + 1 < n and toks[verb + 1] in _THEM_AFTER)):
                # "nous avons besoin de 3 respirateurs. Vos makers peuvent-ils en fabriquer ?": the items named before
                made = [mm for mm in kept_items if mm.i1 <= a]
            if not made and verb + 2 < n and toks[verb + 1][:1].isdigit() and toks[verb + 2] in units:
                made = [mm for mm in kept_items if mm.id in qty_strong]  # "imprimer 4 pièces" for the pumps named
            if not made or any(toks[k] in design or toks[k] in _DESIGN_OBJECTS for k in range(verb, made[0].i0)):
                continue  # "pouvez-vous m'envoyer le fichier de la visière ?" asks for a file
            if any(mm.id in qty_strong for mm in made) or any(toks[k] in _BENEFACTIVE for k in range(a, len(toks))
                                                               if sent[k] == sent[a]) or has_institution:
                S["need"] += 3.0
                request = True
                ask_sents.add(sent[a])
                why.append(f"request to makers '{' '.join(toks[a:verb + 1])}'")
                break
        item_starts = {mm.i0 for mm in kept_items}
        for a, b, cats in context:
            for cat, _ in cats:
                if cat not in ("lack", "have_you"):
                    continue
                k = b
                while k < n and k < b + 3 and (toks[k] in STOPWORDS or toks[k] in _POSSESSIVES or toks[k] in _ANY):
                    k += 1
                if k >= n or sent[k] != sent[a] or conditional(a):
                    continue
                if cat == "lack" and (k in item_starts or toks[k] in _LACK_OF):
                    # "nos aides à domicile n'ont aucune protection", "we have no gowns": a lack of what the hub knows
                    S["need"] += 2.5
                    why.append(f"lack of '{' '.join(toks[a:k + 1])}'")
                elif cat == "have_you" and k in item_starts:
                    # "vous auriez du gel ?", "do you have any gowns?": a request for things, not a question
                    S["need"] += 2.5
                    request = True
                    ask_sents.add(sent[a])
                    why.append(f"request '{' '.join(toks[a:k + 1])}'")
        need_sent_last = max((sent[a] for a, b, cats in scoring for cat, w in cats if cat == "need" and w >= 2.5),
                             default=-1)
        # what a need asks for, delivered: "besoin de 25 visières livrées à Montauban", "we need gowns delivered"
        first_need: dict[int, int] = {}
        for a, _b, cats in scoring:
            if any(cat == "need" and w >= 2.5 for cat, w in cats):
                first_need.setdefault(clause[a], a)

        def wanted(i: int) -> bool:
            return first_need.get(clause[i], n) < i
        for i, t in enumerate(toks):
            if t in _MADE and sent[i] not in q_sents and not conditional(i):
                # "j'ai tellement imprimé de visières que...", "we've sewn 300 gowns": work done, told
                k = i - 1
                while k > 0 and i - k <= 2 and toks[k] in _ADVERBS:
                    k -= 1
                if k > 0 and toks[k] in _HAVE and (toks[k] != "a" or toks[k - 1] in _HAS_SUBJECT):
                    S["other"] += 2.0
                    why.append(f"work done '{' '.join(toks[k:i + 1])}'")
                    break
        for i, t in enumerate(toks):
            if t in _PAST_PARTICIPLE_STEMS and p.original[p.starts[i]:p.ends[i]].lower().rstrip("s").rstrip("e").endswith("é") \
                    and not (i > 0 and toks[i - 1] in _PASSIVE_TO_COME) and not wanted(i):  # "pour être livré"
                S["other"] += 3.0
                why.append(f"report cue '{p.original[p.starts[i]:p.ends[i]]}'")
        for a, b, cats in scoring:
            phrase = " ".join(toks[a:b])
            in_q = sent[a] in q_sents
            for cat, w in cats:
                if cat == "need":
                    lo = max(sent_start[sent[a]], a - 6)
                    window = toks[lo:a]
                    cond = any(is_if(k) for k in range(lo, a)) or any(
                        x in _COND_WHO and (k == sent_start[sent[a]] or (k > 0 and toks[k - 1] in _WHO_LEAD)
                                            or (in_q and (k == 0 or clause[k - 1] != clause[k])))
                        for k, x in enumerate(window, start=lo))
                    if any(toks[k] in _NEG_BEFORE_NEED and clause[k] == clause[a]
                           for k in range(max(sent_start[sent[a]], a - 4), a)):
                        S["other"] += w * 0.5
                        why.append(f"negated need '{phrase}'")
                    elif cond:
                        S["offer"] += w
                        why.append(f"conditional need '{phrase}' (offer)")
                    else:
                        S["need"] += w * (0.5 if in_q else 1.0)
                        why.append(f"need cue '{phrase}'")
                elif cat == "request":
                    if asks_for_answer(b):
                        why.append(f"request '{phrase}' for an answer, not for things")  # "pourriez-vous nous dire"
                        continue
                    S["need"] += w
                    request = True
                    why.append(f"request '{phrase}'")
                elif cat == "offer":
                    S["offer"] += w * (0.5 if in_q else 1.0)
                    why.append(f"offer cue '{phrase}'")
                elif cat == "offer_q":
                    S["offer"] += w
                    why.append(f"offer phrased as a question '{phrase}'")
                elif cat == "question":
                    if phrase == "?":
                        if sent[a] in ask_sents:
                            continue
                        if seen_qmark:
                            continue
                        seen_qmark = True
                        if a > 0 and toks[a - 1] in _WH_LAST and toks[a - 1] != "ou":
                            w += 1.5  # "ça coûte combien ?", "on fait comment ?": the question word comes last
                    S["question"] += w
                    why.append(f"question cue '{phrase}'")
                elif cat in ("thanks", "report", "cancel", "stopped", "news"):
                    if cat in ("report", "cancel", "stopped") and conditional(a):
                        why.append(f"{cat} cue '{phrase}' ignored: conditional")
                        continue
                    ww = w * (0.4 if cat in ("cancel", "thanks", "stopped") and a < contrast_last else 1.0)
                    if cat == "stopped" and phrase in _LOST and not any(b <= k <= b + 3 for k in mention_starts):
                        ww *= 0.3  # "je n'ai plus de clients" is not "je n'ai plus d'imprimante"
                    if in_q and cat in ("cancel", "report", "stopped"):
                        ww *= 0.3  # "est-on couverts par l'assurance ?" asks, it does not report
                    if cat == "report":
                        if wanted(a):
                            why.append(f"report cue '{phrase}' ignored: what a need asks for")
                            continue
                        if negated(a):
                            why.append(f"report cue '{phrase}' ignored: negated")  # "we haven't received any"
                            continue
                        if sent[a] < need_sent_last:
                            ww *= 0.4  # "bien reçu les visières ! il nous faudrait des blouses": a new need follows
                    S["other"] += ww
                    why.append(f"{cat} cue '{phrase}'")
                elif cat.startswith("topic:"):
                    topic[cat[6:]] += w
        for k, t in enumerate(toks):
            # "où" (accented, or unaccented right before "?") in a question is "where", not the "or" it folds to
            if t == "ou" and sent[k] in q_sents and sent[k] not in ask_sents and (
                    p.original[p.starts[k]:p.ends[k]].lower() == "où" or (k + 1 < n and toks[k + 1] == "?")):
                S["question"] += 1.5
                topic["logistics"] += 1.5
                why.append("question word 'où'")
                break
        prefixes = cues.prefixes
        for t in (toks if S["question"] > 0 else ()):  # topics only matter for questions
            if len(t) < 2:
                continue
            best: dict[str, float] = {}  # "modele" matches "model" and "modele": one word counts once per topic
            for L in cues.prefix_lengths:
                if L > len(t):
                    break
                for cat, w in prefixes.get(t[:L], ()):
                    if w > best.get(cat, 0.0):
                        best[cat] = w
            for cat, w in best.items():
                topic[cat[6:]] += w

        n_items = len(kept_items)
        n_caps = len(caps_kept)
        institutions = sum(1 for a, b, cats in context for cat, _ in cats if cat == "institution")
        deadline_hint = None
        today = _local_date(sent_at, tz)
        if n_items or S["need"] > 0:
            deadline_hint = find_deadline(p.norm, today, p.original)
        if n_items:
            S["need"] += 0.5 * min(institutions, 2)
            if deadline_hint and deadline_hint[2]:
                S["need"] += 1.0
            if request:
                S["need"] += 1.0
        else:
            S["need"] *= 0.6
        if n_caps and rate_at and S["need"] <= 0 and S["question"] <= 0:
            # "4 couturières : masques en tissu, environ 100 par jour": a capacity stated as a rate is an offer
            S["offer"] += 1.5
            why.append(f"production rate '{toks[rate_at[0]]}' with a capability")
        if n_caps:
            S["offer"] += (0.8 if S["offer"] > 0 else 0.4) * min(n_caps, 3)
        if not (n_items or n_caps or give_cue):
            S["offer"] *= 0.4
        top_topic = max(TOPICS, key=lambda k: topic[k])
        domain = bool(n_items or n_caps or items)
        if topic[top_topic] < 2.5 and not domain:
            S["question"] *= 0.2  # a question about nothing the hub knows ("tu peux me rappeler ?")
        elif seen_qmark and topic[top_topic] >= 2:
            S["question"] += 1.5
        ranked = sorted(S.items(), key=lambda kv: (-kv[1], kv[0] != "other"))  # a tie stays silent
        intent, s1 = ranked[0]
        s2 = ranked[1][1]
        confidence = (1 - math.exp(-max(s1, 0.0) / 2.0)) / (1 + math.exp(-(s1 - s2) * 1.2))
        if intent == "other" and s1 <= 0.5:
            confidence = 0.6

        out_items: tuple[ItemMention, ...] = ()
        out_caps: tuple[str, ...] = ()
        place = None
        deadline = None
        topic_out = None
        cue_list = [f"scores need={S['need']:.1f} offer={S['offer']:.1f} question={S['question']:.1f} other={S['other']:.1f}"]
        cue_list += why[:20]
        if intent in ("need", "offer"):
            chosen: list[str] = []
            for mm in items:
                if not mm.kept:
                    cue_list.append(f"item {mm.id} from '{mm.surface}' set aside: {mm.why}")
                    continue
                if intent == "offer" and ctx_before(mm.i0, "demand_of", 3):
                    cue_list.append(f"item {mm.id} from '{mm.surface}' set aside: demand, not offer")
                    continue
                if mm.id not in chosen:
                    chosen.append(mm.id)
                    cue_list.append(f"item {mm.id} from '{mm.surface}'")
            out_items = tuple(ItemMention(i_, qty_strong.get(i_, qty_vague.get(i_, qty_weak.get(i_)))) for i_ in chosen)
            cue_list += [q for q in qty_why if q.split(" for ", 1)[1].split(" ", 1)[0] in chosen]
            if intent == "offer":
                caps = []
                for mm in mentions:
                    if mm.kind == CAPABILITY and mm.id in caps_kept and mm.id not in caps:
                        caps.append(mm.id)
                        cue_list.append(f"capability {mm.id} from '{mm.surface}'")
                out_caps = tuple(caps)
            if intent == "need" and deadline_hint:
                deadline = deadline_hint[0]
                cue_list.append(f"deadline {deadline.isoformat()} from '{deadline_hint[1]}'")
            if self.gazetteer is not None:
                try:
                    place = self.gazetteer.find_in_text(p.original)
                except Exception:
                    log.exception("gazetteer failed")
                    place = None
                if place is not None:
                    cue_list.append(f"place {getattr(place, 'name', place)}")
        elif intent == "question":
            topic_out = top_topic if topic[top_topic] > 0 else "logistics"
            cue_list.append(f"topic {topic_out} (score {topic[top_topic]:.1f})")
        return Recognition(intent, round(min(max(confidence, 0.0), 1.0), 4), out_items, out_caps, place, deadline,
                           topic_out, tuple(cue_list))
