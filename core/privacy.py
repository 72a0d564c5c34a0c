"""Personal data: what Relais holds about a person, forgetting them, and purging old records."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, select

from core.commands import command
from core.hub import need_ref, offer_ref, ticket_ref
from core.messages import Button
from core.models import (
    AuditEntry,
    BlockedChat,
    Commitment,
    DesignatedContact,
    Dialogue,
    Escalation,
    FlaggedClaim,
    GuidanceSent,
    MakerAlert,
    Need,
    NeedLine,
    NeedStatus,
    Offer,
    OutboxMessage,
    Person,
    Proposal,
    RateCounter,
    RoleGrant,
    SeenEvent,
)
from core.text import redact_contacts

FORGOTTEN_NAME = "—"


def pseudonym(person_id: int | None) -> str:
    """A stable pseudonymous id for exports and contacts (no name, no platform id)."""
    if person_id is None:
        return "anon"
    return "p-" + hashlib.sha256(f"relais-person-{person_id}".encode()).hexdigest()[:10]


def holdings(s: Session, person: Person) -> dict[str, Any]:
    needs = list(s.exec(select(Need).where(Need.requester_id == person.id)))
    offers = list(s.exec(select(Offer).where(Offer.maker_id == person.id)))
    commitments = list(s.exec(select(Commitment).where(Commitment.maker_id == person.id)))
    questions = list(s.exec(select(Escalation).where(Escalation.asker_id == person.id)))
    roles = sorted({g.role for g in s.exec(select(RoleGrant).where(RoleGrant.person_id == person.id))})
    return {
        "platform": person.platform, "platform_id": person.platform_id, "display_name": person.display_name,
        "language": person.language, "since": person.created_at.date(), "roles": roles,
        "needs": [need_ref(n.id) for n in needs], "offers": [offer_ref(o.id) for o in offers],
        "commitments": len(commitments), "questions": [ticket_ref(q.id) for q in questions],
    }


@command("mydata", "mesdonnees", "mesdonnées")
def cmd_mydata(ctx, args: str) -> None:
    """Sent in a direct conversation, never in a public channel."""
    ctx.tell(ctx.person, "mydata", "mydata", priority=0, data=holdings(ctx.s, ctx.person))
    if not ctx.private:
        ctx.reply("mydata_sent", "info")


@command("forgetme", "oubliemoi", "oublie-moi")
def cmd_forgetme(ctx, args: str) -> None:
    """Ask first; the button (or ``/forgetme confirm``) erases."""
    if args.strip().lower() in ("confirm", "confirmer", "oui", "yes"):
        forget(ctx)
        return
    label = {"fr": "Tout effacer", "en": "Erase everything"}.get(ctx.lang, "Tout effacer")
    ctx.reply("forgetme_confirm", "info", buttons=(Button(label, f"privacy:forget:{ctx.person.id}", "danger"),))


def forget(ctx) -> None:
    """Delete the person's personal data; keep anonymous records so the figures stay right."""
    erase_person(ctx.s, ctx.person, ctx.now)
    ctx.reply("forgotten", "forgotten")


def erase_person(s: Session, person: Person, now: datetime) -> None:
    pid = person.id
    old_platform_id = person.platform_id
    old_name = person.display_name
    for model, column in ((Proposal, Proposal.person_id), (Dialogue, Dialogue.person_id),
                          (RoleGrant, RoleGrant.person_id), (DesignatedContact, DesignatedContact.person_id),
                          (RateCounter, RateCounter.person_id), (MakerAlert, MakerAlert.person_id)):
        s.exec(delete(model).where(column == pid))
    # Free text may hold names, places and contact details: keep the structured, anonymous part.
    s.exec(update(Need).where(Need.requester_id == pid).values(requester_id=None, text="", facility=None,
                                                                 chat=""))
    s.exec(update(Offer).where(Offer.maker_id == pid).values(maker_id=None, text="", chat="",
                                                               status="withdrawn"))
    s.exec(update(Commitment).where(Commitment.maker_id == pid).values(maker_id=None))
    # Their questions stay (answers are reused) without them; one asked in their private chat forgets that
    # chat, one asked in a group keeps it, so an answer still reaches the group.
    asked = list(s.exec(select(Escalation.id).where(Escalation.asker_id == pid)))
    s.exec(update(Escalation).where(Escalation.asker_id == pid, Escalation.platform == person.platform,
                                    Escalation.chat == old_platform_id).values(chat=""))
    s.exec(update(Escalation).where(Escalation.asker_id == pid).values(asker_id=None, asker_named=False))
    s.exec(update(Escalation).where(Escalation.contact_id == pid).values(contact_id=None))
    s.exec(update(Escalation).where(Escalation.answered_by == pid).values(answered_by=None))
    s.exec(update(AuditEntry).where(AuditEntry.actor_id == pid).values(actor_id=None))
    s.exec(update(FlaggedClaim).where(FlaggedClaim.flagged_by == pid).values(flagged_by=None))
    # Their private chat: messages waiting for it, guidance cool-downs, blocks.
    for model in (GuidanceSent, BlockedChat):
        s.exec(delete(model).where(model.platform == person.platform, model.chat == old_platform_id))
    s.exec(delete(OutboxMessage).where(OutboxMessage.platform == person.platform,
                                       OutboxMessage.chat == old_platform_id))
    if len(old_name) >= 3:
        s.exec(delete(OutboxMessage).where(or_(OutboxMessage.text.contains(old_name, autoescape=True),
                                               OutboxMessage.title.contains(old_name, autoescape=True))))
    for esc in s.exec(select(Escalation).where(Escalation.id.in_(asked))) if asked else ():
        esc.text = redact_contacts(esc.text)
    s.add(AuditEntry(at=now, actor_id=None, action="person.forgotten", subject=pseudonym(pid)))
    s.delete(person)
    s.flush()


def purge(s: Session, now: datetime, retention_days: int) -> dict[str, int]:
    """Remove closed needs and their conversations after the retention period, and old technical rows."""
    cutoff = now - timedelta(days=retention_days)
    old = list(s.exec(select(Need.id).where(Need.status.in_((NeedStatus.CLOSED, NeedStatus.CANCELLED,
                                                              NeedStatus.DELIVERED)),
                                            Need.updated_at < cutoff)))
    counts = {"needs": len(old)}
    if old:
        s.exec(delete(Commitment).where(Commitment.need_id.in_(old)))
        s.exec(delete(NeedLine).where(NeedLine.need_id.in_(old)))
        s.exec(delete(Need).where(Need.id.in_(old)))
    counts["outbox"] = s.exec(delete(OutboxMessage).where(OutboxMessage.status.in_(("sent", "failed")),
                                                          OutboxMessage.created_at < cutoff)).rowcount
    # The confirmation of a /forgetme is the last trace of that person: gone once delivered.
    counts["outbox"] += s.exec(delete(OutboxMessage).where(OutboxMessage.kind == "forgotten",
                                                           OutboxMessage.status.in_(("sent", "failed")))).rowcount
    counts["events"] = s.exec(delete(SeenEvent).where(SeenEvent.seen_at < now - timedelta(days=7))).rowcount
    counts["proposals"] = s.exec(delete(Proposal).where(Proposal.created_at < cutoff)).rowcount
    counts["questions"] = s.exec(delete(Escalation).where(Escalation.status == "closed",
                                                          Escalation.created_at < cutoff)).rowcount
    return counts
