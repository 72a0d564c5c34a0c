"""Needs, offers, commitments, progress and deliveries, stale commitments, and the listings."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from core import guidance
from core.errors import Refused
from core.hub import need_ref, offer_ref
from core.messages import Button
from core.models import Commitment, Community, Item, Need, NeedLine, NeedStatus, Offer, Person

# core.matching registers commands, so it imports core.commands, which imports this module: import it late.

MAX_QUANTITY = 1_000_000


def _place_fields(ctx, data: dict[str, Any]) -> dict[str, Any]:
    place = data.get("place")
    if not place and ctx.location:
        lat, lon = ctx.location
        place = {"name": None, "lat": lat, "lon": lon, "department": None}
    if not place:
        return {"place_name": None, "lat": None, "lon": None, "department": None}
    return {
        "place_name": place.get("name"),
        "lat": place.get("lat"),
        "lon": place.get("lon"),
        "department": place.get("department"),
    }


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
    need = Need(
        requester_id=ctx.person.id,
        community_id=ctx.community.id if ctx.community else None,
        platform=ctx.platform,
        chat=ctx.chat,
        facility=data.get("facility"),
        deadline=deadline,
        category=category,
        text=(data.get("text") or "")[:4000],
        created_at=ctx.now,
        updated_at=ctx.now,
        **_place_fields(ctx, data),
    )
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
    from core import matching

    matching.announce_need(ctx, need, lines)
    return need


def record_offer(ctx, data: dict[str, Any]) -> Offer:
    items = _items(ctx, data.get("items") or [])
    caps = [c for c in data.get("capabilities") or [] if isinstance(c, str)][:12]
    if not items and not caps:
        raise Refused("refused/offer_without_capacity")
    capacity = sum(q for _, q in items if q) or None
    category = max((i.category or 0 for i, _ in items), default=0) or None
    offer = Offer(
        maker_id=ctx.person.id,
        community_id=ctx.community.id if ctx.community else None,
        platform=ctx.platform,
        chat=ctx.chat,
        capabilities=caps,
        items=[{"item": i.id, "quantity": q} for i, q in items],
        capacity_per_day=capacity,
        category=category,
        text=(data.get("text") or "")[:4000],
        created_at=ctx.now,
        updated_at=ctx.now,
        **_place_fields(ctx, data),
    )
    ctx.s.add(offer)
    ctx.s.flush()
    from core import matching

    matching.index_offer(ctx.s, offer)
    ctx.audit(
        "offer.recorded",
        offer_ref(offer.id),
        after={"capabilities": caps, "items": offer.items, "place": offer.place_name},
    )
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
        "ref": need_ref(need.id),
        "facility": need.facility,
        "place": need.place_name,
        "department": need.department,
        "deadline": need.deadline,
        "status": need.status,
        "category": need.category,
        "lines": [
            {
                "item": ln.item_id,
                "quantity": ln.quantity,
                "committed": ln.committed,
                "delivered": ln.delivered,
                "remaining": (max(ln.quantity - ln.committed, 0) if ln.quantity is not None else None),
            }
            for ln in lines
        ],
    }


def offer_view(offer: Offer) -> dict[str, Any]:
    return {
        "ref": offer_ref(offer.id),
        "capabilities": list(offer.capabilities or []),
        "items": list(offer.items or []),
        "place": offer.place_name,
        "department": offer.department,
        "capacity": offer.capacity_per_day,
        "status": offer.status,
    }


def _need_summary(ctx, need: Need) -> dict[str, Any]:
    view = need_view(need, need_lines(ctx, need))
    view["deadline"] = need.deadline.isoformat() if need.deadline else None
    return view


def get_need(ctx, need_id: int | None) -> Need:
    need = ctx.s.get(Need, need_id) if need_id else None
    if need is None:
        raise Refused("refused/unknown_need", ref=need_ref(need_id) if need_id else "?")
    return need


def _locked_lines(ctx, need: Need) -> list[NeedLine]:
    """The need's lines, locked until the end of the transaction so two makers cannot over-commit."""
    q = (
        select(NeedLine)
        .where(NeedLine.need_id == need.id)
        .order_by(NeedLine.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(ctx.s.exec(q))


def _remaining(line: NeedLine) -> int | None:
    return None if line.quantity is None else max(line.quantity - line.committed, 0)


def _requester(ctx, need: Need) -> Person | None:
    return ctx.s.get(Person, need.requester_id) if need.requester_id else None


def _label(hub, name: str, language: str) -> str:
    return hub.renderer.render(f"button/{name}", language).text


def _maker_offer(ctx, item_id: str) -> int | None:
    """The maker's active offer that can make this item (for the capacity inventory)."""
    item = ctx.s.get(Item, item_id)
    wanted = {item_id, *(item.made_with or [] if item else [])}
    for offer in ctx.s.exec(
        select(Offer)
        .where(Offer.maker_id == ctx.person.id, Offer.status == "active")
        .order_by(Offer.id.desc())
    ):
        from core.matching import offer_tags

        if offer_tags(offer) & wanted:
            return offer.id
    return None


def commit(ctx, need_id: int | None, quantity: int | None, item_id: str | None = None) -> Commitment:
    """A maker promises a quantity (all that remains when none is given); over-commitment is refused
    with what remains."""
    need = get_need(ctx, need_id)
    if need.status not in NeedStatus.ACTIVE:
        raise Refused("refused/need_not_open", ref=need_ref(need.id), status=need.status)
    if need.category == 4:
        raise Refused("refused/category4_not_matched", ref=need_ref(need.id))
    lines = _locked_lines(ctx, need)
    if item_id is not None:
        line = next((ln for ln in lines if ln.item_id == item_id), None)
        if line is None:
            raise Refused("refused/unknown_item", item=item_id[:40])
    else:
        line = next((ln for ln in lines if _remaining(ln) != 0), lines[0] if lines else None)
    if line is None:
        raise Refused("refused/unknown_need", ref=need_ref(need.id))
    remaining = _remaining(line)
    if quantity is None and remaining == 0:
        raise Refused("refused/over_commit", ref=need_ref(need.id), remaining=0, item=line.item_id)
    if quantity is None:
        quantity = remaining
    if quantity is None or quantity <= 0 or quantity > MAX_QUANTITY:
        raise Refused("refused/bad_quantity", quantity=quantity, maximum=MAX_QUANTITY)
    if remaining is not None and quantity > remaining:
        raise Refused("refused/over_commit", ref=need_ref(need.id), remaining=remaining, item=line.item_id)
    line.committed += quantity
    commitment = ctx.s.exec(
        select(Commitment).where(
            Commitment.need_id == need.id,
            Commitment.item_id == line.item_id,
            Commitment.maker_id == ctx.person.id,
            Commitment.status == "committed",
        )
    ).first()
    if commitment is None:
        commitment = Commitment(
            need_id=need.id,
            item_id=line.item_id,
            maker_id=ctx.person.id,
            quantity=0,
            offer_id=_maker_offer(ctx, line.item_id),
            created_at=ctx.now,
        )
        ctx.s.add(commitment)
    commitment.quantity += quantity
    commitment.updated_at, commitment.stale_flagged_at = ctx.now, None
    _update_status(need, lines)
    need.updated_at = ctx.now
    ctx.s.flush()
    ctx.audit("commitment.recorded", need_ref(need.id), after={"quantity": quantity, "item": line.item_id})
    view = need_view(need, lines)
    ctx.reply("commitment_recorded", "commitment", need=view, quantity=quantity, item=line.item_id)
    guidance.confirmations(ctx, [line.item_id])
    requester = _requester(ctx, need)
    if requester is not None and requester.id != ctx.person.id:
        ctx.tell(
            requester,
            "commitment_notice",
            "commitment_notice",
            need=view,
            quantity=quantity,
            item=line.item_id,
            maker=ctx.person.display_name,
        )
    return commitment


def _mine(ctx, need: Need) -> list[Commitment]:
    return list(
        ctx.s.exec(
            select(Commitment)
            .where(
                Commitment.need_id == need.id,
                Commitment.maker_id == ctx.person.id,
                Commitment.status == "committed",
            )
            .order_by(Commitment.id)
        )
    )


def progress(ctx, need_id: int | None, made: int | None) -> None:
    """A maker reports how many units are made so far (or, without a number, that work goes on)."""
    need = get_need(ctx, need_id)
    mine = _mine(ctx, need)
    if not mine:
        raise Refused("refused/no_commitment", ref=need_ref(need.id))
    if made is not None and (made < 0 or made > MAX_QUANTITY):
        raise Refused("refused/bad_quantity", quantity=made, maximum=MAX_QUANTITY)
    left = made
    for c in mine:
        if left is not None:
            c.made = min(left, c.quantity) if c is not mine[-1] else left
            left -= c.made
        c.updated_at, c.stale_flagged_at = ctx.now, None
    promised = sum(c.quantity for c in mine)
    ctx.audit("commitment.progress", need_ref(need.id), after={"made": made})
    ctx.reply("progress_recorded", "progress", ref=need_ref(need.id), made=made, promised=promised)
    requester = _requester(ctx, need)
    if made is not None and requester is not None and requester.id != ctx.person.id:
        ctx.tell(
            requester,
            "progress_notice",
            "progress_notice",
            ref=need_ref(need.id),
            made=made,
            promised=promised,
            maker=ctx.person.display_name,
        )


def deliver(ctx, need_id: int | None, quantity: int | None) -> None:
    """A maker reports a delivery (everything promised when no quantity is given); the requester is
    asked to confirm it."""
    need = get_need(ctx, need_id)
    mine = _mine(ctx, need)
    if not mine:
        raise Refused("refused/no_commitment", ref=need_ref(need.id))
    if quantity is not None and (quantity <= 0 or quantity > MAX_QUANTITY):
        raise Refused("refused/bad_quantity", quantity=quantity, maximum=MAX_QUANTITY)
    total = 0
    for c in mine:
        outstanding = c.quantity - c.delivered
        amount = outstanding if quantity is None else min(outstanding, quantity - total)
        if amount <= 0:
            continue
        c.delivered += amount
        total += amount
        if c.delivered >= c.quantity:
            c.status = "delivered"
        c.updated_at, c.stale_flagged_at = ctx.now, None
        line = ctx.s.exec(
            select(NeedLine).where(NeedLine.need_id == need.id, NeedLine.item_id == c.item_id)
        ).first()
        if line is not None:
            line.delivered += amount
    if total == 0:
        raise Refused("refused/bad_quantity", quantity=quantity, maximum=MAX_QUANTITY)
    lines = need_lines(ctx, need)
    if need.status in NeedStatus.ACTIVE and all(
        ln.quantity is not None and ln.delivered >= ln.quantity for ln in lines
    ):
        need.status = NeedStatus.DELIVERED
    need.updated_at = ctx.now
    ctx.audit("delivery.reported", need_ref(need.id), after={"quantity": total})
    view = need_view(need, lines)
    ctx.reply("delivery_recorded", "delivery", need=view, quantity=total)
    requester = _requester(ctx, need)
    if requester is not None and requester.id != ctx.person.id:
        ctx.tell(
            requester,
            "delivery_notice",
            "delivery",
            need=view,
            quantity=total,
            maker=ctx.person.display_name,
            buttons=(Button(_label(ctx.hub, "received", requester.language), f"need:received:{need.id}"),),
        )


def received(ctx, need_id: int | None) -> None:
    """The requester confirms what was delivered; a fully delivered need closes, the makers are thanked."""
    need = get_need(ctx, need_id)
    _own(ctx, need)
    delivered = list(
        ctx.s.exec(
            select(Commitment).where(
                Commitment.need_id == need.id,
                Commitment.status.in_(("delivered", "committed")),
                Commitment.delivered > 0,
            )
        )
    )
    if not delivered:
        raise Refused("refused/nothing_delivered", ref=need_ref(need.id))
    makers = set()
    for c in delivered:
        if c.status == "delivered":
            c.status = "confirmed"
        c.updated_at = ctx.now
        if c.maker_id is not None:
            makers.add(c.maker_id)
    if need.status == NeedStatus.DELIVERED:
        need.status = NeedStatus.CLOSED
    need.updated_at = ctx.now
    ctx.audit("delivery.confirmed", need_ref(need.id), after={"status": need.status})
    ctx.reply("received", "delivery", ref=need_ref(need.id))
    for maker_id in sorted(makers - {ctx.person.id}):
        maker = ctx.s.get(Person, maker_id)
        if maker is not None:
            ctx.tell(maker, "receipt_notice", "receipt_notice", ref=need_ref(need.id))


def _stop_commitments(ctx, need: Need, template: str) -> None:
    """Open commitments end with the need; their makers are told to stop."""
    told = set()
    for c in ctx.s.exec(
        select(Commitment).where(Commitment.need_id == need.id, Commitment.status == "committed")
    ):
        c.status, c.updated_at = "cancelled", ctx.now
        maker = ctx.s.get(Person, c.maker_id) if c.maker_id else None
        if maker is not None and maker.id not in told and maker.id != ctx.person.id:
            told.add(maker.id)
            ctx.tell(maker, template, template, ref=need_ref(need.id))


def cancel(ctx, need_id: int | None) -> None:
    _end(ctx, need_id, NeedStatus.CANCELLED, "need.cancelled", "need_cancelled")


def close(ctx, need_id: int | None) -> None:
    _end(ctx, need_id, NeedStatus.CLOSED, "need.closed", "need_closed")


def _end(ctx, need_id: int | None, status: str, action: str, template: str) -> None:
    """The requester cancels or closes a need; makers still at work are told."""
    need = get_need(ctx, need_id)
    _own(ctx, need)
    if need.status in (NeedStatus.CANCELLED, NeedStatus.CLOSED):
        raise Refused("refused/need_not_open", ref=need_ref(need.id), status=need.status)
    before = need.status
    need.status = status
    need.updated_at = ctx.now
    ctx.audit(action, need_ref(need.id), before={"status": before}, after={"status": need.status})
    ctx.reply(template, "status", ref=need_ref(need.id))
    _stop_commitments(ctx, need, f"{template}_notice")


def _own(ctx, need: Need) -> None:
    from core import permissions

    if need.requester_id != ctx.person.id and not permissions.allowed(
        ctx.s, ctx.person, ctx.community, "settings"
    ):
        raise Refused("refused/not_yours")


def _update_status(need: Need, lines: list[NeedLine]) -> None:
    if need.status not in NeedStatus.ACTIVE:
        return
    known = [ln for ln in lines if ln.quantity is not None]
    if known and all(ln.committed >= ln.quantity for ln in known):
        need.status = NeedStatus.COVERED
    elif any(ln.committed > 0 for ln in lines):
        need.status = NeedStatus.PARTLY_COVERED


# ---------------------------------------------------------------------------- stale commitments


def stale_commitments(s: Session, now: datetime, hours: float) -> list[Commitment]:
    """Open commitments with no news for ``hours`` and not flagged yet (locked: one scheduler flags each)."""
    q = (
        select(Commitment)
        .where(
            Commitment.status == "committed",
            Commitment.stale_flagged_at.is_(None),
            Commitment.updated_at < now - timedelta(hours=hours),
        )
        .order_by(Commitment.id)
        .with_for_update(skip_locked=True)
    )
    return list(s.exec(q))


def flag_stale_commitments(hub, now: datetime | None = None) -> list:
    """Job: tell the maker and the requester about each commitment without news for
    ``Settings.stale_commitment_hours``; flagged once until the maker gives news again."""
    now = now or hub.clock.now()
    hours = hub.settings.stale_commitment_hours
    outs = []
    with hub.db.session() as s:
        for c in stale_commitments(s, now, hours):
            c.stale_flagged_at = now
            need = s.get(Need, c.need_id)
            if need is None or need.status not in NeedStatus.ACTIVE:
                continue
            ref = need_ref(need.id)
            days = max(round((now - c.updated_at).total_seconds() / 86400), 1)
            context = {
                "ref": ref,
                "item": c.item_id,
                "quantity": c.quantity,
                "delivered": c.delivered,
                "made": c.made,
                "days": days,
            }
            maker = s.get(Person, c.maker_id) if c.maker_id else None
            requester = s.get(Person, need.requester_id) if need.requester_id else None
            if maker is not None:
                buttons = (
                    Button(_label(hub, "delivered", maker.language), f"need:deliver:{need.id}"),
                    Button(
                        _label(hub, "still_on_it", maker.language), f"need:progress:{need.id}", "secondary"
                    ),
                )
                outs.append(hub.compose_direct(maker, "stale_maker", "stale", context, buttons=buttons))
            if requester is not None:
                outs.append(hub.compose_direct(requester, "stale_requester", "stale",
                                               dict(context, maker=maker.display_name if maker else None)))
            s.add(_audit_row(now, "commitment.stale", ref, {"commitment": c.id, "days": days}))
        hub._persist(s, outs)
    return outs


def _audit_row(now: datetime, action: str, subject: str, after: dict[str, Any]):
    from core.models import AuditEntry

    return AuditEntry(at=now, actor_id=None, action=action, subject=subject, after=after)


# ---------------------------------------------------------------------------------------------- listings


def status(ctx) -> None:
    needs = list(
        ctx.s.exec(select(Need).where(Need.requester_id == ctx.person.id).order_by(Need.id.desc()).limit(10))
    )
    views = [need_view(n, need_lines(ctx, n)) for n in needs]
    offers = list(
        ctx.s.exec(
            select(Offer)
            .where(Offer.maker_id == ctx.person.id, Offer.status == "active")
            .order_by(Offer.id.desc())
            .limit(10)
        )
    )
    commitments = list(
        ctx.s.exec(
            select(Commitment)
            .where(Commitment.maker_id == ctx.person.id, Commitment.status == "committed")
            .limit(10)
        )
    )
    ctx.reply(
        "status",
        "status",
        needs=views,
        offers=[offer_view(o) for o in offers],
        commitments=[
            {"ref": need_ref(c.need_id), "item": c.item_id, "quantity": c.quantity, "delivered": c.delivered}
            for c in commitments
        ],
    )


STATUS_WORDS = {
    "open": NeedStatus.OPEN,
    "ouvert": NeedStatus.OPEN,
    "ouverts": NeedStatus.OPEN,
    "partly_covered": NeedStatus.PARTLY_COVERED,
    "partiel": NeedStatus.PARTLY_COVERED,
    "partiels": NeedStatus.PARTLY_COVERED,
    "partly": NeedStatus.PARTLY_COVERED,
    "covered": NeedStatus.COVERED,
    "couvert": NeedStatus.COVERED,
    "couverts": NeedStatus.COVERED,
    "delivered": NeedStatus.DELIVERED,
    "livré": NeedStatus.DELIVERED,
    "livrés": NeedStatus.DELIVERED,
    "livre": NeedStatus.DELIVERED,
    "livres": NeedStatus.DELIVERED,
    "closed": NeedStatus.CLOSED,
    "clos": NeedStatus.CLOSED,
    "fermé": NeedStatus.CLOSED,
    "fermés": NeedStatus.CLOSED,
    "cancelled": NeedStatus.CANCELLED,
    "annulé": NeedStatus.CANCELLED,
    "annulés": NeedStatus.CANCELLED,
}


def _item_named(ctx, token: str) -> str | None:
    item = ctx.s.get(Item, token)
    if item is not None:
        return item.id
    low = token.lower()
    for item in ctx.s.exec(select(Item).where(Item.active == True)):
        names = {item.name_fr.lower(), item.name_en.lower()}
        for words in (item.synonyms or {}).values():
            names.update(w.lower() for w in words)
        if low in names:
            return item.id
    return None


def query_needs(ctx, args: str) -> None:
    """``/needs [place] [item] [status]`` in any order."""
    near, item, status_ = [], None, None
    for token in args.split():
        if status_ is None and token.lower() in STATUS_WORDS:
            status_ = STATUS_WORDS[token.lower()]
        elif item is None and (found := _item_named(ctx, token)):
            item = found
        else:
            near.append(token)
    listing_needs(ctx, " ".join(near) or None, item, status_)


def listing_needs(ctx, near: str | None, item: str | None, status: str | None = None) -> None:
    from core import matching

    place = ctx.hub.locate(ctx.s, near) if near else None
    if near and place is None:
        raise Refused("refused/unknown_place", place=near)
    rows = matching.open_needs(ctx.s, place=place, item=item, status=status, limit=15)
    ctx.reply(
        "listing_needs",
        "listing",
        needs=[dict(need_view(n, need_lines(ctx, n)), km=km) for n, km in rows],
        near=place.name if place else None,
    )


def listing_offers(ctx, near: str | None, tag: str | None = None) -> None:
    from core import matching

    place = ctx.hub.locate(ctx.s, near) if near else None
    if near and place is None:
        raise Refused("refused/unknown_place", place=near)
    rows = matching.active_offers(ctx.s, place=place, tag=tag, limit=15)
    ctx.reply(
        "listing_offers",
        "listing",
        offers=[dict(offer_view(o), km=km) for o, km in rows],
        near=place.name if place else None,
    )


def community_needs_channel(community: Community | None) -> str | None:
    return community.needs_channel if community else None


__all__ = [
    "cancel",
    "close",
    "commit",
    "date",
    "deliver",
    "flag_stale_commitments",
    "listing_needs",
    "listing_offers",
    "progress",
    "query_needs",
    "received",
    "record_need",
    "record_offer",
]
