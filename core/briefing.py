"""The morning briefing: one per community and local date, claimed before it is composed and sent.

Category 4 needs (never made by makers) are never briefed as open work."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from core import areas
from core.hub import need_ref, ticket_ref
from core.models import (
    AuditEntry,
    Briefing,
    Commitment,
    Community,
    Escalation,
    Need,
    NeedLine,
    NeedStatus,
    Offer,
)
from core.text import shorten


def due(community: Community, now: datetime) -> date | None:
    """The local date whose briefing is due now, once its local hour has passed; a community
    created after that hour gets its first briefing the next morning."""
    tz = ZoneInfo(community.timezone)
    local = now.astimezone(tz)
    hh, mm = (int(x) for x in community.briefing_time.split(":"))
    moment = datetime.combine(local.date(), time(hh, mm), tzinfo=tz)
    if local < moment or community.created_at > moment:
        return None
    return local.date()


def claim(s: Session, community: Community, local_date: date, now: datetime) -> Briefing | None:
    """Claim the briefing of one community and date, in the caller's transaction; None when another
    process has it. The caller queues the briefing in the outbox and marks it sent in the same
    transaction, so a crash before the commit leaves nothing and the next run claims it again.

    A row left unsent (claimed by a process that committed its claim and died) is taken over under a
    row lock, so two processes never both take it."""
    try:
        with s.begin_nested():
            row = Briefing(community_id=community.id, local_date=local_date, claimed_at=now)
            s.add(row)
            s.flush()
            return row
    except IntegrityError:
        pass
    taken = s.exec(update(Briefing).where(Briefing.community_id == community.id,
                                          Briefing.local_date == local_date, Briefing.status != "sent")
                   .values(claimed_at=now).execution_options(synchronize_session=False))
    if not taken.rowcount:
        return None
    row = s.exec(select(Briefing).where(Briefing.community_id == community.id,
                                        Briefing.local_date == local_date)).one()
    s.refresh(row)
    return row


def compose(s: Session, community: Community, now: datetime, since: datetime | None = None) -> dict[str, Any]:
    """The figures and lists of a briefing; ``since`` defaults to the previous briefing or 24 h.

    A community with an area (core/areas.py) gets the needs and offers of its départements only, and one
    line of national totals for context; questions to the authorities and classification changes stay
    national."""
    if since is None:
        last = s.exec(select(Briefing).where(Briefing.community_id == community.id, Briefing.status == "sent")
                      .order_by(Briefing.sent_at.desc())).first()
        since = last.sent_at if last and last.sent_at else now - timedelta(days=1)
    try:
        area = areas.parse_area(community.region or "")
    except ValueError:  # a free-text value stored before areas were checked: the whole country
        area = None
    deps = areas.departments_of_area(area)
    in_need_area = (Need.department.in_(deps),) if deps else ()
    in_offer_area = (Offer.department.in_(deps),) if deps else ()
    active = tuple(NeedStatus.ACTIVE)
    not_cat4 = Need.category.is_distinct_from(4)
    new_needs = list(s.exec(select(Need).where(Need.created_at >= since, Need.status.in_(active), not_cat4,
                                               *in_need_area)
                            .order_by(Need.deadline.is_(None), Need.deadline, Need.category.desc(), Need.id)
                            .limit(15)))
    stale = list(s.exec(select(Need).where(Need.created_at < now - timedelta(hours=48),
                                           Need.status.in_((NeedStatus.OPEN, NeedStatus.PARTLY_COVERED)),
                                           not_cat4, *in_need_area)
                        .order_by(Need.deadline.is_(None), Need.deadline, Need.id).limit(10)))
    # Grouping on an expression keeps SQLite on the created_at index (the department index would mean
    # reading every offer to skip a sort of the few recent ones).
    dept = func.coalesce(Offer.department, "?")
    offers_by_dept = list(s.exec(select(dept, func.count()).where(Offer.created_at >= since, *in_offer_area)
                                 .group_by(dept).order_by(func.count().desc(), dept).limit(10)))
    committed_q = select(func.count(), func.coalesce(func.sum(Commitment.quantity), 0)).where(
        Commitment.created_at >= since)
    if deps:
        committed_q = committed_q.join(Need, Need.id == Commitment.need_id).where(*in_need_area)
    commitments = s.exec(committed_q).one()
    deliveries = s.exec(select(func.count()).select_from(Need).where(
        Need.status.in_((NeedStatus.DELIVERED, NeedStatus.CLOSED)), Need.updated_at >= since, *in_need_area)).one()
    open_q = list(s.exec(select(Escalation).where(Escalation.status == "open").order_by(Escalation.id).limit(10)))
    answered = list(s.exec(select(Escalation).where(Escalation.status == "answered",
                                                    Escalation.public == True,  # noqa: E712
                                                    Escalation.answered_at >= since).limit(10)))
    changes = list(s.exec(select(AuditEntry).where(AuditEntry.at >= since,
                                                   AuditEntry.action.in_(("item.classified", "guidance.edited",
                                                                          "design.reviewed")))
                          .order_by(AuditEntry.id).limit(10)))

    def open_needs(*where: Any) -> int:
        return int(s.exec(select(func.count()).select_from(Need).where(Need.status.in_(active), not_cat4,
                                                                        *where)).one())

    def active_offers(*where: Any) -> int:
        return int(s.exec(select(func.count()).select_from(Offer).where(Offer.status == "active", *where)).one())

    open_total, offers_total = open_needs(*in_need_area), active_offers(*in_offer_area)
    national = {"open_needs": open_needs(), "active_offers": active_offers()} if deps else None
    previous = s.exec(select(Briefing).where(Briefing.community_id == community.id, Briefing.status == "sent")
                      .order_by(Briefing.local_date.desc())).first()
    prev_fig = (previous.figures or {}) if previous else {}

    def lines_of(need: Need) -> list[dict[str, Any]]:
        return [{"item": ln.item_id, "quantity": ln.quantity, "committed": ln.committed}
                for ln in s.exec(select(NeedLine).where(NeedLine.need_id == need.id))]

    def need_row(need: Need) -> dict[str, Any]:
        return {"ref": need_ref(need.id), "place": need.place_name, "department": need.department,
                "facility": need.facility,
                "deadline": need.deadline, "category": need.category, "lines": lines_of(need),
                "status": need.status}

    new_total = s.exec(select(func.count()).select_from(Need).where(
        Need.created_at >= since, Need.status.in_(active), not_cat4, *in_need_area)).one()
    stale_total = s.exec(select(func.count()).select_from(Need).where(
        Need.created_at < now - timedelta(hours=48),
        Need.status.in_((NeedStatus.OPEN, NeedStatus.PARTLY_COVERED)), not_cat4, *in_need_area)).one()
    new_offers = s.exec(select(func.count()).select_from(Offer).where(Offer.created_at >= since,
                                                                       *in_offer_area)).one()
    open_q_total = s.exec(select(func.count()).select_from(Escalation).where(Escalation.status == "open")).one()
    figures = {"open_needs": int(open_total), "active_offers": int(offers_total),
               "new_needs": int(new_total), "uncovered_48h": int(stale_total), "new_offers": int(new_offers),
               "commitments": int(commitments[0]), "committed_units": int(commitments[1] or 0),
               "deliveries": int(deliveries), "open_questions": int(open_q_total)}
    # The change since the previous briefing (yesterday's, normally), for every figure it had. A briefing
    # stored with another area (AREA_KEY; none before areas existed: the whole country) is not comparable.
    comparable = prev_fig.get(AREA_KEY) == area
    delta = {k: figures[k] - int(prev_fig[k]) for k in figures
             if comparable and isinstance(prev_fig.get(k), (int, float))}
    return {
        "community": community.name, "date": now.astimezone(ZoneInfo(community.timezone)).date(),
        "area": areas.area_label(area), "area_code": area, "national": national,
        "new_needs": [need_row(n) for n in new_needs], "stale_needs": [need_row(n) for n in stale],
        "offers_by_department": [{"department": d or "?", "count": int(c)} for d, c in offers_by_dept],
        "open_questions": [{"ref": ticket_ref(e.id), "topic": e.topic, "question": shorten(e.text, 120)}
                           for e in open_q],
        "answered_questions": [{"ref": ticket_ref(e.id), "topic": e.topic, "question": shorten(e.text, 120),
                                "answer": shorten(e.answer or "", 200)} for e in answered],
        "changes": [{"action": c.action, "subject": c.subject, "ref": c.subject.rpartition(":")[2],
                     "before": c.before or {}, "after": c.after or {}} for c in changes],
        "figures": figures, "delta": delta,
        "open_by_department": open_by_department(s, departments=deps),
    }


AREA_KEY = "area"  # stored beside a briefing's figures: the area they counted (None: the whole country)


def stored_figures(data: dict[str, Any]) -> dict[str, Any]:
    """What a sent briefing keeps for the next one's changes: its figures and the area they cover."""
    return {**data["figures"], AREA_KEY: data.get("area_code")}


CHART_DEPARTMENTS = 10


def open_by_department(s: Session, limit: int = CHART_DEPARTMENTS,
                       departments: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Units of open needs (not category 4) by department: committed and still uncovered, the most
    uncovered first; a line of unknown quantity counts only what was committed for it. ``departments``
    restricts it to an area (None: the whole country)."""
    committed = case((NeedLine.committed > NeedLine.quantity, NeedLine.quantity), else_=NeedLine.committed)
    uncovered = case((NeedLine.quantity > NeedLine.committed, NeedLine.quantity - NeedLine.committed), else_=0)
    dept = func.coalesce(Need.department, "?")
    total_uncovered = func.sum(uncovered)
    rows = s.exec(select(dept, func.sum(committed), total_uncovered)
                  .select_from(Need).join(NeedLine, NeedLine.need_id == Need.id)
                  .where(Need.status.in_(tuple(NeedStatus.ACTIVE)), Need.category.is_distinct_from(4),
                         *((Need.department.in_(departments),) if departments else ()))
                  .group_by(dept).order_by(total_uncovered.desc(), dept).limit(limit))
    return [{"department": d, "committed": int(c or 0), "uncovered": int(u or 0)} for d, c, u in rows]
