"""Pacing of outbound messages so a platform never has to answer "too many requests".

Three shapes of limit, per key (``("overall",)`` for the whole bot, ``("chat", chat)`` for one
conversation), as the platforms count them: a token ``Bucket`` (``rate`` per second, bursts of
``burst``: Telegram), a fixed ``Window`` opened by the first request (``limit`` per ``period``:
Discord's per-channel route buckets) and a ``Sliding`` window (at most ``limit`` in any ``period``:
Discord's global limit).

``slack`` (seconds) absorbs network jitter: a request sent later may reach the platform earlier than
the one before it. Windows get ``slack`` added to their period (and keep sends out of a fixed
window's last ``slack``); buckets keep ``rate * slack`` tokens in reserve, so the long-run rate
stays the platform's own.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Key = tuple[str, ...]
OVERALL: Key = ("overall",)


@dataclass(frozen=True)
class Window:
    """At most ``limit`` sends in any ``period`` seconds."""

    limit: int
    period: float

    @property
    def rate(self) -> float:
        return self.limit / self.period

    @property
    def burst(self) -> int:
        return self.limit


@dataclass(frozen=True)
class Bucket:
    """A token bucket: ``rate`` sends per second on average, at most ``burst`` at once."""

    rate: float
    burst: int


@dataclass(frozen=True)
class Sliding:
    """At most ``limit`` sends in any ``period`` seconds, however they fall (Discord's global limit).
    ``slack`` overrides the platform's (a smaller one suits sends already spread by a bucket)."""

    limit: int
    period: float
    slack: float | None = None

    @property
    def rate(self) -> float:
        return self.limit / self.period

    @property
    def burst(self) -> int:
        return self.limit


Limit = Window | Bucket | Sliding | tuple  # a tuple: every one of its limits applies


def _telegram_kind(chat: str, direct: bool) -> str:
    return "group" if chat.startswith("-") else "private"


def _discord_kind(chat: str, direct: bool) -> str:
    return "private" if direct else "channel"


@dataclass(frozen=True)
class RateLimits:
    """One platform's sending limits: overall, and per chat by kind of chat."""

    platform: str
    overall: Limit | None
    per_chat: dict[str, Limit] = field(default_factory=dict)
    kind_of: Callable[[str, bool], str] = lambda chat, direct: "private" if direct else "channel"
    slack: float = 0.08
    concurrency: int = 8  # requests a worker keeps on the wire by default

    def chat_window(self, chat: str, direct: bool) -> Limit | None:
        return self.per_chat.get(self.kind_of(chat, direct))


# Telegram Bots FAQ: about 30 messages/s overall, 1/s per private chat with short bursts, 20/min per group.
TELEGRAM = RateLimits(
    platform="telegram",
    overall=Bucket(30.0, 30),
    per_chat={"private": Bucket(1.0, 3), "group": Bucket(20 / 60, 20)},
    kind_of=_telegram_kind,
)

# Discord: 50 requests/s per bot, of which messages may use 48 (the bot makes other requests too:
# logging in, opening DM channels, syncing commands), evenly spread (a burst queues up in the client
# and reaches Discord bunched); message buckets of 5 per 5 s per channel.
DISCORD = RateLimits(
    platform="discord",
    overall=(Sliding(48, 1.0, slack=0.02), Bucket(48.0, 8)),
    per_chat={"channel": Window(5, 5.0), "private": Window(5, 5.0)},
    kind_of=_discord_kind,
    # discord.py holds a request whose answer says the bucket is empty until the bucket resets (up
    # to 5 s): with one such request per busy channel, fewer slots would starve the others.
    concurrency=64,
)

DEFAULTS = {"telegram": TELEGRAM, "discord": DISCORD}


def limits_for(platform: str) -> RateLimits | None:
    return DEFAULTS.get(platform)


class _Slots:
    """A fixed window opened by the first send (as the platform counts), plus a pause it imposed.

    Sends are kept out of the window's last ``slack`` seconds and the next window opens ``slack``
    after this one ends, so transit jitter cannot move a send into a window the platform counts
    differently."""

    __slots__ = ("window", "start", "count", "blocked_until")

    def __init__(self, window: Window):
        self.window = window
        self.start: float | None = None
        self.count = 0
        self.blocked_until = 0.0

    def _current(self, now: float, slack: float) -> tuple[float, int]:
        if self.start is None or now >= self.start + self.window.period + slack:
            return now, 0
        return self.start, self.count

    def wait(self, now: float, slack: float, ahead: int = 0) -> float:
        """Seconds until one more send is allowed, with ``ahead`` sends queued before it."""
        start, count = self._current(now, slack)
        step = self.window.period + slack
        windows, _ = divmod(count + ahead, self.window.limit)
        if windows == 0 and (count == 0 or now < start + self.window.period - slack):
            wait = 0.0
        else:
            wait = start + max(windows, 1) * step - now
        return max(wait, self.blocked_until - now, 0.0)

    def take(self, now: float, slack: float = 0.0) -> None:
        start, count = self._current(now, slack)
        self.start, self.count = start, count + 1

    def idle_since(self, now: float) -> bool:
        return self.start is None or now > self.start + 2 * self.window.period


class _Recent:
    """Send times within the last period of one key (a sliding window), plus a pause imposed."""

    __slots__ = ("window", "times", "blocked_until")

    def __init__(self, window: Sliding):
        self.window = window
        self.times: deque[float] = deque()
        self.blocked_until = 0.0

    def wait(self, now: float, slack: float, ahead: int = 0) -> float:
        if self.window.slack is not None:
            slack = self.window.slack
        horizon = self.window.period + slack
        while self.times and self.times[0] <= now - horizon:
            self.times.popleft()
        wait = max(0.0, self.blocked_until - now)
        used = len(self.times) + ahead
        if used >= self.window.limit:
            index = used - self.window.limit
            if index < len(self.times):
                wait = max(wait, self.times[index] + horizon - now)
            else:  # beyond what has been sent: assume the steady rate
                last = self.times[-1] if self.times else now
                wait = max(wait, last + horizon - now + (index - len(self.times) + 1) / self.window.rate)
        return wait

    def take(self, now: float, slack: float = 0.0) -> None:
        self.times.append(now)

    def idle_since(self, now: float) -> bool:
        return not self.times or self.times[-1] < now - self.window.period - 1


class _All:
    """Several limits on one key: a send waits for the strictest."""

    __slots__ = ("parts",)

    def __init__(self, parts: list):
        self.parts = parts

    @property
    def blocked_until(self) -> float:
        return self.parts[0].blocked_until

    @blocked_until.setter
    def blocked_until(self, value: float) -> None:
        self.parts[0].blocked_until = value

    def wait(self, now: float, slack: float, ahead: int = 0) -> float:
        return max(p.wait(now, slack, ahead) for p in self.parts)

    def take(self, now: float, slack: float = 0.0) -> None:
        for p in self.parts:
            p.take(now, slack)

    def idle_since(self, now: float) -> bool:
        return all(p.idle_since(now) for p in self.parts)


class _Tokens:
    """A token bucket's level, plus a pause imposed by the platform."""

    __slots__ = ("bucket", "level", "updated", "blocked_until")

    def __init__(self, bucket: Bucket, now: float):
        self.bucket = bucket
        self.level = float(bucket.burst)
        self.updated = now
        self.blocked_until = 0.0

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(float(self.bucket.burst), self.level + (now - self.updated) * self.bucket.rate)
            self.updated = now

    def wait(self, now: float, slack: float, ahead: int = 0) -> float:
        self._refill(now)
        reserve = min(self.bucket.rate * slack, self.bucket.burst - 1.0)
        need = 1 + reserve + ahead
        wait = max(0.0, self.blocked_until - now)
        if self.level < need:
            wait = max(wait, (need - self.level) / self.bucket.rate)
        return wait

    def take(self, now: float, slack: float = 0.0) -> None:
        self._refill(now)
        self.level -= 1

    def idle_since(self, now: float) -> bool:
        self._refill(now)
        return self.level >= self.bucket.burst


class Pacer:
    """Decides when the next message to a chat may go, given what was sent recently."""

    def __init__(self, limits: RateLimits | None, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.clock = clock
        self._slots: dict[Key, _Slots | _Recent | _Tokens | _All] = {}
        self._windows: dict[Key, Limit] = {}  # learnt per-chat limits that override the defaults
        self._direct: dict[Key, bool] = {}
        self._swept = clock()

    def keys(self, chat: str, direct: bool = False) -> tuple[Key, ...]:
        if self.limits is None:
            return ()
        keys: list[Key] = []
        if self.limits.overall is not None:
            keys.append(OVERALL)
        if self.limits.chat_window(chat, direct) is not None or ("chat", chat) in self._windows:
            keys.append(("chat", chat))
        return tuple(keys)

    def known_chats(self) -> list[tuple[str, bool]]:
        """Chats with recent sends (and whether they are direct), for finding the full ones."""
        return [(key[1], direct) for key, direct in self._direct.items() if key in self._slots]

    def _slots_for(self, key: Key, direct: bool = False) -> _Slots | _Recent | _Tokens | _All:
        slots = self._slots.get(key)
        if slots is None:
            assert self.limits is not None
            if key == OVERALL:
                limit = self.limits.overall
            else:
                limit = self._windows.get(key) or self.limits.chat_window(key[1], direct)
            slots = self._state(limit)
            self._slots[key] = slots
            if key != OVERALL:
                self._direct[key] = direct
        return slots

    def _state(self, limit: Limit):
        if isinstance(limit, tuple):
            return _All([self._state(part) for part in limit])
        if isinstance(limit, Window):
            return _Slots(limit)
        if isinstance(limit, Sliding):
            return _Recent(limit)
        return _Tokens(limit, self.clock())

    def wait(self, keys: tuple[Key, ...], *, direct: bool = False, ahead: int = 0,
             now: float | None = None) -> float:
        """Seconds until a send on all ``keys`` is allowed (0: now). ``ahead`` applies to chat keys."""
        if not keys:
            return 0.0
        now = self.clock() if now is None else now
        slack = self.limits.slack if self.limits else 0.0
        return max(self._slots_for(k, direct).wait(now, slack, ahead if k != OVERALL else 0) for k in keys)

    def take(self, keys: tuple[Key, ...], *, direct: bool = False, now: float | None = None) -> None:
        """Record a send on ``keys`` (call it when the request leaves)."""
        now = self.clock() if now is None else now
        for key in keys:
            self._slots_for(key, direct).take(now, self.limits.slack if self.limits else 0.0)
        if now - self._swept > 60:
            self._sweep(now)

    def block(self, key: Key, seconds: float, *, direct: bool = False) -> None:
        """The platform asked to wait (a 429's ``retry_after``, or a bucket reported empty)."""
        if self.limits is None:
            return
        slots = self._slots_for(key, direct)
        slots.blocked_until = max(slots.blocked_until, self.clock() + seconds)

    def settle(self, chat: str, taken: float) -> None:
        """A send taken at ``taken`` got its answer: if it opened its chat's fixed window, the platform
        opened its own when the request arrived, somewhere before now; start ours now, so it never
        ends before the platform's (without headers to tell the platform's exact reset)."""
        slots = self._slots.get(("chat", chat))
        if isinstance(slots, _Slots) and slots.start == taken:
            slots.start = self.clock()

    def observe(self, chat: str, *, limit: int | None, remaining: int | None, reset_after: float | None,
                direct: bool = False) -> None:
        """A bucket as the platform reported it in response headers: follow it when it is stricter."""
        if self.limits is None:
            return
        key: Key = ("chat", chat)
        default = self.limits.chat_window(chat, direct)
        if limit and (default is None or limit < default.burst):
            period = default.burst / default.rate if default else max(reset_after or 1.0, 1.0)
            self._windows[key] = Window(limit, period)
            self._slots.pop(key, None)
        slots = self._slots.get(key)
        if isinstance(slots, _Slots) and remaining is not None and reset_after is not None:
            # The platform's window ends in reset_after: align ours with it (it opened when the
            # platform saw the first request, which may be later than we sent it).
            now = self.clock()
            start = now + reset_after - slots.window.period
            if slots.start is None or start > slots.start:
                slots.start = start
            slots.count = max(slots.count, slots.window.limit - remaining)
        if remaining == 0 and reset_after:
            self.block(key, reset_after + (self.limits.slack if self.limits else 0.0), direct=direct)

    def _sweep(self, now: float) -> None:
        self._swept = now
        for key in [k for k, s in self._slots.items()
                    if k != OVERALL and s.blocked_until < now and s.idle_since(now)]:
            del self._slots[key]
            self._direct.pop(key, None)


def theoretical_seconds(counts: dict[str, int], limits: RateLimits, kinds: dict[str, bool] | None = None) -> float:
    """The least time any sender could take to send ``counts[chat]`` messages to each chat within
    ``limits`` (starting with empty windows): the largest of the overall bound and each chat's bound.
    ``kinds`` gives ``direct`` per chat (default False)."""
    kinds = kinds or {}

    def bound(n: int, limit: Limit | None) -> float:
        if isinstance(limit, tuple):
            return max(bound(n, part) for part in limit)
        if limit is None or n <= limit.burst:
            return 0.0
        return (n - limit.burst) / limit.rate

    total = sum(counts.values())
    best = bound(total, limits.overall)
    for chat, n in counts.items():
        best = max(best, bound(n, limits.chat_window(chat, kinds.get(chat, False))))
    return best
