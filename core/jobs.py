"""Scheduled work: briefings, ticket reminders and hand-overs, the weekly classification review and the
retention purge; and the moderators' view of the outbox. Each job is idempotent, so several scheduler
processes may run it at once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

from core import briefing, charts, chats, escalation
from core.commands import command
from core.hub import Hub
from core.messages import Outbound
from core.models import Community, DesignatedContact, Escalation, OutboxMessage, SeenEvent

log = logging.getLogger(__name__)


def _emit(hub: Hub, s: Session, outs: list[Outbound]) -> None:
    hub._persist(s, outs)


def briefing_outbound(hub: Hub, s: Session, community: Community, now: datetime,
                      data: dict[str, Any] | None = None) -> Outbound:
    data = data or briefing.compose(s, community, now)
    chat, thread = chats.briefing_place(community)
    chart = briefing_chart(hub, data, community.language)
    return hub.compose(platform=community.platform, chat=chat, kind="briefing", template="briefing",
                       language=community.language, context=data, priority=2, public=True,
                       label=f"{community.platform}:#{chat}", thread=thread,
                       file=(charts.BRIEFING_CHART_NAME, chart) if chart else None)


def briefing_chart(hub: Hub, data: dict[str, Any], language: str) -> bytes | None:
    """The briefing's PNG (open needs by department), labelled in the community's language; None when
    no need is open. A chart that fails to render leaves the briefing text-only."""
    rows = data.get("open_by_department") or []
    if not rows:
        return None
    rendered = hub.renderer.render("chart/briefing_labels", language, area=data.get("area"))
    try:
        return charts.briefing_chart(rows, charts.parse_labels(rendered.text), rendered.title)
    except Exception:  # a picture is a bonus: the briefing goes out without it
        log.exception("briefing chart not rendered")
        return None


def run_briefings(hub: Hub, now: datetime | None = None) -> list[Outbound]:
    """Post each community's briefing once per local date, after its local briefing time.

    The claim, the outbox message and the "sent" mark are one transaction: with several schedulers on
    one database exactly one of them queues each briefing, and a crash before the commit leaves the
    briefing unclaimed for the next run. Delivery from the outbox is at-least-once."""
    now = now or hub.clock.now()
    sent: list[Outbound] = []
    with hub.db.session() as s:
        communities = list(s.exec(select(Community).order_by(Community.id)))
    for community in communities:
        local_date = briefing.due(community, now)
        if local_date is None:
            continue
        with hub.db.session() as s:
            row = briefing.claim(s, community, local_date, now)
            if row is None or row.status == "sent":
                continue
            data = briefing.compose(s, community, now)
            out = briefing_outbound(hub, s, community, now, data)
            _emit(hub, s, [out])
            row.status, row.sent_at, row.figures = "sent", now, briefing.stored_figures(data)
            sent.append(out)
    return sent


def preview_briefing(hub: Hub, community_id: int, now: datetime | None = None) -> Outbound:
    now = now or hub.clock.now()
    with hub.db.session() as s:
        community = s.get(Community, community_id)
        return briefing_outbound(hub, s, community, now)


def run_ticket_reminders(hub: Hub, now: datetime | None = None) -> list[Outbound]:
    """Route tickets still without a contact, remind the contact after the reminder delay, hand over to
    the backup after the hand-over delay (core/escalation.py); idempotent, outbound messages persisted."""
    return escalation.run_reminders(hub, now or hub.clock.now())


def run_weekly_review(hub: Hub, now: datetime | None = None) -> list[Outbound]:
    """Send the weekly catalogue review (unreviewed designs, unclassified items) to the authority's contacts
    once per ISO week (core/guidance.py); idempotent, outbound messages persisted."""
    from core import guidance

    return guidance.weekly_review(hub, now or hub.clock.now())


SEEN_EVENT_DAYS = 7


def run_retention_purge(hub: Hub, now: datetime | None = None) -> dict[str, int]:
    """Forget what is no longer needed: redelivery markers after a week, sent messages after the
    retention period. Idempotent."""
    now = now or hub.clock.now()
    with hub.db.session() as s:
        seen = s.exec(delete(SeenEvent).where(SeenEvent.seen_at < now - timedelta(days=SEEN_EVENT_DAYS)))
        sent = s.exec(delete(OutboxMessage).where(
            OutboxMessage.status == "sent",
            OutboxMessage.created_at < now - timedelta(days=hub.settings.retention_days)))
        counts = {"seen_events": seen.rowcount or 0, "sent_messages": sent.rowcount or 0}
    log.info("retention purge: %s", counts)
    return counts


@command("outbox", "envois")
def cmd_outbox(ctx, args: str) -> None:
    """``/outbox [telegram|discord]``: messages waiting, sent and failed, and the last failures."""
    from core.delivery import outbox_status
    from core.errors import Refused

    platform = args.strip().lower() or None
    if platform not in (None, "telegram", "discord", "console"):
        raise Refused("refused/usage", usage="/outbox [telegram|discord]")
    ctx.reply("outbox_status", "listing", **outbox_status(ctx.hub.db, platform, now=ctx.now, failures=5,
                                                               session=ctx.s))


__all__ = ["run_briefings", "run_ticket_reminders", "run_weekly_review", "run_retention_purge",
           "preview_briefing", "cmd_outbox", "DesignatedContact", "Escalation"]
