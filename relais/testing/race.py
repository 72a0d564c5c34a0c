"""Several hub processes handling events at the same instant, for the tests of concurrent handling.

Each worker process builds its own hub on the same database (as several ``relais run`` processes of one
deployment do), then, round after round, waits for every other worker at a barrier and hands its event of
the round to the hub through ``core.inbox.Inbox`` (the path the bots use). It reports, per round, how many
replies the hub gave and any error, so the test can check that nothing was lost or done twice.
"""

from __future__ import annotations

import asyncio
import traceback
from datetime import UTC, datetime
from typing import Any

START = datetime(2020, 3, 23, 9, 0, tzinfo=UTC)


def worker(url: str, index: int, rounds: list[dict[str, Any]], barrier: Any, results: Any) -> None:
    """Handle ``rounds`` (keyword arguments of ``core.messages.Inbound``, one dict per round) in step with
    the other workers; put ``(index, round, replies, error)`` on ``results`` for each."""
    from core.db import Database
    from core.hub import Hub
    from core.inbox import Inbox
    from core.messages import Identity, Inbound
    from core.ports import FakeClock
    from core.settings import Settings

    hub = Hub(Database(url), settings=Settings(database_url=url, _env_file=None), clock=FakeClock(START))
    _ = hub.recogniser  # loaded before the first barrier, so the workers start each round together
    inbox = Inbox(hub)
    try:
        for number, spec in enumerate(rounds):
            spec = dict(spec)
            author = Identity(**spec.pop("author"))
            msg = Inbound(author=author, sent_at=START, **spec)
            barrier.wait(timeout=120)
            try:
                out = asyncio.run(inbox.submit(msg))
                results.put((index, number, len(out) if isinstance(out, list) else -1, None))
            except Exception:  # reported, not raised: the test counts it as a lost event
                results.put((index, number, 0, traceback.format_exc(limit=5)))
    finally:
        hub.db.dispose()
