"""Scheduled jobs with APScheduler 3.11. Every job is idempotent (claims in the database), so several
scheduler processes sharing one database produce each briefing and each weekly review once: APScheduler
3 runs a job in every process that schedules it, the database decides which run does the work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core import jobs, needs
from core.hub import Hub

log = logging.getLogger(__name__)


def _job(name: str, fn: Callable[[Hub], Any], hub: Hub) -> Callable[[], Any]:
    """Run a core job in a thread (it uses the database), logging what it did and any failure."""

    async def run() -> None:
        try:
            result = await asyncio.to_thread(fn, hub)
        except Exception:
            log.exception("scheduled job %s failed; it runs again at its next time", name)
            return
        if result:
            log.info("%s: %s", name, len(result) if isinstance(result, list) else result)

    run.__name__ = name
    return run


def build_scheduler(hub: Hub, *, timezone: str | None = None) -> AsyncIOScheduler:
    """Briefings are checked every minute (each community has its own local time); ticket reminders every five
    minutes; commitments gone quiet every half hour; the weekly review on Monday morning and the retention purge every night, both in the
    default time zone."""
    tz = timezone or hub.settings.default_timezone
    scheduler = AsyncIOScheduler(timezone="UTC")
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    scheduler.add_job(_job("briefings", jobs.run_briefings, hub), "interval", minutes=1, id="briefings",
                      **common)
    scheduler.add_job(_job("ticket_reminders", jobs.run_ticket_reminders, hub), "interval", minutes=5,
                      id="ticket_reminders", **common)
    scheduler.add_job(_job("stale_commitments", needs.flag_stale_commitments, hub), "interval", minutes=30,
                      id="stale_commitments", **common)
    scheduler.add_job(_job("weekly_review", jobs.run_weekly_review, hub), "cron", day_of_week="mon", hour=9,
                      minute=0, timezone=tz, id="weekly_review", **common)
    scheduler.add_job(_job("retention_purge", jobs.run_retention_purge, hub), "cron", hour=3, minute=30,
                      timezone=tz, id="retention_purge", **common)
    return scheduler
