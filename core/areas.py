"""Regions and départements, and a community's area: the part of the country its briefing covers.

The one reader of the gazetteer's areas file: département names, the 18 official regions and their
départements, region aliases (IDF, PACA, Alsace). Ticket routing (core/escalation.py), capacity views
(core/matching.py), charts and briefings all use these, so they agree.

An area is stored in ``Community.region`` in a canonical form: an official region ("Centre-Val de Loire")
or a sorted list of département codes ("37" or "37,41"); None is the whole country."""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache

from core.text import clean

__all__ = ["CLEAR", "EXAMPLES", "OFFICIAL_REGIONS", "area_label", "canonical_region", "department_names",
           "departments_of_area", "fold", "name_key", "parse_area", "region_named", "region_of_area",
           "region_of_department", "same_region"]

# The 18 official regions; the other "reg" rows of the gazetteer's areas are aliases (IDF, PACA, Alsace).
OFFICIAL_REGIONS = (
    "Auvergne-Rhône-Alpes", "Bourgogne-Franche-Comté", "Bretagne", "Centre-Val de Loire", "Corse", "Grand Est",
    "Guadeloupe", "Guyane", "Hauts-de-France", "Île-de-France", "La Réunion", "Martinique", "Mayotte",
    "Normandie", "Nouvelle-Aquitaine", "Occitanie", "Pays de la Loire", "Provence-Alpes-Côte d'Azur",
)


def fold(text: str) -> str:
    """Lower case without accents: how questions and region names are compared."""
    return unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()


def name_key(text: str) -> str:
    """A name compared without case, accents or punctuation ("Centre-Val de Loire" = "centre val de loire")."""
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()


@lru_cache(maxsize=1)
def _rows() -> tuple[dict[str, str], ...]:
    from core.places.gazetteer import DATA_DIR

    with open(DATA_DIR / "areas.tsv", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh, delimiter="\t"))


@lru_cache(maxsize=1)
def department_names() -> dict[str, str]:
    """Département code -> name ("37" -> "Indre-et-Loire")."""
    names: dict[str, str] = {}
    for row in _rows():
        deps = row.get("deps") or ""
        if row.get("kind") == "dep" and deps and "," not in deps:
            names.setdefault(deps, row["name"])
    return names


@lru_cache(maxsize=1)
def _regions() -> tuple[dict[str, str], dict[str, str]]:
    """(département code → official region, folded region name or alias → official region)."""
    official = {name_key(r): r for r in OFFICIAL_REGIONS}
    deps_of: dict[str, set[str]] = {}
    aliases: dict[str, set[str]] = {}
    for row in _rows():
        if row.get("kind") != "reg":
            continue
        deps = set((row.get("deps") or "").split(","))
        if name_key(row["name"]) in official:
            deps_of[official[name_key(row["name"])]] = deps
        else:
            aliases[name_key(row["name"])] = deps
    by_dep = {d: region for region, deps in deps_of.items() for d in deps}
    names = dict(official)
    for key, deps in aliases.items():
        parents = {by_dep.get(d) for d in deps}
        if len(parents) == 1 and None not in parents:
            names[key] = parents.pop()
    return by_dep, names


def region_named(text: str | None) -> str | None:
    """The official region a name or an alias (IDF, PACA, Alsace) stands for; None for anything else."""
    return _regions()[1].get(name_key(text or "")) if text else None


def region_of_department(department: str | None) -> str | None:
    if not department:
        return None
    return _regions()[0].get(department.upper().zfill(2))


def canonical_region(text: str | None) -> str | None:
    """An official region from what a moderator typed: a name in any case or accents, an alias
    (IDF, PACA, Alsace) or a département code; anything else is kept as typed."""
    if not text or not text.strip():
        return None
    by_dep, names = _regions()
    key = name_key(text)
    if key in names:
        return names[key]
    if key.upper().zfill(2) in by_dep:
        return by_dep[key.upper().zfill(2)]
    return clean(text)[:64] or None


def same_region(a: str | None, b: str | None) -> bool:
    return bool(a and b) and name_key(canonical_region(a) or "") == name_key(canonical_region(b) or "")


CLEAR = ("-", "aucune", "aucun", "none", "national", "france")
EXAMPLES = ("Centre-Val de Loire", "PACA", "37", "37,41")
MAX_LENGTH = 64  # Community.region


@lru_cache(maxsize=1)
def _departments_of_region() -> dict[str, frozenset[str]]:
    by_dep = _regions()[0]
    out: dict[str, set[str]] = {}
    for dep, region in by_dep.items():
        out.setdefault(region, set()).add(dep)
    return {region: frozenset(deps) for region, deps in out.items()}


def _department_list(text: str) -> tuple[str, ...] | None:
    """Known département codes ("37", "2a", "1, 41 ; 72") as a sorted tuple; None when ``text`` is not
    such a list or names an unknown code."""
    codes = [c for c in re.split(r"[\s,;/+]+", text.strip()) if c]
    if not codes or not all(re.fullmatch(r"\d{1,3}|2[abAB]", c) for c in codes):
        return None
    by_dep = _regions()[0]
    codes = [c.upper().zfill(2) for c in codes]
    if not all(c in by_dep for c in codes):
        return None
    return tuple(sorted(set(codes)))


def parse_area(text: str) -> str | None:
    """The canonical area for what a moderator typed: an official region in any case or accents, an alias
    (IDF, PACA, Alsace...), département codes, or "-" for the whole country (None). Raises ValueError for
    anything else."""
    text = (text or "").strip()
    if not text or text.lower() in CLEAR:
        return None
    deps = _department_list(text)
    if deps is not None:
        stored = ",".join(deps)
        if len(stored) > MAX_LENGTH:
            raise ValueError(text)
        return stored
    names = _regions()[1]
    region = names.get(name_key(text))
    if region is None:
        raise ValueError(text)
    return region


def departments_of_area(area: str | None) -> tuple[str, ...] | None:
    """The départements of a stored area, sorted; None for the whole country (also for a value stored
    before areas were checked that names no region or département)."""
    if not area:
        return None
    deps = _department_list(area)
    if deps is not None:
        return deps
    region = _regions()[1].get(name_key(area))
    if region is None:
        return None
    return tuple(sorted(_departments_of_region().get(region, ())))


def region_of_area(area: str | None) -> str | None:
    """The official region of an area, for ticket routing: itself, or the region of its départements when
    they share one (None when they span several); an unchecked legacy value is kept as ``canonical_region``
    reads it."""
    if not area:
        return None
    deps = _department_list(area)
    if deps is None:
        return canonical_region(area)
    regions = {region_of_department(d) for d in deps}
    return regions.pop() if len(regions) == 1 else None


def area_label(area: str | None) -> str | None:
    """How a briefing names its area: the region, or "Indre-et-Loire (37), Loir-et-Cher (41)"."""
    if departments_of_area(area) is None:
        return None
    deps = _department_list(area)
    if deps is None:
        return _regions()[1][name_key(area)]
    names = department_names()
    return ", ".join(f"{names[d]} ({d})" if d in names else d for d in deps)

