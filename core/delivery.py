"""Delivery of the outbox: workers claim persisted messages, send them through a platform ``Sender``,
and record the outcome. A message is only marked sent once the platform has taken it."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, update
from sqlmodel import Session, select

from core.db import Database
from core.errors import DeliveryError
from core.models import BlockedChat, OutboxMessage
from core.ports import Clock, SystemClock

log = logging.getLogger(__name__)


class Sender(Protocol):
    """A platform's way of sending one outbox message; returns the platform's message id.

    Raises ``DeliveryError`` with ``retry_after`` on rate limiting, ``permanent=True`` when the chat
    is gone or the bot is blocked, and a plain ``DeliveryError`` for anything worth retrying."""

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


def claim(db: Database, platform: str, now: datetime, *, limit: int = 50, worker: str | None = None,
          policy: RetryPolicy | None = None) -> list[OutboxMessage]:
    """Claim due messages for one platform, replies to a person's own action first.

    On PostgreSQL rows are locked with ``FOR UPDATE SKIP LOCKED`` so several workers never claim the
    same message; a claim left by a crashed worker is taken over after ``claim_timeout_seconds``."""
    policy = policy or RetryPolicy()
    worker = worker or worker_id()
    stale = now - timedelta(seconds=policy.claim_timeout_seconds)
    with db.session() as s:
        q = (select(OutboxMessage)
             .where(OutboxMessage.platform == platform,
                    or_(OutboxMessage.status == "pending",
                        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < stale)),
                    OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.priority, OutboxMessage.id)
             .limit(limit))
        if db.is_postgres:
            q = q.with_for_update(skip_locked=True)
        rows = list(s.exec(q))
        for row in rows:
            row.status, row.claimed_at, row.claimed_by = "sending", now, worker
        s.flush()
        return rows


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


def is_blocked(s: Session, platform: str, chat: str) -> bool:
    return s.get(BlockedChat, (platform, chat)) is not None


def mark_sent(db: Database, message_id: int, platform_message_id: str | None, now: datetime) -> None:
    with db.session() as s:
        s.exec(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
            status="sent", sent_at=now, platform_message_id=platform_message_id,
            attempts=OutboxMessage.attempts + 1, error=None))


def mark_failed(db: Database, message: OutboxMessage, error: DeliveryError, now: datetime,
                policy: RetryPolicy) -> str:
    """Record a failed attempt; returns the new status (pending again, or failed for good)."""
    with db.session() as s:
        row = s.get(OutboxMessage, message.id)
        row.attempts += 1
        row.error = error.reason[:500]
        if error.permanent:
            row.status = "failed"
            if s.get(BlockedChat, (row.platform, row.chat)) is None:
                s.add(BlockedChat(platform=row.platform, chat=row.chat, reason=error.reason[:300], at=now))
        elif row.attempts >= policy.max_attempts:
            row.status = "failed"
        else:
            delay = error.retry_after if error.retry_after is not None else policy.backoff(row.attempts)
            row.status, row.next_attempt_at = "pending", now + timedelta(seconds=delay)
        return row.status


class DeliveryWorker:
    """Sends one platform's outbox. Run several: claims never overlap."""

    def __init__(self, db: Database, sender: Sender, *, clock: Clock | None = None,
                 policy: RetryPolicy | None = None, poll_seconds: float = 0.5, batch: int = 50):
        self.db = db
        self.sender = sender
        self.clock = clock or SystemClock()
        self.policy = policy or RetryPolicy()
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.worker = worker_id()
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Tell the worker new messages are waiting (saves a poll interval)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_once(self) -> int:
        """Claim and send one batch; returns how many messages were handled."""
        now = self.clock.now()
        rows = await asyncio.to_thread(claim, self.db, self.sender.platform, now, limit=self.batch,
                                       worker=self.worker, policy=self.policy)
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: OutboxMessage) -> None:
        with self.db.session() as s:
            blocked = is_blocked(s, row.platform, row.chat)
        if blocked:
            await asyncio.to_thread(mark_failed, self.db, row, DeliveryError("chat blocked", permanent=True),
                                    self.clock.now(), self.policy)
            return
        try:
            platform_id = await self.sender.send(row)
        except DeliveryError as exc:
            status = await asyncio.to_thread(mark_failed, self.db, row, exc, self.clock.now(), self.policy)
            log.warning("delivery of %s to %s:%s failed (%s): %s", row.id, row.platform, row.chat, status,
                        exc.reason)
            return
        except Exception as exc:  # an unexpected failure is retried, never lost
            log.exception("unexpected error sending outbox message %s", row.id)
            await asyncio.to_thread(mark_failed, self.db, row, DeliveryError(repr(exc)[:300]),
                                    self.clock.now(), self.policy)
            return
        await asyncio.to_thread(mark_sent, self.db, row.id, platform_id, self.clock.now())

    async def run(self) -> None:
        while not self._stopping:
            try:
                handled = await self.run_once()
            except Exception:  # the database may be restarting: wait and try again
                log.exception("delivery loop error; retrying")
                handled = 0
                await asyncio.sleep(min(self.poll_seconds * 4, 5))
            if handled == 0 and not self._stopping:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except asyncio.TimeoutError:
                    pass
