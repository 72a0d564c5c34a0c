"""Delivery benchmark: an outbox broadcast through the platform stand-ins with the real libraries.

Telegram: messages to private chats and groups through ``TelegramStandIn`` (which enforces 30/s
overall, 1/s with bursts of 3 per private chat, 20/min per group, answering 429 beyond) with
python-telegram-bot's ``Bot``. Discord: messages to channels through ``DiscordStandIn`` (50/s
overall, 5 per 5 s per channel) with discord.py's HTTP client.

"Allowed rate" is the best any sender could do for this mix of chats: the least time to send
``n_c`` messages to each chat ``c`` within the limits is the largest of the overall bound
``(N - overall burst) / overall rate`` and every chat's bound ``(n_c - chat burst) / chat rate``
(starting from empty windows); the allowed rate is ``N`` over that time and the achieved rate is
``N`` over the time between the first and the last message the stand-in accepted.

Usage: python bench/delivery.py [--quick] [--db sqlite|postgres] [--only telegram|discord] [--sender bots|minimal]
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.db import Database, upgrade  # noqa: E402
from core.delivery import DeliveryWorker  # noqa: E402
from core.models import OutboxMessage  # noqa: E402
from core.ratelimit import DISCORD, TELEGRAM, Sliding, theoretical_seconds  # noqa: E402

# The platforms' own limits, which "allowed rate" is measured against (the worker's Discord default
# keeps 2 requests/s of the global 50 for the bot's other requests).
TELEGRAM_LIMITS = TELEGRAM
DISCORD_LIMITS = dataclasses.replace(DISCORD, overall=Sliding(50, 1.0))


def make_database(kind: str, tmp: Path, name: str):
    if kind == "postgres":
        from relais.testing.pg import PgCluster

        cluster = PgCluster().start()
        url = cluster.create_database(name)
        upgrade(url)
        return url, cluster
    url = f"sqlite:///{tmp / (name + '.db')}"
    upgrade(url)
    return url, None


def enqueue(db: Database, platform: str, plan: list[tuple[str, bool, int]]) -> list[int]:
    """Persist the broadcast as the hub would: (chat, direct, priority) per message, in order."""
    ids = []
    with db.session() as s:
        rows = [OutboxMessage(platform=platform, chat=chat, direct=direct, kind="bench", priority=prio,
                              text="") for chat, direct, prio in plan]
        s.add_all(rows)
        s.flush()
        for row in rows:
            row.text = f"message {row.id}"
            ids.append(row.id)
    return ids


def count_delivered(texts: list[str], ids: list[int]) -> tuple[int, int]:
    seen = Counter(int(t.split()[-1]) for t in texts if t and t.startswith("message "))
    lost = sum(1 for i in ids if seen[i] == 0)
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    return lost, duplicated


async def drive(worker: DeliveryWorker, done) -> None:
    task = asyncio.create_task(worker.run())
    try:
        while not done():
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await task


# --------------------------------------------------------------------------- Telegram


def telegram_plan(quick: bool) -> list[tuple[str, bool, int]]:
    privates, groups = (150, 5) if quick else (1000, 20)
    private_msgs, per_group = (300, 25) if quick else (1500, 25)
    plan = [(f"-100{g + 1}", False, 2) for _ in range(per_group) for g in range(groups)]
    plan += [(str(10_000 + i % privates), True, 2) for i in range(private_msgs)]
    return plan


@contextlib.asynccontextmanager
async def telegram_sender(tg, own: bool):
    """The Telegram bot's own sender (bots/telegram) on python-telegram-bot's Bot, or the minimal one."""
    if not own:
        try:
            from bots.telegram.sender import TelegramSender
        except ImportError:
            own = True
    if own:
        from tests.test_delivery_support import PtbSender

        async with PtbSender(tg.token, tg.base_url) as sender:
            yield sender
        return
    from telegram import Bot
    from telegram.request import HTTPXRequest

    bot = Bot(tg.token, base_url=tg.base_url, request=HTTPXRequest(connection_pool_size=16, pool_timeout=10.0))
    async with bot:
        yield TelegramSender(bot)


@contextlib.asynccontextmanager
async def discord_sender(api, own: bool):
    """The Discord bot's own sender (bots/discord) on a logged-in discord.py client, or the minimal one."""
    if not own:
        try:
            from bots.discord.sender import DiscordSender, GlobalPacer
        except ImportError:
            own = True
    if own:
        from tests.test_delivery_support import DpySender

        async with DpySender(api.token) as sender:
            yield sender
        return
    import discord

    client = discord.Client(intents=discord.Intents.none())
    await client.login(api.token)
    try:
        # The worker paces the global limit already; the sender's own pacer is kept, at the same 48/s.
        yield DiscordSender(client, GlobalPacer(rate=48))
    finally:
        await client.close()


async def bench_telegram(kind: str, quick: bool, tmp: Path, own: bool = False) -> dict:
    from tests.standins.telegram_api import TelegramStandIn

    url, cluster = make_database(kind, tmp, "telegram")
    db = Database(url)
    tg = TelegramStandIn().start_in_thread()
    try:
        plan = telegram_plan(quick)
        for chat, _, _ in plan:
            tg.chat(int(chat))
        ids = enqueue(db, "telegram", plan)
        async with telegram_sender(tg, own) as sender:
            worker = DeliveryWorker(db, sender, poll_seconds=0.2, batch=100, concurrency=8)
            started = time.monotonic()
            await drive(worker, lambda: len(tg.messages()) >= len(ids))
            await asyncio.sleep(0.3)  # let a straggling duplicate show up
            wall = time.monotonic() - started
        sent = tg.messages()
        lost, duplicated = count_delivered([m.plain_text for m in sent], ids)
        times = sorted(m.timestamp for m in sent)
        counts = Counter(chat for chat, _, _ in plan)
        best = theoretical_seconds(counts, TELEGRAM_LIMITS, {c: not c.startswith("-") for c in counts})
        took = times[-1] - times[0]
        result = {
            "messages": len(ids), "private_chats": len({c for c in counts if not c.startswith("-")}),
            "groups": len({c for c in counts if c.startswith("-")}),
            "best_seconds": round(best, 2), "seconds": round(took, 2), "wall_seconds": round(wall, 2),
            "allowed_rate": round(len(ids) / best, 2), "rate": round(len(ids) / took, 2),
            "rate_fraction": round(best / took, 3), "http_429": tg.rate_limited, "lost": lost,
            "duplicated": duplicated,
        }
    finally:
        tg.stop_in_thread()
        db.dispose()
        if cluster:
            cluster.close()
    return result


# --------------------------------------------------------------------------- Discord


class _Thread:
    """Runs the Discord stand-in in its own event loop, as the Telegram one does."""

    def __init__(self, make):
        self.make = make
        self.loop = asyncio.new_event_loop()
        self.api = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="discord-standin")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.api = self.make()
        self.loop.run_until_complete(self.api.start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.api.stop())

    def __enter__(self):
        self.thread.start()
        self.ready.wait(10)
        return self.api

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def discord_plan(quick: bool, channel_ids: list[int]) -> list[tuple[str, bool, int]]:
    total = 200 if quick else 2000
    return [(str(channel_ids[i % len(channel_ids)]), False, 2) for i in range(total)]


async def bench_discord(kind: str, quick: bool, tmp: Path, own: bool = False) -> dict:
    from tests.standins.discord_api import DiscordStandIn, Guild

    url, cluster = make_database(kind, tmp, "discord")
    db = Database(url)
    channels = 10 if quick else 50

    def make():
        guild = Guild("Bench")
        for i in range(channels):
            guild.add_text_channel(f"c{i}")
        return DiscordStandIn([guild])

    try:
        with _Thread(make) as api:
            channel_ids = [c.id for c in api.guild.channels.values()]
            plan = discord_plan(quick, channel_ids)
            ids = enqueue(db, "discord", plan)
            async with discord_sender(api, own) as sender:
                await asyncio.sleep(1.1)  # logging in used the global window too: let that second pass
                # discord.py sleeps inside a request whose answer says the bucket is empty, until the
                # bucket resets (about 5 s), so each channel may hold a request slot that long.
                worker = DeliveryWorker(db, sender, poll_seconds=0.2, batch=100, concurrency=channels + 14)
                started = time.monotonic()
                await drive(worker, lambda: len(api.sent) >= len(ids))
                await asyncio.sleep(0.3)
                wall = time.monotonic() - started
            sent = list(api.sent)
            lost, duplicated = count_delivered([m.content for m in sent], ids)
            from datetime import datetime

            times = sorted(datetime.fromisoformat(m.timestamp).timestamp() for m in sent)
            counts = Counter(chat for chat, _, _ in plan)
            best = theoretical_seconds(counts, DISCORD_LIMITS)
            took = times[-1] - times[0]
            result = {
                "messages": len(ids), "channels": channels, "best_seconds": round(best, 2),
                "seconds": round(took, 2), "wall_seconds": round(wall, 2),
                "allowed_rate": round(len(ids) / best, 2), "rate": round(len(ids) / took, 2),
                "rate_fraction": round(best / took, 3), "http_429": api.rate_limited_count,
                "http_429_global": api.global_rate_limited_count, "lost": lost,
                "duplicated": duplicated,
            }
    finally:
        db.dispose()
        if cluster:
            cluster.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=None,
                        help="default: postgres when its binaries are installed, else sqlite")
    parser.add_argument("--only", choices=["telegram", "discord"], default=None)
    parser.add_argument("--sender", choices=["bots", "minimal"], default="bots",
                        help="the bots' own senders (default, when importable) or minimal ones on the same libraries")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    kind = args.db
    if kind is None:
        from relais.testing.pg import find_bin_dir

        kind = "postgres" if find_bin_dir() else "sqlite"
    summary: dict = {"db": kind, "quick": args.quick, "sender": args.sender}
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        for platform, fn in (("telegram", bench_telegram), ("discord", bench_discord)):
            if args.only and args.only != platform:
                continue
            result = asyncio.run(fn(kind, args.quick, Path(tmp), args.sender == "minimal"))
            print(f"{platform}: {result['messages']} messages, best possible {result['best_seconds']} s "
                  f"({result['allowed_rate']}/s allowed for this mix), took {result['seconds']} s "
                  f"({result['rate']}/s) = {result['rate_fraction']:.1%} of the allowed rate; "
                  f"429s: {result['http_429']}, lost: {result['lost']}, duplicated: {result['duplicated']}")
            print(f"  details: {json.dumps(result)}")
            for key in ("rate_fraction", "http_429", "lost", "duplicated", "seconds", "best_seconds"):
                summary[f"{platform}_{key}"] = result[key]
    print("allowed rate = messages / least possible time, where the least time is the largest of "
          "(N - overall burst) / overall rate and, per chat, (n - chat burst) / chat rate")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
