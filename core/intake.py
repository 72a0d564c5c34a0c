"""Free text: recognise it, propose what was understood, record it once its author confirms."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import select

from core import guidance
from core.errors import Refused
from core.messages import Action, Button, Form, FormField, Outbound
from core.models import Item, Person, Proposal
from core.text import clean

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
        "person_id": ctx.person.id, "platform": ctx.platform, "chat": ctx.chat, "thread": ctx.thread,
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


def refusal(proposal: Proposal | None, person_id: int | None) -> str | None:
    """Why someone may not settle a proposal (a refusal template), or None: only its author may, while
    it is pending."""
    if proposal is None or proposal.status != "pending":
        return "refused/no_pending"
    if proposal.person_id != person_id:
        return "refused/not_yours"
    return None


def settle(ctx, proposal_id: int | None, decision: str, value: str | None = None) -> None:
    """Confirm, edit or dismiss a proposal; only its author may. "Edit" with a ``value`` is the submitted
    form of ``edit_form`` (Discord): the corrected proposal replaces this one; without, a step-by-step
    dialogue starts again from what was understood (Telegram)."""
    from core import escalation, needs

    proposal = ctx.s.get(Proposal, proposal_id) if proposal_id else latest_pending(ctx)
    why = refusal(proposal, ctx.person.id)
    if why:
        raise Refused(why)
    if decision == "dismiss":
        proposal.status = "dismissed"
        ctx.reply("dismissed", "info")
        return
    if decision == "edit":
        from core import dialogue

        proposal.status = "dismissed"
        if value is not None:
            propose(ctx, edited(ctx, proposal, value), proposal.kind)
            return
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
        escalation.open_from_proposal(ctx, data, proposal)
    else:  # pragma: no cover - proposals are only made of the three kinds
        raise Refused("refused/no_pending")


# ---------------------------------------------------------------------------------------- editing in a form

def form_fields(renderer, kind: str, data: dict[str, Any], language: str) -> tuple[FormField, ...]:
    """The fields of the form that edits a proposal, prefilled with what it holds, worded in ``language``."""
    p = dict(data, intent=kind)
    if kind == "question":
        return (FormField("text", p.get("text") or "", required=True, long=True),
                FormField("topic", renderer.render("form/topic", language, p=p).text))
    fields = (FormField("items", renderer.render("form/items", language, p=p).text, required=True),
              FormField("place", (p.get("place") or {}).get("name") or ""))
    if kind == "need":
        fields += (FormField("deadline", renderer.render("form/deadline", language, p=p).text),
                   FormField("facility", p.get("facility") or ""))
    return fields


def edit_form(hub, action: Action) -> Form | Outbound:
    """A read-only look before an "Edit" press opens a form (see ``Hub.edit_form``): the form prefilled
    with the proposal, or the refusal to show its presser (composed, not stored)."""
    parts = (action.name or "").split(":")
    edit = len(parts) == 3 and parts[:2] == ["proposal", "edit"] and parts[2].isdigit()
    pid = int(parts[2]) if edit else None
    with hub.db.session() as s:
        person = s.exec(select(Person).where(Person.platform == action.author.platform,
                                             Person.platform_id == action.author.platform_id)).first()
        proposal = s.get(Proposal, pid) if pid else None
        why = refusal(proposal, person.id if person else None) if pid else "refused/unknown_action"
        asked = action.author.language if action.author.language in ("fr", "en") else None
        lang = (person.language if person else None) or asked or hub.settings.default_language
        if why:
            return hub.compose(platform=action.platform, chat=action.chat, kind="refused", template=why,
                               language=lang, context={}, priority=0, public=action.chat_kind != "private",
                               thread=action.thread)
        return Form(action=action.name, kind=proposal.kind, language=lang,
                    fields=form_fields(hub.renderer, proposal.kind, dict(proposal.data), lang))


def edited(ctx, proposal: Proposal, value: str) -> dict[str, Any]:
    """What a proposal becomes once its author corrected the fields of its form. Each field is read on its
    own, as the step-by-step dialogue reads an answer; a field left as it was prefilled keeps its value."""
    from core import dialogue, escalation

    try:
        submitted = json.loads(value)
    except ValueError:
        submitted = None
    if not isinstance(submitted, dict):
        raise Refused("refused/unknown_action")
    data = dict(proposal.data)
    before = {f.name: f.value for f in form_fields(ctx.hub.renderer, proposal.kind, data, ctx.lang)}
    now = {name: clean(str(submitted.get(name) or "")).strip()[:4000] for name in before}
    changed = {name for name in before if now[name] != before[name].strip()}
    data["intent"] = proposal.kind
    if proposal.kind == "question":
        prefix, text = escalation.split_topic(now["text"])
        if not text:
            raise Refused("refused/empty")
        topic = escalation.parse_topic(now["topic"]) or prefix or recognise(ctx, text, ctx.now).topic
        data.update(text=text, topic=topic if topic in escalation.TOPICS else "logistics")
        if "text" in changed:
            data["place"] = escalation.place_in(ctx, text) or data.get("place")
        return data
    if "items" in changed:
        data["items"], data["capabilities"] = dialogue.read_items(ctx, proposal.kind, now["items"])
    if proposal.kind == "need" and not data.get("items"):
        raise Refused("refused/need_without_item")
    if proposal.kind == "offer" and not data.get("items") and not data.get("capabilities"):
        raise Refused("refused/offer_without_capacity")
    if "place" in changed:
        data["place"] = None
        if now["place"]:
            place = ctx.hub.locate(ctx.s, now["place"])
            if place is None:
                raise Refused("refused/unknown_place", place=now["place"][:60])
            data["place"] = {"name": place.name, "lat": place.lat, "lon": place.lon,
                             "department": place.department}
    if proposal.kind == "need":
        if "deadline" in changed:
            data["deadline"] = None
            if now["deadline"]:
                from core.recognise import parse_deadline

                tz = ctx.community.timezone if ctx.community else ctx.hub.settings.default_timezone
                deadline = parse_deadline(now["deadline"], ctx.now, tz)
                if deadline is None:
                    raise Refused("refused/bad_deadline", text=now["deadline"][:60])
                data["deadline"] = deadline.isoformat()
        data["facility"] = now["facility"][:120] or None
    return data
