"""Scheduled jobs with APScheduler 3.11. Every job is idempotent (claims in the database), so several
scheduler processes sharing one database produce each briefing once."""

from __future__ import annotations

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core import jobs
from core.hub import Hub

log = logging.getLogger(__name__)


def build_scheduler(hub: Hub) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def briefings() -> None:
        outs = await asyncio.to_thread(jobs.run_briefings, hub)
        if outs:
            log.info("queued %d briefing(s)", len(outs))

    async def reminders() -> None:
        await asyncio.to_thread(jobs.run_ticket_reminders, hub)

    # Briefing times are per community and local; checking every minute finds the ones due.
    scheduler.add_job(briefings, "interval", minutes=1, id="briefings", coalesce=True, max_instances=1)
    scheduler.add_job(reminders, "interval", minutes=5, id="ticket_reminders", coalesce=True, max_instances=1)
    return scheduler
