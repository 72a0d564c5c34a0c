"""Inbound events that must not be lost while the database is unreachable.

A Telegram update is fetched again until the core has recorded it, so the Telegram bot simply does
not acknowledge it. A Discord gateway event (a message, a button press, a slash command) is never
delivered again: the Discord bot hands each one to an ``Inbox`` instead of calling the hub itself.

``await inbox.submit(event)`` calls the hub in a worker thread and returns what the core said. When the
database cannot be reached (a connection refused or dropped, SQLite unable to open its file or to
write it), the event is *kept*: ``submit`` returns ``None`` at once, and the inbox's own task
(``await inbox.run()``) calls the hub again with a growing pause until it succeeds, then hands the
core's answer to ``on_processed``. Kept events are handled oldest first, and while anything is kept
every new event queues behind it; and the events of one chat go to the hub one at a time, in the order
they were submitted, so the order of each chat's messages is preserved. Calling the
hub again is always safe: the core records each ``(platform, event_id)`` once.

Kept events live in memory, up to ``limit`` of them (a new event beyond that is refused, logged and
reported as ``Submitted.REFUSED`` so the bot can ask its author to send it again later; the oldest are
never dropped, as they may be needs). With a ``spool`` path they are also appended, one JSON line
each and flushed to disk, to a local file that a restarted process reads back (``inbox.load()``,
done by ``run``): an outage is the moment a process is most likely to be restarted, by a deploy or
by its supervisor, and a gateway event lost then is lost for good. The file is emptied once every
kept event has been handled; events handled before a crash and still in the file are replayed,
which the core's de-duplication makes harmless.

An error that is not about reaching the database (a bug) is logged and the event dropped, as it
would fail again: keeping it would block every later event of the queue.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc

from core.messages import Action, Identity, Inbound, Outbound

__all__ = ["Command", "Inbox", "Submitted", "unavailable"]

log = logging.getLogger(__name__)

# Words of SQLite errors that mean "the storage is not there or not writable right now", as opposed
# to a mistake in a statement ("no such table", "syntax error"), which retrying would not cure.
_SQLITE_UNAVAILABLE = ("unable to open", "disk i/o", "database is locked", "readonly", "read-only",
                       "disk is full", "database or disk is full", "locking protocol")


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached now (worth waiting for), not a bug."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True  # TimeoutError: no pooled connection became free in time
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        orig = getattr(exc, "orig", None)
        if type(orig).__module__.startswith("sqlite3"):
            text = str(orig).lower()
            return any(words in text for words in _SQLITE_UNAVAILABLE)
        return True  # psycopg: OperationalError / InterfaceError are connection-level problems
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


@dataclass(frozen=True)
class Command:
    """A structured command (a Discord slash command), as ``Hub.run_command`` takes it."""

    platform: str
    event_id: str
    chat: str
    author: Identity
    name: str
    args: str = ""
    chat_kind: str = "private"
    community: str | None = None


Event = Inbound | Action | Command


class Submitted(enum.Enum):
    """What became of an event the hub could not take at once."""

    KEPT = "kept"
    REFUSED = "refused"  # the inbox is full: the author should send it again later


@dataclass
class _Entry:
    event: Event
    context: dict[str, Any]  # what the bot needs afterwards (a channel and message id...), JSON-able


def _encode(event: Event) -> dict[str, Any]:
    data = asdict(event)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    kind = {Inbound: "message", Action: "action", Command: "command"}[type(event)]
    return {"kind": kind, "event": data}


def _decode(line: dict[str, Any]) -> Event:
    cls = {"message": Inbound, "action": Action, "command": Command}[line["kind"]]
    data = dict(line["event"])
    data["author"] = Identity(**data["author"])
    if "sent_at" in data:
        data["sent_at"] = datetime.fromisoformat(data["sent_at"])
    if data.get("location") is not None:
        data["location"] = tuple(data["location"])
    return cls(**data)


class Inbox:
    """Hands inbound events to the hub; keeps them, in order, while the database is unreachable."""

    def __init__(self, hub: Any, *, spool: str | Path | None = None, limit: int = 20_000,
                 first_pause: float = 0.5, max_pause: float = 15.0,
                 on_processed: Callable[[Event, dict[str, Any], list[Outbound]], Awaitable[None]] | None = None,
                 claim_for: str | None = None):
        self.hub = hub
        self.spool = Path(spool) if spool else None
        self.limit = limit
        self.first_pause = first_pause
        self.max_pause = max_pause
        self.on_processed = on_processed
        self.claim_for = claim_for
        self.kept: deque[_Entry] = deque()
        self.refused = 0
        self.failed = 0
        self._wake = asyncio.Event()
        self._locks: dict[tuple[str, str], list[Any]] = {}  # chat → [its lock, events waiting or in it]
        self._stopping = False
        self._loaded = False

    # ------------------------------------------------------------------ the hub

    def _call(self, event: Event, claim: bool) -> list[Outbound]:
        """The hub call for an event, run in a worker thread."""
        extra = {"claim_for": self.claim_for} if claim and self.claim_for else {}
        if isinstance(event, Inbound):
            return self.hub.receive(event)
        if isinstance(event, Action):
            return self.hub.act(event, **extra)
        return self.hub.run_command(event.author, event.name, event.args, platform=event.platform,
                                    chat=event.chat, event_id=event.event_id, chat_kind=event.chat_kind,
                                    community=event.community, **extra)

    async def _attempt(self, event: Event, claim: bool) -> list[Outbound]:
        try:
            return await asyncio.to_thread(self._call, event, claim)
        except sa_exc.IntegrityError:
            # Two first events of one person or community raced to create its row; the loser's whole
            # transaction (its event included) was rolled back, so running it again is safe.
            return await asyncio.to_thread(self._call, event, claim)

    # ------------------------------------------------------------------ submitting

    @property
    def outage(self) -> bool:
        """Whether events are being kept (the database was unreachable at the last attempt)."""
        return bool(self.kept)

    async def submit(self, event: Event, context: dict[str, Any] | None = None, *,
                     claim: bool = False) -> list[Outbound] | Submitted:
        """Hand ``event`` to the hub now: its answer, or ``Submitted.KEPT`` (handled later, then given to
        ``on_processed`` with ``context``) or ``Submitted.REFUSED`` (the inbox is full). ``claim``:
        replies in the event's chat come back claimed for ``claim_for`` (an interaction's answer); an
        event handled later is never claimed, its replies go through the outbox."""
        key = (event.platform, event.chat)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = [asyncio.Lock(), 0]
        lock[1] += 1
        try:
            # One event of a chat at a time, in the order they came: a chat's later message is not
            # handled (or kept) before an earlier one whose attempt is still under way.
            async with lock[0]:
                if not self.kept:
                    try:
                        return await self._attempt(event, claim)
                    except Exception as exc:
                        if not unavailable(exc):
                            raise
                        log.warning("database unreachable, keeping %s:%s: %s", event.platform,
                                    event.event_id, str(exc).splitlines()[0][:200])
                return self._keep(event, context or {})
        finally:
            lock[1] -= 1
            if not lock[1]:
                del self._locks[key]

    def _keep(self, event: Event, context: dict[str, Any]) -> Submitted:
        if len(self.kept) >= self.limit:
            self.refused += 1
            log.error("inbox full (%d events kept): %s:%s refused", len(self.kept), event.platform,
                      event.event_id)
            return Submitted.REFUSED
        entry = _Entry(event, context)
        self.kept.append(entry)
        self._append(entry)
        self._wake.set()
        return Submitted.KEPT

    # ------------------------------------------------------------------ the spool file

    def _append(self, entry: _Entry) -> None:
        if self.spool is None:
            return
        line = json.dumps({**_encode(entry.event), "context": entry.context}, ensure_ascii=False)
        try:
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            with self.spool.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:  # still kept in memory
            log.error("could not write the inbox spool %s: %s", self.spool, exc)

    def _truncate(self) -> None:
        if self.spool is not None and self.spool.exists():
            try:
                self.spool.write_text("", encoding="utf-8")
            except OSError as exc:
                log.error("could not empty the inbox spool %s: %s", self.spool, exc)

    def load(self) -> int:
        """Take back the events a previous process kept in the spool file (once, before new ones)."""
        if self._loaded:
            return 0
        self._loaded = True
        if self.spool is None or not self.spool.exists():
            return 0
        entries = []
        for number, raw in enumerate(self.spool.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                entries.append(_Entry(_decode(line), dict(line.get("context") or {})))
            except Exception as exc:  # noqa: BLE001 - a torn last line after a crash, say
                log.error("inbox spool %s line %d unreadable, skipped: %s", self.spool, number, exc)
        self.kept.extendleft(reversed(entries))
        if entries:
            log.warning("%d kept events read back from %s", len(entries), self.spool)
            self._wake.set()
        return len(entries)

    # ------------------------------------------------------------------ handling kept events

    async def run(self) -> None:
        """Hand kept events to the hub, oldest first, until ``stop``; pauses grow while it fails."""
        self.load()
        pause = self.first_pause
        while not self._stopping:
            if not self.kept:
                self._wake.clear()
                await self._wake.wait()
                continue
            entry = self.kept[0]
            try:
                outs = await self._attempt(entry.event, False)
            except Exception as exc:
                if unavailable(exc):
                    log.info("database still unreachable (%d events kept); next try in %.1f s",
                             len(self.kept), pause)
                    await self._sleep(pause)
                    pause = min(pause * 2, self.max_pause)
                    continue
                self.failed += 1
                log.exception("kept event %s:%s could not be handled; dropped",
                              entry.event.platform, entry.event.event_id)
                outs = None
            pause = self.first_pause
            self.kept.popleft()
            if not self.kept:
                self._truncate()
                log.warning("every kept event has been handled")
            if outs is not None and self.on_processed is not None:
                try:
                    await self.on_processed(entry.event, entry.context, outs)
                except Exception:  # noqa: BLE001 - the event is recorded; its follow-up is best effort
                    log.exception("after kept event %s", entry.event.event_id)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop_wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _stop_wait(self) -> None:
        while not self._stopping:
            self._wake.clear()
            await self._wake.wait()

    def stop(self) -> None:
        """End ``run`` (events still kept stay in the spool file for the next start)."""
        self._stopping = True
        self._wake.set()

    async def drained(self, timeout: float | None = None) -> bool:
        """Wait until nothing is kept (for tests and an orderly shutdown); False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.kept:
            if deadline is not None and loop.time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True
