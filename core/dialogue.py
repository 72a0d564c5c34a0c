"""Step-by-step conversations (a need or an offer), kept in the database so a restart resumes them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import select

from core import intake
from core.errors import Refused
from core.models import Dialogue, Item

SKIP = {"-", "non", "no", "aucun", "aucune", "none", "skip", "passer", "je ne sais pas", "?"}
FLOWS = {
    "need": ("items", "quantity", "place", "deadline", "facility"),
    "offer": ("items", "place", "capacity"),
}


def _get(ctx) -> Dialogue | None:
    return ctx.s.exec(select(Dialogue).where(Dialogue.person_id == ctx.person.id,
                                             Dialogue.platform == ctx.platform,
                                             Dialogue.chat == ctx.chat)).first()


_ACTIVE = select(Dialogue.id).where(Dialogue.person_id == bindparam("pid"), Dialogue.platform == bindparam("platform"),
                                    Dialogue.chat == bindparam("chat")).limit(1)  # built once: every message asks


def active(ctx) -> bool:
    return ctx.s.execute(_ACTIVE, {"pid": ctx.person.id, "platform": ctx.platform,
                                   "chat": ctx.chat}).first() is not None


def cancel(ctx) -> bool:
    row = _get(ctx)
    if row is None:
        return False
    ctx.s.delete(row)
    ctx.reply("dialogue/cancelled", "info")
    return True


def start(ctx, flow: str, prefill: dict[str, Any] | None = None) -> None:
    row = _get(ctx)
    data = {"intent": flow, "items": [], "capabilities": [], "place": None, "deadline": None,
            "facility": None, "text": "", "answered": []}
    if prefill:
        data.update({k: v for k, v in prefill.items() if k in data})
        data["answered"] = []
    if row is None:
        row = Dialogue(person_id=ctx.person.id, platform=ctx.platform, chat=ctx.chat, flow=flow, step="",
                       data=data, updated_at=ctx.now)
        ctx.s.add(row)
    else:
        row.flow, row.data, row.updated_at = flow, data, ctx.now
    _ask_next(ctx, row)


def _ask_next(ctx, row: Dialogue) -> None:
    data = dict(row.data)
    for step in FLOWS[row.flow]:
        if step not in data.get("answered", []):
            row.step = step
            row.data = data
            items = [i.id for i in ctx.s.exec(select(Item).where(Item.active == True))]  # noqa: E712
            ctx.reply(f"dialogue/{row.flow}_{step}", "proposal", data=data, items=items)
            return
    ctx.s.delete(row)
    ctx.s.flush()
    data.pop("answered", None)
    data["text"] = data.get("text") or ""
    intake.propose(ctx, data, row.flow)


def step(ctx, text: str, location: tuple[float, float] | None) -> None:
    row = _get(ctx)
    data = dict(row.data)
    answer = text.strip()
    skip = answer.lower() in SKIP
    current = row.step
    if current == "items":
        items, caps = read_items(ctx, row.flow, answer)
        if not items and not (row.flow == "offer" and caps):
            ctx.reply(f"dialogue/{row.flow}_items", "proposal", data=data, retry=True,
                      items=[i.id for i in ctx.s.exec(select(Item).where(Item.active == True))])  # noqa: E712
            return
        data["items"], data["capabilities"] = items, caps
        data["text"] = answer
        if any(i["quantity"] for i in items):
            data["answered"] = list(data["answered"]) + ["quantity", "capacity"]
    elif current in ("quantity", "capacity"):
        digits = "".join(ch for ch in answer if ch.isdigit())[:9]
        if not digits and not (skip and current == "capacity"):
            ctx.reply(f"dialogue/{row.flow}_{current}", "proposal", data=data, retry=True, items=[])
            return
        if digits:
            qty = int(digits)
            if qty <= 0:
                raise Refused("refused/bad_quantity", quantity=qty, maximum=1_000_000)
            if data["items"]:
                data["items"] = [dict(data["items"][0], quantity=qty)] + list(data["items"][1:])
    elif current == "place":
        if location is not None:
            data["place"] = _nearest(ctx, location)
        elif not skip:
            place = ctx.hub.locate(ctx.s, answer)
            if place is None:
                ctx.reply("refused/unknown_place", "refused", place=answer[:60])
                return
            data["place"] = {"name": place.name, "lat": place.lat, "lon": place.lon,
                             "department": place.department}
    elif current == "deadline":
        if not skip:
            deadline = _deadline(ctx, answer)
            if deadline is None:
                ctx.reply("dialogue/need_deadline", "proposal", data=data, retry=True, items=[])
                return
            data["deadline"] = deadline.isoformat()
    elif current == "facility":
        if not skip:
            data["facility"] = answer[:120]
    data["answered"] = list(dict.fromkeys(list(data.get("answered", [])) + [current]))
    row.data = data
    row.updated_at = ctx.now
    _ask_next(ctx, row)


def read_items(ctx, flow: str, answer: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The items (with their quantities) and means of making that an answer names."""
    rec = intake.recognise(ctx, answer, ctx.now)
    if not rec.items and not rec.capabilities:
        # A bare answer ("visières", "3 imprimantes") reads better with the question it answers.
        lead = "il nous faut" if flow == "need" else "je peux faire"
        rec = intake.recognise(ctx, f"{lead} {answer}", ctx.now)
    items = [{"item": i.item, "quantity": i.quantity} for i in rec.items]
    if not items and ctx.s.get(Item, answer):
        items = [{"item": answer, "quantity": None}]
    return items, list(rec.capabilities)


def _nearest(ctx, location: tuple[float, float]) -> dict[str, Any]:
    lat, lon = location
    name, dept = None, None
    try:

        gaz = ctx.hub.places
        nearest = getattr(gaz, "nearest", None)
        place = nearest(lat, lon) if nearest else None
        if place is not None:
            name, dept = place.name, place.department
    except Exception:  # pragma: no cover - a pin without a commune still has coordinates
        pass
    return {"name": name, "lat": lat, "lon": lon, "department": dept}


def _deadline(ctx, text: str) -> date | None:
    from core.recognise import parse_deadline

    tz = ctx.community.timezone if ctx.community else ctx.hub.settings.default_timezone
    return parse_deadline(text, ctx.now, tz)
