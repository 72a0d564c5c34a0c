"""``relais run``: start the configured bots and the scheduler in one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import signal

from core.db import Database, upgrade
from core.hub import Hub
from core.settings import Settings

log = logging.getLogger(__name__)


async def _serve(settings: Settings, only: str | None) -> None:
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    hub = Hub(db, settings=settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
            pass
    tasks = []
    if only in (None, "telegram") and settings.telegram_token:
        from bots.telegram.app import serve as serve_telegram

        tasks.append(asyncio.create_task(serve_telegram(hub, settings, stop), name="telegram"))
    if only in (None, "discord") and settings.discord_token:
        from bots.discord.app import serve as serve_discord

        tasks.append(asyncio.create_task(serve_discord(hub, settings, stop), name="discord"))
    scheduler = None
    if only in (None, "scheduler"):
        from relais.scheduler import build_scheduler

        scheduler = build_scheduler(hub)
        scheduler.start()
        log.info("scheduler started")
    try:
        if tasks:
            done, _ = await asyncio.wait([*tasks, asyncio.create_task(stop.wait())],
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.get_name() in ("telegram", "discord") and task.exception():
                    raise task.exception()
        else:
            await stop.wait()
    finally:
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=15)
            except Exception:  # pragma: no cover - best effort on shutdown
                task.cancel()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        db.dispose()


def run(settings: Settings, only: str | None = None) -> int:
    logging.getLogger().setLevel(logging.INFO)
    asyncio.run(_serve(settings, only))
    return 0
