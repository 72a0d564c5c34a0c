"""Matching needs to offers: a bounding-box pre-filter on indexed coordinates, then a scored ranking."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, func, select

from core.hub import need_ref
from core.models import Item, Need, NeedLine, NeedStatus, Offer, OutboxMessage, Person

EARTH_KM_PER_DEG_LAT = 111.32


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    from geopy.distance import geodesic

    return geodesic(a, b).km


def bbox(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    dlat = radius_km / EARTH_KM_PER_DEG_LAT
    dlon = radius_km / (EARTH_KM_PER_DEG_LAT * max(math.cos(math.radians(lat)), 0.01))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


@dataclass
class Candidate:
    offer: Offer
    score: float
    km: float | None
    reasons: list[str] = field(default_factory=list)


def _fit(offer: Offer, item_ids: set[str], made_with: set[str]) -> tuple[float, list[str]]:
    offered_items = {i.get("item") for i in offer.items or []}
    if offered_items & item_ids:
        return 1.0, ["item:" + ",".join(sorted(offered_items & item_ids))]
    caps = set(offer.capabilities or []) & made_with
    if caps:
        return 0.7, ["capability:" + ",".join(sorted(caps))]
    return 0.0, []


def rank(s: Session, need: Need, lines: list[NeedLine], *, radius_km: float = 50.0,
         max_radius_km: float = 400.0, now: datetime | None = None, limit: int = 10) -> list[Candidate]:
    """Offers that can fill the need, best first; the radius widens step by step when nothing is found."""
    item_ids = {ln.item_id for ln in lines}
    made_with: set[str] = set()
    for item in s.exec(select(Item).where(Item.id.in_(item_ids))):
        made_with.update(item.made_with or [])
    remaining = sum(max((ln.quantity or 0) - ln.committed, 0) for ln in lines) or None
    radius = radius_km
    while True:
        q = select(Offer).where(Offer.status == "active", Offer.category.is_distinct_from(4))
        if need.lat is not None and need.lon is not None:
            lat0, lat1, lon0, lon1 = bbox(need.lat, need.lon, radius)
            q = q.where(Offer.lat >= lat0, Offer.lat <= lat1, Offer.lon >= lon0, Offer.lon <= lon1)
        elif need.department:
            q = q.where(Offer.department == need.department)
        candidates = []
        for offer in s.exec(q.limit(5000)):
            if offer.maker_id is not None and offer.maker_id == need.requester_id:
                continue
            fit, reasons = _fit(offer, item_ids, made_with)
            if fit == 0:
                continue
            km = None
            if None not in (need.lat, need.lon, offer.lat, offer.lon):
                km = distance_km((need.lat, need.lon), (offer.lat, offer.lon))
                if km > radius:
                    continue
                reasons.append(f"distance:{km:.0f}km")
            closeness = 1.0 - min((km or radius) / max(radius, 1.0), 1.0)
            capacity = 0.5
            if remaining and offer.capacity_per_day:
                capacity = min(offer.capacity_per_day / remaining, 1.0)
                reasons.append(f"capacity:{offer.capacity_per_day}/day")
            recency = 0.0
            if now is not None and offer.updated_at is not None:
                age_days = max((now - offer.updated_at).total_seconds() / 86400, 0)
                recency = 1.0 / (1.0 + age_days / 7)
            score = 3 * fit + 2 * closeness + capacity + 0.5 * recency
            candidates.append(Candidate(offer, round(score, 4), km, reasons))
        if candidates or radius >= max_radius_km or (need.lat is None and not need.department):
            break
        radius = min(radius * 2, max_radius_km)
    candidates.sort(key=lambda c: (-c.score, c.km if c.km is not None else 1e9, c.offer.id))
    return candidates[:limit]


def _sent_today(s: Session, person: Person, now: datetime) -> int:
    since = now - timedelta(days=1)
    q = select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.platform == person.platform, OutboxMessage.chat == person.platform_id,
        OutboxMessage.kind == "need_nearby", OutboxMessage.created_at >= since)
    return int(s.exec(q).one())


def announce_need(ctx, need: Need, lines: list[NeedLine]) -> None:
    """Tell the requester who can help, ask the best-placed makers, post the need to the needs channel."""
    from core.needs import need_view
    from core.messages import Button

    radius = ctx.community.radius_km if ctx.community else ctx.hub.settings.match_radius_km
    found = rank(ctx.s, need, lines, radius_km=radius, max_radius_km=ctx.hub.settings.match_radius_max_km,
                 now=ctx.now, limit=5)
    view = need_view(need, lines)
    if found:
        ctx.reply("match", "match", need=view, candidates=[_candidate_view(ctx, c) for c in found])
    cap = ctx.hub.settings.maker_daily_cap
    for cand in found:
        maker = ctx.s.get(Person, cand.offer.maker_id) if cand.offer.maker_id else None
        if maker is None or not maker.notify_needs or _sent_today(ctx.s, maker, ctx.now) >= cap:
            continue
        label = {"fr": "J'en fabrique", "en": "I'll make some"}.get(maker.language, "J'en fabrique")
        ctx.tell(maker, "need_nearby", "need_nearby", need=view, km=cand.km, reasons=cand.reasons,
                 buttons=(Button(label, f"need:commit:{need.id}"),))
    from core.models import Community

    community = ctx.community
    if community is None or not community.needs_channel:
        return
    for com in ctx.s.exec(select(Community).where(Community.needs_channel.is_not(None))):
        label = {"fr": "J'en fabrique", "en": "I'll make some"}.get(com.language, "J'en fabrique")
        ctx.post(com.platform, com.needs_channel, "need_post", "need_post", com.language, need=view,
                 buttons=(Button(label, f"need:commit:{need.id}"),))


def announce_offer(ctx, offer: Offer) -> None:
    """Tell a maker which open needs nearby their offer can fill, and tell those requesters."""
    from core.needs import need_lines, need_view

    if offer.lat is None and not offer.department:
        return
    radius = ctx.community.radius_km if ctx.community else ctx.hub.settings.match_radius_km
    matched = []
    for need, km in open_needs(ctx.s, place=_PlaceLike(offer), limit=50, radius_km=radius):
        if need.category == 4 or need.requester_id == ctx.person.id:
            continue
        lines = need_lines(ctx, need)
        if any(c.offer.id == offer.id for c in rank(ctx.s, need, lines, radius_km=radius,
                                                    max_radius_km=radius, limit=50)):
            matched.append((need, lines, km))
        if len(matched) >= 5:
            break
    if not matched:
        return
    ctx.reply("offer_matches", "match", needs=[dict(need_view(n, ln), km=km) for n, ln, km in matched])
    for need, lines, km in matched:
        requester = ctx.s.get(Person, need.requester_id) if need.requester_id else None
        if requester is not None:
            ctx.tell(requester, "maker_found", "match", need=need_view(need, lines), km=km,
                     maker=ctx.person.display_name, capabilities=list(offer.capabilities or []))


class _PlaceLike:
    def __init__(self, offer: Offer):
        self.name, self.lat, self.lon, self.department = offer.place_name, offer.lat, offer.lon, offer.department


def _candidate_view(ctx, cand: Candidate) -> dict[str, Any]:
    maker = ctx.s.get(Person, cand.offer.maker_id) if cand.offer.maker_id else None
    return {"maker": maker.display_name if maker else "?", "km": cand.km, "place": cand.offer.place_name,
            "capabilities": list(cand.offer.capabilities or []), "capacity": cand.offer.capacity_per_day,
            "reasons": cand.reasons, "score": cand.score}


def open_needs(s: Session, *, place: Any = None, item: str | None = None, limit: int = 20,
               radius_km: float = 50.0) -> list[tuple[Need, float | None]]:
    q = select(Need).where(Need.status.in_(NeedStatus.ACTIVE), Need.category.is_distinct_from(4))
    if item:
        q = q.where(Need.id.in_(select(NeedLine.need_id).where(NeedLine.item_id == item)))
    if place is not None and place.lat is not None:
        lat0, lat1, lon0, lon1 = bbox(place.lat, place.lon, radius_km)
        q = q.where(Need.lat >= lat0, Need.lat <= lat1, Need.lon >= lon0, Need.lon <= lon1)
    rows = []
    for need in s.exec(q.order_by(Need.deadline.is_(None), Need.deadline, Need.id).limit(limit * 4)):
        km = None
        if place is not None and place.lat is not None and need.lat is not None:
            km = distance_km((place.lat, place.lon), (need.lat, need.lon))
            if km > radius_km:
                continue
        rows.append((need, km))
    return rows[:limit]


def active_offers(s: Session, *, place: Any = None, limit: int = 20, radius_km: float = 50.0):
    q = select(Offer).where(Offer.status == "active", Offer.category.is_distinct_from(4))
    if place is not None and place.lat is not None:
        lat0, lat1, lon0, lon1 = bbox(place.lat, place.lon, radius_km)
        q = q.where(Offer.lat >= lat0, Offer.lat <= lat1, Offer.lon >= lon0, Offer.lon <= lon1)
    rows = []
    for offer in s.exec(q.order_by(Offer.id.desc()).limit(limit * 4)):
        km = None
        if place is not None and place.lat is not None and offer.lat is not None:
            km = distance_km((place.lat, place.lon), (offer.lat, offer.lon))
            if km > radius_km:
                continue
        rows.append((offer, km))
    return rows[:limit]


__all__ = ["rank", "Candidate", "announce_need", "announce_offer", "open_needs", "active_offers", "need_ref"]
