"""Minimal senders built on the real libraries, for the delivery tests and benchmarks, and a worker
process to kill (``python -m tests.test_delivery_support --db URL --telegram URL``).

They stand in for the bots' own senders (bots/telegram, bots/discord) so the delivery worker can be
tested over loopback against the platform stand-ins with python-telegram-bot and discord.py."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from core.errors import DeliveryError
from core.models import OutboxMessage


class PtbSender:
    """Sends plain text with python-telegram-bot's ``Bot``."""

    platform = "telegram"

    def __init__(self, token: str, base_url: str, *, pool: int = 16):
        from telegram import Bot
        from telegram.request import HTTPXRequest

        self.bot = Bot(token, base_url=base_url,
                       request=HTTPXRequest(connection_pool_size=pool, pool_timeout=10.0))

    async def __aenter__(self) -> PtbSender:
        await self.bot.initialize()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.bot.shutdown()

    async def send(self, message: OutboxMessage) -> str | None:
        from telegram import error

        text = f"{message.title}\n{message.text}" if message.title else message.text
        try:
            sent = await self.bot.send_message(chat_id=int(message.chat), text=text[:4096])
        except error.RetryAfter as exc:
            delay = exc._retry_after.total_seconds()
            raise DeliveryError(f"rate limited: {exc}", retry_after=delay) from exc
        except error.Forbidden as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        except error.BadRequest as exc:
            raise DeliveryError(str(exc), permanent="chat not found" in str(exc).lower()) from exc
        except error.TelegramError as exc:  # network errors, timeouts, 5xx
            raise DeliveryError(str(exc) or type(exc).__name__) from exc
        return str(sent.message_id)


class DpySender:
    """Sends with discord.py's HTTP client; a nonce from the outbox id makes a repeat harmless."""

    platform = "discord"

    def __init__(self, token: str):
        self.token = token
        self.http = None

    async def __aenter__(self) -> DpySender:
        from discord.http import HTTPClient

        self.http = HTTPClient(asyncio.get_running_loop())
        await self.http.static_login(self.token)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.http.close()

    async def send(self, message: OutboxMessage) -> str | None:
        import aiohttp
        import discord
        from discord.http import Route

        payload = {"content": message.text[:2000], "nonce": f"relais-{message.id}", "enforce_nonce": True,
                   "allowed_mentions": {"parse": []}}
        try:
            data = await self.http.request(Route("POST", "/channels/{channel_id}/messages",
                                                 channel_id=int(message.chat)), json=payload)
        except discord.RateLimited as exc:
            raise DeliveryError("rate limited", retry_after=exc.retry_after) from exc
        except (discord.Forbidden, discord.NotFound) as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        except (TimeoutError, discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(str(exc) or type(exc).__name__) from exc
        return str(data["id"])

    def rate_hint(self, message: OutboxMessage) -> dict[str, Any] | None:
        """The channel's message bucket as discord.py learnt it from the response headers."""
        route_key = "POST /channels/{channel_id}/messages"
        bucket_hash = self.http._bucket_hashes.get(route_key)
        key = f"{bucket_hash or route_key}:{message.chat}"
        bucket = self.http._buckets.get(key)
        if bucket is None or bucket.expires is None:
            return None
        return {"limit": bucket.limit, "remaining": bucket.remaining, "reset_after": bucket.reset_after}


async def _serve(args: argparse.Namespace) -> None:
    from core.db import Database
    from core.delivery import DeliveryWorker

    db = Database(args.db)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    async with PtbSender(args.token, args.telegram) as sender:
        worker = DeliveryWorker(db, sender, name=args.name, concurrency=args.concurrency, poll_seconds=0.2,
                                limits=None if args.no_pacing else sender_limits())
        loop.add_signal_handler(signal.SIGTERM, worker.stop)
        print("ready", flush=True)
        await worker.run()
    stop.set()
    db.dispose()


def sender_limits():
    from core.ratelimit import TELEGRAM

    return TELEGRAM


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--telegram", required=True, help="Bot API base URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--name", default="telegram-worker-1")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--no-pacing", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
