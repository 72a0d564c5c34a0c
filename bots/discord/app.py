"""Composition of the Discord side: ``build_bot`` for tests and tools, ``serve`` for ``relais run``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import discord
import yarl

from bots.discord.bot import RelaisBot, ShardedRelaisBot

__all__ = ["build_bot", "point_at", "serve"]

log = logging.getLogger(__name__)


def point_at(settings: Any) -> None:
    """Use the REST base and gateway the settings name (a rate-limit proxy, or the tests' stand-in)."""
    if settings.discord_rest_base_url:
        discord.http.Route.BASE = settings.discord_rest_base_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def build_bot(hub: Any, settings: Any, **options: Any) -> RelaisBot | ShardedRelaisBot:
    """The bot, sharded when ``settings.discord_shard_count`` is set."""
    if settings.discord_shard_count:
        options.setdefault("shard_count", int(settings.discord_shard_count))
        return ShardedRelaisBot(hub, settings, **options)
    return RelaisBot(hub, settings, **options)


async def serve(hub: Any, settings: Any, stop: asyncio.Event) -> None:
    """Run the bot and its delivery worker until ``stop`` is set, then close cleanly."""
    if settings.discord_token is None:
        raise RuntimeError("RELAIS_DISCORD_TOKEN is not set")
    point_at(settings)
    bot = build_bot(hub, settings, inbox_spool=settings.discord_inbox_spool or None)
    async with bot:
        runner = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()), name="discord-client")
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            stopper.cancel()
            runner.result()  # a login failure or a fatal gateway error ends ``relais run``
            return
        log.info("stopping the Discord bot")
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(runner, timeout=10)
