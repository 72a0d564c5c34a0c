"""Free text: recognise it, propose what was understood, record it once its author confirms."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import select

from core import guidance
from core.errors import Refused
from core.messages import Button
from core.models import Item, Proposal

FACILITY_RE = re.compile(
    r"\b(?P<kind>CHU|CHR|CHRU|EHPAD|Ehpad|ehpad|h[oô]pital|H[oô]pital|clinique|Clinique|pharmacie|Pharmacie|"
    r"mairie|Mairie|cabinet|Cabinet|centre hospitalier|Centre hospitalier|maison de sant[ée]|SSIAD|"
    r"hospital|Hospital|care home|nursing home)\b(?P<rest>[^,.;:!?\n()]{0,40})"
)
_SUPERSEDE = (update(Proposal).where(Proposal.person_id == bindparam("b_person"),
                                     Proposal.platform == bindparam("b_platform"),
                                     Proposal.chat == bindparam("b_chat"), Proposal.status == "pending")
              .values(status="superseded"))
_INSERT_PROPOSAL = insert(Proposal).returning(Proposal.id)
_STOP_AFTER = re.compile(r"\s(?:à|a|au|pour|avant|d'ici|cherche|recherche|a besoin|besoin|needs?|in|at|by|sur)\s.*$",
                         re.I)


def facility_in(text: str) -> str | None:
    """The facility a caregiver names ("EHPAD Les Tilleuls", "CHU de Tours"), if any."""
    m = FACILITY_RE.search(text)
    if not m:
        return None
    name = (m.group("kind") + _STOP_AFTER.sub("", m.group("rest"))).strip()
    return name[:120] or None


def recognition_data(rec: Any, text: str) -> dict[str, Any]:
    place = rec.place
    return {
        "intent": rec.intent,
        "confidence": round(float(rec.confidence), 3),
        "items": [{"item": i.item, "quantity": i.quantity} for i in rec.items],
        "capabilities": list(rec.capabilities),
        "place": ({"name": place.name, "lat": place.lat, "lon": place.lon,
                   "department": getattr(place, "department", None)} if place else None),
        "deadline": rec.deadline.isoformat() if isinstance(rec.deadline, date) else None,
        "topic": rec.topic,
        "cues": list(rec.cues)[:12],
        "text": text,
        "facility": facility_in(text) if rec.intent == "need" else None,
    }


def recognise(ctx, text: str, sent_at: datetime) -> Any:
    tz = ctx.community.timezone if ctx.community else ctx.hub.settings.default_timezone
    return ctx.hub.recogniser.recognise(text, channel=ctx.platform, sent_at=sent_at, timezone=tz, language=ctx.lang)


def free_text(ctx, text: str, sent_at: datetime, *, addressed: bool) -> None:
    """A message that is not a command: act only when the recogniser is confident."""
    community = ctx.community
    if not ctx.private and community is not None and community.intake_channels \
            and ctx.chat not in community.intake_channels and not addressed:
        return
    warned = guidance.flagged_claims(ctx, text)
    rec = recognise(ctx, text, sent_at)
    confident = rec.confidence >= ctx.hub.threshold and rec.intent in ("need", "offer", "question")
    mentioned = guidance.on_mention(ctx, rec, confident=confident, text=text)
    if guidance.design_links(ctx, text) and not (confident and rec.intent in ("need", "offer")):
        return
    if not confident:
        if ctx.private and not (warned or mentioned):
            ctx.reply("not_understood", "help")
        return
    propose(ctx, recognition_data(rec, text), rec.intent)


def propose(ctx, data: dict[str, Any], intent: str) -> int:
    """Keep what was understood and ask its author to confirm it; returns the proposal's id."""
    if intent == "question":
        from core import escalation

        escalation.suggest_similar(ctx, data)  # answers already given come before the proposal
    # Plain statements on the session's connection (no ORM objects): pending changes are written first, and
    # the author's pending proposals already loaded in the session follow the UPDATE.
    ctx.s.flush()
    conn = ctx.s.connection()
    conn.execute(_SUPERSEDE, {"b_person": ctx.person.id, "b_platform": ctx.platform, "b_chat": ctx.chat})
    for obj in list(ctx.s.identity_map.values()):
        if isinstance(obj, Proposal) and obj.status == "pending" and obj.person_id == ctx.person.id \
                and obj.platform == ctx.platform and obj.chat == ctx.chat:
            set_committed_value(obj, "status", "superseded")
    proposal_id = conn.execute(_INSERT_PROPOSAL, {
        "person_id": ctx.person.id, "platform": ctx.platform, "chat": ctx.chat,
        "community_id": ctx.community.id if ctx.community else None, "kind": intent, "data": data,
        "status": "pending", "created_at": ctx.now}).scalar_one()
    buttons = confirm_buttons(ctx, proposal_id)
    categories = guidance.item_categories(ctx.s, [i["item"] for i in data["items"]]).values()
    ctx.reply(f"proposal/{intent}", "proposal", buttons=buttons, p=data, proposal_id=proposal_id,
              author=ctx.person.display_name, max_category=max((c for c in categories if c), default=None))
    return proposal_id


def confirm_buttons(ctx, proposal: Proposal | int) -> tuple[Button, ...]:
    labels = {"fr": ("Confirmer", "Modifier", "Annuler"), "en": ("Confirm", "Edit", "Cancel")}[
        ctx.lang if ctx.lang in ("fr", "en") else "fr"]
    pid = proposal if isinstance(proposal, int) else proposal.id
    return (Button(labels[0], f"proposal:confirm:{pid}"), Button(labels[1], f"proposal:edit:{pid}", "secondary"),
            Button(labels[2], f"proposal:dismiss:{pid}", "danger"))


def item_category(ctx, item_id: str) -> int | None:
    item = ctx.s.get(Item, item_id)
    return item.category if item else None


def latest_pending(ctx) -> Proposal | None:
    return ctx.s.exec(select(Proposal).where(Proposal.person_id == ctx.person.id,
                                             Proposal.platform == ctx.platform,
                                             Proposal.chat == ctx.chat,
                                             Proposal.status == "pending")
                      .order_by(Proposal.id.desc())).first()


def settle(ctx, proposal_id: int | None, decision: str) -> None:
    """Confirm, edit or dismiss a proposal; only its author may."""
    from core import escalation, needs

    proposal = ctx.s.get(Proposal, proposal_id) if proposal_id else latest_pending(ctx)
    if proposal is None or proposal.status != "pending":
        raise Refused("refused/no_pending")
    if proposal.person_id != ctx.person.id:
        raise Refused("refused/not_yours")
    if decision == "dismiss":
        proposal.status = "dismissed"
        ctx.reply("dismissed", "info")
        return
    if decision == "edit":
        from core import dialogue

        proposal.status = "dismissed"
        if proposal.kind == "question":
            escalation.edit_question(ctx, proposal.data)
            return
        dialogue.start(ctx, proposal.kind, prefill=proposal.data)
        return
    proposal.status = "confirmed"
    data = dict(proposal.data)
    if proposal.kind == "need":
        needs.record_need(ctx, data)
    elif proposal.kind == "offer":
        needs.record_offer(ctx, data)
    elif proposal.kind == "question":
        escalation.open_from_proposal(ctx, data)
    else:  # pragma: no cover - proposals are only made of the three kinds
        raise Refused("refused/no_pending")
