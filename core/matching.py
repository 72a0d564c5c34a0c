"""Matching needs to offers, asking the best-placed makers, and the queries around them.

Ranking. Each candidate offer gets one score from six parts, every one in [0, 1] times a weight:
item or capability fit, closeness (geodesic distance), capacity against the quantity still uncovered
before the deadline, availability (the maker's open commitments against their capacity), recency of
the offer, and the maker's record of deliveries. Offers are searched within a radius (the community's,
50 km by default), doubled step by step up to ``match_radius_max_km`` while nothing is found.

Scale. Candidates come from the ``offertag`` table (one row per offer and item or capability it can
fill, with the offer's latitude strip, coordinates, capacity and date, covered by one index on
``(tag, band, lon, ...)``), read in growing square rings around the need, a tight one first. The
database bounds each offer's score (exact fit over all its rows, a lower bound of the distance, capacity,
recency: all but the maker's record and load) and returns, best bound first and a page at a time, only
offers that could still enter the top; tags whose rows cannot are not read at all. Exact geodesic
scores are computed best bound first, and the search stops as soon as the tenth best exact score beats
anything the unread rows or the unread rings could reach. The result is exactly what a full scan gives
with the same scoring function (``rank_naive``, used by the tests and the benchmark).
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    Float,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    literal_column,
    not_,
    or_,
    text,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from core import areas
from core.commands import command
from core.errors import Refused
from core.hub import need_ref
from core.messages import Button
from core.models import (
    Commitment,
    Community,
    Item,
    MakerAlert,
    Need,
    NeedLine,
    NeedStatus,
    Offer,
    OfferTag,
    Person,
)

EARTH_KM_PER_DEG_LAT = 111.32
EARTH_RADIUS_KM = 6371.0088

# Score weights; each part is in [0, 1].
W_FIT = 3.0
W_DIST = 3.0
W_CAPACITY = 1.5
W_AVAILABLE = 1.0
W_RECENT = 0.5
W_RECORD = 1.0
MAX_BUT_DISTANCE = W_FIT + W_CAPACITY + W_AVAILABLE + W_RECENT + W_RECORD

DISTANCE_SCALE_KM = 20.0  # closeness halves at this distance
UNKNOWN_DISTANCE_CLOSENESS = 0.5  # an offer placed by its department only
CAPABILITY_FIT = 0.6  # an offer that can make the item, without listing it
DEFAULT_DAYS = 7  # production days when the need has no deadline
RECENT_DAYS = 14.0  # an offer's recency halves at this age
RING0_KM = 2.0  # first ring of the search; rings double (or quadruple where sparse) up to the radius
# Haversine on the mean radius stays within 0.6 % of the WGS-84 geodesic distance.
HAVERSINE_LOW, HAVERSINE_HIGH = 0.993, 1.007
# A square of half-side r * BOX_MARGIN (in degrees, see bbox) holds every point within r km, and every
# point outside it is more than r km away.
BOX_MARGIN = 1.03
EPS = 1e-9

ASK_PER_NEED = 5  # makers told directly about one new need
DAY = timedelta(days=1)


# ---------------------------------------------------------------------------------------------- geometry


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance on the WGS-84 ellipsoid (geographiclib, as geopy's ``geodesic``)."""
    from geographiclib.geodesic import Geodesic

    return Geodesic.WGS84.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"] / 1000.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bbox(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """A latitude/longitude box around a point (a square of half-side radius_km, roughly)."""
    dlat = radius_km / EARTH_KM_PER_DEG_LAT
    dlon = radius_km / (EARTH_KM_PER_DEG_LAT * max(math.cos(math.radians(lat)), 0.01))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def closeness(km: float | None) -> float:
    if km is None:
        return UNKNOWN_DISTANCE_CLOSENESS
    return 1.0 / (1.0 + km / DISTANCE_SCALE_KM)


# ---------------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class NeedProfile:
    """What the scoring needs to know about a need."""

    lat: float | None
    lon: float | None
    department: str | None
    requester_id: int | None
    lines: tuple[dict[str, float], ...]  # per line still to cover: tag -> fit
    remaining: int | None  # units still uncovered, None if no quantity is known
    days: int  # production days before the deadline
    now: datetime | None

    @property
    def tags(self) -> set[str]:
        return {t for line in self.lines for t in line}


@dataclass
class OfferRow:
    """The columns of an offer that the scoring reads."""

    id: int
    maker_id: int | None
    lat: float | None
    lon: float | None
    capacity: int | None
    updated_at: datetime | None
    tags: set[str] = field(default_factory=set)
    department: str | None = None


@dataclass(frozen=True)
class MakerStats:
    done: int = 0  # commitments delivered (and confirmed)
    stalled: int = 0  # open commitments flagged as stale
    open_units: int = 0  # units promised and not delivered yet


NEW_MAKER = MakerStats()


@dataclass
class Candidate:
    offer: Offer
    score: float
    km: float | None
    reasons: list[str] = field(default_factory=list)


def profile_of(s: Session, need: Need, lines: list[NeedLine], now: datetime | None) -> NeedProfile:
    made_with: dict[str, list[str]] = s.info.get("relais.made_with") or {}
    if not made_with:  # the catalogue, read once per session
        made_with = {i.id: list(i.made_with or []) for i in s.exec(select(Item))}
        s.info["relais.made_with"] = made_with
    todo = [ln for ln in lines if ln.quantity is None or ln.committed < ln.quantity] or list(lines)
    fits = []
    for ln in todo:
        tags = {cap: CAPABILITY_FIT for cap in made_with.get(ln.item_id, [])}
        tags[ln.item_id] = 1.0
        fits.append(tags)
    known = [ln for ln in todo if ln.quantity is not None]
    remaining = sum(max(ln.quantity - ln.committed, 0) for ln in known) if known else None
    days = DEFAULT_DAYS
    if need.deadline is not None and now is not None:
        days = min(max((need.deadline - now.date()).days, 1), 14)
    return NeedProfile(
        need.lat, need.lon, need.department, need.requester_id, tuple(fits), remaining or None, days, now
    )


def _fit(profile: NeedProfile, tags: set[str]) -> tuple[float, list[str], list[str]]:
    total, items, caps = 0.0, set(), set()
    for line in profile.lines:
        best = 0.0
        for tag in tags:
            f = line.get(tag, 0.0)
            best = max(best, f)
        for tag in tags & line.keys():
            (items if line[tag] == 1.0 else caps).add(tag)
        total += best
    return total / max(len(profile.lines), 1), sorted(items), sorted(caps)


def _capacity(profile: NeedProfile, capacity: int | None) -> float:
    if capacity and profile.remaining:
        return min(capacity * profile.days / profile.remaining, 1.0)
    if capacity:
        return 0.8
    return 0.5 if profile.remaining is None else 0.3


def _recency(profile: NeedProfile, updated_at: datetime | None) -> tuple[float, float | None]:
    if profile.now is None or updated_at is None:
        return 0.5, None
    age = max((profile.now - updated_at).total_seconds() / 86400, 0.0)
    return 1.0 / (1.0 + age / RECENT_DAYS), age


def _available(capacity: int | None, stats: MakerStats) -> float:
    if stats.open_units <= 0:
        return 1.0
    if capacity:
        return max(0.0, 1.0 - stats.open_units / (capacity * 7))
    return 0.5


def _record(stats: MakerStats) -> float:
    """Commitments left without news weigh against a maker; deliveries make up for them. A new maker
    starts with a clean record."""
    return (stats.done + 1) / (stats.done + stats.stalled + 1)


def score_offer(
    profile: NeedProfile, row: OfferRow, km: float | None, stats: MakerStats, explain: bool = False
) -> tuple[float, list[str]]:
    """The one scoring function, for the indexed search and the full scan alike."""
    fit, items, caps = _fit(profile, row.tags)
    capacity = _capacity(profile, row.capacity)
    recent, age = _recency(profile, row.updated_at)
    available = _available(row.capacity, stats)
    record = _record(stats)
    score = (
        W_FIT * fit
        + W_DIST * closeness(km)
        + W_CAPACITY * capacity
        + W_AVAILABLE * available
        + W_RECENT * recent
        + W_RECORD * record
    )
    if not explain:
        return score, []
    reasons = []
    if items:
        reasons.append("item:" + ",".join(items))
    if caps:
        reasons.append("capability:" + ",".join(caps))
    reasons.append(f"distance:{km:.0f}km" if km is not None else f"department:{profile.department}")
    if row.capacity:
        reasons.append(f"capacity:{row.capacity}/day")
        if profile.remaining:
            reasons.append(f"covers:{round(100 * capacity)}%")
    reasons.append("available" if stats.open_units <= 0 else f"busy:{stats.open_units}")
    if age is not None:
        reasons.append(f"updated:{age:.0f}d")
    reasons.append(f"deliveries:{stats.done}")
    if stats.stalled:
        reasons.append(f"stalled:{stats.stalled}")
    return score, reasons


def _upper_bound(
    profile: NeedProfile, row: OfferRow, km_low: float | None, stats: MakerStats | None = None
) -> float:
    """No exact score of this row can exceed this (whatever the maker's record and load when ``stats``
    is None), since the geodesic distance is at least ``km_low``."""
    fit, _, _ = _fit(profile, row.tags)
    recent, _ = _recency(profile, row.updated_at)
    maker = W_AVAILABLE + W_RECORD
    if stats is not None:
        maker = W_AVAILABLE * _available(row.capacity, stats) + W_RECORD * _record(stats)
    return (
        W_FIT * fit
        + W_DIST * closeness(km_low)
        + W_CAPACITY * _capacity(profile, row.capacity)
        + W_RECENT * recent
        + maker
    ) + EPS


_STALE = Commitment.stale_flagged_at.is_not(None)
_STATS = (
    select(
        Commitment.maker_id,
        Commitment.status,
        _STALE,
        func.count(),
        func.sum(Commitment.quantity - Commitment.delivered),
    )
    .where(Commitment.maker_id.in_(bindparam("ids", expanding=True)))
    .group_by(Commitment.maker_id, Commitment.status, _STALE)
)


def maker_stats(s: Session, maker_ids: Iterable[int | None]) -> dict[int, MakerStats]:
    """Deliveries, stalled commitments and open units of each maker (makers without any are absent)."""
    ids = sorted({m for m in maker_ids if m is not None})
    if not ids:
        return {}
    acc: dict[int, list[int]] = {}
    for maker_id, status, is_stale, n, units in s.connection().execute(_STATS, {"ids": ids}):
        done_stalled_open = acc.setdefault(maker_id, [0, 0, 0])
        if status in ("delivered", "confirmed"):
            done_stalled_open[0] += n
        elif status == "committed":
            done_stalled_open[2] += int(units or 0)
            if is_stale:
                done_stalled_open[1] += n
    return {m: MakerStats(*v) for m, v in acc.items()}


# ---------------------------------------------------------------------------------------------- the tag index


def offer_tags(offer: Offer) -> set[str]:
    tags = {str(i.get("item")) for i in offer.items or [] if i.get("item")}
    tags.update(str(c) for c in offer.capabilities or [] if c)
    return tags


def band_of(lat: float | None) -> int | None:
    """The latitude strip of the tag index (``BAND_DEG`` high)."""
    if lat is None or not math.isfinite(lat):
        return None
    return math.floor(lat / BAND_DEG)


def epoch_day(at: datetime | None) -> float | None:
    """Days since 1970-01-01 UTC (the tag index keeps an offer's date so, for the recency bound)."""
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.timestamp() / 86400


def _tag_row(offer_id: int, tag: str, lat, lon, capacity, updated_at) -> dict[str, Any]:
    return {
        "offer_id": offer_id,
        "tag": tag,
        "lat": lat,
        "lon": lon,
        "band": band_of(lat),
        "capacity": capacity,
        "updated_day": epoch_day(updated_at),
    }


def index_offer(s: Session, offer: Offer) -> None:
    """Write the offer's rows of the matching index; call after an offer is recorded or changed (its
    items, capabilities, place, capacity, status or date)."""
    s.exec(delete(OfferTag).where(OfferTag.offer_id == offer.id))
    if offer.status == "active":
        for tag in sorted(offer_tags(offer)):
            s.add(
                OfferTag(
                    **_tag_row(offer.id, tag, offer.lat, offer.lon, offer.capacity_per_day, offer.updated_at)
                )
            )
    s.flush()


def reindex_offers(s: Session) -> int:
    """Rebuild the whole matching index from the offers (after a bulk import)."""
    s.exec(delete(OfferTag))
    rows = []
    for oid, lat, lon, items, caps, capacity, updated_at in s.exec(
        select(
            Offer.id,
            Offer.lat,
            Offer.lon,
            Offer.items,
            Offer.capabilities,
            Offer.capacity_per_day,
            Offer.updated_at,
        ).where(Offer.status == "active")
    ):
        tags = {str(i.get("item")) for i in items or [] if i.get("item")} | {str(c) for c in caps or [] if c}
        rows.extend(_tag_row(oid, t, lat, lon, capacity, updated_at) for t in sorted(tags))
    for i in range(0, len(rows), 5000):
        s.exec(OfferTag.__table__.insert(), params=rows[i : i + 5000])  # type: ignore[call-overload]
    s.flush()
    return len(rows)


# ---------------------------------------------------------------------------------------------- ranking


class _Top:
    """The best ``limit`` candidates by (score desc, distance, offer id)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.keys: list[tuple[float, float, int]] = []
        self.items: list[tuple[OfferRow, float, float | None]] = []

    def push(self, row: OfferRow, score: float, km: float | None) -> None:
        """Add a candidate; an offer scored again (with more of its tags read) replaces itself."""
        for j, (old, _, _) in enumerate(self.items):
            if old.id == row.id:
                del self.keys[j], self.items[j]
                break
        key = (-score, km if km is not None else math.inf, row.id)
        i = bisect.bisect(self.keys, key)
        if i >= self.limit:
            return
        self.keys.insert(i, key)
        self.items.insert(i, (row, score, km))
        del self.keys[self.limit :], self.items[self.limit :]

    @property
    def full(self) -> bool:
        return len(self.keys) >= self.limit

    @property
    def threshold(self) -> float:
        return -self.keys[-1][0] if self.full else -math.inf


class _Search:
    """One ranking: exact scores computed lazily, best upper bound first."""

    def __init__(
        self, s: Session, profile: NeedProfile, radius: float, limit: int, stats: dict[int, MakerStats]
    ):
        self.s, self.profile, self.radius = s, profile, radius
        self.top = _Top(limit)
        self.pending: list[tuple[float, OfferRow, float | None]] = []
        self.stats = stats
        self.fetched_stats: set[int] = set(stats)
        self.read: dict[int, set[str]] = {}  # offer id -> tags already read

    def add(self, rows: Iterable[OfferRow]) -> None:
        p = self.profile
        for row in rows:
            if row.maker_id is not None and row.maker_id == p.requester_id:
                continue
            known = self.read.get(row.id)
            if known is not None:
                if row.tags <= known:
                    continue  # read before (the seed and the first ring overlap)
                row.tags |= known
            self.read[row.id] = row.tags
            km_low = None
            if p.lat is not None and row.lat is not None:
                km_low = haversine_km(p.lat, p.lon, row.lat, row.lon) * HAVERSINE_LOW
                if km_low > self.radius:
                    continue
            ub = _upper_bound(p, row, km_low)
            if ub >= self.top.threshold:
                self.pending.append((ub, row, km_low))

    def settle(self) -> None:
        """Score exactly every pending row that could still enter the top, best bound first."""
        pending = sorted(self.pending, key=lambda t: -t[0])
        self.pending = []  # what is left below the threshold never enters: the threshold only rises
        i, n = 0, len(pending)
        while i < n and pending[i][0] >= self.top.threshold:
            size = max(self.top.limit - len(self.top.keys), 4)
            self._load_stats(r.maker_id for _, r, _ in pending[i : i + max(64, size)])
            for ub, row, km_low in pending[i : i + size]:
                if ub < self.top.threshold:
                    break
                stats = self.stats.get(row.maker_id, NEW_MAKER)
                if _upper_bound(self.profile, row, km_low, stats) < self.top.threshold:
                    continue  # the maker's record and load leave it out: no geodesic needed
                km = self._km(row)
                if km is not None and km > self.radius:
                    continue
                score, _ = score_offer(self.profile, row, km, stats)
                self.top.push(row, score, km)
            i += size

    def _km(self, row: OfferRow) -> float | None:
        p = self.profile
        if p.lat is None or row.lat is None:
            return None
        return distance_km((p.lat, p.lon), (row.lat, row.lon))

    def _load_stats(self, maker_ids: Iterable[int | None]) -> None:
        missing = {m for m in maker_ids if m is not None and m not in self.fetched_stats}
        if missing:
            self.stats.update(maker_stats(self.s, missing))
            self.fetched_stats |= missing


_ROW_COLUMNS = (
    OfferTag.offer_id,
    OfferTag.tag,
    Offer.maker_id,
    Offer.lat,
    Offer.lon,
    Offer.capacity_per_day,
    Offer.updated_at,
)
# A need placed by its department only: every fitting offer of the department (no distance to bound).
_IN_DEPARTMENT = (
    select(*_ROW_COLUMNS)
    .join(Offer, Offer.id == OfferTag.offer_id)
    .where(
        OfferTag.tag.in_(bindparam("tags", expanding=True)),
        Offer.status == "active",
        Offer.category.is_distinct_from(4),  # category 4: never matched
        Offer.department == bindparam("department"),
    )
)


def _tag_rows(s: Session, stmt, params: dict[str, Any]) -> list[OfferRow]:
    rows: dict[int, OfferRow] = {}
    for oid, tag, maker_id, lat, lon, capacity, updated_at in s.connection().execute(stmt, params):
        row = rows.get(oid)
        if row is None:
            row = rows[oid] = OfferRow(oid, maker_id, lat, lon, capacity, updated_at)
        row.tags.add(tag)
    return list(rows.values())


# The ring queries. Each reads, from the covering index alone, the tag rows of one ring (a box, minus
# the box read before) in the latitude strips it crosses, groups them per offer and bounds each offer's
# score there: exact fit (per need line, the best of the offer's tags), capacity, a lower bound of the
# distance (latitude and longitude differences times km per degree no geodesic can beat) and a bound
# of the recency (the age step the offer's date falls in). Only the maker's record and load (at most
# W_AVAILABLE + W_RECORD) are left out. Offers come best bound first, a page at a time, so the rows
# that reach Python are those that could still enter the top; then the offer table (the truth: status,
# category, maker, capacity, date) is read for them alone.
BAND_DEG = 0.05  # height of a latitude strip of the tag index (about 5.6 km)
MAX_BANDS = 48  # beyond this many strips a box reads its latitude range as one
KM_PER_DEG_LOW = EARTH_RADIUS_KM * math.pi / 180 * HAVERSINE_LOW * 0.999
MAKER_MAX = W_AVAILABLE + W_RECORD
PAGE_MIN = 32  # offers per page of a ring query (at least 3 times the limit)


def _f(name: str):
    return bindparam(name, type_=Float)


def _k(value: float):
    """A constant written in the statement (short statements: PostgreSQL's driver caches those of 4 kB
    at most)."""
    return literal_column(repr(float(value)), Float)


def _bound(fit, lat, lon, cap, day):
    """The SQL bound of an offer's score less its maker's part, from its fit and its columns."""
    dlat = func.abs(lat - _f("plat"), type_=Float) * _f("klat")
    dlon = func.abs(lon - _f("plon"), type_=Float) * _f("klon")
    km_low = case((dlat > dlon, dlat), else_=dlon)
    per_unit = cast(cap, Float) * _f("per_unit")
    capacity = case(
        (or_(cap.is_(None), cap == 0), _f("cap_null")),
        (_f("per_unit") == 0, _k(0.8)),  # no quantity known
        (per_unit >= 1, _k(1)),
        else_=per_unit,
    )
    recent = case(
        (or_(_f("now_day") == 0, day.is_(None)), _k(0.5)),  # no date known
        (day >= _f("now_day"), _k(1)),
        else_=_k(RECENT_DAYS) / (_k(RECENT_DAYS) + _f("now_day") - day),
    )
    return (
        _k(W_FIT) * fit
        + _k(W_CAPACITY) * capacity
        + _k(W_DIST) / (_k(1) + km_low * _k(1 / DISTANCE_SCALE_KM))
        + _k(W_RECENT) * recent
    )


def _bucket(n: int, least: int) -> int:
    """Counts of lines and tags are rounded up (with lines and tags that fit nothing) so that a few
    statements, compiled once, serve every need."""
    size = least
    while size < n:
        size *= 2
    return size


def _one_of(column, name: str, arrays: bool, item_type=String):
    """``column IN (the list bound to name)``: one array parameter on PostgreSQL (so that its driver
    caches the statement), an expanded list elsewhere."""
    if arrays:
        return column == any_(bindparam(name, type_=ARRAY(item_type)))
    return column.in_(bindparam(name, expanding=True))


def _fit_case(tag, prefix: str, arrays: bool):
    """A tag's fit to one line (or to any line): 1 for the line's item, the capability fit for the
    capabilities that make it, 0 otherwise."""
    return case(
        (_one_of(tag, prefix + "full", arrays), _k(1)),
        (_one_of(tag, prefix + "part", arrays), _f(prefix + "pf")),
        else_=_k(0),
    )


@functools.lru_cache(maxsize=64)
def _ring_statement(n_lines: int, wide: bool, seed: bool, arrays: bool):
    t, r, q, o = (
        aliased(OfferTag, name="t"),
        aliased(OfferTag, name="r"),
        aliased(OfferTag, name="q"),
        aliased(Offer, name="o"),
    )
    # Rows of the ring that could belong to an offer above the bound: an offer's fit (the mean of its
    # lines' best fits) is at most the best line fit of one of its tags, and its other parts are the
    # same on each of its rows. The rows read are those of the tags that can still lead to the top.
    if wide:
        bands = t.band.between(bindparam("band0", type_=Integer), bindparam("band1", type_=Integer))
    else:
        bands = _one_of(t.band, "bands", arrays, Integer)
    where = [
        _one_of(t.tag, "scan", arrays),
        bands,
        t.lat.between(_f("lat0"), _f("lat1")),
        t.lon.between(_f("lon0"), _f("lon1")),
        not_(and_(t.lat.between(_f("ilat0"), _f("ilat1")), t.lon.between(_f("ilon0"), _f("ilon1")))),
    ]  # the first box has an empty inner box
    row_bound = _bound(_fit_case(t.tag, "any_", arrays), t.lat, t.lon, t.capacity, t.updated_day)
    if seed:  # the offers of best row bound, to set a first threshold
        near = (
            select(t.offer_id)
            .where(*where)
            .group_by(t.offer_id)
            .order_by(func.max(row_bound).desc())
            .limit(bindparam("page", type_=Integer))
        )
    else:
        near = select(t.offer_id).where(*where, row_bound >= _f("bound_min"))
    # Their offers' exact fit, from all their rows (read by primary key; other tags fit nothing).
    fit = None
    for i in range(n_lines):
        best = func.max(_fit_case(r.tag, f"l{i}_", arrays))
        fit = best if fit is None else fit + best
    offers = (
        select(
            r.offer_id.label("id"),
            fit.label("fit"),
            func.max(r.lat).label("lat"),
            func.max(r.lon).label("lon"),
            func.max(r.capacity).label("cap"),
            func.max(r.updated_day).label("day"),
        )
        .where(r.offer_id.in_(near))
        .group_by(r.offer_id)
        .subquery("a")
    )
    a = offers.c
    bounds = select(a.id, _bound(a.fit * _f("fit_scale"), a.lat, a.lon, a.cap, a.day).label("b")).subquery(
        "g"
    )
    g = bounds.c
    page = (
        select(g.id, g.b)
        .where(
            g.b >= _f("bound_min"),
            # the next page: after the last offer read, in (bound desc, offer id) order
            or_(g.b < _f("after_b"), and_(g.b == _f("after_b"), g.id > bindparam("after_id", type_=Integer))),
        )
        .order_by(g.b.desc(), g.id)
        .limit(bindparam("page", type_=Integer))
        .subquery("p")
    )
    p = page.c
    return select(
        p.id,
        p.b,
        q.tag,
        o.id,
        o.maker_id,
        o.lat,
        o.lon,
        o.capacity_per_day,
        o.updated_at,
        o.status,
        o.category,
    ).select_from(page.join(q, q.offer_id == p.id).outerjoin(o, o.id == p.id))


def _need_params(profile: NeedProfile, limit: int) -> dict[str, Any]:
    """The parameters of the ring queries that do not depend on the ring."""
    lines = list(profile.lines)
    lines += [{}] * (_bucket(len(lines), 1) - len(lines))  # lines that fit nothing
    params: dict[str, Any] = {}
    every: dict[str, float] = {}
    for i, line in enumerate(lines):
        full = sorted(tag for tag, fit in line.items() if fit >= 1.0)
        part = sorted(tag for tag, fit in line.items() if fit < 1.0)
        pf = max((line[tag] for tag in part), default=0.0)
        params.update({f"l{i}_full": full, f"l{i}_part": part, f"l{i}_pf": pf})
        for tag, fit in line.items():
            every[tag] = max(every.get(tag, 0.0), fit)
    full = sorted(tag for tag, fit in every.items() if fit >= 1.0)
    part = sorted(tag for tag, fit in every.items() if fit < 1.0)
    pf = max((every[tag] for tag in part), default=0.0)
    params.update({"any_full": full, "any_part": part, "any_pf": pf})
    params.update(
        {
            "fit_scale": 1.0 / len(profile.lines),
            "after_b": math.inf,
            "after_id": 0,
            "cap_null": 0.5 if profile.remaining is None else 0.3,
            "per_unit": profile.days / profile.remaining if profile.remaining else 0.0,  # 0: no quantity
            "now_day": epoch_day(profile.now) or 0.0,  # 0: no date
            "plat": profile.lat,
            "plon": profile.lon,
            "page": max(PAGE_MIN, 3 * limit),
        }
    )
    return params


def _box_params(lat: float, lon: float, r: float, prefix: str = "") -> dict[str, Any]:
    lat0, lat1, lon0, lon1 = bbox(lat, lon, r * BOX_MARGIN)
    return {prefix + "lat0": lat0, prefix + "lat1": lat1, prefix + "lon0": lon0, prefix + "lon1": lon1}


def _ring_params(profile: NeedProfile, r: float, inner: float | None) -> tuple[dict[str, Any], bool]:
    box = _box_params(profile.lat, profile.lon, r)
    params: dict[str, Any] = dict(box)
    # km per degree that no geodesic distance from the need to a point of the box can beat: a meridian
    # degree, and a parallel degree at the box's latitude farthest from the equator (less the chord).
    far_lat = min(max(abs(box["lat0"]), abs(box["lat1"])), 90.0)
    half_lon = math.radians(max(box["lon1"] - profile.lon, profile.lon - box["lon0"]))
    klon = KM_PER_DEG_LOW * math.cos(math.radians(far_lat)) * (1 - half_lon**2 / 24)
    params["klat"] = KM_PER_DEG_LOW
    params["klon"] = klon if half_lon < 1.0 and klon > 0 else 0.0
    b0, b1 = band_of(box["lat0"]), band_of(box["lat1"])
    wide = b1 - b0 + 1 > MAX_BANDS
    if wide:
        params.update(band0=b0, band1=b1)
    else:
        params["bands"] = list(range(b0, b1 + 1))
    if inner is not None:
        params.update(_box_params(profile.lat, profile.lon, inner, "i"))
    else:  # nothing inside
        params.update(ilat0=1.0, ilat1=0.0, ilon0=1.0, ilon1=0.0)
    return params, wide


def _ring_page(
    s: Session, stmt, params: dict[str, Any], tags: set[str]
) -> tuple[list[OfferRow], int, tuple[float, int] | None]:
    """One page of a ring: the offers still matchable (with their tags among ``tags``), how many offers
    the page held, and its last (bound, offer id)."""
    rows: dict[int, OfferRow] = {}
    keys: dict[int, float] = {}
    for (
        oid,
        bound,
        tag,
        exists,
        maker_id,
        lat,
        lon,
        capacity,
        updated_at,
        status,
        category,
    ) in s.connection().execute(stmt, params):
        keys[oid] = bound
        if exists is None or status != "active" or category == 4:
            continue  # an index row the offer's later changes left behind: category 4 is never matched
        row = rows.get(oid)
        if row is None:
            row = rows[oid] = OfferRow(oid, maker_id, lat, lon, capacity, updated_at)
        if tag in tags:
            row.tags.add(tag)
    last = min(((b, -oid) for oid, b in keys.items()), default=None)
    return list(rows.values()), len(keys), (last[0], -last[1]) if last else None


def _scan_tags(fits: dict[str, float], keep) -> list[str]:
    """The tags whose rows a ring query reads: those whose best line fit passes ``keep``."""
    return sorted(tag for tag, fit in fits.items() if keep(fit))


def _search_radius(
    s: Session, profile: NeedProfile, radius: float, limit: int, stats: dict[int, MakerStats]
) -> _Top:
    """Rings of growing size around the need, each read best bound first and only for offers that could
    still enter the top; stop when nothing beyond the last ring can."""
    search = _Search(s, profile, radius, limit, stats)
    if profile.lat is None:
        tags = sorted(profile.tags)
        search.add(_tag_rows(s, _IN_DEPARTMENT, {"tags": tags, "department": profile.department}))
        search.settle()
        return search.top
    base = _need_params(profile, limit)
    n_lines = _bucket(len(profile.lines), 1)
    arrays = s.get_bind().dialect.name == "postgresql"
    fits: dict[str, float] = {}  # each tag's best line fit
    for line in profile.lines:
        for tag, fit in line.items():
            fits[tag] = max(fits.get(tag, 0.0), fit)
    best_fit = max(fits.values())
    # What a row can add to its tag's fit at best: capacity, recency, and closeness (set per ring).
    rest_max = W_CAPACITY * max(1.0 if profile.remaining is not None else 0.8, base["cap_null"]) + W_RECENT
    r = min(RING0_KM, radius)
    inner: float | None = None
    seen = 0
    while True:
        ring, wide = _ring_params(profile, r, inner)
        params = {**base, **ring}
        if inner is None:
            # A first threshold from the offers of best row bound among those of the best fitting tags,
            # then of the others if too few; when neither fills a page, the box has been read whole.
            seed, whole = _ring_statement(n_lines, wide, True, arrays), True
            for keep in (lambda f: f >= best_fit, lambda f: f < best_fit):
                scan = _scan_tags(fits, keep)
                if not scan:
                    continue
                if search.top.full:
                    whole = False
                    break
                rows, n, _ = _ring_page(
                    s, seed, {**params, "scan": scan, "bound_min": _NO_LIMIT}, profile.tags
                )
                seen += n
                whole = whole and n < params["page"]
                search.add(rows)
                search.settle()
        else:
            whole = False
        stmt = _ring_statement(n_lines, wide, False, arrays)
        near = W_DIST * closeness(inner or 0.0) + rest_max
        while not whole:
            threshold = search.top.threshold
            bound_min = threshold - MAKER_MAX - 1e-6 if threshold > -math.inf else _NO_LIMIT
            scan = _scan_tags(fits, lambda f, m=bound_min, near=near: W_FIT * f + near + EPS >= m)
            if not scan:
                break  # no row of the ring can lead to the top
            params.update(scan=scan, bound_min=bound_min)
            rows, n, last = _ring_page(s, stmt, params, profile.tags)
            seen += n
            search.add(rows)
            search.settle()
            if n < params["page"] or last is None or last[0] + MAKER_MAX + 1e-6 < search.top.threshold:
                break  # every offer of the ring that could enter the top has been read
            params["after_b"], params["after_id"] = last
        beyond = MAX_BUT_DISTANCE + W_DIST * closeness(r) + EPS
        if r >= radius or (search.top.full and search.top.threshold > beyond):
            return search.top
        inner = r
        r = min(radius, r * (2 if seen >= limit else 4))  # sparse: widen faster


_NO_LIMIT = -1e9


def _radii(radius_km: float, max_radius_km: float) -> list[float]:
    radii, r = [radius_km], radius_km
    while r < max_radius_km:
        r = min(r * 2, max_radius_km)
        radii.append(r)
    return radii


def _candidates(
    s: Session, top: _Top, profile: NeedProfile, stats: dict[int, MakerStats], radius: float, base: float
) -> list[Candidate]:
    ids = [row.id for row, _, _ in top.items]
    offers = (
        {
            o.id: o
            for o in s.exec(
                select(Offer).where(Offer.id.in_(bindparam("ids", expanding=True))), params={"ids": ids}
            )
        }
        if ids
        else {}
    )
    out = []
    for row, score, km in top.items:
        row.tags = offer_tags(offers[row.id])  # the rings may have read only the tags that decide the fit
        _, reasons = score_offer(profile, row, km, stats.get(row.maker_id, NEW_MAKER), explain=True)
        if radius > base:
            reasons.append(f"widened:{radius:.0f}km")
        out.append(Candidate(offers[row.id], score, km, reasons))
    return out


def rank(
    s: Session,
    need: Need,
    lines: list[NeedLine],
    *,
    radius_km: float = 50.0,
    max_radius_km: float = 400.0,
    now: datetime | None = None,
    limit: int = 10,
) -> list[Candidate]:
    """Offers that can fill the need, best first, each with the reasons of its rank; the radius
    doubles up to ``max_radius_km`` while nothing is found."""
    profile = profile_of(s, need, lines, now)
    if not profile.lines or (profile.lat is None and not profile.department):
        return []
    stats: dict[int, MakerStats] = {}
    with _generic_plans(s):
        for radius in _radii(radius_km, max_radius_km):
            top = _search_radius(s, profile, radius, limit, stats)
            if top.items or profile.lat is None:
                return _candidates(s, top, profile, stats, radius, radius_km)
    return []


@contextmanager
def _generic_plans(s: Session) -> Iterator[None]:
    """On PostgreSQL, the ring queries (prepared by the driver once run a few times) keep one plan for
    every need: planning them anew each time (the default for statements whose estimates depend on their
    parameters) costs more than running them. Set for this transaction only, and put back after."""
    if s.get_bind().dialect.name != "postgresql":
        yield
        return
    conn = s.connection()
    before = conn.execute(_SET_PLAN_MODE, {"mode": "force_generic_plan"}).first()[0]
    try:
        yield
    finally:
        conn.execute(_SET_PLAN_MODE, {"mode": before})


# The setting before (read first: a materialized CTE), then the new one for this transaction.
_SET_PLAN_MODE = text(
    "WITH b AS MATERIALIZED (SELECT current_setting('plan_cache_mode') AS before) "
    "SELECT before, set_config('plan_cache_mode', :mode, true) FROM b"
)


def rank_naive(
    s: Session,
    need: Need,
    lines: list[NeedLine],
    *,
    radius_km: float = 50.0,
    max_radius_km: float = 400.0,
    now: datetime | None = None,
    limit: int = 10,
    offers: list[OfferRow] | None = None,
    stats: dict[int, MakerStats] | None = None,
) -> list[Candidate]:
    """The same ranking by a full scan of every active offer (for tests and the benchmark)."""
    profile = profile_of(s, need, lines, now)
    if not profile.lines or (profile.lat is None and not profile.department):
        return []
    if offers is None:
        offers = all_offer_rows(s)
    if stats is None:
        stats = maker_stats(s, [o.maker_id for o in offers])
    tags = profile.tags
    for radius in _radii(radius_km, max_radius_km):
        top = _Top(limit)
        for row in offers:
            if not row.tags & tags or (row.maker_id is not None and row.maker_id == profile.requester_id):
                continue
            if profile.lat is None:
                if row.department != profile.department:
                    continue
                km = None
            else:
                if row.lat is None or not (math.isfinite(row.lat) and math.isfinite(row.lon)):
                    continue
                km = distance_km((profile.lat, profile.lon), (row.lat, row.lon))
                if km > radius:
                    continue
            score, _ = score_offer(profile, row, km, stats.get(row.maker_id, NEW_MAKER))
            top.push(row, score, km)
        if top.items or profile.lat is None:
            return _candidates(s, top, profile, stats, radius, radius_km)
    return []


def all_offer_rows(s: Session) -> list[OfferRow]:
    rows = []
    for oid, maker_id, lat, lon, cap, updated_at, items, caps, dep in s.exec(
        select(
            Offer.id,
            Offer.maker_id,
            Offer.lat,
            Offer.lon,
            Offer.capacity_per_day,
            Offer.updated_at,
            Offer.items,
            Offer.capabilities,
            Offer.department,
        ).where(Offer.status == "active", Offer.category.is_distinct_from(4))
    ):
        tags = {str(i.get("item")) for i in items or [] if i.get("item")} | {str(c) for c in caps or [] if c}
        rows.append(OfferRow(oid, maker_id, lat, lon, cap, updated_at, tags, dep))
    return rows


# ---------------------------------------------------------------------------------------------- asking makers


def label(ctx, name: str, language: str) -> str:
    """A button label, from prompts/<lang>/button/<name>.j2."""
    return ctx.hub.renderer.render(f"button/{name}", language).text


def alerts_today(s: Session, person_id: int, now: datetime) -> int:
    q = (
        select(func.count())
        .select_from(MakerAlert)
        .where(MakerAlert.person_id == person_id, MakerAlert.at > now - DAY)
    )
    return int(s.exec(q).one())


def ask_makers(ctx, need: Need, view: dict[str, Any], found: list[Candidate]) -> list[Person]:
    """Tell the best-placed opted-in makers directly, once per need, within their daily cap."""
    cap = ctx.hub.settings.maker_daily_cap
    asked: list[Person] = []
    for cand in found:
        if len(asked) >= ASK_PER_NEED:
            break
        maker = ctx.s.get(Person, cand.offer.maker_id) if cand.offer.maker_id else None
        if maker is None or not maker.notify_needs or maker.id == need.requester_id or maker in asked:
            continue
        already = ctx.s.exec(
            select(MakerAlert.id).where(MakerAlert.person_id == maker.id, MakerAlert.need_id == need.id)
        ).first()
        if already is not None or alerts_today(ctx.s, maker.id, ctx.now) >= cap:
            continue
        ctx.s.add(MakerAlert(person_id=maker.id, need_id=need.id, at=ctx.now))
        ctx.s.flush()
        ctx.tell(
            maker,
            "need_nearby",
            "need_nearby",
            need=view,
            km=cand.km,
            reasons=cand.reasons,
            buttons=(Button(label(ctx, "commit", maker.language), f"need:commit:{need.id}"),),
        )
        asked.append(maker)
    return asked


def announce_need(ctx, need: Need, lines: list[NeedLine]) -> list[Candidate]:
    """Tell the requester who can help, ask the best-placed makers, post the need in the needs channels
    of the need's community and of the communities of the makers found."""
    from core.needs import need_view

    radius = ctx.community.radius_km if ctx.community else ctx.hub.settings.match_radius_km
    found = rank(
        ctx.s,
        need,
        lines,
        radius_km=radius,
        max_radius_km=ctx.hub.settings.match_radius_max_km,
        now=ctx.now,
        limit=2 * ASK_PER_NEED,
    )
    view = need_view(need, lines)
    if found:
        ctx.reply(
            "match", "match", need=view, candidates=[_candidate_view(ctx, c) for c in found[:ASK_PER_NEED]]
        )
    ask_makers(ctx, need, view, found)
    community_ids = ([ctx.community.id] if ctx.community else []) + [c.offer.community_id for c in found]
    seen: set[int] = set()
    for cid in community_ids:
        if cid is None or cid in seen:
            continue
        seen.add(cid)
        com = ctx.s.get(Community, cid)
        if com is None or not com.needs_channel:
            continue
        ctx.post(
            com.platform,
            com.needs_channel,
            "need_post",
            "need_post",
            com.language,
            need=view,
            buttons=(Button(label(ctx, "commit", com.language), f"need:commit:{need.id}"),),
        )
    return found


def announce_offer(ctx, offer: Offer) -> None:
    """Tell a maker which open needs nearby their offer can fill, and tell those requesters."""
    from core.needs import need_lines, need_view

    if offer.lat is None and not offer.department:
        return
    tags = offer_tags(offer)
    radius = ctx.community.radius_km if ctx.community else ctx.hub.settings.match_radius_km
    place = _PlaceLike(offer)
    matched = []
    for need, km in open_needs(
        ctx.s,
        place=place if offer.lat is not None else None,
        department=None if offer.lat is not None else offer.department,
        limit=50,
        radius_km=radius,
    ):
        if need.category == 4 or need.requester_id == ctx.person.id or need.status == NeedStatus.COVERED:
            continue
        lines = need_lines(ctx, need)
        if not profile_of(ctx.s, need, lines, ctx.now).tags & tags:
            continue
        matched.append((need, lines, km))
        if len(matched) >= 5:
            break
    if not matched:
        return
    ctx.reply("offer_matches", "match", needs=[dict(need_view(n, ln), km=km) for n, ln, km in matched])
    for need, lines, km in matched:
        requester = ctx.s.get(Person, need.requester_id) if need.requester_id else None
        if requester is not None:
            ctx.tell(
                requester,
                "maker_found",
                "match",
                need=need_view(need, lines),
                km=km,
                maker=ctx.person.display_name,
                capabilities=list(offer.capabilities or []),
            )


class _PlaceLike:
    def __init__(self, offer: Offer):
        self.name, self.lat, self.lon, self.department = (
            offer.place_name,
            offer.lat,
            offer.lon,
            offer.department,
        )


def _candidate_view(ctx, cand: Candidate) -> dict[str, Any]:
    maker = ctx.s.get(Person, cand.offer.maker_id) if cand.offer.maker_id else None
    return {
        "maker": maker.display_name if maker else "?",
        "km": cand.km,
        "place": cand.offer.place_name,
        "capabilities": list(cand.offer.capabilities or []),
        "capacity": cand.offer.capacity_per_day,
        "reasons": cand.reasons,
        "score": round(cand.score, 2),
    }


# ---------------------------------------------------------------------------------------------- queries


def _near(place: Any, lat: float | None, lon: float | None, radius_km: float) -> float | None | bool:
    """Haversine km from the place, or False when beyond the radius."""
    if place is None or getattr(place, "lat", None) is None:
        return None
    if lat is None:
        return False
    km = haversine_km(place.lat, place.lon, lat, lon)
    return False if km * HAVERSINE_LOW > radius_km else km


def open_needs(
    s: Session,
    *,
    place: Any = None,
    item: str | None = None,
    status: str | None = None,
    department: str | None = None,
    limit: int = 20,
    radius_km: float = 50.0,
) -> list[tuple[Need, float | None]]:
    """Needs near a place (nearest first), for an item, in a status (the active ones by default)."""
    statuses = (status,) if status else NeedStatus.ACTIVE
    q = select(Need).where(Need.status.in_(statuses), Need.category.is_distinct_from(4))
    if item:
        q = q.where(Need.id.in_(select(NeedLine.need_id).where(NeedLine.item_id == item)))
    if department:
        q = q.where(Need.department == department)
    near = place is not None and getattr(place, "lat", None) is not None
    if near:
        lat0, lat1, lon0, lon1 = bbox(place.lat, place.lon, radius_km * BOX_MARGIN)
        q = q.where(Need.lat >= lat0, Need.lat <= lat1, Need.lon >= lon0, Need.lon <= lon1)
    else:
        q = q.order_by(Need.deadline.is_(None), Need.deadline, Need.id).limit(limit)
    return _within(s.exec(q), place if near else None, radius_km, limit)


def active_offers(
    s: Session,
    *,
    place: Any = None,
    tag: str | None = None,
    department: str | None = None,
    limit: int = 20,
    radius_km: float = 50.0,
) -> list[tuple[Offer, float | None]]:
    """Active offers near a place (nearest first), optionally of one item or capability."""
    q = select(Offer).where(
        Offer.status == "active", Offer.category.is_distinct_from(4)
    )  # category 4: never matched
    if tag:
        q = q.where(Offer.id.in_(select(OfferTag.offer_id).where(OfferTag.tag == tag)))
    if department:
        q = q.where(Offer.department == department)
    near = place is not None and getattr(place, "lat", None) is not None
    if near:
        lat0, lat1, lon0, lon1 = bbox(place.lat, place.lon, radius_km * BOX_MARGIN)
        q = q.where(Offer.lat >= lat0, Offer.lat <= lat1, Offer.lon >= lon0, Offer.lon <= lon1)
    else:
        q = q.order_by(Offer.id.desc()).limit(limit)
    return _within(s.exec(q), place if near else None, radius_km, limit)


def _within(found, place: Any, radius_km: float, limit: int) -> list[tuple[Any, float | None]]:
    """Needs or offers (rows with lat/lon) within the radius of a place, nearest first, with geodesic km."""
    rows = []
    for row in found:
        km = _near(place, row.lat, row.lon, radius_km)
        if km is not False:
            rows.append((row, km))
    if place is not None:
        rows.sort(key=lambda r: (r[1], r[0].id))
        rows = [(r, distance_km((place.lat, place.lon), (r.lat, r.lon))) for r, _ in rows[:limit]]
        rows = [(r, km) for r, km in rows if km <= radius_km]
    return rows[:limit]


# ---------------------------------------------------------------------------------------------- capacity

HORIZON_DAYS = 7  # committed share: open units against a week of capacity


def resolve_area(text: str) -> tuple[str, str] | None:
    """("department", code) or ("region", name) for a department code or name, or a region's name or alias."""
    names = areas.department_names()
    token = text.strip().upper()
    if token in names:
        return "department", token
    if token.isdigit() and len(token) == 1 and "0" + token in names:
        return "department", "0" + token
    key = areas.name_key(text)
    for code, name in names.items():
        if areas.name_key(name) == key:
            return "department", code
    region = areas.region_named(text)
    return ("region", region) if region else None


def capacity(s: Session, *, department: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
    """Local manufacturing capacity by department: makers, offers, machines (offers) by capability,
    daily capacity, units committed and not delivered yet, and their share of a week of capacity."""
    deps = None
    if department:
        deps = {department}
    elif region:
        deps = set(areas.departments_of_area(region) or ())
    q = select(Offer.id, Offer.maker_id, Offer.department, Offer.capabilities, Offer.capacity_per_day).where(
        Offer.status == "active"
    )
    if deps is not None:
        q = q.where(Offer.department.in_(sorted(deps)))
    rows: dict[str, dict[str, Any]] = {}
    offer_dep: dict[int, str] = {}
    maker_dep: dict[int, str] = {}
    for oid, maker_id, dep, caps, cap in s.exec(q.order_by(Offer.id)):
        dep = dep or "?"
        row = rows.get(dep)
        if row is None:
            row = rows[dep] = {
                "department": dep,
                "name": areas.department_names().get(dep),
                "region": areas.region_of_department(dep),
                "makers": set(),
                "offers": 0,
                "capabilities": {},
                "daily_capacity": 0,
                "open_units": 0,
            }
        row["offers"] += 1
        if maker_id is not None:
            row["makers"].add(maker_id)
            maker_dep.setdefault(maker_id, dep)
        for c in caps or []:
            row["capabilities"][c] = row["capabilities"].get(c, 0) + 1
        row["daily_capacity"] += cap or 0
        offer_dep[oid] = dep
    open_q = (
        select(Commitment.offer_id, Commitment.maker_id, func.sum(Commitment.quantity - Commitment.delivered))
        .where(Commitment.status == "committed")
        .group_by(Commitment.offer_id, Commitment.maker_id)
    )
    for offer_id, maker_id, units in s.exec(open_q):
        dep = offer_dep.get(offer_id) if offer_id is not None else None
        dep = dep or maker_dep.get(maker_id)
        if dep in rows:
            rows[dep]["open_units"] += int(units or 0)
    out = []
    for dep in sorted(rows):
        row = rows[dep]
        row["makers"] = len(row["makers"])
        row["capabilities"] = dict(sorted(row["capabilities"].items(), key=lambda kv: (-kv[1], kv[0])))
        weekly = row["daily_capacity"] * HORIZON_DAYS
        row["committed_share"] = round(row["open_units"] / weekly, 3) if weekly else None
        out.append(row)
    return out


def capacity_by_region(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Department rows summed by region."""
    regions: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row["region"] or "?"
        reg = regions.setdefault(
            name,
            {
                "region": name,
                "departments": 0,
                "makers": 0,
                "offers": 0,
                "capabilities": {},
                "daily_capacity": 0,
                "open_units": 0,
            },
        )
        reg["departments"] += 1
        for k in ("makers", "offers", "daily_capacity", "open_units"):
            reg[k] += row[k]
        for c, n in row["capabilities"].items():
            reg["capabilities"][c] = reg["capabilities"].get(c, 0) + n
    out = []
    for name in sorted(regions):
        reg = regions[name]
        reg["capabilities"] = dict(sorted(reg["capabilities"].items(), key=lambda kv: (-kv[1], kv[0])))
        weekly = reg["daily_capacity"] * HORIZON_DAYS
        reg["committed_share"] = round(reg["open_units"] / weekly, 3) if weekly else None
        out.append(reg)
    return out


@command("capacity", "capacite", "capacité")
def cmd_capacity(ctx, args: str) -> None:
    """``/capacity`` by region; ``/capacity 37`` or ``/capacity Indre-et-Loire`` one department;
    ``/capacity Bretagne`` the departments of a region."""
    arg = args.strip()
    if not arg:
        rows = capacity_by_region(capacity(ctx.s))
        ctx.reply("capacity", "listing", scope="national", area=None, rows=rows)
        return
    area = resolve_area(arg)
    if area is None:
        raise Refused("refused/unknown_place", place=arg[:60])
    kind, value = area
    if kind == "department":
        rows = capacity(ctx.s, department=value) or [
            {
                "department": value,
                "name": areas.department_names().get(value),
                "region": areas.region_of_department(value),
                "makers": 0,
                "offers": 0,
                "capabilities": {},
                "daily_capacity": 0,
                "open_units": 0,
                "committed_share": None,
            }
        ]
        ctx.reply("capacity", "listing", scope="department", area=areas.department_names().get(value) or value, rows=rows)
    else:
        ctx.reply("capacity", "listing", scope="region", area=value, rows=capacity(ctx.s, region=value))


@command("progress", "avancement")
def cmd_progress(ctx, args: str) -> None:
    """``/progress N-12 [units made]``: news of a commitment (keeps it from being flagged as stale)."""
    from core.commands import _int
    from core.hub import parse_ref
    from core.needs import progress

    parts = args.split()
    need_id = parse_ref(parts[0], "N") if parts else None
    if need_id is None:
        raise Refused("refused/usage", usage="/avancement N-12 [nombre fabriqué]")
    progress(ctx, need_id, _int(parts[1]) if len(parts) > 1 else None)


@command("alerts", "alertes")
def cmd_alerts(ctx, args: str) -> None:
    """``/alerts on|off``: whether Relais may write to you about new needs near your offers."""
    arg = args.strip().lower()
    if arg in ("on", "oui", "yes", "1", "activer"):
        ctx.person.notify_needs = True
    elif arg in ("off", "non", "no", "0", "desactiver", "désactiver"):
        ctx.person.notify_needs = False
    elif arg:
        raise Refused("refused/usage", usage="/alertes on|off")
    ctx.reply("alerts", "info", on=ctx.person.notify_needs, cap=ctx.hub.settings.maker_daily_cap)


__all__ = [
    "Candidate",
    "active_offers",
    "announce_need",
    "announce_offer",
    "ask_makers",
    "capacity",
    "capacity_by_region",
    "date",
    "index_offer",
    "need_ref",
    "open_needs",
    "rank",
    "rank_naive",
    "reindex_offers",
    "score_offer",
]
