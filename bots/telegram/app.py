"""Relais on Telegram: a python-telegram-bot ``Application`` that only translates.

Updates become core inputs (``hub.receive`` / ``hub.act``); what the core wants said is already in the
outbox, and a ``DeliveryWorker`` with a ``TelegramSender`` sends it. Commands, dialogues and every rule
live in the core.

An update is acknowledged to Telegram only once the core has recorded it. PTB's ``Updater`` confirms
updates as soon as it has fetched them, before any handler runs, so Relais fetches them itself: the
polling loop moves its ``offset`` past an update only after the core committed it, and the webhook
answers 200 only then (503 otherwise, and Telegram sends it again). While the database is unreachable
the update is fetched again after a back-off; the core's de-duplication of ``update_id`` makes every
redelivery harmless.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import exc as sa_exc
from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bots.telegram.render import escape
from bots.telegram.sender import TelegramSender, retry_after_seconds
from bots.telegram.updates import PLATFORM, action_of, identity, inbound_of, migration_of
from core.delivery import DeliveryWorker
from core.hub import Hub
from core.ports import Clock
from core.settings import Settings

__all__ = ["ALLOWED_UPDATES", "CoreUnavailable", "TelegramBot", "api_urls", "build_application", "serve"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
QUICK_RETRIES = (0.05, 0.2, None)  # pauses between attempts at one hub call; None: give up
LANGUAGES = ("fr", "en")
T = TypeVar("T")


class CoreUnavailable(Exception):
    """The core could not record an update (its database is unreachable): do not acknowledge it."""


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                        sa_exc.TimeoutError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def api_urls(base: str) -> tuple[str, str]:
    """``base_url`` and ``base_file_url`` for a Bot API server given as ``http://host:port`` (or
    ``.../bot``), as the stand-in and a self-hosted Bot API server are."""
    base = base.rstrip("/")
    if "{token}" in base:
        return base, base.replace("/bot{token}", "/file/bot{token}")
    base = base.removesuffix("/bot")
    return f"{base}/bot", f"{base}/file/bot"


class TelegramBot:
    """The Telegram edge of one Relais process: handlers, the update loop and outbox delivery.

    ``async with TelegramBot(hub, settings) as bot:`` initialises the Application, publishes the
    command menus, starts delivery and polling (or the webhook) and stops them all on exit.
    """

    def __init__(self, hub: Hub, settings: Settings, *, delivery_clock: Clock | None = None,
                 poll_seconds: float = 0.5, poll_timeout: float = 30.0, retry_seconds: float = 1.0,
                 max_retry_seconds: float = 30.0, webhook_host: str = "0.0.0.0",
                 delivery_options: dict[str, Any] | None = None):
        if settings.telegram_token is None:
            raise ValueError("RELAIS_TELEGRAM_TOKEN is not set")
        self.hub = hub
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.webhook_host = webhook_host
        token = settings.telegram_token.get_secret_value()
        builder = ApplicationBuilder().token(token).updater(None)
        if settings.telegram_api_base_url:
            api, files = api_urls(settings.telegram_api_base_url)
            builder = builder.base_url(api).base_file_url(files)
        self.application: Application = builder.build()
        self.application.bot_data["relais"] = self
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_message))
        self.application.add_handler(CallbackQueryHandler(self._on_callback))
        self.application.add_error_handler(self._on_error)
        self.sender = TelegramSender(self.application.bot, on_migrated=self._on_migrated)
        self.worker = DeliveryWorker(hub.db, self.sender, clock=delivery_clock or hub.clock,
                                     poll_seconds=poll_seconds, **(delivery_options or {}))
        self.webhook_secret = hashlib.sha256(f"relais-webhook:{token}".encode()).hexdigest()
        self._unrecorded: set[int] = set()  # update ids the core could not record
        self._told: set[int] = set()  # update ids whose author was told "kept, will be processed"
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task | None = None
        self._delivery: asyncio.Task | None = None
        self._webhook_runner: Any = None
        self._webhook_lock = asyncio.Lock()
        self.offset: int | None = None

    @classmethod
    def of(cls, application: Application) -> TelegramBot:
        return application.bot_data["relais"]

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        await self.application.initialize()  # getMe: the bot's own id and username
        await self.publish_commands()
        self._stopping.clear()
        self._delivery = asyncio.create_task(self.worker.run(), name="telegram-delivery")
        if self.settings.telegram_webhook_url:
            await self._start_webhook()
        else:
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
        log.info("Telegram bot @%s started (%s)", self.application.bot.username,
                 "webhook" if self.settings.telegram_webhook_url else "polling")

    async def stop(self) -> None:
        """Stop taking updates, confirm the recorded ones, let delivery finish its batch, then close."""
        self._stopping.set()
        if self._webhook_runner is not None:
            await self._webhook_runner.cleanup()
            self._webhook_runner = None
        await _finish(self._poller)
        self._poller = None
        await self._confirm_offset()
        self.worker.stop()
        await _finish(self._delivery)
        self._delivery = None
        await self.application.shutdown()

    async def wait(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; a fatal error of the update loop (a wrong token) is raised."""
        waiter = asyncio.create_task(stop.wait())
        try:
            watched = [t for t in (waiter, self._poller) if t is not None]
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not waiter and task.exception():
                    raise task.exception()
        finally:
            waiter.cancel()

    async def publish_commands(self) -> None:
        """The command menus: French for French-speaking users, English by default."""
        bot = self.application.bot
        menus = {lang: self.command_menu(lang) for lang in LANGUAGES}
        try:
            await bot.set_my_commands(menus["fr"], language_code="fr")
            await bot.set_my_commands(menus["en"], language_code="en")
            await bot.set_my_commands(menus["en"])
        except TelegramError as exc:  # the menu is a convenience: run without it rather than not at all
            log.warning("could not publish the command menus: %s", exc)

    def command_menu(self, lang: str) -> list[BotCommand]:
        text = self.hub.renderer.render("bot/telegram/commands", lang).text
        commands = []
        for line in text.splitlines():
            name, _, description = line.strip().partition(" ")
            if name and description.strip():
                commands.append(BotCommand(name, description.strip()))
        return commands

    # ------------------------------------------------------------------ updates to the core

    async def _core(self, call: Callable[[Any], T], arg: Any) -> T:
        """Call the hub in a thread; a transient storage error (SQLite busy, a dropped connection)
        is retried at once a few times, a lasting one becomes ``CoreUnavailable``."""
        for pause in QUICK_RETRIES:
            try:
                return await asyncio.to_thread(call, arg)
            except Exception as exc:
                if not _unavailable(exc):
                    raise
                if pause is None:
                    raise CoreUnavailable(str(exc)[:300]) from exc
                log.info("storage busy or unreachable, trying again: %s", str(exc)[:120])
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Hand a message (text, command, location pin) to the core; a group that became a supergroup
        moves its community to the new id."""
        migration = migration_of(update)
        if migration is not None:
            await self._core(self._migrate, migration)
            return
        inbound = inbound_of(update, context.bot.bot)
        if inbound is None:
            return
        outs = await self._core(self.hub.receive, inbound)
        if outs:
            self.worker.wake()

    def _migrate(self, chats: tuple[str, str]) -> None:
        old, new = chats
        if self.hub.migrate_chat(PLATFORM, old, new):
            log.info("chat %s became %s: its community moved", old, new)

    async def _on_migrated(self, old: str, new: str) -> None:
        """A send found the chat moved before its service message reached the bot."""
        await self._core(self._migrate, (old, new))
        self.worker.wake()

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Hand a pressed button to the core, then stop the button's spinner."""
        action = action_of(update, self.hub.clock.now())
        if action is not None:
            outs = await self._core(self.hub.act, action)
            if outs:
                self.worker.wake()
        try:
            await update.callback_query.answer()
        except TelegramError as exc:  # too old, or already answered: the action is recorded anyway
            log.info("callback query %s not answered: %s", update.callback_query.id, exc)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log every failure; an update the core could not record is kept for another try."""
        if not isinstance(update, Update):
            log.error("error outside an update", exc_info=context.error)
            return
        if isinstance(context.error, CoreUnavailable):
            log.warning("update %s not recorded, will retry: %s", update.update_id, context.error)
            self._unrecorded.add(update.update_id)
            await self._tell_kept(update)
            return
        log.error("update %s could not be handled", update.update_id, exc_info=context.error)

    async def _tell_kept(self, update: Update) -> None:
        """Tell the author once that their message is kept (sent directly: the outbox is unreachable)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type != "private" or update.update_id in self._told:
            return
        self._told.add(update.update_id)
        lang = identity(user).language or self.settings.default_language
        try:
            text = self.hub.renderer.render("error/internal", lang).text
            await self.application.bot.send_message(chat.id, escape(text), parse_mode="HTML")
        except Exception as exc:  # noqa: BLE001 - best effort: the update itself is not lost
            log.info("could not tell chat %s its message is kept: %s", chat.id, exc)

    async def process(self, update: Update) -> bool:
        """Run one update through the handlers; False when the core did not record it."""
        self._unrecorded.discard(update.update_id)
        await self.application.process_update(update)
        if update.update_id in self._unrecorded:
            self._unrecorded.discard(update.update_id)
            return False
        self._told.discard(update.update_id)
        return True

    # ------------------------------------------------------------------ polling

    async def _until_stopped(self, coro: Any) -> Any:
        """Await ``coro`` unless the bot stops first (then None, and ``coro`` is cancelled)."""
        task = asyncio.ensure_future(coro)
        stopper = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return None
        return task.result()

    async def _pause(self, seconds: float) -> None:
        await self._until_stopped(asyncio.sleep(seconds))

    async def _poll(self) -> None:
        """Fetch updates and acknowledge each one only after the core recorded it."""
        bot = self.application.bot
        delay = self.retry_seconds
        while not self._stopping.is_set():
            try:
                await self._until_stopped(bot.delete_webhook())  # polling and a webhook exclude each other
                break
            except InvalidToken:
                raise
            except TelegramError as exc:
                log.warning("deleteWebhook failed: %s", exc)
                await self._pause(delay)
                delay = min(delay * 2, self.max_retry_seconds)
        delay = self.retry_seconds
        while not self._stopping.is_set():
            try:
                updates = await self._until_stopped(bot.get_updates(
                    offset=self.offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES))
            except InvalidToken:
                raise
            except RetryAfter as exc:
                await self._pause(retry_after_seconds(exc))
                continue
            except TelegramError as exc:  # network trouble, 5xx, 409 while another instance polls
                log.warning("getUpdates failed: %s", exc)
                await self._pause(delay)
                delay = min(delay * 2, self.max_retry_seconds)
                continue
            delay = self.retry_seconds
            for update in updates or ():
                if not await self.process(update):
                    # Not confirmed: the next getUpdates returns this update again.
                    await self._pause(delay)
                    delay = min(delay * 2, self.max_retry_seconds)
                    break
                self.offset = update.update_id + 1

    async def _confirm_offset(self) -> None:
        """Confirm the updates recorded so far, so a restart does not fetch them again."""
        if self.offset is None or self.settings.telegram_webhook_url:
            return
        try:
            await asyncio.wait_for(self.application.bot.get_updates(
                offset=self.offset, timeout=0, allowed_updates=ALLOWED_UPDATES), timeout=5)
        except Exception as exc:  # noqa: BLE001 - harmless: the core recognises redelivered updates
            log.info("could not confirm updates before stopping: %s", exc)

    # ------------------------------------------------------------------ webhook

    async def _start_webhook(self) -> None:
        from aiohttp import web

        url = self.settings.telegram_webhook_url
        if self._webhook_runner is None:
            app = web.Application()
            app.router.add_post(urlsplit(url).path or "/", self._on_webhook)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, self.webhook_host, self.settings.telegram_webhook_port).start()
            self._webhook_runner = runner
        await self.application.bot.set_webhook(url, secret_token=self.webhook_secret,
                                               allowed_updates=ALLOWED_UPDATES)

    async def _on_webhook(self, request: Any) -> Any:
        from aiohttp import web

        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != self.webhook_secret:
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self.application.bot)
        except Exception:  # noqa: BLE001 - anything unreadable is the sender's error
            return web.Response(status=400)
        async with self._webhook_lock:  # one update at a time, in order, like polling
            recorded = await self.process(update)
        return web.Response(status=200 if recorded else 503)


async def _finish(task: asyncio.Task | None, timeout: float = 10.0) -> None:
    if task is None:
        return
    try:
        await asyncio.wait_for(task, timeout=timeout)
    except TimeoutError:
        log.warning("%s did not stop in time", task.get_name())
    except Exception:
        log.exception("%s failed", task.get_name())


def build_application(hub: Hub, settings: Settings, **options: Any) -> Application:
    """The python-telegram-bot Application for Relais; ``TelegramBot.of(app)`` runs it."""
    return TelegramBot(hub, settings, **options).application


async def serve(hub: Hub, settings: Settings, stop: asyncio.Event, **options: Any) -> None:
    """Run the Telegram bot and its delivery worker until ``stop`` is set (used by ``relais run``).

    A Bot API server that cannot be reached yet is tried again; a refused token is fatal."""
    bot = TelegramBot(hub, settings, **options)
    delay = bot.retry_seconds
    while not stop.is_set():
        try:
            await bot.start()
            break
        except InvalidToken:
            raise
        except NetworkError as exc:
            log.warning("Telegram is not reachable yet (%s); trying again in %.0f s", exc, delay)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, bot.max_retry_seconds)
    else:
        return
    try:
        await bot.wait(stop)
    finally:
        await bot.stop()
