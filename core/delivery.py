"""Delivery of the outbox: workers claim persisted messages, send them through a platform ``Sender``
within the platform's limits, and record the outcome.

Guarantees: a message is marked sent only once the platform has taken it, and it is marked right
after, one by one, so a crash can only repeat the messages that were on the wire at that moment
(at most ``concurrency`` per crash, one per chat). Replies to a person's own action (priority 0) go
before bulk messages; a chat that has used up its window is skipped, not waited for, so one slow
group never holds up private replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, or_, update
from sqlmodel import Session, select

from core.db import Database
from core.errors import DeliveryError
from core.models import BlockedChat, OutboxMessage
from core.ports import Clock, SystemClock
from core.ratelimit import Pacer, RateLimits, limits_for

log = logging.getLogger(__name__)

T = TypeVar("T")

_DEFAULT_LIMITS = object()


class Sender(Protocol):
    """A platform's way of sending one outbox message; returns the platform's message id.

    Raises ``DeliveryError`` with ``retry_after`` on rate limiting, ``permanent=True`` when the chat
    is gone or the bot is blocked, and a plain ``DeliveryError`` for anything worth retrying.

    Optionally, ``rate_hint(message) -> dict | None`` reports the chat's bucket as the platform's
    response headers described it (``limit``, ``remaining``, ``reset_after``) for the pacer to follow."""

    platform: str

    async def send(self, message: OutboxMessage) -> str | None: ...


@dataclass
class RetryPolicy:
    base_seconds: float = 1.0
    max_seconds: float = 300.0
    max_attempts: int = 12
    claim_timeout_seconds: float = 120.0  # a claim older than this is considered lost (crashed worker)

    def backoff(self, attempts: int) -> float:
        return min(self.base_seconds * (2 ** max(attempts - 1, 0)), self.max_seconds)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _due(platform: str, now: datetime, stale: datetime):
    return (OutboxMessage.platform == platform,
            or_(OutboxMessage.status == "pending",
                (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < stale)),
            OutboxMessage.next_attempt_at <= now)


def _candidates(s: Session, platform: str, now: datetime, stale: datetime, limit: int,
                exclude_chats: frozenset[str] | set[str], per_chat: int | None) -> list:
    """Conditions on the next due messages: at most ``per_chat`` per chat, none for ``exclude_chats``
    (chats whose window is full: their messages wait in the table, not in a worker). With ``per_chat``
    the candidate ids are read first: a window function inside the locking query leaves PostgreSQL's
    planner guessing on a freshly filled outbox."""
    cond = list(_due(platform, now, stale))
    if exclude_chats:
        cond.append(OutboxMessage.chat.not_in(sorted(exclude_chats)))
    if not per_chat:
        return cond
    # Rank within the head of the queue only, so a long outbox costs no more than a short one.
    head = (select(OutboxMessage.id, OutboxMessage.chat, OutboxMessage.priority).where(*cond)
            .order_by(OutboxMessage.priority, OutboxMessage.id).limit(max(limit * 20, 1000)).subquery())
    rank = func.row_number().over(partition_by=head.c.chat, order_by=(head.c.priority, head.c.id)).label("rank")
    ranked = select(head.c.id, head.c.priority, rank).subquery()
    ids = list(s.exec(select(ranked.c.id).where(ranked.c.rank <= per_chat)
                      .order_by(ranked.c.priority, ranked.c.id).limit(limit * 2)))
    return [*cond, OutboxMessage.id.in_(ids)]


def claim(db: Database, platform: str, now: datetime, *, limit: int = 50, worker: str | None = None,
          policy: RetryPolicy | None = None, exclude_chats: frozenset[str] | set[str] = frozenset(),
          per_chat: int | None = None) -> list[OutboxMessage]:
    """Claim due messages for one platform, replies to a person's own action first.

    On PostgreSQL rows are locked with ``FOR UPDATE SKIP LOCKED`` so several workers never claim the
    same message; on SQLite one ``UPDATE`` claims them atomically. A claim left by a crashed worker is
    taken over after ``claim_timeout_seconds``. Messages to a blocked chat are failed, not returned."""
    policy = policy or RetryPolicy()
    worker = worker or worker_id()
    stale = now - timedelta(seconds=policy.claim_timeout_seconds)
    order = (OutboxMessage.priority, OutboxMessage.id)
    with db.session() as s:
        cond = _candidates(s, platform, now, stale, limit, exclude_chats, per_chat)
        if db.is_postgres:  # LIMIT applies after skipping rows other workers hold
            rows = list(s.exec(select(OutboxMessage).where(*cond).order_by(*order).limit(limit)
                               .with_for_update(skip_locked=True)))
            for row in rows:
                row.status, row.claimed_at, row.claimed_by = "sending", now, worker
            s.flush()
        else:
            token = f"{worker}/{uuid.uuid4().hex[:8]}"[:64]
            ids = select(OutboxMessage.id).where(*cond).order_by(*order).limit(limit)
            s.exec(update(OutboxMessage).where(OutboxMessage.id.in_(ids.scalar_subquery()))
                   .values(status="sending", claimed_at=now, claimed_by=token)
                   .execution_options(synchronize_session=False))
            rows = list(s.exec(select(OutboxMessage).where(OutboxMessage.claimed_by == token,
                                                           OutboxMessage.status == "sending")
                               .order_by(OutboxMessage.priority, OutboxMessage.id)))
            for row in rows:
                row.claimed_by = worker
        if not rows:
            return rows
        chats = {r.chat for r in rows}
        blocked = set(s.exec(select(BlockedChat.chat).where(BlockedChat.platform == platform,
                                                            BlockedChat.chat.in_(chats))))
        kept = []
        for row in rows:
            if row.chat in blocked:
                row.status, row.error, row.attempts = "failed", "chat blocked", row.attempts + 1
            else:
                kept.append(row)
        s.flush()
        return kept


def claim_ids(db: Database, ids: list[int], now: datetime, *, worker: str | None = None) -> list[int]:
    """Claim specific pending messages, for a bot that answers an interaction directly; returns the
    ids it got (a delivery worker may have taken some already)."""
    if not ids:
        return []
    worker = worker or worker_id()
    with db.session() as s:
        q = select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
        if db.is_postgres:
            q = q.with_for_update(skip_locked=True)
            rows = list(s.exec(q))
            for row in rows:
                row.status, row.claimed_at, row.claimed_by = "sending", now, worker
            return [r.id for r in rows]
        token = f"{worker}/{uuid.uuid4().hex[:8]}"[:64]
        s.exec(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
               .values(status="sending", claimed_at=now, claimed_by=token)
               .execution_options(synchronize_session=False))
        got = list(s.exec(select(OutboxMessage.id).where(OutboxMessage.claimed_by == token)))
        s.exec(update(OutboxMessage).where(OutboxMessage.claimed_by == token).values(claimed_by=worker)
               .execution_options(synchronize_session=False))
        return got


def release(db: Database, ids: list[int], *, at: datetime | dict[int, datetime]) -> None:
    """Give claimed, unsent messages back to the queue, due at ``at`` (one time, or one per id)."""
    if not ids:
        return
    with db.session() as s:
        if isinstance(at, datetime):
            s.exec(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                   .values(status="pending", claimed_at=None, claimed_by=None, next_attempt_at=at)
                   .execution_options(synchronize_session=False))
            return
        for message_id in ids:
            s.exec(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                               OutboxMessage.status == "sending")
                   .values(status="pending", claimed_at=None, claimed_by=None, next_attempt_at=at[message_id])
                   .execution_options(synchronize_session=False))


def recover(db: Database, worker: str, now: datetime) -> int:
    """Release the claims a worker of this name left when it last stopped (or crashed)."""
    with db.session() as s:
        result = s.exec(update(OutboxMessage).where(OutboxMessage.status == "sending",
                                                    OutboxMessage.claimed_by == worker)
                        .values(status="pending", claimed_at=None, claimed_by=None, next_attempt_at=now)
                        .execution_options(synchronize_session=False))
        return result.rowcount or 0


def is_blocked(s: Session, platform: str, chat: str) -> bool:
    return s.get(BlockedChat, (platform, chat)) is not None


def mark_sent(db: Database, message_id: int, platform_message_id: str | None, now: datetime) -> None:
    """Record a delivery. An attached file is dropped from the outbox once delivered: an export (names in
    an administrator's) or a chart is not kept in the database any longer than needed to send it."""
    with db.session() as s:
        s.exec(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
            status="sent", sent_at=now, platform_message_id=platform_message_id,
            attempts=OutboxMessage.attempts + 1, error=None, attachment=None))


def mark_failed(db: Database, message: OutboxMessage, error: DeliveryError, now: datetime,
                policy: RetryPolicy) -> str:
    """Record a failed attempt; returns the new status (pending again, or failed for good)."""
    with db.session() as s:
        row = s.get(OutboxMessage, message.id)
        row.attempts += 1
        row.error = error.reason[:500]
        row.claimed_at = row.claimed_by = None
        if error.permanent:
            row.status = "failed"
            row.attachment = None  # never sent: the file is not kept either
            if s.get(BlockedChat, (row.platform, row.chat)) is None:
                s.add(BlockedChat(platform=row.platform, chat=row.chat, reason=error.reason[:300], at=now))
        elif row.attempts >= policy.max_attempts:
            row.status, row.attachment = "failed", None
        else:
            delay = error.retry_after if error.retry_after is not None else policy.backoff(row.attempts)
            row.status, row.next_attempt_at = "pending", now + timedelta(seconds=delay)
        return row.status


def outbox_status(db: Database, platform: str | None = None, *, failures: int = 10,
                  now: datetime | None = None, session: Session | None = None) -> dict[str, Any]:
    """What moderators see with ``/outbox``: counts by platform and status, the oldest waiting
    message, and the last failures with their reasons. Pass ``session`` when already in a transaction
    (a command): a second one would wait for the first on SQLite."""
    with (contextlib.nullcontext(session) if session is not None else db.session()) as s:
        q = select(OutboxMessage.platform, OutboxMessage.status, func.count()).group_by(
            OutboxMessage.platform, OutboxMessage.status)
        waiting = select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(("pending", "sending")))
        failed = select(OutboxMessage).where(OutboxMessage.status == "failed")
        retrying = select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.attempts > 0)
        blocked = select(func.count()).select_from(BlockedChat)
        if platform:
            q = q.where(OutboxMessage.platform == platform)
            waiting = waiting.where(OutboxMessage.platform == platform)
            failed = failed.where(OutboxMessage.platform == platform)
            retrying = retrying.where(OutboxMessage.platform == platform)
            blocked = blocked.where(BlockedChat.platform == platform)
        counts: dict[str, dict[str, int]] = {}
        for plat, status, n in s.exec(q):
            counts.setdefault(plat, {"pending": 0, "sending": 0, "sent": 0, "failed": 0})[status] = int(n)
        oldest = s.exec(waiting).one()
        if oldest is not None and oldest.tzinfo is None:

            oldest = oldest.replace(tzinfo=UTC)

        def row(m: OutboxMessage) -> dict[str, Any]:
            return {"id": m.id, "platform": m.platform, "chat": m.chat, "kind": m.kind,
                    "attempts": m.attempts, "error": m.error or "", "direct": m.direct}

        last_failures = [row(m) for m in s.exec(failed.order_by(OutboxMessage.id.desc()).limit(failures))]
        last_retries = [row(m) for m in s.exec(retrying.order_by(OutboxMessage.id.desc()).limit(failures))]
        totals = {k: sum(c.get(k, 0) for c in counts.values()) for k in ("pending", "sending", "sent", "failed")}
        now = now or SystemClock().now()
        return {"platform": platform, "counts": counts, "totals": totals,
                "oldest_waiting_minutes": (round((now - oldest).total_seconds() / 60) if oldest else None),
                "failures": last_failures, "retrying": last_retries, "blocked_chats": int(s.exec(blocked).one())}


class DeliveryWorker:
    """Sends one platform's outbox within its limits. Run several: claims never overlap.

    ``limits``: the platform's ``RateLimits`` (default: ``core.ratelimit`` defaults for the sender's
    platform; ``None`` disables pacing). ``concurrency``: requests on the wire at once, one per chat
    (default: the limits' own, 8 for Telegram, 64 for Discord; a crash may repeat that many messages).
    ``name``: a stable name for this worker; on start it takes back the claims it left when it last
    died instead of waiting for them to go stale (give each concurrent worker its own name).
    ``hold_seconds``: a claimed message whose chat window frees up later than this is given back to
    the queue for later, so claims are never held long."""

    def __init__(self, db: Database, sender: Sender, *, clock: Clock | None = None,
                 policy: RetryPolicy | None = None, poll_seconds: float = 0.5, batch: int = 50,
                 limits: RateLimits | None | Any = _DEFAULT_LIMITS, concurrency: int | None = None,
                 name: str | None = None, hold_seconds: float = 2.0, per_chat: int | None = 5,
                 monotonic: Callable[[], float] = time.monotonic):
        self.db = db
        self.sender = sender
        self.clock = clock or SystemClock()
        self.policy = policy or RetryPolicy()
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.limits = limits_for(sender.platform) if limits is _DEFAULT_LIMITS else limits
        self.pacer = Pacer(self.limits, monotonic)
        if concurrency is None:
            concurrency = self.limits.concurrency if self.limits is not None else 4
        self.concurrency = max(1, concurrency)
        self.hold_seconds = hold_seconds
        self.per_chat = per_chat
        self.name = name
        self.worker = (name or worker_id())[:64]
        self._wake = asyncio.Event()  # something changed: new messages (wake) or a send finished
        self._woken = False  # new messages were announced: claim now
        self._stopping = False
        self._queue: list[OutboxMessage] = []
        self._in_flight: dict[int, asyncio.Task] = {}
        self._busy_chats: set[str] = set()
        self._more = True  # the last claim was full: more may be due
        self._last_claim = float("-inf")
        self.sent_count = 0
        self.failed_count = 0

    def wake(self) -> None:
        """Tell the worker new messages are waiting (saves a poll interval)."""
        self._woken = True
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    # ------------------------------------------------------------------ claiming

    def _full_chats(self) -> set[str]:
        """Chats that cannot take one more message within ``hold_seconds`` (queued ones counted)."""
        queued: dict[str, int] = {}
        for m in self._queue:
            queued[m.chat] = queued.get(m.chat, 0) + 1
        full = set(self._busy_chats) if self.per_chat == 1 else set()
        for chat, direct in self.pacer.known_chats():
            if self.pacer.wait((("chat", chat),), direct=direct, ahead=queued.get(chat, 0)) > self.hold_seconds:
                full.add(chat)
                if len(full) >= 1000:
                    break
        return full

    def _chat_keys(self, row: OutboxMessage):
        return tuple(k for k in self.pacer.keys(row.chat, row.direct) if k != ("overall",))

    async def _refill(self, limit: int) -> int:
        """Claim up to ``limit`` due messages, none for chats whose window is full; give back any
        whose chat still cannot take them soon (a pause the platform imposed)."""
        now = self.clock.now()
        self._last_claim = time.monotonic()
        full = self._full_chats()
        rows = await asyncio.to_thread(claim, self.db, self.sender.platform, now, limit=limit,
                                       worker=self.worker, policy=self.policy, exclude_chats=full,
                                       per_chat=self.per_chat)
        self._more = len(rows) >= limit
        if not rows:
            return 0
        queued: dict[str, list[tuple[int, int]]] = {}
        for m in self._queue:
            queued.setdefault(m.chat, []).append((m.priority, m.id))
        later: dict[int, datetime] = {}
        for row in rows:  # in (priority, id) order
            keys = self._chat_keys(row)
            before = queued.setdefault(row.chat, [])
            if keys:  # messages to the same chat that will go before this one
                n = sum(1 for k in before if k < (row.priority, row.id))
                wait = self.pacer.wait(keys, direct=row.direct, ahead=n)
            else:
                wait = 0.0
            if wait > self.hold_seconds:  # back a little early, to be sent right on time from here
                later[row.id] = now + timedelta(seconds=wait - self.hold_seconds / 2)
            else:
                self._queue.append(row)
                before.append((row.priority, row.id))
        if later:
            await self._db_write(release, self.db, list(later), at=later)
        self._queue.sort(key=lambda m: (m.priority, m.id))
        return len(rows)

    # ------------------------------------------------------------------ sending

    def _start_ready(self) -> float | None:
        """Start every queued message its chat and the overall window allow; returns the seconds
        until the next one could go (None when nothing is waiting)."""
        soonest: float | None = None
        if not self._queue:
            return None
        overall = self.limits is not None and self.limits.overall is not None
        started: list[OutboxMessage] = []
        for row in self._queue:
            if len(self._in_flight) >= self.concurrency:  # a finishing send wakes the loop
                break
            if row.chat in self._busy_chats:
                continue
            keys = self.pacer.keys(row.chat, row.direct)
            wait = self.pacer.wait(keys, direct=row.direct)
            if wait > 0:
                soonest = wait if soonest is None else min(soonest, wait)
                if overall and self.pacer.wait((("overall",),)) > 0:
                    break
                continue
            taken = self.pacer.clock()
            self.pacer.take(keys, direct=row.direct, now=taken)
            self._busy_chats.add(row.chat)
            started.append(row)
            self._in_flight[row.id] = asyncio.create_task(self._deliver(row, taken), name=f"outbox-{row.id}")
        if started:
            ids = {r.id for r in started}
            self._queue = [m for m in self._queue if m.id not in ids]
        return soonest

    async def _deliver(self, row: OutboxMessage, taken: float | None = None) -> None:
        try:
            try:
                platform_id = await self.sender.send(row)
            except DeliveryError as exc:
                if taken is not None:
                    self.pacer.settle(row.chat, taken)
                await self._failed(row, exc)
                return
            except Exception as exc:  # an unexpected failure is retried, never lost
                log.exception("unexpected error sending outbox message %s", row.id)
                await self._failed(row, DeliveryError(repr(exc)[:300]))
                return
            if taken is not None:
                self.pacer.settle(row.chat, taken)
            self._follow_hint(row)
            await self._db_write(mark_sent, self.db, row.id, platform_id, self.clock.now())
            self.sent_count += 1
        finally:
            self._in_flight.pop(row.id, None)
            self._busy_chats.discard(row.chat)
            self._wake.set()

    def _follow_hint(self, row: OutboxMessage) -> None:
        hint_of = getattr(self.sender, "rate_hint", None)
        if hint_of is None:
            return
        try:
            hint = hint_of(row)
        except Exception:  # a hint is advice; never let it stop delivery
            log.debug("rate hint failed", exc_info=True)
            return
        if hint:
            self.pacer.observe(row.chat, limit=hint.get("limit"), remaining=hint.get("remaining"),
                               reset_after=hint.get("reset_after"), direct=row.direct)

    async def _failed(self, row: OutboxMessage, exc: DeliveryError) -> None:
        if exc.retry_after is not None:
            for key in self.pacer.keys(row.chat, row.direct):
                if key != ("overall",):
                    self.pacer.block(key, exc.retry_after, direct=row.direct)
        else:
            self._follow_hint(row)
        status = await self._db_write(mark_failed, self.db, row, exc, self.clock.now(), self.policy)
        log.warning("delivery of %s to %s:%s failed (%s): %s", row.id, row.platform, row.chat, status,
                    exc.reason)
        if status == "failed":
            self.failed_count += 1
        if exc.permanent:  # stop sending there: fail what is queued for the same chat
            same = [m for m in self._queue if m.chat == row.chat]
            self._queue = [m for m in self._queue if m.chat != row.chat]
            for m in same:
                await self._db_write(mark_failed, self.db, m, DeliveryError("chat blocked", permanent=True),
                                     self.clock.now(), self.policy)
                self.failed_count += 1

    async def _db_write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a database write, retrying while the database is unreachable (a restart): the outcome
        of a send must not be lost, or the message would be sent again."""
        delay, deadline = 0.2, time.monotonic() + self.policy.claim_timeout_seconds * 0.8
        while True:
            try:
                return await asyncio.to_thread(fn, *args, **kwargs)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                log.warning("database write %s failed; retrying in %.1fs", fn.__name__, delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # ------------------------------------------------------------------ loops

    async def run_once(self) -> int:
        """Claim one batch and send it within the limits; returns how many messages were handled."""
        handled = await self._refill(self.batch)
        while self._queue or self._in_flight:
            soonest = self._start_ready()
            await self._pause(soonest if soonest is not None else self.poll_seconds)
        return handled

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def run(self) -> None:
        """Loop until ``stop()``: claim, pace, send; wait for ``wake()`` or the poll interval."""
        if self.name:
            try:
                got = await asyncio.to_thread(recover, self.db, self.worker, self.clock.now())
                if got:
                    log.info("worker %s took back %d message(s) it had claimed before", self.worker, got)
            except Exception:
                log.exception("could not recover earlier claims; they will be retaken when stale")
        errors = 0
        try:
            while not self._stopping:
                self._start_ready()  # what can go now goes before the database is asked for more
                woken, self._woken = self._woken, False
                room = 2 * self.batch - len(self._queue)
                since = time.monotonic() - self._last_claim
                if room > 0 and (woken or since >= self.poll_seconds
                                 or (self._more and len(self._queue) < self.batch)):
                    try:
                        await self._refill(min(room, self.batch))
                        errors = 0
                    except Exception:  # the database may be restarting: keep sending what we hold
                        errors += 1
                        log.warning("claiming failed; retrying", exc_info=errors == 1)
                        self._last_claim = time.monotonic() + min(0.5 * errors, 5.0)
                        self._more = False
                self._wake.clear()
                soonest = self._start_ready()
                if self._stopping:
                    break
                if self._more and len(self._queue) < self.batch and len(self._in_flight) < self.concurrency:
                    await asyncio.sleep(0)
                    continue
                until_poll = max(0.0, self.poll_seconds - (time.monotonic() - self._last_claim))
                await self._pause(until_poll if soonest is None else min(soonest, until_poll))
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        """Let messages on the wire finish, and give back the ones not yet sent."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        if self._queue:
            ids = [m.id for m in self._queue]
            self._queue = []
            try:
                await asyncio.to_thread(release, self.db, ids, at=self.clock.now())
            except Exception:
                log.warning("could not release %d claimed message(s); they will be retaken when stale",
                            len(ids), exc_info=True)

