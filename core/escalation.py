"""Questions only an authority can answer: tickets routed to designated contacts, answers relayed and kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rapidfuzz import fuzz
from sqlmodel import Session, select

from core.errors import Refused
from core.hub import ticket_ref
from core.messages import Button
from core.models import Community, DesignatedContact, Escalation, Person
from core.text import shorten

TOPICS = ("sanitary", "legal", "technical", "logistics")
SIMILARITY = 72


def similar_answered(s: Session, text: str, limit: int = 3) -> list[Escalation]:
    """Answered public questions that look like this one (tolerant of wording and accents)."""
    import unicodedata

    def fold(t: str) -> str:
        return unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode().lower()

    folded = fold(text)
    scored = []
    for esc in s.exec(select(Escalation).where(Escalation.status == "answered", Escalation.public == True)  # noqa
                      .order_by(Escalation.id.desc()).limit(500)):
        score = fuzz.token_set_ratio(folded, fold(esc.text))
        if score >= SIMILARITY:
            scored.append((score, esc))
    scored.sort(key=lambda t: (-t[0], -t[1].id))
    return [e for _, e in scored[:limit]]


def contacts_for(s: Session, topic: str, region: str | None) -> list[DesignatedContact]:
    rows = list(s.exec(select(DesignatedContact).where(DesignatedContact.topic == topic)))
    regional = [c for c in rows if region and c.region == region]
    national = [c for c in rows if c.region is None]
    return sorted(regional, key=lambda c: c.rank) + sorted(national, key=lambda c: c.rank)


def propose_question(ctx, text: str, topic: str | None) -> None:
    from core import intake

    data = {"intent": "question", "text": text, "topic": topic if topic in TOPICS else "logistics",
            "items": [], "capabilities": [], "place": None, "deadline": None, "cues": [], "confidence": 1.0}
    similar = similar_answered(ctx.s, text)
    if similar:
        ctx.reply("similar_answers", "similar_answers",
                  answers=[{"ref": ticket_ref(e.id), "question": shorten(e.text, 200), "answer": e.answer}
                           for e in similar])
    intake.propose(ctx, data, "question")


def open_ticket(ctx, text: str, topic: str | None, *, force: bool = False) -> Escalation:
    topic = topic if topic in TOPICS else "logistics"
    region = ctx.community.region if ctx.community else None
    contacts = contacts_for(ctx.s, topic, region)
    esc = Escalation(topic=topic, region=region, text=text[:4000], asker_id=ctx.person.id,
                     community_id=ctx.community.id if ctx.community else None, platform=ctx.platform,
                     chat=ctx.chat, created_at=ctx.now,
                     contact_id=contacts[0].person_id if contacts else None)
    ctx.s.add(esc)
    ctx.s.flush()
    ctx.audit("ticket.opened", ticket_ref(esc.id), after={"topic": topic, "region": region})
    ctx.reply("escalated", "escalated", ref=ticket_ref(esc.id), topic=topic, routed=bool(contacts))
    if contacts:
        _send_ticket(ctx, esc, ctx.s.get(Person, contacts[0].person_id), "ticket")
    return esc


def _send_ticket(ctx, esc: Escalation, contact: Person | None, template: str) -> None:
    if contact is None:
        return
    label = {"fr": "Répondre", "en": "Answer"}.get(contact.language, "Répondre")
    ctx.tell(contact, template, "ticket" if template == "ticket" else "reminder", ref=ticket_ref(esc.id),
             topic=esc.topic, region=esc.region, text=esc.text, asker="#" + str(esc.asker_id or 0),
             buttons=(Button(label, f"ticket:answer:{esc.id}"),))


def answer(ctx, ticket_id: int | None, text: str, *, public: bool = True) -> None:
    """Only the designated contacts of a ticket's topic (and moderators) may answer it."""
    from core import permissions

    esc = ctx.s.get(Escalation, ticket_id) if ticket_id else None
    if esc is None:
        raise Refused("refused/unknown_ticket", ref=ticket_ref(ticket_id) if ticket_id else "?")
    designated = {c.person_id for c in contacts_for(ctx.s, esc.topic, esc.region)}
    is_mod = permissions.allowed(ctx.s, ctx.person, ctx.community, "settings")
    if ctx.person.id not in designated and not is_mod:
        raise Refused("refused/not_allowed", command="answer")
    if esc.status != "open":
        raise Refused("refused/ticket_closed", ref=ticket_ref(esc.id))
    if not text.strip():
        raise Refused("refused/empty")
    esc.status, esc.answer, esc.answered_by, esc.answered_at, esc.public = "answered", text[:4000], \
        ctx.person.id, ctx.now, public
    ctx.audit("ticket.answered", ticket_ref(esc.id), after={"public": public})
    ctx.reply("answer_recorded", "info", ref=ticket_ref(esc.id))
    asker = ctx.s.get(Person, esc.asker_id) if esc.asker_id else None
    view = {"ref": ticket_ref(esc.id), "question": esc.text, "answer": esc.answer,
            "contact": ctx.person.display_name, "topic": esc.topic}
    if asker is not None:
        ctx.tell(asker, "answer", "answer", **view)
    if asker is None or esc.chat != asker.platform_id or esc.platform != asker.platform:
        community = ctx.s.get(Community, esc.community_id) if esc.community_id else None
        lang = community.language if community else ctx.hub.settings.default_language
        ctx.post(esc.platform, esc.chat, "answer", "answer", lang, **view)


def due_reminders(s: Session, now, reminder_hours: float, handover_hours: float) -> list[tuple[Escalation, str]]:
    out = []
    for esc in s.exec(select(Escalation).where(Escalation.status == "open")):
        age = now - esc.created_at
        if esc.handed_over_at is None and age >= timedelta(hours=handover_hours):
            out.append((esc, "handover"))
        elif esc.reminded_at is None and age >= timedelta(hours=reminder_hours):
            out.append((esc, "reminder"))
    return out


def ticket_view(esc: Escalation) -> dict[str, Any]:
    return {"ref": ticket_ref(esc.id), "topic": esc.topic, "question": shorten(esc.text, 160),
            "answer": shorten(esc.answer or "", 300), "status": esc.status}
