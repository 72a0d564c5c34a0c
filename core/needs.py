"""Needs, offers, commitments and deliveries."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import select

from core import guidance, matching
from core.errors import Refused
from core.hub import need_ref, offer_ref
from core.messages import Button
from core.models import Commitment, Community, Item, Need, NeedLine, NeedStatus, Offer, Person

MAX_QUANTITY = 1_000_000


def _place_fields(ctx, data: dict[str, Any]) -> dict[str, Any]:
    place = data.get("place")
    if not place and ctx.location:
        lat, lon = ctx.location
        place = {"name": None, "lat": lat, "lon": lon, "department": None}
    if not place:
        return {"place_name": None, "lat": None, "lon": None, "department": None}
    return {"place_name": place.get("name"), "lat": place.get("lat"), "lon": place.get("lon"),
            "department": place.get("department")}


def _items(ctx, entries: list[dict[str, Any]]) -> list[tuple[Item, int | None]]:
    out = []
    for entry in entries:
        item = ctx.s.get(Item, entry.get("item"))
        if item is None or not item.active:
            continue
        qty = entry.get("quantity")
        if qty is not None:
            qty = int(qty)
            if qty <= 0 or qty > MAX_QUANTITY:
                raise Refused("refused/bad_quantity", quantity=qty, maximum=MAX_QUANTITY)
        out.append((item, qty))
    return out


def record_need(ctx, data: dict[str, Any]) -> Need:
    items = _items(ctx, data.get("items") or [])
    if not items:
        raise Refused("refused/need_without_item")
    deadline = date.fromisoformat(data["deadline"]) if data.get("deadline") else None
    category = max((i.category or 0 for i, _ in items), default=0) or None
    need = Need(requester_id=ctx.person.id, community_id=ctx.community.id if ctx.community else None,
                platform=ctx.platform, chat=ctx.chat, facility=data.get("facility"),
                deadline=deadline, category=category, text=(data.get("text") or "")[:4000],
                created_at=ctx.now, updated_at=ctx.now, **_place_fields(ctx, data))
    ctx.s.add(need)
    ctx.s.flush()
    for item, qty in items:
        ctx.s.add(NeedLine(need_id=need.id, item_id=item.id, quantity=qty))
    ctx.s.flush()
    ctx.audit("need.recorded", need_ref(need.id), after=_need_summary(ctx, need))
    lines = need_lines(ctx, need)
    ctx.reply("need_recorded", "need_recorded", ref=need_ref(need.id), need=need_view(need, lines))
    guidance.confirmations(ctx, [i.id for i, _ in items])
    if category == 4:
        ctx.reply("escalate_hint", "info", ref=need_ref(need.id))
        return need
    matching.announce_need(ctx, need, lines)
    return need


def record_offer(ctx, data: dict[str, Any]) -> Offer:
    items = _items(ctx, data.get("items") or [])
    caps = [c for c in data.get("capabilities") or [] if isinstance(c, str)][:12]
    if not items and not caps:
        raise Refused("refused/offer_without_capacity")
    capacity = sum(q for _, q in items if q) or None
    category = max((i.category or 0 for i, _ in items), default=0) or None
    offer = Offer(maker_id=ctx.person.id, community_id=ctx.community.id if ctx.community else None,
                  platform=ctx.platform, chat=ctx.chat, capabilities=caps,
                  items=[{"item": i.id, "quantity": q} for i, q in items], capacity_per_day=capacity,
                  category=category, text=(data.get("text") or "")[:4000], created_at=ctx.now,
                  updated_at=ctx.now, **_place_fields(ctx, data))
    ctx.s.add(offer)
    ctx.s.flush()
    ctx.audit("offer.recorded", offer_ref(offer.id), after={"capabilities": caps, "items": offer.items,
                                                            "place": offer.place_name})
    ctx.reply("offer_recorded", "offer_recorded", ref=offer_ref(offer.id), offer=offer_view(offer))
    guidance.confirmations(ctx, [i.id for i, _ in items])
    if category == 4:
        ctx.reply("escalate_hint", "info", ref=offer_ref(offer.id))
        return offer
    matching.announce_offer(ctx, offer)
    return offer


def need_lines(ctx, need: Need) -> list[NeedLine]:
    return list(ctx.s.exec(select(NeedLine).where(NeedLine.need_id == need.id).order_by(NeedLine.id)))


def need_view(need: Need, lines: list[NeedLine]) -> dict[str, Any]:
    return {
        "ref": need_ref(need.id), "facility": need.facility, "place": need.place_name,
        "department": need.department, "deadline": need.deadline, "status": need.status,
        "category": need.category,
        "lines": [{"item": ln.item_id, "quantity": ln.quantity, "committed": ln.committed,
                   "delivered": ln.delivered,
                   "remaining": (max(ln.quantity - ln.committed, 0) if ln.quantity is not None else None)}
                  for ln in lines],
    }


def offer_view(offer: Offer) -> dict[str, Any]:
    return {"ref": offer_ref(offer.id), "capabilities": list(offer.capabilities or []),
            "items": list(offer.items or []), "place": offer.place_name, "department": offer.department,
            "capacity": offer.capacity_per_day, "status": offer.status}


def _need_summary(ctx, need: Need) -> dict[str, Any]:
    view = need_view(need, need_lines(ctx, need))
    view["deadline"] = need.deadline.isoformat() if need.deadline else None
    return view


def get_need(ctx, need_id: int | None) -> Need:
    need = ctx.s.get(Need, need_id) if need_id else None
    if need is None:
        raise Refused("refused/unknown_need", ref=need_ref(need_id) if need_id else "?")
    return need


def commit(ctx, need_id: int | None, quantity: int | None, item_id: str | None = None) -> Commitment:
    """A maker promises a quantity; over-commitment is refused with what remains."""
    need = get_need(ctx, need_id)
    if need.status not in NeedStatus.ACTIVE:
        raise Refused("refused/need_not_open", ref=need_ref(need.id), status=need.status)
    if need.category == 4:
        raise Refused("refused/category4_not_matched", ref=need_ref(need.id))
    lines = need_lines(ctx, need)
    line = next((ln for ln in lines if item_id in (None, ln.item_id)), None)
    if line is None:
        raise Refused("refused/unknown_need", ref=need_ref(need.id))
    remaining = None if line.quantity is None else max(line.quantity - line.committed, 0)
    if quantity is None:
        quantity = remaining
    if quantity is None or quantity <= 0 or quantity > MAX_QUANTITY:
        raise Refused("refused/bad_quantity", quantity=quantity, maximum=MAX_QUANTITY)
    if remaining is not None and quantity > remaining:
        raise Refused("refused/over_commit", ref=need_ref(need.id), remaining=remaining, item=line.item_id)
    line.committed += quantity
    commitment = Commitment(need_id=need.id, item_id=line.item_id, maker_id=ctx.person.id, quantity=quantity,
                            created_at=ctx.now, updated_at=ctx.now)
    ctx.s.add(commitment)
    _update_status(need, lines)
    need.updated_at = ctx.now
    ctx.s.flush()
    ctx.audit("commitment.recorded", need_ref(need.id), after={"quantity": quantity, "item": line.item_id})
    view = need_view(need, lines)
    ctx.reply("commitment_recorded", "commitment", need=view, quantity=quantity, item=line.item_id)
    guidance.confirmations(ctx, [line.item_id])
    requester = ctx.s.get(Person, need.requester_id) if need.requester_id else None
    if requester is not None and requester.id != ctx.person.id:
        ctx.tell(requester, "commitment_notice", "commitment", need=view, quantity=quantity,
                 item=line.item_id, maker=ctx.person.display_name)
    return commitment


def deliver(ctx, need_id: int | None, quantity: int | None) -> None:
    """A maker reports a delivery; the requester is asked to confirm it."""
    need = get_need(ctx, need_id)
    mine = list(ctx.s.exec(select(Commitment).where(Commitment.need_id == need.id,
                                                     Commitment.maker_id == ctx.person.id,
                                                     Commitment.status == "committed")))
    if not mine:
        raise Refused("refused/no_commitment", ref=need_ref(need.id))
    total = 0
    for c in mine:
        amount = c.quantity if quantity is None else min(c.quantity - c.delivered, quantity - total)
        if amount <= 0:
            continue
        c.delivered += amount
        total += amount
        if c.delivered >= c.quantity:
            c.status = "delivered"
        c.updated_at = ctx.now
        line = ctx.s.exec(select(NeedLine).where(NeedLine.need_id == need.id,
                                                 NeedLine.item_id == c.item_id)).first()
        if line is not None:
            line.delivered += amount
    if total == 0:
        raise Refused("refused/bad_quantity", quantity=quantity, maximum=MAX_QUANTITY)
    lines = need_lines(ctx, need)
    if all(ln.quantity is not None and ln.delivered >= ln.quantity for ln in lines):
        need.status = NeedStatus.DELIVERED
    need.updated_at = ctx.now
    ctx.audit("delivery.reported", need_ref(need.id), after={"quantity": total})
    view = need_view(need, lines)
    ctx.reply("delivery_recorded", "delivery", need=view, quantity=total)
    requester = ctx.s.get(Person, need.requester_id) if need.requester_id else None
    if requester is not None and requester.id != ctx.person.id:
        lang = requester.language
        labels = {"fr": "Bien reçu", "en": "Received"}.get(lang, "Bien reçu")
        ctx.tell(requester, "delivery_notice", "delivery", need=view, quantity=total,
                 maker=ctx.person.display_name,
                 buttons=(Button(labels, f"need:received:{need.id}"),))


def received(ctx, need_id: int | None) -> None:
    need = get_need(ctx, need_id)
    _own(ctx, need)
    for c in ctx.s.exec(select(Commitment).where(Commitment.need_id == need.id, Commitment.status == "delivered")):
        c.status = "confirmed"
    if need.status == NeedStatus.DELIVERED:
        need.status = NeedStatus.CLOSED
    need.updated_at = ctx.now
    ctx.audit("delivery.confirmed", need_ref(need.id))
    ctx.reply("received", "delivery", ref=need_ref(need.id))


def cancel(ctx, need_id: int | None) -> None:
    need = get_need(ctx, need_id)
    _own(ctx, need)
    if need.status in (NeedStatus.CANCELLED, NeedStatus.CLOSED):
        raise Refused("refused/need_not_open", ref=need_ref(need.id), status=need.status)
    before = need.status
    need.status = NeedStatus.CANCELLED
    need.updated_at = ctx.now
    ctx.audit("need.cancelled", need_ref(need.id), before={"status": before}, after={"status": need.status})
    ctx.reply("need_cancelled", "status", ref=need_ref(need.id))
    for c in ctx.s.exec(select(Commitment).where(Commitment.need_id == need.id,
                                                 Commitment.status == "committed")):
        c.status = "cancelled"
        maker = ctx.s.get(Person, c.maker_id) if c.maker_id else None
        if maker is not None:
            ctx.tell(maker, "need_cancelled_notice", "status", ref=need_ref(need.id))


def close(ctx, need_id: int | None) -> None:
    need = get_need(ctx, need_id)
    _own(ctx, need)
    need.status = NeedStatus.CLOSED
    need.updated_at = ctx.now
    ctx.audit("need.closed", need_ref(need.id))
    ctx.reply("need_closed", "status", ref=need_ref(need.id))


def _own(ctx, need: Need) -> None:
    from core import permissions

    if need.requester_id != ctx.person.id and not permissions.allowed(ctx.s, ctx.person, ctx.community, "settings"):
        raise Refused("refused/not_yours")


def _update_status(need: Need, lines: list[NeedLine]) -> None:
    if need.status not in NeedStatus.ACTIVE:
        return
    known = [ln for ln in lines if ln.quantity is not None]
    if known and all(ln.committed >= ln.quantity for ln in known):
        need.status = NeedStatus.COVERED
    elif any(ln.committed > 0 for ln in lines):
        need.status = NeedStatus.PARTLY_COVERED


def status(ctx) -> None:
    needs = list(ctx.s.exec(select(Need).where(Need.requester_id == ctx.person.id).order_by(Need.id.desc()).limit(10)))
    views = [need_view(n, need_lines(ctx, n)) for n in needs]
    offers = list(ctx.s.exec(select(Offer).where(Offer.maker_id == ctx.person.id, Offer.status == "active")
                             .order_by(Offer.id.desc()).limit(10)))
    commitments = list(ctx.s.exec(select(Commitment).where(Commitment.maker_id == ctx.person.id,
                                                            Commitment.status == "committed").limit(10)))
    ctx.reply("status", "status", needs=views, offers=[offer_view(o) for o in offers],
              commitments=[{"ref": need_ref(c.need_id), "item": c.item_id, "quantity": c.quantity,
                            "delivered": c.delivered} for c in commitments])


def listing_needs(ctx, near: str | None, item: str | None) -> None:
    place = ctx.hub.places.lookup(near) if near else None
    if near and place is None:
        raise Refused("refused/unknown_place", place=near)
    rows = matching.open_needs(ctx.s, place=place, item=item, limit=15)
    ctx.reply("listing_needs", "listing", needs=[dict(need_view(n, need_lines(ctx, n)), km=km) for n, km in rows],
              near=place.name if place else None)


def listing_offers(ctx, near: str | None) -> None:
    place = ctx.hub.places.lookup(near) if near else None
    if near and place is None:
        raise Refused("refused/unknown_place", place=near)
    rows = matching.active_offers(ctx.s, place=place, limit=15)
    ctx.reply("listing_offers", "listing", offers=[dict(offer_view(o), km=km) for o, km in rows],
              near=place.name if place else None)


def community_needs_channel(community: Community | None) -> str | None:
    return community.needs_channel if community else None
