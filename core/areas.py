"""A community's area: the part of the country its briefing covers.

Stored in ``Community.region`` in a canonical form: an official region ("Centre-Val de Loire") or a sorted
list of département codes ("37" or "37,41"); None is the whole country. Regions and their départements come
from core/escalation.py (the gazetteer's areas), so ticket routing and briefings agree on them."""

from __future__ import annotations

import re
from functools import lru_cache

from core.escalation import _region_key, _regions, canonical_region, region_of_department

__all__ = ["CLEAR", "EXAMPLES", "parse_area", "departments_of_area", "region_of_area", "area_label"]

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
    region = names.get(_region_key(text))
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
    region = _regions()[1].get(_region_key(area))
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
        return _regions()[1][_region_key(area)]
    from core.charts import department_names

    names = department_names()
    return ", ".join(f"{names[d]} ({d})" if d in names else d for d in deps)

