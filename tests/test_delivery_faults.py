"""Delivery survives crashes: a worker process killed with SIGKILL mid-broadcast and restarted, and a
PostgreSQL restart during delivery. Checked against what the Telegram stand-in really received."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.db import Database, upgrade
from core.delivery import DeliveryWorker, RetryPolicy
from tests.standins.telegram_api import TelegramLimits, TelegramStandIn
from tests.test_delivery import delivered, enqueue, run_until
from tests.test_delivery_support import PtbSender

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parent.parent


def start_worker(db_url: str, tg: TelegramStandIn) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.test_delivery_support", "--db", db_url, "--telegram", tg.base_url,
         "--token", tg.token, "--name", "telegram-1", "--concurrency", "1", "--no-pacing"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "ready"
    return proc


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def test_a_worker_killed_mid_broadcast_and_restarted_delivers_everything(db_url):
    """Two SIGKILLs during a 1,000-message broadcast: none lost, at most one duplicate per crash
    (the worker sends one message at a time and marks it sent right after)."""
    tg = TelegramStandIn(limits=TelegramLimits.off()).start_in_thread()
    db = Database(db_url)
    try:
        chats = [str(3000 + i) for i in range(100)]
        for chat in chats:
            tg.chat(int(chat))
        ids = enqueue(db, [(chats[i % 100], 2) for i in range(1000)])
        crashes = 0
        for stop_at in (250, 600):
            proc = start_worker(db_url, tg)
            wait_for(lambda: len(tg.messages()) >= stop_at, 60, f"{stop_at} messages")  # noqa: B023
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            crashes += 1
        proc = start_worker(db_url, tg)
        try:
            wait_for(lambda: set(delivered(tg)) >= set(ids), 90, "every message")
            time.sleep(0.3)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
        counts = delivered(tg)
        assert set(counts) == set(ids)  # none lost
        duplicates = sum(n - 1 for n in counts.values())
        assert duplicates <= crashes
        assert max(counts.values()) <= 2
    finally:
        tg.stop_in_thread()
        db.dispose()


@pytest.mark.postgres
async def test_delivery_survives_a_postgresql_restart(tmp_path):
    from core import catalog
    from relais.testing.pg import PgCluster

    cluster = PgCluster().start()
    try:
        url = cluster.create_database("restart")
        upgrade(url)
        db = Database(url)
        with db.session() as s:
            catalog.seed(s)
        async with TelegramStandIn(limits=TelegramLimits.off()) as tg:
            tg.delay(0.01)  # a few seconds of delivery, to restart the database in the middle
            chats = [str(4000 + i) for i in range(40)]
            for chat in chats:
                tg.chat(int(chat))
            ids = enqueue(db, [(chats[i % 40], 2) for i in range(400)])
            async with PtbSender(tg.token, tg.base_url) as sender:
                worker = DeliveryWorker(db, sender, limits=None, poll_seconds=0.1, concurrency=2, batch=20,
                                        policy=RetryPolicy(claim_timeout_seconds=60))
                task = asyncio.create_task(run_until(worker, lambda: len(tg.messages()) >= len(ids), 120))
                await tg.wait_until(lambda: len(tg.messages()) >= 100, timeout=30)
                await asyncio.to_thread(cluster.stop_server, "fast")
                stopped_at = len(tg.messages())
                await asyncio.sleep(1.5)
                await asyncio.to_thread(cluster.start_server)
                await task
            counts = delivered(tg)
        assert stopped_at < len(ids)  # the restart really happened mid-delivery
        assert set(counts) == set(ids)
        assert sum(n - 1 for n in counts.values()) == 0  # outcomes were recorded once the database was back
        from sqlmodel import func, select

        from core.models import OutboxMessage

        with db.session() as s:
            assert s.exec(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.status == "sent")).one() == len(ids)
        db.dispose()
    finally:
        cluster.close()
