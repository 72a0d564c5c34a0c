"""Sending outbox messages to Discord, and mapping Discord's failures onto the core's delivery rules."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bots.discord.render import NO_MENTIONS, render, split_message
from bots.discord.views import build_view
from core.errors import DeliveryError
from core.models import OutboxMessage

if TYPE_CHECKING:
    from discord import Client

__all__ = ["DiscordSender", "GlobalPacer", "delivery_error", "message_parts"]

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 100


def message_parts(text: str, title: str | None, buttons: Iterable[dict[str, Any]]
                  ) -> list[tuple[str, discord.ui.View | None]]:
    """Escaped content split at 2,000 characters; the buttons go with the last part."""
    parts = split_message(render(text or "", title)) or ["…"]
    view = build_view(buttons)
    return [(p, view if i == len(parts) - 1 else None) for i, p in enumerate(parts)]


def delivery_error(exc: BaseException) -> DeliveryError:
    """What the outbox should do after a failed send: wait, retry later, or give this chat up."""
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(f"rate limited for {exc.retry_after:.1f}s", retry_after=exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        reason = f"{exc.status} {exc.code}: {exc.text}"[:300]
        if exc.status == 429:
            retry = exc.response.headers.get("Retry-After") if exc.response is not None else None
            try:
                retry_after = float(retry) if retry else 5.0
            except ValueError:
                retry_after = 5.0
            return DeliveryError(reason, retry_after=retry_after)
        if exc.status in (403, 404):
            return DeliveryError(reason, permanent=True)
        return DeliveryError(reason)  # 5xx, and a 400 that may pass once fixed: retried, capped
    return DeliveryError(f"network: {exc!r}"[:300])


class GlobalPacer:
    """Keeps the bot under Discord's global limit (50 requests/s), which discord.py does not pace.

    It counts every request the sender makes (messages, DM channels, threads); the delivery worker
    already paces messages below it (core.ratelimit), so this is the last guard, not the pace setter."""

    def __init__(self, rate: int = 49, period: float = 1.0) -> None:
        self.rate, self.period = rate, period
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.period:
                    self._sent.popleft()
                if len(self._sent) < self.rate:
                    self._sent.append(now)
                    return
                await asyncio.sleep(self._sent[0] + self.period - now)


class DiscordSender:
    """The core's ``Sender`` for Discord: channel messages, replies, DMs, need posts with their thread.
    An attachment (the briefing's chart) goes as a file with the last part of the text."""

    platform = "discord"

    def __init__(self, client: Client, pacer: GlobalPacer | None = None) -> None:
        self.client = client
        self.pacer = pacer or GlobalPacer()
        self._dm_channels: dict[int, int] = {}

    async def send(self, message: OutboxMessage) -> str | None:
        try:
            return await self._send(message)
        except (TimeoutError, discord.RateLimited, discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            raise delivery_error(exc) from exc

    async def _send(self, message: OutboxMessage) -> str | None:
        channel_id = await self._channel_for(message)
        channel = self.client.get_partial_messageable(channel_id)
        first: discord.Message | None = None
        parts = message_parts(message.text, message.title, message.buttons or [])
        for index, (content, view) in enumerate(parts):
            reference = None
            if index == 0 and message.reply_to and str(message.reply_to).isdigit():
                reference = discord.MessageReference(message_id=int(message.reply_to), channel_id=channel_id,
                                                     fail_if_not_exists=False)
            file = discord.utils.MISSING
            if message.attachment and index == len(parts) - 1:
                file = discord.File(io.BytesIO(bytes(message.attachment)),
                                    filename=message.attachment_name or "image.png")
            await self.pacer.wait()
            sent = await channel.send(content, view=view or discord.utils.MISSING, reference=reference,
                                      allowed_mentions=NO_MENTIONS, mention_author=False, file=file,
                                      nonce=f"relais-{message.id}-{index}")
            first = first or sent
        if first is not None and message.kind == "need_post":
            await self._open_thread(channel_id, first.id, message)
        return str(first.id) if first is not None else None

    async def _channel_for(self, message: OutboxMessage) -> int:
        if not message.direct:
            return int(message.chat)
        user_id = int(message.chat)
        if user_id not in self._dm_channels:
            await self.pacer.wait()
            data = await self.client.http.start_private_message(user_id)
            self._dm_channels[user_id] = int(data["id"])
        return self._dm_channels[user_id]

    async def _open_thread(self, channel_id: int, message_id: int, message: OutboxMessage) -> None:
        """Each posted need gets a thread for its coordination; the post stays sent if that fails."""
        name = " ".join((message.title or message.text or "").split())[:THREAD_NAME_LIMIT] or "Relais"
        try:
            await self.pacer.wait()
            await self.client.http.start_thread_with_message(channel_id, message_id, name=name,
                                                             auto_archive_duration=10080)
        except discord.HTTPException as exc:
            log.warning("could not open a thread for outbox message %s: %s", message.id, exc)
