"""A local stand-in of the Telegram Bot API, for tests and benchmarks.

The real python-telegram-bot ``Application`` talks to it over loopback HTTP::

    async with TelegramStandIn() as tg:
        app = (ApplicationBuilder().token(tg.token)
               .base_url(tg.base_url).base_file_url(tg.base_file_url).build())
        ...
        tg.push_update(tg.private_text(42, "hello"))
        [reply] = await tg.wait_for_messages(42, 1)

It answers the methods a Relais bot uses in Telegram's JSON shapes, keeps
updates until they are confirmed with ``offset`` (like the real service),
enforces the documented sending limits with 429 + ``retry_after``, rejects
malformed HTML and over-long texts with Telegram's 400 descriptions, and can
inject faults (500s, blocked chats, held answers).

Forum topics: ``forum(chat_id)`` makes a supergroup a forum, ``create_topic`` opens a topic (its id is
the message id of its ``forum_topic_created`` service message, as in Telegram) and ``group_text`` /
``command`` with ``thread=`` write in it (``message_thread_id`` and ``is_topic_message``, the topic's
first message as ``reply_to_message``). A message the bot sends lands in the topic given by
``message_thread_id`` (an unknown topic of a forum is refused: "message thread not found"), or in the
topic of the message it replies to; ``SentMessage.thread`` records where it landed. A message in the
General topic has no ``message_thread_id``.

Group migration: ``migrate(old, new, user_id)`` turns a group into a supergroup: it returns the two
service updates Telegram sends (``migrate_to_chat_id`` in the old group, ``migrate_from_chat_id`` in
the new supergroup), and from then on a call about the old id is refused with Telegram's 400
"group chat was upgraded to a supergroup chat" and ``parameters.migrate_to_chat_id``.

Every public control and ``wait_for_*`` method may also be called from another
thread when the stand-in runs in its own thread (``start_in_thread``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import html
import itertools
import json
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

__all__ = [
    "ApiCall",
    "HtmlParseError",
    "SentMessage",
    "TelegramLimits",
    "TelegramStandIn",
    "parse_telegram_html",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:STANDIN-relais-test-token"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})

_UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}
_Files = dict[str, tuple[bytes, str, str]]  # form field -> (content, filename, content type)

_INT_FIELDS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "reply_to_message_id", "user_id", "message_thread_id"}
)
_FLOAT_FIELDS = frozenset({"timeout", "cache_time"})
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "reply_parameters",
        "link_preview_options",
        "commands",
        "scope",
        "allowed_updates",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
    }
)


# --------------------------------------------------------------------------- records


@dataclasses.dataclass
class ApiCall:
    """One request the bot made, in arrival order."""

    method: str
    params: dict[str, Any]
    order: int
    timestamp: float
    status: int | None = None  # HTTP status of the answer, None while pending
    description: str | None = None  # error description when status != 200


@dataclasses.dataclass
class SentMessage:
    """A message the bot delivered to a chat (sendMessage / sendPhoto / sendDocument)."""

    chat_id: int
    message_id: int
    method: str
    text: str | None  # raw text (or caption) as sent, markup included
    plain_text: str | None  # text as a user sees it (tags stripped, entities decoded)
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    reply_to: int | None  # message_id replied to
    order: int  # global delivery order across all chats
    timestamp: float  # time.time() of delivery
    params: dict[str, Any]
    entities: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    file: bytes | str | None = None  # uploaded bytes, or the file_id/URL string sent
    edits: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    deleted: bool = False
    thread: int | None = None  # the forum topic it landed in (None: the chat itself, or its General topic)
    file_name: str | None = None  # a document's file name as uploaded (sendDocument)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, flattened row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]


@dataclasses.dataclass
class TelegramLimits:
    """Sending limits of the real service (Bots FAQ); ``enabled=False`` switches them off."""

    enabled: bool = True
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0
    group_burst: int = 20
    global_per_second: float = 30.0
    global_burst: int = 30
    methods: frozenset[str] = SEND_METHODS

    @classmethod
    def off(cls) -> TelegramLimits:
        return cls(enabled=False)


class _TokenBucket:
    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.updated = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_needed(self) -> float:
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


# --------------------------------------------------------------------------- HTML parsing


class HtmlParseError(ValueError):
    """Telegram's "can't parse entities" error; ``str()`` is the part after the colon."""


_ALLOWED_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_telegram_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into (plain text, entities) or raise ``HtmlParseError``.

    Follows the rules of Telegram's parser: only the documented tags, properly nested;
    only ``&lt; &gt; &amp; &quot;`` and numeric character references. With
    ``strict_ampersand`` a bare ``&`` is an error too (Telegram itself tolerates it),
    which catches user text that was not escaped.
    """
    out: list[str] = []
    out_len = 0  # UTF-16 length of the plain text so far
    stack: list[tuple[str, int, dict[str, str]]] = []  # (tag, start offset, attributes)
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(text)

    def byte_offset(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    while i < n:
        ch = text[i]
        if ch == "&":
            end = text.find(";", i + 1, i + 12)
            decoded: str | None = None
            if end != -1:
                name = text[i + 1 : end]
                if name in _NAMED_ENTITIES:
                    decoded = _NAMED_ENTITIES[name]
                elif name.startswith("#x") or name.startswith("#X"):
                    decoded = _char_from_code(name[2:], 16)
                elif name.startswith("#"):
                    decoded = _char_from_code(name[1:], 10)
            if decoded is None:
                if strict_ampersand:
                    raise HtmlParseError(
                        f'Unsupported HTML entity or bare "&" at byte offset {byte_offset(i)}'
                    )
                decoded, end = "&", i
            out.append(decoded)
            out_len += _utf16_len(decoded)
            i = end + 1
            continue
        if ch != "<":
            out.append(ch)
            out_len += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue

        tag_start = i
        if i + 1 < n and text[i + 1] == "/":
            close = text.find(">", i + 2)
            if close == -1:
                raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(tag_start)}")
            name = text[i + 2 : close].strip().lower()
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(tag_start)}")
            open_name, start, attrs = stack.pop()
            if name != open_name:
                raise HtmlParseError(
                    f'Unmatched end tag at byte offset {byte_offset(tag_start)}, '
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            entity = _make_entity(open_name, start, out_len - start, attrs, stack)
            if entity is not None:
                entities.append(entity)
            i = close + 1
            continue

        j = i + 1
        while j < n and (text[j].isalnum() or text[j] == "-"):
            j += 1
        name = text[i + 1 : j].lower()
        if not name:
            raise HtmlParseError(f"Empty tag name at byte offset {byte_offset(tag_start)}")
        if name not in _ALLOWED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {byte_offset(tag_start)}')
        attrs, j = _parse_attributes(text, j, tag_start, byte_offset)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(tag_start)}'
            )
        stack.append((name, out_len, attrs))
        i = j

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _char_from_code(digits: str, base: int) -> str | None:
    try:
        code = int(digits, base)
    except ValueError:
        return None
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _parse_attributes(
    text: str, j: int, tag_start: int, byte_offset: Callable[[int], int]
) -> tuple[dict[str, str], int]:
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while j < n and text[j].isspace():
            j += 1
        if j >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(tag_start)}")
        if text[j] == ">":
            return attrs, j + 1
        k = j
        while k < n and (text[k].isalnum() or text[k] in "-_"):
            k += 1
        if k == j:
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the tag at byte offset "
                f"{byte_offset(tag_start)}"
            )
        attr_name = text[j:k].lower()
        j = k
        while j < n and text[j].isspace():
            j += 1
        if j < n and text[j] == "=":
            j += 1
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(tag_start)}")
            if text[j] in "\"'":
                quote = text[j]
                end = text.find(quote, j + 1)
                if end == -1:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(tag_start)}")
                value = text[j + 1 : end]
                j = end + 1
            else:
                k = j
                while k < n and not text[k].isspace() and text[k] != ">":
                    k += 1
                value = text[j:k]
                j = k
            attrs[attr_name] = html.unescape(value)
        else:
            attrs[attr_name] = ""


def _make_entity(
    tag: str, offset: int, length: int, attrs: dict[str, str], stack: list[tuple[str, int, dict[str, str]]]
) -> dict[str, Any] | None:
    if length <= 0:
        return None
    kind = _ALLOWED_TAGS[tag]
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if tag == "a":
        href = attrs.get("href", "")
        if not href:
            return None
        entity["url"] = href
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif tag == "pre":
        pass
    elif tag == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            entity = {"type": "pre", "offset": offset, "length": length, "language": language[9:]}
    return entity


# --------------------------------------------------------------------------- the stand-in


class TelegramStandIn:
    """A Bot API server on 127.0.0.1 that records what the bot does.

    Args:
        token: the bot token expected in URLs (other tokens get 401).
        limits: sending limits; ``TelegramLimits.off()`` or ``limits.enabled = False`` disables them.
        seed: seed of the random generator used by ``fail_fraction``.
        clock: monotonic clock used by the rate limits (inject one for deterministic tests).
        bot_id, bot_username, bot_first_name: what ``getMe`` answers.
        strict_html: reject a bare ``&`` in HTML (Telegram tolerates it; the stand-in
            does not by default, to catch unescaped user text).
        port: TCP port (0 picks a free one).
        max_poll_timeout: upper bound on a long poll's hold, whatever the client asks.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        limits: TelegramLimits | None = None,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        bot_id: int | None = None,
        bot_username: str = "relais_test_bot",
        bot_first_name: str = "Relais",
        strict_html: bool = True,
        port: int = 0,
        max_poll_timeout: float = 30.0,
    ) -> None:
        self.token = token
        self.limits = limits or TelegramLimits()
        self.clock = clock
        self.strict_html = strict_html
        self.max_poll_timeout = max_poll_timeout
        head = token.split(":", 1)[0]
        self.bot_id = bot_id if bot_id is not None else (int(head) if head.isdigit() else 123456789)
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.host = "127.0.0.1"
        self._requested_port = port
        self.port: int | None = None

        # records
        self.calls: list[ApiCall] = []
        self.sent: list[SentMessage] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        self.errors: list[BaseException] = []  # bugs of the stand-in itself
        # counters
        self.rate_limited = 0
        self.rate_limited_by_chat: collections.Counter[int] = collections.Counter()
        self.injected_failures = 0
        self.status_counts: collections.Counter[int] = collections.Counter()

        # state
        self._order = itertools.count(1)
        self._next_update_id = 1
        self._pending: list[dict[str, Any]] = []  # updates not yet confirmed, push order
        self._delivered: set[int] = set()  # id() of pending updates returned at least once
        self._allowed_updates: list[str] | None = None
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[int, dict[str, Any]]] = collections.defaultdict(dict)
        self._by_key: dict[tuple[int, int], SentMessage] = {}
        self._next_message_id: dict[int, int] = collections.defaultdict(lambda: 1)
        self._open_callbacks: set[str] = set()
        self._files: dict[str, tuple[bytes, str]] = {}  # by file_id and by file_path
        self._file_paths: dict[str, str] = {}  # file_id -> file_path
        self._buckets: dict[Any, _TokenBucket] = {}
        self._random = random.Random(seed)
        self._fail_fraction = 0.0
        self._fail_fraction_methods: frozenset[str] = SEND_METHODS
        self._fail_next = 0
        self._fail_next_methods: frozenset[str] = SEND_METHODS
        self._injected: list[tuple[frozenset[str], _ApiError]] = []  # answers queued by inject_error
        self._chat_errors: dict[int, tuple[int, str]] = {}
        self._migrated: dict[int, int] = {}  # old group id -> its supergroup's id
        self._topics: dict[int, set[int]] = collections.defaultdict(set)  # forum chat -> open topic ids
        self._delay = 0.0
        self._delay_methods: frozenset[str] = SEND_METHODS
        self._hold_methods: frozenset[str] | None = None
        self._hold_phase = "after"
        self._held = 0
        self._release_event: asyncio.Event | None = None
        self._changed: asyncio.Event | None = None
        self._poll_generation = 0
        self._closing = False
        self._lock = threading.RLock()

        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)`` (the token is appended by the library)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> TelegramStandIn:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._release_event = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Release held polls and answers, then close the server."""
        self._closing = True
        self._notify_now()
        if self._release_event is not None:
            self._release_event.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramStandIn:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def start_in_thread(self) -> TelegramStandIn:
        """Run the server in its own thread and event loop (for benchmarks)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="telegram-standin", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop_in_thread(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    # ------------------------------------------------------------------ thread helpers

    def _in_own_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _notify(self) -> None:
        if self._loop is None:
            return
        if self._in_own_loop():
            self._notify_now()
        else:
            self._loop.call_soon_threadsafe(self._notify_now)

    def _notify_now(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    # ------------------------------------------------------------------ waiting

    async def wait_until(
        self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
    ) -> Any:
        """Wait until ``predicate()`` is truthy and return its value; ``TimeoutError`` otherwise."""
        if self._loop is not None and not self._in_own_loop():
            future = asyncio.run_coroutine_threadsafe(self.wait_until(predicate, timeout, what), self._loop)
            return await asyncio.wrap_future(future)
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._changed is None:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_for_messages(self, chat_id: int, n: int = 1, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until the bot has sent at least ``n`` messages to ``chat_id``; return them all."""

        def enough() -> list[SentMessage] | None:
            found = self.messages(chat_id)
            return found if len(found) >= n else None

        try:
            return await self.wait_until(enough, timeout, f"{n} message(s) in chat {chat_id}")
        except TimeoutError as exc:
            texts = [m.plain_text for m in self.messages(chat_id)]
            raise TimeoutError(f"{exc}; got {len(texts)}: {texts!r}") from None

    async def wait_for_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[ApiCall]:
        """Wait until ``method`` has been answered at least ``n`` times; return those calls."""

        def enough() -> list[ApiCall] | None:
            found = [c for c in self.calls_to(method) if c.status is not None]
            return found if len(found) >= n else None

        return await self.wait_until(enough, timeout, f"{n} answered {method} call(s)")

    async def wait_for_callback_answer(self, callback_query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_until(
            lambda: self.callback_answers.get(callback_query_id), timeout, f"answer to {callback_query_id}"
        )

    async def wait_for_held(self, n: int = 1, timeout: float = 5.0) -> int:
        """Wait until at least ``n`` requests are being held (see ``hold``)."""
        return await self.wait_until(
            lambda: self._held if self._held >= n else 0, timeout, f"{n} held request(s)"
        )

    # ------------------------------------------------------------------ queries on records

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot delivered (to one chat, or all), in delivery order, deleted ones included."""
        with self._lock:
            if chat_id is None:
                return list(self.sent)
            return [m for m in self.sent if m.chat_id == chat_id]

    def last_message(self, chat_id: int) -> SentMessage | None:
        found = self.messages(chat_id)
        return found[-1] if found else None

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def get_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """Commands set with setMyCommands for this scope (default scope if None) and language."""
        return self.commands.get((_scope_key(scope), language_code), [])

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates pushed but not yet confirmed by the bot."""
        with self._lock:
            return list(self._pending)

    def clear_records(self) -> None:
        with self._lock:
            self.calls.clear()
            self.sent.clear()
            self.callback_answers.clear()
            self.chat_actions.clear()
            self.rate_limited = 0
            self.rate_limited_by_chat.clear()
            self.injected_failures = 0
            self.status_counts.clear()

    # ------------------------------------------------------------------ fault injection

    def set_limits(self, limits: TelegramLimits) -> None:
        """Replace the limits and forget the current rate counters."""
        with self._lock:
            self.limits = limits
            self._buckets.clear()

    def fail_next(self, n: int, methods: Iterable[str] = SEND_METHODS) -> None:
        """Answer the next ``n`` calls to ``methods`` with 500 Internal Server Error."""
        with self._lock:
            self._fail_next = n
            self._fail_next_methods = frozenset(methods)

    def inject_error(
        self,
        status: int,
        description: str,
        n: int = 1,
        methods: Iterable[str] = SEND_METHODS,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``n`` calls to ``methods`` with this error, e.g. a 429 with
        ``parameters={"retry_after": 1}`` or a 400 "can't parse entities", whatever the request."""
        with self._lock:
            for _ in range(n):
                self._injected.append((frozenset(methods), _ApiError(status, description, parameters)))

    def fail_fraction(
        self, fraction: float, methods: Iterable[str] = SEND_METHODS, seed: int | None = None
    ) -> None:
        """Answer about ``fraction`` of the calls to ``methods`` with 500 (seeded random)."""
        with self._lock:
            self._fail_fraction = fraction
            self._fail_fraction_methods = frozenset(methods)
            if seed is not None:
                self._random.seed(seed)

    def set_chat_error(self, chat_id: int, status: int, description: str) -> None:
        """Answer every call about ``chat_id`` with this permanent error."""
        with self._lock:
            self._chat_errors[chat_id] = (status, description)

    def block_chat(self, chat_id: int) -> None:
        """The user blocked the bot (403), or the bot was kicked from the group (403)."""
        if chat_id > 0:
            self.set_chat_error(chat_id, 403, "Forbidden: bot was blocked by the user")
        else:
            self.set_chat_error(chat_id, 403, "Forbidden: bot was kicked from the group chat")

    def lose_chat(self, chat_id: int) -> None:
        """The chat does not exist any more (400 chat not found)."""
        self.set_chat_error(chat_id, 400, "Bad Request: chat not found")

    def clear_chat_error(self, chat_id: int) -> None:
        with self._lock:
            self._chat_errors.pop(chat_id, None)

    def delay(self, seconds: float, methods: Iterable[str] = SEND_METHODS) -> None:
        """Answer ``methods`` only after ``seconds`` (0 turns it off)."""
        self._delay = seconds
        self._delay_methods = frozenset(methods)

    def hold(self, methods: Iterable[str] = SEND_METHODS, phase: str = "after") -> None:
        """Hold calls to ``methods`` until ``release()`` (or ``stop()``).

        ``phase="after"``: the message is delivered and recorded, only the answer is held
        (a crash now means "sent, but the bot never learnt it"). ``phase="before"``: nothing
        happens until release.
        """
        if phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        self._hold_phase = phase
        self._hold_methods = frozenset(methods)
        if self._loop is not None:
            self._run_in_loop(self._reset_release)

    def release(self) -> None:
        """Let every held call go and stop holding."""
        self._hold_methods = None
        if self._loop is not None:
            self._run_in_loop(self._set_release)

    @property
    def held(self) -> int:
        return self._held

    def _reset_release(self) -> None:
        if self._release_event is None or self._release_event.is_set():
            self._release_event = asyncio.Event()

    def _set_release(self) -> None:
        if self._release_event is not None:
            self._release_event.set()

    def _run_in_loop(self, fn: Callable[[], None]) -> None:
        assert self._loop is not None
        if self._in_own_loop() or not self._loop.is_running():
            fn()
        else:
            self._loop.call_soon_threadsafe(fn)

    # ------------------------------------------------------------------ update builders

    def user(self, user_id: int, first_name: str | None = None, **extra: Any) -> dict[str, Any]:
        """A (remembered) human user."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None or first_name is not None or extra:
                user = {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"}
                user.setdefault("language_code", "fr")
                user.update(extra)
                self._users[user_id] = user
            return dict(user)

    def chat(self, chat_id: int, chat_type: str | None = None, title: str | None = None) -> dict[str, Any]:
        """A (remembered) chat; positive ids are private chats, negative ids groups."""
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None or chat_type is not None or title is not None:
                if chat_id > 0:
                    user = self.user(chat_id)
                    chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
                    if "username" in user:
                        chat["username"] = user["username"]
                else:
                    kind = chat_type or ("supergroup" if str(chat_id).startswith("-100") else "group")
                    chat = {"id": chat_id, "type": kind, "title": title or f"Group {chat_id}"}
                self._chats[chat_id] = chat
            return dict(chat)

    def forum(self, chat_id: int, title: str | None = None) -> dict[str, Any]:
        """Make supergroup ``chat_id`` a forum (a group with topics)."""
        with self._lock:
            chat = self.chat(chat_id, "supergroup", title)
            chat["is_forum"] = True
            self._chats[chat_id] = chat
            return dict(chat)

    def create_topic(self, chat_id: int, user_id: int, name: str = "Topic") -> int:
        """Open a topic in forum ``chat_id`` (made a forum if needed); returns its ``message_thread_id``."""
        with self._lock:
            if not self._chats.get(chat_id, {}).get("is_forum"):
                self.forum(chat_id)
            message = self._new_message(chat_id, user_id, message_id=None, date=None)
            thread = message["message_id"]
            message.update(message_thread_id=thread, is_topic_message=True,
                           forum_topic_created={"name": name, "icon_color": 7322096})
            self._messages[chat_id][thread] = message
            self._topics[chat_id].add(thread)
            return thread

    def delete_topic(self, chat_id: int, thread: int) -> None:
        """Delete a forum topic: sending to it is refused from now on ("message thread not found")."""
        with self._lock:
            self._topics[chat_id].discard(thread)

    def _in_topic(self, message: dict[str, Any], thread: int | None) -> dict[str, Any]:
        """Put a message built for a forum chat in topic ``thread`` as Telegram does."""
        if thread is None:
            return message
        chat_id = message["chat"]["id"]
        if thread not in self._topics.get(chat_id, ()):
            raise KeyError(f"no topic {thread} in chat {chat_id}")
        message["message_thread_id"] = thread
        message["is_topic_message"] = True
        message["reply_to_message"] = _strip_reply(self._messages[chat_id][thread])
        return message

    def migrate(self, old_chat_id: int, new_chat_id: int, user_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Group ``old_chat_id`` becomes supergroup ``new_chat_id``: the two service updates Telegram
        sends (to push), and calls about the old id are refused from now on."""
        with self._lock:
            old = self.chat(old_chat_id)
            title = old.get("title")
            self.chat(new_chat_id, "supergroup", title)
            self._migrated[old_chat_id] = new_chat_id
        in_old = self._new_message(old_chat_id, user_id, message_id=None, date=None)
        in_old["migrate_to_chat_id"] = new_chat_id
        in_new = self._new_message(new_chat_id, user_id, message_id=None, date=None)
        in_new["migrate_from_chat_id"] = old_chat_id
        return self._wrap("message", in_old, None), self._wrap("message", in_new, None)

    def _new_message(
        self,
        chat_id: int,
        user_id: int,
        *,
        message_id: int | None,
        date: int | None,
        chat_type: str | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            if message_id is None:
                message_id = self._next_message_id[chat_id]
            self._next_message_id[chat_id] = max(self._next_message_id[chat_id], message_id + 1)
        return {
            "message_id": message_id,
            "from": self.user(user_id),
            "chat": self.chat(chat_id, chat_type, title),
            "date": date if date is not None else int(time.time()),
        }

    def _wrap(self, key: str, payload: dict[str, Any], update_id: int | None) -> dict[str, Any]:
        update: dict[str, Any] = {key: payload}
        if update_id is not None:
            update["update_id"] = update_id
        return update

    def private_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        message_id: int | None = None,
        date: int | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """An update: ``user_id`` writes ``text`` to the bot in a private chat."""
        if first_name is not None:
            self.user(user_id, first_name)
        message = self._new_message(user_id, user_id, message_id=message_id, date=date)
        message["text"] = text
        if entities:
            message["entities"] = entities
        return self._wrap("message", message, update_id)

    def group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        chat_type: str = "supergroup",
        title: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        message_id: int | None = None,
        date: int | None = None,
        update_id: int | None = None,
        thread: int | None = None,
    ) -> dict[str, Any]:
        """An update: ``user_id`` writes ``text`` in group ``chat_id`` (a negative id), in forum topic
        ``thread`` if given (see ``create_topic``)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if thread is not None or self._chats.get(chat_id, {}).get("is_forum"):
            chat_type, title = None, None  # keep the forum as it is
        message = self._new_message(
            chat_id, user_id, message_id=message_id, date=date, chat_type=chat_type, title=title
        )
        self._in_topic(message, thread)
        message["text"] = text
        if entities:
            message["entities"] = entities
        return self._wrap("message", message, update_id)

    def command(
        self,
        chat_id: int,
        user_id: int,
        command: str,
        args: str = "",
        *,
        mention_bot: bool = False,
        chat_type: str = "supergroup",
        message_id: int | None = None,
        update_id: int | None = None,
        thread: int | None = None,
    ) -> dict[str, Any]:
        """An update: ``/command args`` with its ``bot_command`` entity (private if chat_id > 0), in
        forum topic ``thread`` if given."""
        name = command.lstrip("/")
        head = f"/{name}@{self.bot_user['username']}" if mention_bot else f"/{name}"
        text = f"{head} {args}" if args else head
        entity = [{"type": "bot_command", "offset": 0, "length": _utf16_len(head)}]
        if chat_id > 0:
            return self.private_text(
                chat_id, text, entities=entity, message_id=message_id, update_id=update_id
            )
        return self.group_text(
            chat_id,
            user_id,
            text,
            entities=entity,
            chat_type=chat_type,
            message_id=message_id,
            update_id=update_id,
            thread=thread,
        )

    def location(
        self,
        chat_id: int,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        message_id: int | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """An update: a shared location (private if chat_id > 0)."""
        message = self._new_message(chat_id, user_id, message_id=message_id, date=None)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        return self._wrap("message", message, update_id)

    def reply(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        to: SentMessage | int,
        *,
        message_id: int | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """An update: ``user_id`` replies with ``text`` to a message (by default one the bot sent)."""
        target_id = to.message_id if isinstance(to, SentMessage) else to
        original = self._messages.get(chat_id, {}).get(target_id)
        if original is None:
            raise KeyError(f"no message {target_id} in chat {chat_id}")
        message = self._new_message(chat_id, user_id, message_id=message_id, date=None)
        message["text"] = text
        message["reply_to_message"] = _strip_reply(original)
        return self._wrap("message", message, update_id)

    def callback_query(
        self,
        user_id: int,
        message: SentMessage | tuple[int, int],
        data: str,
        *,
        query_id: str | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """An update: ``user_id`` presses an inline button carrying ``data`` under a bot message."""
        if isinstance(message, SentMessage):
            chat_id, message_id = message.chat_id, message.message_id
        else:
            chat_id, message_id = message
        original = self._messages.get(chat_id, {}).get(message_id)
        if original is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        query_id = query_id or str(uuid.uuid4().int >> 64)
        with self._lock:
            self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self.user(user_id),
            "message": dict(original),
            "chat_instance": str(abs(hash((chat_id, self.bot_id))) % 10**18),
            "data": data,
        }
        return self._wrap("callback_query", query, update_id)

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; gives it the next update_id unless it has one."""
        with self._lock:
            update = dict(update)
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            self._remember_incoming(update)
            self._pending.append(update)
        self._notify()
        return update

    def _remember_incoming(self, update: dict[str, Any]) -> None:
        for key in ("message", "edited_message", "channel_post"):
            message = update.get(key)
            if isinstance(message, dict) and "chat" in message and "message_id" in message:
                chat = message["chat"]
                self._chats.setdefault(chat["id"], chat)
                self._messages[chat["id"]][message["message_id"]] = message
                self._next_message_id[chat["id"]] = max(
                    self._next_message_id[chat["id"]], message["message_id"] + 1
                )
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._open_callbacks.add(query["id"])

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(_UNAUTHORIZED, status=401)
        found = self._files.get(request.match_info["path"])
        if found is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=found[0], content_type=found[1])

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(_UNAUTHORIZED, status=401)
        method = _canonical_method(request.match_info["method"])
        try:
            params, files = await _read_params(request)
        except ValueError as exc:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}, status=400
            )
        call = ApiCall(method=method, params=params, order=next(self._order), timestamp=time.time())
        with self._lock:
            self.calls.append(call)
        try:
            result = await self._dispatch(method, params, files)
            status, body = 200, {"ok": True, "result": result}
        except _ApiError as exc:
            status, body = exc.status, exc.body()
            call.description = exc.description
        except Exception as exc:  # noqa: BLE001 - a stand-in bug must be visible, not a hang
            _LOGGER.exception("stand-in failure in %s", method)
            self.errors.append(exc)
            status = 500
            description = f"Internal Server Error: stand-in bug {exc!r}"
            body = {"ok": False, "error_code": 500, "description": description}
            call.description = description
        call.status = status
        self.status_counts[status] += 1
        self._notify_now()
        return web.json_response(body, status=status)

    async def _dispatch(self, method: str, params: dict[str, Any], files: _Files) -> Any:
        handler = _HANDLERS.get(method)
        if handler is None:
            raise _ApiError(404, "Not Found")
        return await self._guarded(method, params, files, handler)

    async def _guarded(self, method: str, params: dict[str, Any], files: Any, handler: Any) -> Any:
        if self._delay and method in self._delay_methods:
            await asyncio.sleep(self._delay)
        holding = self._hold_methods is not None and method in self._hold_methods
        if holding and self._hold_phase == "before":
            await self._wait_released()
        with self._lock:
            self._check_faults(method, params)
        result = await handler(self, params, files)
        if holding and self._hold_phase == "after":
            await self._wait_released()
        return result

    async def _wait_released(self) -> None:
        event = self._release_event
        if event is None or self._closing:
            return
        self._held += 1
        self._notify_now()
        try:
            await event.wait()
        finally:
            self._held -= 1

    def _check_faults(self, method: str, params: dict[str, Any]) -> None:
        """Injected failures first, then permanent chat errors (validation and limits come later)."""
        for index, (methods, error) in enumerate(self._injected):
            if method in methods:
                del self._injected[index]
                self.injected_failures += 1
                if error.status == 429:
                    self.rate_limited += 1
                raise error
        if self._fail_next > 0 and method in self._fail_next_methods:
            self._fail_next -= 1
            self.injected_failures += 1
            raise _ApiError(500, "Internal Server Error")
        if self._fail_fraction > 0 and method in self._fail_fraction_methods:
            if self._random.random() < self._fail_fraction:
                self.injected_failures += 1
                raise _ApiError(500, "Internal Server Error")
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id in self._chat_errors:
            raise _ApiError(*self._chat_errors[chat_id])

    def _rate_check(self, method: str, chat_id: int) -> None:
        """Take a token for this chat and the bot, or answer 429 (valid requests only)."""
        if not (self.limits.enabled and method in self.limits.methods):
            return
        limits = self.limits
        now = self.clock()
        if chat_id > 0:
            key: Any = ("private", chat_id)
            spec = (limits.private_per_second, limits.private_burst)
        else:
            key = ("group", chat_id)
            spec = (limits.group_per_minute / 60.0, limits.group_burst)
        buckets = []
        specs = ((key, spec), ("global", (limits.global_per_second, limits.global_burst)))
        for bucket_key, (rate, burst) in specs:
            bucket = self._buckets.get(bucket_key)
            if bucket is None:
                bucket = self._buckets[bucket_key] = _TokenBucket(rate, burst, now)
            bucket.refill(now)
            buckets.append(bucket)
        wait = max(b.wait_needed() for b in buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.rate_limited += 1
            self.rate_limited_by_chat[chat_id] += 1
            raise _ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for bucket in buckets:
            bucket.tokens -= 1.0

    # ------------------------------------------------------------------ helpers for handlers

    def _known_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        with self._lock:
            if chat_id in self._chat_errors:
                raise _ApiError(*self._chat_errors[chat_id])
            if chat_id in self._migrated:
                raise _ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                                {"migrate_to_chat_id": self._migrated[chat_id]})
        return chat_id

    def _render(self, text: str | None, parse_mode: str | None, limit: int, kind: str) -> tuple[str, list]:
        text = text or ""
        entities: list[dict[str, Any]] = []
        if parse_mode and parse_mode.upper() == "HTML":
            try:
                text, entities = parse_telegram_html(text, strict_ampersand=self.strict_html)
            except HtmlParseError as exc:
                raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        if kind == "text" and not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > limit:
            what = "message" if kind == "text" else "message caption"
            raise _ApiError(400, f"Bad Request: {what} is too long")
        return text, entities

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> int | None:
        reply_parameters = params.get("reply_parameters") or {}
        target = reply_parameters.get("message_id") or params.get("reply_to_message_id")
        if not target:
            return None
        allow = reply_parameters.get("allow_sending_without_reply") or params.get(
            "allow_sending_without_reply"
        )
        if int(target) not in self._messages.get(chat_id, {}):
            if allow:
                return None
            raise _ApiError(400, "Bad Request: message to be replied not found")
        return int(target)

    def _landing_topic(self, chat_id: int, params: dict[str, Any], reply_to: int | None) -> int | None:
        """The forum topic a message lands in: the one asked, or the one of the message it replies to."""
        with self._lock:
            if not self._chats.get(chat_id, {}).get("is_forum"):
                return None
            asked = params.get("message_thread_id")
            if asked not in (None, ""):
                if asked not in self._topics.get(chat_id, ()):
                    raise _ApiError(400, "Bad Request: message thread not found")
                return int(asked)
            if reply_to is not None:
                replied = self._messages[chat_id][reply_to]
                if replied.get("is_topic_message"):
                    return replied.get("message_thread_id")
            return None

    def _deliver(
        self,
        method: str,
        chat_id: int,
        params: dict[str, Any],
        raw_text: str | None,
        plain: str | None,
        entities: list[dict[str, Any]],
        extra: dict[str, Any],
        file: bytes | str | None = None,
    ) -> dict[str, Any]:
        reply_to = self._reply_to(chat_id, params)
        thread = self._landing_topic(chat_id, params, reply_to)
        markup = params.get("reply_markup")
        with self._lock:
            self._rate_check(method, chat_id)
            message_id = self._next_message_id[chat_id]
            self._next_message_id[chat_id] = message_id + 1
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": dict(self.bot_user),
                "chat": self.chat(chat_id),
                "date": int(time.time()),
            }
            message.update(extra)
            if entities:
                message["entities" if "text" in extra else "caption_entities"] = entities
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            if reply_to is not None:
                message["reply_to_message"] = _strip_reply(self._messages[chat_id][reply_to])
            if thread is not None:
                message["message_thread_id"] = thread
                message["is_topic_message"] = True
            self._messages[chat_id][message_id] = message
            record = SentMessage(
                chat_id=chat_id,
                message_id=message_id,
                method=method,
                text=raw_text,
                plain_text=plain,
                parse_mode=params.get("parse_mode"),
                reply_markup=markup if isinstance(markup, dict) else None,
                reply_to=reply_to,
                order=next(self._order),
                timestamp=time.time(),
                params=params,
                entities=entities,
                file=file,
                file_name=(extra.get("document") or {}).get("file_name"),
                thread=thread,
            )
            self.sent.append(record)
            self._by_key[(chat_id, message_id)] = record
        self._notify_now()
        return message

    def _store_file(self, data: bytes, filename: str, content_type: str, prefix: str) -> dict[str, Any]:
        file_unique_id = uuid.uuid4().hex[:16]
        file_id = f"{prefix}-{file_unique_id}"
        path = f"{prefix}s/{file_unique_id}_{filename}"
        self._files[path] = (data, content_type)
        self._files[file_id] = (data, content_type)
        self._file_paths[file_id] = path
        return {"file_id": file_id, "file_unique_id": file_unique_id, "file_size": len(data), "_path": path}

    # ------------------------------------------------------------------ method handlers

    async def _get_me(self, params: dict[str, Any], files: Any) -> Any:
        return dict(self.bot_user)

    async def _get_updates(self, params: dict[str, Any], files: Any) -> Any:
        if self.webhook["url"]:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = max(1, min(100, params.get("limit") or 100))
        timeout = min(float(params.get("timeout") or 0), self.max_poll_timeout)
        if params.get("allowed_updates"):
            self._allowed_updates = list(params["allowed_updates"])
        # A newer poll ends the one still held, like the real service (409 to the old one).
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify_now()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._confirm(offset)
                batch = self._pending[:limit]
                for update in batch:
                    self._delivered.add(id(update))
            if batch or self._closing:
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            assert self._changed is not None
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            pending = self._pending
        elif offset < 0:
            pending = self._pending[offset:]
        else:
            # Only updates already handed out are confirmed by the offset: an update pushed
            # again with an old id (a redelivery test) is still delivered.
            pending = [u for u in self._pending if not (id(u) in self._delivered and u["update_id"] < offset)]
        if self._allowed_updates:
            allowed = set(self._allowed_updates)
            pending = [u for u in pending if any(k in allowed for k in u if k != "update_id")]
        dropped = {id(u) for u in self._pending} - {id(u) for u in pending}
        self._delivered -= dropped
        self._pending = pending

    async def _delete_webhook(self, params: dict[str, Any], files: Any) -> Any:
        with self._lock:
            self.webhook["url"] = ""
            if params.get("drop_pending_updates"):
                self._delivered.clear()
                self._pending = []
        return True

    async def _set_webhook(self, params: dict[str, Any], files: Any) -> Any:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        with self._lock:
            self.webhook["url"] = url
            if params.get("drop_pending_updates"):
                self._delivered.clear()
                self._pending = []
        return True

    async def _get_webhook_info(self, params: dict[str, Any], files: Any) -> Any:
        return dict(self.webhook, pending_update_count=len(self._pending))

    async def _set_my_commands(self, params: dict[str, Any], files: Any) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: parameter \"commands\" is required")
        for command in commands:
            name = command.get("command", "")
            if not (1 <= len(name) <= 32) or not all(c.islower() or c.isdigit() or c == "_" for c in name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not (1 <= len(command.get("description", "")) <= 256):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        self.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _get_my_commands(self, params: dict[str, Any], files: Any) -> Any:
        return self.get_commands(params.get("scope"), params.get("language_code") or "")

    async def _delete_my_commands(self, params: dict[str, Any], files: Any) -> Any:
        self.commands.pop((_scope_key(params.get("scope")), params.get("language_code") or ""), None)
        return True

    async def _send_message(self, params: dict[str, Any], files: Any) -> Any:
        chat_id = self._known_chat(params)
        raw = params.get("text")
        if raw is None:
            raise _ApiError(400, "Bad Request: message text is empty")
        plain, entities = self._render(raw, params.get("parse_mode"), MAX_TEXT_LENGTH, "text")
        if not entities and isinstance(params.get("entities"), list):
            entities = params["entities"]
        return self._deliver("sendMessage", chat_id, params, raw, plain, entities, {"text": plain})

    async def _send_media(self, params: dict[str, Any], files: _Files, field: str) -> Any:
        chat_id = self._known_chat(params)
        caption = params.get("caption")
        plain, entities = (None, [])
        if caption:
            plain, entities = self._render(caption, params.get("parse_mode"), MAX_CAPTION_LENGTH, "caption")
        value = params.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            value = files.get(value[len("attach://") :])
        elif field in files:
            value = files[field]
        if value is None or value == "":
            raise _ApiError(400, f"Bad Request: there is no {field} in the request")
        if isinstance(value, tuple):
            data, filename, content_type = value
            stored = self._store_file(data, filename, content_type, field)
            file: bytes | str = data
        else:
            known = self._files.get(value)
            if known is None and not value.startswith(("http://", "https://")):
                raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            size = len(known[0]) if known else 0
            stored = {"file_id": value, "file_unique_id": uuid.uuid4().hex[:16], "file_size": size}
            filename, content_type = "file", "application/octet-stream"
            file = value
        stored.pop("_path", None)
        if field == "photo":
            extra: dict[str, Any] = {"photo": [dict(stored, width=320, height=320)]}
        else:
            extra = {"document": dict(stored, file_name=filename, mime_type=content_type)}
        if plain:
            extra["caption"] = plain
        method = "sendPhoto" if field == "photo" else "sendDocument"
        return self._deliver(method, chat_id, params, caption, plain, entities, extra, file=file)

    async def _send_photo(self, params: dict[str, Any], files: Any) -> Any:
        return await self._send_media(params, files, "photo")

    async def _send_document(self, params: dict[str, Any], files: Any) -> Any:
        return await self._send_media(params, files, "document")

    async def _get_file(self, params: dict[str, Any], files: Any) -> Any:
        file_id = str(params.get("file_id", ""))
        path = self._file_paths.get(file_id)
        if path is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": file_id.rsplit("-", 1)[-1],
            "file_size": len(self._files[path][0]),
            "file_path": path,
        }

    def _stored_message(self, params: dict[str, Any], verb: str) -> tuple[int, int, dict[str, Any]]:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._known_chat(params)
        message_id = params.get("message_id")
        message = self._messages.get(chat_id, {}).get(message_id) if isinstance(message_id, int) else None
        record = self._by_key.get((chat_id, message_id)) if isinstance(message_id, int) else None
        if message is None or (record is not None and record.deleted):
            raise _ApiError(400, f"Bad Request: message to {verb} not found")
        if verb == "edit" and message.get("from", {}).get("id") != self.bot_id:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return chat_id, message_id, message

    async def _edit_message_text(self, params: dict[str, Any], files: Any) -> Any:
        chat_id, message_id, message = self._stored_message(params, "edit")
        raw = params.get("text")
        plain, entities = self._render(raw, params.get("parse_mode"), MAX_TEXT_LENGTH, "text")
        markup = params.get("reply_markup") if isinstance(params.get("reply_markup"), dict) else None
        same_text = plain == message.get("text") and entities == message.get("entities", [])
        if same_text and markup == message.get("reply_markup"):
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        with self._lock:
            self._rate_check("editMessageText", chat_id)
            message["text"] = plain
            message["edit_date"] = int(time.time())
            if entities:
                message["entities"] = entities
            else:
                message.pop("entities", None)
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            record = self._by_key.get((chat_id, message_id))
            if record is not None:
                record.edits.append(
                    {"method": "editMessageText", "text": raw, "params": params, "timestamp": time.time()}
                )
                record.text, record.plain_text, record.entities = raw, plain, entities
                record.parse_mode = params.get("parse_mode")
                record.reply_markup = markup
        return dict(message)

    async def _edit_message_reply_markup(self, params: dict[str, Any], files: Any) -> Any:
        chat_id, message_id, message = self._stored_message(params, "edit")
        markup = params.get("reply_markup") if isinstance(params.get("reply_markup"), dict) else None
        if markup == message.get("reply_markup"):
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        with self._lock:
            self._rate_check("editMessageReplyMarkup", chat_id)
            if markup:
                message["reply_markup"] = markup
            else:
                message.pop("reply_markup", None)
            message["edit_date"] = int(time.time())
            record = self._by_key.get((chat_id, message_id))
            if record is not None:
                record.edits.append(
                    {"method": "editMessageReplyMarkup", "params": params, "timestamp": time.time()}
                )
                record.reply_markup = markup
        return dict(message)

    async def _delete_message(self, params: dict[str, Any], files: Any) -> Any:
        chat_id, message_id, _message = self._stored_message(params, "delete")
        with self._lock:
            del self._messages[chat_id][message_id]
            record = self._by_key.get((chat_id, message_id))
            if record is not None:
                record.deleted = True
        return True

    async def _answer_callback_query(self, params: dict[str, Any], files: Any) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        with self._lock:
            if query_id not in self._open_callbacks:
                raise _ApiError(
                    400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
                )
            self._open_callbacks.discard(query_id)
            self.callback_answers[query_id] = params
        return True

    async def _send_chat_action(self, params: dict[str, Any], files: Any) -> Any:
        chat_id = self._known_chat(params)
        self.chat_actions.append((chat_id, str(params.get("action"))))
        return True

    async def _get_chat(self, params: dict[str, Any], files: Any) -> Any:
        chat_id = self._known_chat(params)
        if chat_id not in self._chats:
            raise _ApiError(400, "Bad Request: chat not found")
        info = dict(self._chats[chat_id])
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return info


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[bytes, str, str]]]:
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, tuple[bytes, str, str]] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("request body must be a JSON object")
            raw.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.file.read(), value.filename or key, value.content_type)
                else:
                    raw[key] = value
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _INT_FIELDS:
                value = int(value) if value.lstrip("-").isdigit() else value
            elif key in _FLOAT_FIELDS:
                value = float(value)
            elif key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    raise ValueError(f"can't parse {key} JSON object") from None
            elif key in _BOOL_FIELDS:
                value = value.lower() in ("true", "1")
        params[key] = value
    return params, files


def _canonical_method(name: str) -> str:
    return _METHOD_NAMES.get(name.lower(), name)


def _scope_key(scope: Any) -> str:
    if not scope:
        scope = {"type": "default"}
    if isinstance(scope, str):
        scope = json.loads(scope)
    return json.dumps(scope, sort_keys=True)


def _strip_reply(message: dict[str, Any]) -> dict[str, Any]:
    """A replied-to message as Telegram nests it: without its own reply_to_message."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


_HANDLERS: dict[str, Any] = {
    "getMe": TelegramStandIn._get_me,
    "getUpdates": TelegramStandIn._get_updates,
    "deleteWebhook": TelegramStandIn._delete_webhook,
    "setWebhook": TelegramStandIn._set_webhook,
    "getWebhookInfo": TelegramStandIn._get_webhook_info,
    "setMyCommands": TelegramStandIn._set_my_commands,
    "getMyCommands": TelegramStandIn._get_my_commands,
    "deleteMyCommands": TelegramStandIn._delete_my_commands,
    "sendMessage": TelegramStandIn._send_message,
    "editMessageText": TelegramStandIn._edit_message_text,
    "editMessageReplyMarkup": TelegramStandIn._edit_message_reply_markup,
    "answerCallbackQuery": TelegramStandIn._answer_callback_query,
    "sendPhoto": TelegramStandIn._send_photo,
    "sendDocument": TelegramStandIn._send_document,
    "sendChatAction": TelegramStandIn._send_chat_action,
    "getChat": TelegramStandIn._get_chat,
    "deleteMessage": TelegramStandIn._delete_message,
    "getFile": TelegramStandIn._get_file,
}
_METHOD_NAMES = {name.lower(): name for name in _HANDLERS}
