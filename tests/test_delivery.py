"""Outbox delivery: pacing within the platforms' limits, claims, retries, blocked chats, priorities.

The worker sends through python-telegram-bot over loopback to the Telegram stand-in; the database is
real (SQLite and the throwaway PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import func, select

from core.db import Database
from core.delivery import DeliveryWorker, RetryPolicy, claim, claim_ids, mark_sent, outbox_status
from core.models import BlockedChat, OutboxMessage
from core.ports import SystemClock
from core.ratelimit import DISCORD, TELEGRAM, Bucket, Pacer, RateLimits, Sliding, Window, theoretical_seconds
from tests.standins.telegram_api import TelegramLimits, TelegramStandIn
from tests.test_delivery_support import PtbSender

pytestmark = pytest.mark.timeout(120)


def enqueue(db: Database, plan: list[tuple[str, int]], platform: str = "telegram") -> list[int]:
    """Persist messages as the hub does: (chat, priority) each; the text carries the outbox id."""
    with db.session() as s:
        rows = [OutboxMessage(platform=platform, chat=chat, direct=not chat.startswith("-"), kind="test",
                              priority=prio, text="", next_attempt_at=SystemClock().now())
                for chat, prio in plan]
        s.add_all(rows)
        s.flush()
        for row in rows:
            row.text = f"message {row.id}"
        return [r.id for r in rows]


def delivered(tg: TelegramStandIn) -> Counter:
    return Counter(int(m.plain_text.split()[-1]) for m in tg.messages())


async def run_until(worker: DeliveryWorker, done, timeout: float = 60) -> None:
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(timeout):
            while not done():
                await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await task


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
async def tg():
    async with TelegramStandIn() as standin:
        yield standin


# --------------------------------------------------------------------------- pacing (pure)


def test_token_bucket_allows_the_burst_then_the_rate():
    now = [100.0]
    pacer = Pacer(RateLimits("t", overall=None, per_chat={"private": Bucket(1.0, 3)}, slack=0.0),
                  clock=lambda: now[0])
    keys = pacer.keys("42", True)
    for _ in range(3):
        assert pacer.wait(keys, direct=True) == 0
        pacer.take(keys, direct=True)
    assert pacer.wait(keys, direct=True) == pytest.approx(1.0)
    now[0] += 1.0
    assert pacer.wait(keys, direct=True) == 0


def test_fixed_window_waits_for_the_next_window_and_keeps_out_of_its_end():
    now = [0.0]
    pacer = Pacer(RateLimits("d", overall=None, per_chat={"channel": Window(5, 5.0)}, slack=0.1),
                  clock=lambda: now[0])
    keys = pacer.keys("7", False)
    for _ in range(5):
        pacer.take(keys)
    assert pacer.wait(keys) == pytest.approx(5.1)
    assert pacer.wait(keys, ahead=5) == pytest.approx(10.2)  # the message after five queued ones
    now[0] = 5.1
    assert pacer.wait(keys) == 0
    pacer.take(keys)
    now[0] = 10.05  # the window (opened at 5.1) ends soon: the platform might count it in the next
    assert pacer.wait(keys) == pytest.approx(0.15)  # until 10.2


def test_sliding_window_counts_any_period():
    now = [0.0]
    pacer = Pacer(RateLimits("d", overall=Sliding(2, 1.0), slack=0.0), clock=lambda: now[0])
    keys = pacer.keys("1")
    pacer.take(keys)
    now[0] = 0.9
    pacer.take(keys)
    now[0] = 1.05
    assert pacer.wait(keys) == 0  # the first send left the last second
    pacer.take(keys)
    assert pacer.wait(keys) == pytest.approx(0.85)


def test_a_chat_reported_empty_by_the_platform_waits_for_its_reset():
    now = [0.0]
    pacer = Pacer(DISCORD, clock=lambda: now[0])
    pacer.take(pacer.keys("9"))
    pacer.observe("9", limit=5, remaining=0, reset_after=3.0)
    assert pacer.wait((("chat", "9"),)) >= 3.0


def test_least_time_for_a_mix_is_bound_by_the_overall_rate_or_the_slowest_chat():
    groups = {f"-{g}": 40 for g in range(20)}  # 40 each: (40 - 20) at 20/min = 60 s per group
    privates = {str(p): 1 for p in range(600)}
    best = theoretical_seconds({**groups, **privates}, TELEGRAM)
    assert best == pytest.approx(60.0)
    assert theoretical_seconds({str(p): 1 for p in range(3030)}, TELEGRAM) == pytest.approx(100.0)


# --------------------------------------------------------------------------- claims


def test_claims_never_overlap_and_replies_come_first(db):
    ids = enqueue(db, [("1", 2)] * 30 + [("2", 0)])
    now = SystemClock().now()
    got: list[list[int]] = []

    def take():
        got.append([m.id for m in claim(db, "telegram", now, limit=8, worker=f"w{threading.get_ident()}")])

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [i for batch in got for i in batch]
    assert len(flat) == len(set(flat)) == 32 - 1  # 31 rows: 30 + 1
    first = next(b for b in got if ids[-1] in b)
    assert first[0] == ids[-1]  # the priority-0 reply heads its batch
    assert claim_ids(db, [ids[-1]], now) == []  # already claimed


def test_claim_takes_at_most_so_many_per_chat_and_skips_full_chats(db):
    enqueue(db, [("-5", 2)] * 10 + [("7", 2)] * 3)
    rows = claim(db, "telegram", SystemClock().now(), limit=50, per_chat=4, exclude_chats={"7"})
    assert Counter(r.chat for r in rows) == {"-5": 4}


def test_a_stale_claim_is_taken_over(db):
    [mid] = enqueue(db, [("3", 1)])
    now = SystemClock().now()
    assert [m.id for m in claim(db, "telegram", now, worker="dead")] == [mid]
    assert claim(db, "telegram", now + timedelta(seconds=10), worker="alive") == []
    later = now + timedelta(seconds=RetryPolicy().claim_timeout_seconds + 1)
    assert [m.id for m in claim(db, "telegram", later, worker="alive")] == [mid]


# --------------------------------------------------------------------------- the worker


async def test_broadcast_within_limits_gets_no_429_and_replies_overtake_bulk(db, tg):
    # Small limits so the test is short: groups 2/s with bursts of 5, private 1/s with bursts of 3.
    tg.set_limits(TelegramLimits(group_per_minute=120, group_burst=5, global_per_second=30, global_burst=30))
    limits = RateLimits("telegram", overall=Bucket(30, 30),
                        per_chat={"private": Bucket(1.0, 3), "group": Bucket(2.0, 5)},
                        kind_of=TELEGRAM.kind_of)
    for chat in ("-100", "-200", *(str(1000 + i) for i in range(10))):
        tg.chat(int(chat))
    bulk = enqueue(db, [("-100", 2)] * 14 + [("-200", 2)] * 8 + [(str(1000 + i % 10), 2) for i in range(25)])
    async with PtbSender(tg.token, tg.base_url) as sender:
        worker = DeliveryWorker(db, sender, limits=limits, poll_seconds=0.05, concurrency=4)
        task = asyncio.create_task(worker.run())
        await tg.wait_for_messages(-100, 5, timeout=10)
        [reply] = enqueue(db, [("1003", 0)])
        worker.wake()
        await tg.wait_until(lambda: len(tg.messages()) == len(bulk) + 1, timeout=30)
        worker.stop()
        await task
    assert tg.rate_limited == 0
    assert delivered(tg) == Counter(bulk + [reply])
    order = {int(m.plain_text.split()[-1]): m.order for m in tg.messages()}
    last_group = max(order[i] for i in bulk[:14])
    assert order[reply] < last_group  # the reply did not wait behind the slow group
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(OutboxMessage)
                      .where(OutboxMessage.status == "sent")).one() == len(bulk) + 1


async def test_retry_after_is_honoured_without_pacing(db, tg):
    tg.chat(555)
    ids = enqueue(db, [("555", 1)] * 6)
    async with PtbSender(tg.token, tg.base_url) as sender:
        worker = DeliveryWorker(db, sender, limits=None, poll_seconds=0.05)
        await run_until(worker, lambda: len(tg.messages()) >= 6, timeout=30)
    assert tg.rate_limited > 0  # the stand-in refused some (3 per burst, then 1/s)...
    assert delivered(tg) == Counter(ids)  # ...and every message still went, once


async def test_a_blocked_chat_is_given_up_and_nothing_more_is_sent_there(db, tg):
    tg.chat(777), tg.chat(778)
    tg.block_chat(777)
    ids = enqueue(db, [("777", 1), ("778", 1), ("777", 1)])
    async with PtbSender(tg.token, tg.base_url) as sender:
        worker = DeliveryWorker(db, sender, poll_seconds=0.05)
        await run_until(worker, lambda: worker.failed_count >= 2 and len(tg.messages()) >= 1)
        later = enqueue(db, [("777", 0)])
        await worker.run_once()
    assert delivered(tg) == Counter([ids[1]])
    assert len([c for c in tg.calls_to("sendMessage") if c.params["chat_id"] == 777]) == 1
    with db.session() as s:
        assert s.get(BlockedChat, ("telegram", "777")) is not None
        statuses = {m.id: m.status for m in s.exec(select(OutboxMessage))}
    assert statuses == {ids[0]: "failed", ids[1]: "sent", ids[2]: "failed", later[0]: "failed"}
    status = outbox_status(db, "telegram")
    assert status["totals"]["failed"] == 3 and status["blocked_chats"] == 1
    assert any("blocked" in f["error"] for f in status["failures"])


async def test_an_attached_file_is_dropped_once_delivered_or_given_up(db, tg):
    from telegram import Bot

    from bots.telegram.sender import TelegramSender

    tg.chat(781), tg.chat(782)
    tg.block_chat(782)
    with db.session() as s:
        rows = [OutboxMessage(platform="telegram", chat=chat, direct=True, kind="export", text="export",
                              attachment=b"ref,quantity\nN-1,200\n", attachment_name="relais-needs.csv",
                              next_attempt_at=SystemClock().now()) for chat in ("781", "782")]
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
    async with Bot(tg.token, base_url=tg.base_url) as bot:  # the Telegram bot's own sender: it sends files
        worker = DeliveryWorker(db, TelegramSender(bot), poll_seconds=0.05)
        await run_until(worker, lambda: worker.failed_count >= 1 and worker.sent_count >= 1)
    [document] = tg.calls_to("sendDocument")
    assert str(document.params["chat_id"]) == "781"
    with db.session() as s:
        sent, failed = (s.get(OutboxMessage, i) for i in ids)
        assert (sent.status, failed.status) == ("sent", "failed")
        assert sent.attachment is None and failed.attachment is None
        assert sent.attachment_name == "relais-needs.csv"  # what was sent stays known, not its content


async def test_every_message_arrives_when_a_fifth_of_sends_fail(db, tg):
    tg.set_limits(TelegramLimits.off())
    tg.fail_fraction(0.2, seed=7)
    chats = [str(2000 + i) for i in range(50)]
    for chat in chats:
        tg.chat(int(chat))
    ids = enqueue(db, [(chats[i % 50], 2) for i in range(300)])
    async with PtbSender(tg.token, tg.base_url) as sender:
        worker = DeliveryWorker(db, sender, limits=None, poll_seconds=0.05, concurrency=8,
                                policy=RetryPolicy(base_seconds=0.05, max_seconds=0.5))
        await run_until(worker, lambda: len(tg.messages()) >= len(ids), timeout=90)
    assert tg.injected_failures > 30
    assert delivered(tg) == Counter(ids)  # all of them, none twice (a 500 means not delivered)


async def test_interaction_reply_claimed_by_a_bot_is_not_sent_twice(db, tg):
    tg.chat(900)
    [mid] = enqueue(db, [("900", 0)])
    now = SystemClock().now()
    assert claim_ids(db, [mid], now) == [mid]  # the bot answers the interaction itself
    async with PtbSender(tg.token, tg.base_url) as sender:
        worker = DeliveryWorker(db, sender, poll_seconds=0.05)
        assert await worker.run_once() == 0
    mark_sent(db, mid, "x", now)
    assert tg.messages() == []
