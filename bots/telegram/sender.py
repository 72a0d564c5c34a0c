"""Sending outbox messages to Telegram, and what each Telegram failure means for delivery."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bots.telegram.render import MESSAGE_LIMIT, escape, render_parts, split_message
from core.errors import DeliveryError
from core.models import OutboxMessage

__all__ = ["CALLBACK_DATA_LIMIT", "TelegramSender", "delivery_error", "keyboard"]

log = logging.getLogger(__name__)

CALLBACK_DATA_LIMIT = 64  # bytes
CAPTION_LIMIT = 1024  # characters of a photo's or document's caption
BUTTONS_PER_ROW = 3
PHOTO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")  # sent as photos; any other attachment as a document
DOCUMENT_WRITE_TIMEOUT = 120.0  # seconds
# A forum topic deleted or closed since: the message goes to the chat itself (its General topic) rather
# than being retried for nothing.
_TOPIC_GONE = ("message thread not found", "topic_closed", "topic_deleted", "topic closed", "topic deleted")
_PERMANENT_BAD_REQUESTS = ("chat not found", "user not found", "chat_write_forbidden", "have no rights to send",
                           "not enough rights", "peer_id_invalid", "group chat was deactivated")


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # an int or a timedelta depending on PTB_TIMEDELTA
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """The delivery outcome of a Telegram error: wait, retry later, or give up on the chat."""
    reason = f"{type(exc).__name__}: {exc.message}"
    if isinstance(exc, RetryAfter):
        return DeliveryError(reason, retry_after=retry_after_seconds(exc))
    if isinstance(exc, Forbidden):  # blocked by the user, kicked from the group
        return DeliveryError(reason, permanent=True)
    if isinstance(exc, BadRequest) and any(p in exc.message.lower() for p in _PERMANENT_BAD_REQUESTS):
        return DeliveryError(reason, permanent=True)
    return DeliveryError(reason)  # NetworkError, TimedOut, 5xx and unexpected 400s: try again later


def keyboard(buttons: list[dict[str, Any]] | None) -> InlineKeyboardMarkup | None:
    """Inline buttons whose callback data is the core's action id (at most 64 bytes)."""
    usable = []
    for button in buttons or []:
        action = str(button.get("action") or "")
        if not action or len(action.encode("utf-8")) > CALLBACK_DATA_LIMIT:
            log.warning("button %r left out: callback data must be 1-64 bytes", action[:80])
            continue
        usable.append(InlineKeyboardButton(str(button.get("label") or action), callback_data=action))
    if not usable:
        return None
    rows = [usable[i:i + BUTTONS_PER_ROW] for i in range(0, len(usable), BUTTONS_PER_ROW)]
    return InlineKeyboardMarkup(rows)


def caption(title: str | None, *, html: bool) -> str | None:
    """A photo's or document's caption: the message's title (the text went before it as messages), bold
    in HTML, cut to fit Telegram's 1,024 characters."""
    if not title:
        return None
    title = " ".join(title.split())
    limit = CAPTION_LIMIT - len("<b></b>")
    measure = (lambda t: len(escape(t))) if html else len
    if measure(title) > limit:
        while title and measure(title + "…") > limit:
            title = title[:-1]
        title = title.rstrip() + "…"
    return f"<b>{escape(title)}</b>" if html else title


def is_image(name: str) -> bool:
    """Whether an attachment goes as a photo (shown inline, recompressed by Telegram) rather than as a
    document (a file kept as it is, with its name: a CSV or GeoJSON export)."""
    return name.lower().endswith(PHOTO_EXTENSIONS)


def plain_parts(text: str, title: str | None) -> list[str]:
    whole = f"{title}\n{text}" if title else text
    return [p for p in split_message(whole, MESSAGE_LIMIT) if p.strip()]


class TelegramSender:
    """The delivery worker's Telegram side: one outbox message becomes one or more Telegram messages.

    A long message is sent in parts; when a later part fails, the retry resumes after the parts
    already sent (remembered in memory, so only a crash between parts can repeat one). An attachment
    follows the text captioned with the title: a picture (the briefing's chart) as a photo
    (``sendPhoto``), any other file (an export) as a document with its file name (``sendDocument``).

    A message with a ``thread`` goes to that forum topic (``message_thread_id``); when the topic is gone
    or closed it goes to the chat's General topic. A group that became a supergroup (``ChatMigrated``)
    gets the message at its new id, and ``on_migrated(old, new)`` (when given) tells the core."""

    platform = "telegram"

    def __init__(self, bot: Bot, on_migrated: Callable[[str, str], Awaitable[None]] | None = None):
        self.bot = bot
        self.on_migrated = on_migrated
        self._progress: dict[int, int] = {}  # outbox id -> parts already sent

    async def send(self, message: OutboxMessage) -> str | None:
        try:
            chat_id = int(message.chat)
        except ValueError:
            raise DeliveryError(f"not a Telegram chat id: {message.chat[:40]!r}", permanent=True) from None
        try:
            try:
                sent = await self._send_parts(chat_id, message, html=True)
            except BadRequest as exc:
                if "can't parse entities" not in exc.message.lower():
                    raise
                log.warning("Telegram refused the HTML of outbox message %s (%s); sending plain text",
                            message.id, exc.message)
                self._progress.pop(message.id, None)
                sent = await self._send_parts(chat_id, message, html=False)
        except TelegramError as exc:
            error = delivery_error(exc)
            if error.permanent:
                self._progress.pop(message.id, None)
            raise error from exc
        self._progress.pop(message.id, None)
        return sent

    async def _send_parts(self, chat_id: int, message: OutboxMessage, *, html: bool) -> str | None:
        parts = render_parts(message.text, message.title) if html else plain_parts(message.text, message.title)
        markup = keyboard(message.buttons)
        reply = None
        if message.reply_to and str(message.reply_to).isdigit():
            reply = ReplyParameters(message_id=int(message.reply_to), allow_sending_without_reply=True)
        done = self._progress.get(message.id, 0)
        where: dict[str, Any] = {"chat_id": chat_id}  # the chat and topic; _call updates them
        if message.thread and str(message.thread).isdigit():
            where["message_thread_id"] = int(message.thread)
        last_id: str | None = None
        for index, part in enumerate(parts):
            if index < done:
                continue
            last = index == len(parts) - 1
            kwargs: dict[str, Any] = {
                "text": part,
                "parse_mode": ParseMode.HTML if html else None,
                "reply_markup": markup if last else None,
                "reply_parameters": reply if index == 0 else None,
                "link_preview_options": None,
            }
            sent = await self._call(self.bot.send_message, where, kwargs)
            last_id = str(sent.message_id)
            self._progress[message.id] = index + 1
        if message.attachment and done <= len(parts):
            name = message.attachment_name or "image.png"
            image = is_image(name)
            field, method = ("photo", self.bot.send_photo) if image else ("document", self.bot.send_document)
            media: dict[str, Any] = {
                field: bytes(message.attachment),
                "filename": name,
                "caption": caption(message.title, html=html),
                "parse_mode": ParseMode.HTML if html else None,
                "reply_parameters": reply if not parts else None,
            }
            if not image:  # a document may be up to 50 MB: more than the default 20 s to upload
                media["write_timeout"] = DOCUMENT_WRITE_TIMEOUT
            sent = await self._call(method, where, media)
            last_id = last_id or str(sent.message_id)
            self._progress[message.id] = len(parts) + 1
        return last_id

    async def _call(self, method: Callable[..., Awaitable[Any]], where: dict[str, Any],
                    kwargs: dict[str, Any]) -> Any:
        """``method(**where, **kwargs)``; ``where`` (chat id and topic) is updated for the later parts
        when the chat moved (a group became a supergroup) or its topic is gone."""
        for _ in range(2):
            try:
                return await method(**where, **kwargs)
            except ChatMigrated as exc:  # a group became a supergroup: its new id takes the message
                old = str(where["chat_id"])
                where["chat_id"] = exc.new_chat_id
                where.pop("message_thread_id", None)  # a plain group has no topics
                if self.on_migrated is not None:
                    try:
                        await self.on_migrated(old, str(exc.new_chat_id))
                    except Exception:  # the message still goes out; the core catches up later
                        log.exception("could not record that chat %s moved to %s", old, exc.new_chat_id)
            except BadRequest as exc:
                if "message_thread_id" not in where or not any(p in exc.message.lower() for p in _TOPIC_GONE):
                    raise
                log.warning("topic %s of chat %s is gone (%s): sending to the chat itself",
                            where["message_thread_id"], where["chat_id"], exc.message)
                where.pop("message_thread_id")
        return await method(**where, **kwargs)
