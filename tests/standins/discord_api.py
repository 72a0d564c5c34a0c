"""Local stand-in of the Discord REST API and gateway, for tests and benchmarks.

A real ``discord.Client`` / ``commands.Bot`` talks to it over loopback: the stand-in
serves REST under ``/api/v10`` and a JSON websocket gateway under ``/gateway`` on
127.0.0.1, keeps a small model of guilds (channels, threads, roles, members), records
everything the bot sends, and lets a test push gateway events (messages, slash
commands, button presses, modal submits, context menus) as if users acted.

It behaves like the real service where a bot can tell the difference: JSON answers
carry ``Content-Type: application/json`` exactly, bodyless answers carry none,
per-channel rate-limit buckets with ``X-RateLimit-*`` headers, a global limit, 429
answers with ``Via`` (discord.py treats a 429 without it as a Cloudflare ban),
interaction answers due within 3 s and acknowledged once, the message content
intent, ``allowed_mentions`` and ``enforce_nonce``.

Typical use::

    async with DiscordStandIn() as api:          # starts and points discord.py at it
        async with api.running(bot):            # logs in, waits for on_ready
            await api.push_message(api.channel("besoins"), api.user("alice"), "hello")
            [reply] = await api.wait_for(channel_id=api.channel("besoins").id)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import math
import random
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import yarl
from aiohttp import WSMsgType, web

__all__ = [
    "Channel",
    "ChannelType",
    "DiscordStandIn",
    "Guild",
    "Intent",
    "InteractionResponse",
    "Member",
    "Perm",
    "RateLimits",
    "Reaction",
    "Role",
    "SentMessage",
    "User",
    "new_snowflake",
    "point_discord_at",
]

_log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1420070400000
_snowflake_counter = itertools.count(1)


def new_snowflake() -> int:
    """Return a fresh snowflake id whose timestamp is now (so ``created_at`` is sane)."""
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_snowflake_counter) & 0x3FFFFF)


def _iso_now() -> str:
    return datetime.now(UTC).isoformat()


class Perm:
    """Permission bits used by the model (values from the Discord documentation)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 51) - 1

    EVERYONE_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | EMBED_LINKS
        | ATTACH_FILES
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS
    )
    BOT_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | EMBED_LINKS
        | ATTACH_FILES
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | CREATE_PRIVATE_THREADS
        | SEND_MESSAGES_IN_THREADS
        | MANAGE_THREADS
        | MANAGE_MESSAGES
    )


class Intent:
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15


class ChannelType:
    TEXT = 0
    DM = 1
    VOICE = 2
    CATEGORY = 4
    NEWS = 5
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    FORUM = 15
    THREADS = (10, 11, 12)


# --------------------------------------------------------------------------- model


@dataclass(eq=False)
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name if self.global_name is not None else self.username,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass(eq=False)
class Role:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    mentionable: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }


@dataclass(eq=False)
class Channel:
    """A guild channel, a thread (type 11/12, ``parent_id`` set) or a DM (type 1)."""

    id: int
    name: str
    type: int = ChannelType.TEXT
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    #: raw overwrites: ``{"id": role_or_user_id, "type": 0 role | 1 member, "allow": int, "deny": int}``
    overwrites: list[dict[str, int]] = field(default_factory=list)
    owner_id: int | None = None
    recipients: list[User] = field(default_factory=list)
    archived: bool = False
    locked: bool = False

    @property
    def is_thread(self) -> bool:
        return self.type in ChannelType.THREADS

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def payload(self) -> dict[str, Any]:
        if self.type == ChannelType.DM:
            return {
                "id": str(self.id),
                "type": self.type,
                "last_message_id": None,
                "flags": 0,
                "recipients": [u.payload() for u in self.recipients],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
            "rate_limit_per_user": 0,
            "last_message_id": None,
        }
        if self.is_thread:
            data.update(
                owner_id=str(self.owner_id),
                message_count=0,
                member_count=1,
                total_message_sent=0,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": _iso_now(),
                    "locked": self.locked,
                    "invitable": True,
                },
            )
        else:
            data.update(
                position=self.position,
                topic=self.topic,
                nsfw=False,
                permission_overwrites=[
                    {"id": str(o["id"]), "type": o["type"], "allow": str(o["allow"]), "deny": str(o["deny"])}
                    for o in self.overwrites
                ],
            )
        return data


@dataclass(eq=False)
class Member:
    user: User
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=_iso_now)

    @property
    def id(self) -> int:
        return self.user.id

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nick": self.nick,
            "avatar": None,
            "roles": [str(r) for r in self.roles],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


class Guild:
    """A guild: roles (``@everyone`` has the guild id), channels, threads and members."""

    def __init__(
        self,
        name: str = "Relais Test",
        *,
        id: int | None = None,
        locale: str = "fr",
        everyone_permissions: int = Perm.EVERYONE_DEFAULT,
    ) -> None:
        self.id = id or new_snowflake()
        self.name = name
        self.locale = locale
        self.owner_id: int | None = None
        self.roles: dict[int, Role] = {self.id: Role(self.id, "@everyone", everyone_permissions, 0)}
        self.channels: dict[int, Channel] = {}
        self.members: dict[int, Member] = {}

    # builders -------------------------------------------------------------------
    def add_role(
        self, name: str, permissions: int = 0, *, mentionable: bool = False, managed: bool = False
    ) -> Role:
        role = Role(new_snowflake(), name, permissions, len(self.roles), managed, mentionable)
        self.roles[role.id] = role
        return role

    def add_category(self, name: str) -> Channel:
        return self._add_channel(name, ChannelType.CATEGORY, None)

    def add_text_channel(
        self,
        name: str,
        *,
        parent: Channel | None = None,
        topic: str | None = None,
        overwrites: list[dict[str, int]] | None = None,
    ) -> Channel:
        channel = self._add_channel(name, ChannelType.TEXT, parent.id if parent else None)
        channel.topic = topic
        channel.overwrites = list(overwrites or [])
        return channel

    def add_thread(
        self, parent: Channel, name: str, *, private: bool = False, owner_id: int | None = None
    ) -> Channel:
        kind = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
        thread = self._add_channel(name, kind, parent.id)
        thread.owner_id = owner_id or self.owner_id or parent.id
        return thread

    def add_member(
        self, user: User, roles: list[Role] | tuple[Role, ...] = (), *, nick: str | None = None
    ) -> Member:
        member = Member(user, [r.id for r in roles], nick)
        self.members[user.id] = member
        return member

    def _add_channel(self, name: str, kind: int, parent_id: int | None, id: int | None = None) -> Channel:
        position = sum(1 for c in self.channels.values() if not c.is_thread)
        channel = Channel(id or new_snowflake(), name, kind, self.id, parent_id, position)
        self.channels[channel.id] = channel
        return channel

    def set_overwrite(
        self, channel: Channel, target: Role | Member | User, *, allow: int = 0, deny: int = 0
    ) -> None:
        """Set the permission overwrite of a role or member on a channel."""
        kind = 0 if isinstance(target, Role) else 1
        channel.overwrites = [o for o in channel.overwrites if (o["type"], o["id"]) != (kind, target.id)]
        channel.overwrites.append({"id": target.id, "type": kind, "allow": allow, "deny": deny})

    # look-ups -------------------------------------------------------------------
    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    @property
    def threads(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.is_thread]

    def channel(self, name_or_id: str | int) -> Channel:
        for c in self.channels.values():
            if c.id == name_or_id or c.name == name_or_id:
                return c
        raise KeyError(f"no channel {name_or_id!r} in guild {self.name!r}")

    def role(self, name_or_id: str | int) -> Role:
        for r in self.roles.values():
            if r.id == name_or_id or r.name == name_or_id:
                return r
        raise KeyError(f"no role {name_or_id!r} in guild {self.name!r}")

    def member(self, user: User | int | str) -> Member:
        for m in self.members.values():
            if m.user is user or m.id == user or m.user.username == user:
                return m
        raise KeyError(f"no member {user!r} in guild {self.name!r}")

    def permissions_for(self, user_id: int, channel_id: int | None = None) -> int:
        """Compute permissions the way Discord does (owner, admin, overwrites)."""
        if user_id == self.owner_id:
            return Perm.ALL
        member = self.members.get(user_id)
        role_ids = list(member.roles) if member else []
        base = self.everyone.permissions
        for rid in role_ids:
            if rid in self.roles:
                base |= self.roles[rid].permissions
        if base & Perm.ADMINISTRATOR:
            return Perm.ALL
        if channel_id is None:
            return base
        channel = self.channels[channel_id]
        if channel.is_thread and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]
        overwrites = {(o["type"], o["id"]): o for o in channel.overwrites}
        everyone = overwrites.get((0, self.id))
        if everyone:
            base = (base & ~everyone["deny"]) | everyone["allow"]
        allow = deny = 0
        for rid in role_ids:
            o = overwrites.get((0, rid))
            if o:
                allow |= o["allow"]
                deny |= o["deny"]
        base = (base & ~deny) | allow
        own = overwrites.get((1, user_id))
        if own:
            base = (base & ~own["deny"]) | own["allow"]
        if not base & Perm.VIEW_CHANNEL:
            return 0
        return base

    def create_payload(self, *, with_members: bool, bot_id: int) -> dict[str, Any]:
        """The GUILD_CREATE payload (all members only with the GUILD_MEMBERS intent)."""
        members = list(self.members.values()) if with_members else [self.members[bot_id]]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": str(self.owner_id) if self.owner_id else None,
            "preferred_locale": self.locale,
            "features": [],
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "system_channel_flags": 0,
            "afk_timeout": 300,
            "unavailable": False,
            "large": False,
            "joined_at": _iso_now(),
            "member_count": len(self.members),
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.payload() for c in self.channels.values() if not c.is_thread],
            "threads": [c.payload() for c in self.threads],
            "members": [m.payload() for m in members],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    @classmethod
    def sample(cls, name: str = "Relais Test") -> Guild:
        """A small French community: 3 users, 2 roles, 5 text channels and a thread.

        Users ``alice`` (caregiver), ``bob`` (maker, role ``Makers``), ``claire``
        (role ``Coordination``, guild owner); channels ``général``, ``besoins``,
        ``offres``, ``annonces`` (members cannot post; the stand-in's bot role may),
        ``coordination``
        (only ``Coordination`` sees it), under category ``Relais``; thread ``suivi``
        in ``besoins``.
        """
        guild = cls(name)
        coordination = guild.add_role(
            "Coordination",
            Perm.MANAGE_GUILD | Perm.MANAGE_MESSAGES | Perm.MANAGE_THREADS | Perm.MENTION_EVERYONE,
            mentionable=True,
        )
        makers = guild.add_role("Makers", 0, mentionable=True)
        alice = User(new_snowflake(), "alice", global_name="Alice Soignante")
        bob = User(new_snowflake(), "bob", global_name="Bob Maker")
        claire = User(new_snowflake(), "claire", global_name="Claire Coordination")
        guild.add_member(alice)
        guild.add_member(bob, [makers])
        guild.add_member(claire, [coordination])
        guild.owner_id = claire.id
        category = guild.add_category("Relais")
        guild.add_text_channel("général", parent=category)
        besoins = guild.add_text_channel("besoins", parent=category)
        guild.add_text_channel("offres", parent=category)
        guild.add_text_channel(
            "annonces",
            parent=category,
            overwrites=[{"id": guild.id, "type": 0, "allow": 0, "deny": Perm.SEND_MESSAGES}],
        )
        guild.add_text_channel(
            "coordination",
            parent=category,
            overwrites=[
                {"id": guild.id, "type": 0, "allow": 0, "deny": Perm.VIEW_CHANNEL},
                {"id": coordination.id, "type": 0, "allow": Perm.VIEW_CHANNEL, "deny": 0},
            ],
        )
        guild.add_thread(besoins, "suivi", owner_id=alice.id)
        return guild


# --------------------------------------------------------------------------- records

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)")


@dataclass(eq=False)
class SentMessage:
    """A message the bot created (channel send, interaction response or follow-up)."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    flags: int = 0
    #: ``{"id", "filename", "size", "content": bytes, ...}``
    attachments: list[dict[str, Any]] = field(default_factory=list)
    #: "channel" (POST /channels/{id}/messages), "interaction" (initial response) or "followup"
    source: str = "channel"
    interaction_id: int | None = None
    nonce: str | int | None = None
    tts: bool = False
    #: the raw request payload that created the message
    payload: dict[str, Any] = field(default_factory=dict)
    #: raw payloads of later edits, oldest first
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    #: a deferred interaction response not yet filled in
    loading: bool = False
    referenced_message: dict[str, Any] | None = None
    timestamp: str = field(default_factory=_iso_now)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    @property
    def reply_to(self) -> int | None:
        ref = self.message_reference or {}
        return int(ref["message_id"]) if ref.get("message_id") else None

    def _parse_allowed(self) -> tuple[set[str], set[int], set[int], bool]:
        am = self.allowed_mentions
        if am is None:
            return {"users", "roles", "everyone"}, set(), set(), True
        return (
            set(am.get("parse", [])),
            {int(u) for u in am.get("users", [])},
            {int(r) for r in am.get("roles", [])},
            bool(am.get("replied_user", False)),
        )

    @property
    def pinged_user_ids(self) -> set[int]:
        """Users this message notifies, given its content and ``allowed_mentions``."""
        parse, users, _, replied = self._parse_allowed()
        found = {int(x) for x in _USER_MENTION.findall(self.content or "")}
        pinged = found if "users" in parse else found & users
        if replied and self.referenced_message:
            pinged.add(int(self.referenced_message["author"]["id"]))
        return pinged

    @property
    def pinged_role_ids(self) -> set[int]:
        parse, _, roles, _ = self._parse_allowed()
        found = {int(x) for x in _ROLE_MENTION.findall(self.content or "")}
        return found if "roles" in parse else found & roles

    @property
    def pinged_everyone(self) -> bool:
        parse, _, _, _ = self._parse_allowed()
        return "everyone" in parse and bool(_EVERYONE.search(self.content or ""))

    @property
    def pings_anyone(self) -> bool:
        return bool(self.pinged_user_ids or self.pinged_role_ids or self.pinged_everyone)

    def custom_ids(self) -> list[str]:
        """All component custom ids on the message (buttons, selects), in order."""
        found: list[str] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for c in items:
                if "custom_id" in c:
                    found.append(c["custom_id"])
                walk(c.get("components", []))
                if isinstance(c.get("component"), dict):
                    walk([c["component"]])
                if isinstance(c.get("accessory"), dict):
                    walk([c["accessory"]])

        walk(self.components)
        return found


@dataclass(eq=False)
class InteractionResponse:
    """One answer to ``POST /interactions/{id}/{token}/callback``."""

    interaction_id: int
    type: int
    data: dict[str, Any] | None
    message: SentMessage | None = None


@dataclass(eq=False)
class Reaction:
    channel_id: int
    message_id: int
    emoji: str
    removed: bool = False


@dataclass
class RateLimits:
    """Rate limits applied by the stand-in (``enabled=False`` switches all off)."""

    enabled: bool = True
    message_limit: int = 5
    message_period: float = 5.0
    edit_limit: int = 5
    edit_period: float = 5.0
    reaction_limit: int = 1
    reaction_period: float = 0.25
    global_limit: int = 50
    global_period: float = 1.0


class _Window:
    """A fixed window opened by its first request, like Discord's route buckets."""

    __slots__ = ("limit", "period", "start", "count")

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self.start: float | None = None
        self.count = 0

    def hit(self, now: float) -> tuple[bool, int, float]:
        """Return (allowed, remaining, reset_after)."""
        if self.start is None or now >= self.start + self.period:
            self.start, self.count = now, 0
        reset_after = self.start + self.period - now
        if self.count >= self.limit:
            return False, 0, reset_after
        self.count += 1
        return True, self.limit - self.count, reset_after


@dataclass(eq=False)
class _Interaction:
    payload: dict[str, Any]
    created: float
    response_type: int | None = None
    original: SentMessage | None = None

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])

    @property
    def guild_id(self) -> int | None:
        g = self.payload.get("guild_id")
        return int(g) if g else None


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        retry_after: float | None = None,
        is_global: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}
        self.retry_after, self.is_global = retry_after, is_global


@dataclass(eq=False)
class _Session:
    ws: web.WebSocketResponse
    session_id: str | None = None
    intents: int = 0
    seq: int = 0
    identified: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    return web.Response(status=status, body=json.dumps(data).encode("utf-8"), headers=hdrs)


def _no_content(headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=204, headers=headers or {})


def _bucket_hash(kind: str) -> str:
    return hashlib.sha1(kind.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- server


class DiscordStandIn:
    """An aiohttp server on 127.0.0.1 that plays Discord for one bot.

    ``guilds``: the guild models (default: one :meth:`Guild.sample`); the bot user is
    added to each as a member with a managed role ``Relais`` (``bot_permissions``).
    """

    def __init__(
        self,
        guilds: list[Guild] | None = None,
        *,
        token: str = "standin-token",
        bot_name: str = "Relais",
        application_id: int | None = None,
        bot_permissions: int = Perm.BOT_DEFAULT,
        rate_limits: RateLimits | None = None,
        heartbeat_interval_ms: int = 41250,
        interaction_deadline: float | None = 3.0,
        echo_own_messages: bool = True,
        patch_library: bool = True,
        seed: int = 0,
    ) -> None:
        self.token = token
        self.application_id = application_id or new_snowflake()
        self.bot_user = User(self.application_id, bot_name, bot=True)
        self.guilds: list[Guild] = guilds if guilds is not None else [Guild.sample()]
        for guild in self.guilds:
            bot_role = guild.add_role(bot_name, bot_permissions, managed=True)
            guild.add_member(self.bot_user, [bot_role])
            if guilds is None:
                # The sample's announcement channel is read-only for members, not for the bot.
                guild.set_overwrite(guild.channel("annonces"), bot_role, allow=Perm.SEND_MESSAGES)
        self.rate_limits = rate_limits or RateLimits()
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.echo_own_messages = echo_own_messages
        self.patch_library = patch_library
        self._random = random.Random(seed)

        self.dm_channels: dict[int, Channel] = {}
        # records ------------------------------------------------------------
        #: every message the bot created, in creation order (edits update them in place)
        self.sent: list[SentMessage] = []
        #: every message known by id: pushed user messages (payload dicts) and bot ones
        self.messages: dict[int, dict[str, Any]] = {}
        self.interaction_responses: list[InteractionResponse] = []
        self.interactions: dict[int, dict[str, Any]] = {}
        self.reactions: list[Reaction] = []
        self.threads_created: list[Channel] = []
        #: current synced commands: key None = global, else guild id
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        #: history of (guild_id or None, request payload) for each bulk PUT
        self.command_syncs: list[tuple[int | None, list[dict[str, Any]]]] = []
        self.identify_payloads: list[dict[str, Any]] = []
        self.presence_updates: list[dict[str, Any]] = []
        #: (method, path, status) of every REST request
        self.requests: list[tuple[str, str, int]] = []
        self.unhandled: list[tuple[str, str]] = []
        self.rate_limited_count = 0
        self.global_rate_limited_count = 0
        self.invalid_request_count = 0
        self.server_error_count = 0

        # faults -------------------------------------------------------------
        self._fail_next: list[tuple[int | None, int]] = []  # (channel or None, status)
        self._fail_fraction = 0.0
        self._forced_429: list[tuple[int | None, float, bool]] = []
        self._forbidden: dict[int, tuple[int, int, str]] = {}
        self._dm_blocked: set[int] = set()

        self._windows: dict[tuple[str, int], _Window] = {}
        self._global: deque[float] = deque()
        self._interactions: dict[int, _Interaction] = {}
        self._interactions_by_token: dict[str, _Interaction] = {}
        self._nonces: dict[str, SentMessage] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._sessions: list[_Session] = []
        self._session_store: dict[str, _Session] = {}
        self._waiters: set[asyncio.Future[None]] = set()
        self._runner: web.AppRunner | None = None
        self._restore: Callable[[], None] | None = None
        self.port = 0

    # lifecycle ----------------------------------------------------------------
    async def start(self) -> DiscordStandIn:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        app.router.add_route("*", "/api/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if self.patch_library:
            self._restore = _patch(self.api_base, self.gateway_url)
        return self

    async def stop(self) -> None:
        for session in list(self._sessions):
            with contextlib.suppress(Exception):
                await session.ws.close(code=1001)
        self._sessions.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._restore is not None:
            self._restore()
            self._restore = None

    async def __aenter__(self) -> DiscordStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @contextlib.asynccontextmanager
    async def running(self, client: Any, *, timeout: float = 10.0) -> AsyncIterator[Any]:
        """Start ``client`` (a discord.Client) against the stand-in, wait until ready, close after."""
        if not self.patch_library and self._restore is None:
            self._restore = _patch(self.api_base, self.gateway_url)
        task = asyncio.create_task(client.start(self.token), name="standin-discord-client")
        try:
            ready = asyncio.create_task(client.wait_until_ready())
            done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                ready.cancel()
                if task in done:
                    task.result()  # raise the start-up error
                raise TimeoutError("discord client did not become ready")
            yield client
        finally:
            await client.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=5)

    # model look-ups -------------------------------------------------------------
    @property
    def guild(self) -> Guild:
        return self.guilds[0]

    def channel(self, name_or_id: str | int) -> Channel:
        for guild in self.guilds:
            with contextlib.suppress(KeyError):
                return guild.channel(name_or_id)
        for ch in self.dm_channels.values():
            if ch.id == name_or_id:
                return ch
        raise KeyError(f"no channel {name_or_id!r}")

    def role(self, name: str | int) -> Role:
        for guild in self.guilds:
            with contextlib.suppress(KeyError):
                return guild.role(name)
        raise KeyError(f"no role {name!r}")

    def user(self, name_or_id: User | Member | str | int) -> User:
        if isinstance(name_or_id, User):
            return name_or_id
        if isinstance(name_or_id, Member):
            return name_or_id.user
        if name_or_id in (self.bot_user.id, self.bot_user.username):
            return self.bot_user
        for guild in self.guilds:
            for m in guild.members.values():
                if m.id == name_or_id or m.user.username == name_or_id:
                    return m.user
        for ch in self.dm_channels.values():
            for u in ch.recipients:
                if u.id == name_or_id or u.username == name_or_id:
                    return u
        raise KeyError(f"no user {name_or_id!r}")

    def add_user(self, username: str, *, guild: Guild | None = None, roles: tuple[Role, ...] = ()) -> User:
        """Create a user, member of ``guild`` (default: first guild)."""
        user = User(new_snowflake(), username)
        (guild or self.guild).add_member(user, roles)
        return user

    def dm_channel(self, user: User | str | int) -> Channel:
        """The DM channel between the bot and ``user`` (created on first use)."""
        u = self.user(user) if not isinstance(user, User) else user
        if u.id not in self.dm_channels:
            self.dm_channels[u.id] = Channel(new_snowflake(), "", ChannelType.DM, recipients=[u])
        return self.dm_channels[u.id]

    def _guild_of(self, channel: Channel) -> Guild | None:
        for guild in self.guilds:
            if channel.guild_id == guild.id:
                return guild
        return None

    def _channel_by_id(self, channel_id: int) -> Channel:
        for guild in self.guilds:
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        for ch in self.dm_channels.values():
            if ch.id == channel_id:
                return ch
        raise _ApiError(404, 10003, "Unknown Channel")

    # record queries ---------------------------------------------------------------
    def messages_in(
        self, channel: Channel | int | str, *, include_ephemeral: bool = True, include_deleted: bool = False
    ) -> list[SentMessage]:
        """Messages the bot created in a channel (filled deferred responses included)."""
        cid = channel.id if isinstance(channel, Channel) else self.channel(channel).id
        return [
            m
            for m in self.sent
            if m.channel_id == cid
            and not m.loading
            and (include_deleted or not m.deleted)
            and (include_ephemeral or not m.ephemeral)
        ]

    def responses_to(self, interaction: dict[str, Any] | int) -> list[InteractionResponse]:
        iid = int(interaction["id"]) if isinstance(interaction, dict) else int(interaction)
        return [r for r in self.interaction_responses if r.interaction_id == iid]

    def messages_for(self, interaction: dict[str, Any] | int) -> list[SentMessage]:
        """Visible messages created for an interaction: its answer and follow-ups."""
        iid = int(interaction["id"]) if isinstance(interaction, dict) else int(interaction)
        return [m for m in self.sent if m.interaction_id == iid and not m.loading and not m.deleted]

    def command_id(self, name: str, *, guild_id: int | None = None, type: int = 1) -> int:
        return self._command_ids[(guild_id, name, type)]

    async def wait_for(
        self,
        predicate: Callable[[], Any] | None = None,
        *,
        channel_id: int | Channel | str | None = None,
        count: int = 1,
        timeout: float = 5.0,
    ) -> Any:
        """Wait until ``predicate()`` is truthy (returns its value), or until ``channel_id``
        holds at least ``count`` bot messages (returns them), or until the bot sent
        ``count`` messages in all (returns them). Raises ``TimeoutError``."""
        if predicate is None:
            if channel_id is not None:
                cid = channel_id

                def predicate() -> Any:
                    msgs = self.messages_in(cid)
                    return msgs if len(msgs) >= count else None

            else:

                def predicate() -> Any:
                    msgs = [m for m in self.sent if not m.loading and not m.deleted]
                    return msgs if len(msgs) >= count else None

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s; bot sent: {self.describe_sent()}")
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.add(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(fut)

    async def wait_for_response(
        self, interaction: dict[str, Any] | int, *, timeout: float = 5.0
    ) -> InteractionResponse:
        """Wait for the first response to an interaction."""
        return (await self.wait_for(lambda: self.responses_to(interaction), timeout=timeout))[0]

    def describe_sent(self) -> str:
        return (
            "; ".join(f"#{m.channel_id} {m.source}: {m.content[:60]!r}" for m in self.sent[-10:]) or "nothing"
        )

    def _notify(self) -> None:
        for fut in list(self._waiters):
            if not fut.done():
                fut.set_result(None)

    # fault injection --------------------------------------------------------------
    def fail_next_messages(self, n: int = 1, *, status: int = 500, channel_id: int | None = None) -> None:
        """The next ``n`` message creates (in ``channel_id`` or any) answer ``status``."""
        self._fail_next.extend([(channel_id, status)] * n)

    def fail_fraction(self, fraction: float, *, seed: int | None = None) -> None:
        """A seeded fraction of message creates answers 500 (0 switches it off)."""
        self._fail_fraction = fraction
        if seed is not None:
            self._random.seed(seed)

    def inject_rate_limit(
        self,
        *,
        channel_id: int | None = None,
        retry_after: float = 0.2,
        times: int = 1,
        is_global: bool = False,
    ) -> None:
        """The next ``times`` message creates (in ``channel_id`` or any) answer 429."""
        self._forced_429.extend([(channel_id, retry_after, is_global)] * times)

    def forbid_channel(self, channel_id: int) -> None:
        """Every request on the channel answers 403 Missing Access (50001) from now on."""
        self._forbidden[channel_id] = (403, 50001, "Missing Access")

    def remove_channel(self, channel_id: int) -> None:
        """Every request on the channel answers 404 Unknown Channel (10003) from now on."""
        self._forbidden[channel_id] = (404, 10003, "Unknown Channel")

    def block_dms(self, user: User | str | int) -> None:
        """Messages to this user's DM channel answer 403 (50007), as with closed DMs."""
        self._dm_blocked.add(self.user(user).id)

    def clear_faults(self) -> None:
        self._fail_next.clear()
        self._fail_fraction = 0.0
        self._forced_429.clear()
        self._forbidden.clear()
        self._dm_blocked.clear()

    # gateway ------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        session = _Session(ws)
        self._sessions.append(session)
        try:
            await self._send(session, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_frame(session, frame)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            if session in self._sessions:
                self._sessions.remove(session)
        return ws

    async def _send(self, session: _Session, frame: dict[str, Any]) -> None:
        frame.setdefault("s", None)
        frame.setdefault("t", None)
        async with session.lock:
            if frame["op"] == 0:
                session.seq += 1
                frame["s"] = session.seq
            if not session.ws.closed:
                await session.ws.send_str(json.dumps(frame))

    async def _dispatch_to(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        await self._send(session, {"op": 0, "t": event, "d": data})

    async def _on_frame(self, session: _Session, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            await self._send(session, {"op": 11})
        elif op == 2:
            await self._identify(session, data or {})
        elif op == 6:
            await self._resume(session, data or {})
        elif op == 3:
            self.presence_updates.append(data or {})
        elif op == 8:
            await self._request_members(session, data or {})

    async def _identify(self, session: _Session, data: dict[str, Any]) -> None:
        self.identify_payloads.append(data)
        if data.get("token") != self.token:
            await session.ws.close(code=4004, message=b"Authentication failed.")
            return
        session.intents = int(data.get("intents", 0))
        session.session_id = secrets.token_hex(16)
        session.identified = True
        self._session_store[session.session_id] = session
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**self.bot_user.payload(), "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in self.guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._dispatch_to(session, "READY", ready)
        with_members = bool(session.intents & Intent.GUILD_MEMBERS)
        for guild in self.guilds:
            await self._dispatch_to(
                session,
                "GUILD_CREATE",
                guild.create_payload(with_members=with_members, bot_id=self.bot_user.id),
            )
        self._notify()

    async def _resume(self, session: _Session, data: dict[str, Any]) -> None:
        old = self._session_store.get(str(data.get("session_id")))
        if old is None or data.get("token") != self.token:
            await self._send(session, {"op": 9, "d": False})
            return
        session.session_id, session.intents, session.seq = old.session_id, old.intents, old.seq
        session.identified = True
        self._session_store[session.session_id] = session  # type: ignore[index]
        await self._dispatch_to(session, "RESUMED", {})
        self._notify()

    async def _request_members(self, session: _Session, data: dict[str, Any]) -> None:
        guild_id = int(data.get("guild_id", 0) or 0)
        for guild in self.guilds:
            if guild.id == guild_id:
                members = list(guild.members.values())
                if data.get("user_ids"):
                    wanted = {int(u) for u in data["user_ids"]}
                    members = [m for m in members if m.id in wanted]
                chunk: dict[str, Any] = {
                    "guild_id": str(guild.id),
                    "members": [m.payload() for m in members],
                    "chunk_index": 0,
                    "chunk_count": 1,
                    "not_found": [],
                }
                if data.get("nonce"):
                    chunk["nonce"] = data["nonce"]
                await self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    @property
    def connected(self) -> bool:
        return any(s.identified and not s.ws.closed for s in self._sessions)

    async def wait_until_connected(self, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: self.connected, timeout=timeout)

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0) -> int:
        """Send a DISPATCH to every identified session that has ``intent``; return how many got it."""
        sessions = [s for s in self._sessions if s.identified and not s.ws.closed]
        if not sessions:
            raise RuntimeError("no gateway session is connected to the stand-in")
        delivered = 0
        for session in sessions:
            if intent and not session.intents & intent:
                continue
            await self._dispatch_to(session, event, data)
            delivered += 1
        return delivered

    async def send_reconnect(self) -> None:
        """Ask every client to reconnect (op 7); discord.py resumes its session."""
        for session in list(self._sessions):
            await self._send(session, {"op": 7, "d": None})

    # push helpers (what users do) --------------------------------------------------
    async def push_message(
        self,
        channel: Channel | int | str,
        author: User | Member | str | int,
        content: str,
        *,
        message_id: int | None = None,
        mentions: list[User | str | int] | None = None,
        mention_roles: list[Role | int] | None = None,
        mention_everyone: bool | None = None,
        embeds: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        reply_to: int | dict[str, Any] | SentMessage | None = None,
    ) -> dict[str, Any]:
        """Dispatch MESSAGE_CREATE as if ``author`` wrote ``content`` in ``channel``.

        Mentions are parsed from the content unless given. ``message_id`` may repeat
        an earlier one (de-duplication tests). Returns the full message payload.
        """
        ch = channel if isinstance(channel, Channel) else self.channel(channel)
        user = self.user(author)
        guild = self._guild_of(ch)
        if mentions is None:
            mention_users = [
                self.user(int(x)) for x in _USER_MENTION.findall(content) if self._known_user(int(x))
            ]
        else:
            mention_users = [self.user(u) for u in mentions]
        if mention_roles is None:
            role_ids = [int(x) for x in _ROLE_MENTION.findall(content)]
        else:
            role_ids = [r.id if isinstance(r, Role) else int(r) for r in mention_roles]
        if mention_everyone is None:
            mention_everyone = bool(_EVERYONE.search(content))
        mid = message_id or new_snowflake()
        data: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(ch.id),
            "type": 0 if reply_to is None else 19,
            "author": user.payload(),
            "content": content,
            "timestamp": _iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": mention_everyone,
            "mentions": [self._mention_payload(u, guild) for u in mention_users],
            "mention_roles": [str(r) for r in role_ids],
            "attachments": list(attachments or []),
            "embeds": list(embeds or []),
            "components": [],
            "pinned": False,
            "flags": 0,
        }
        if guild is not None:
            data["guild_id"] = str(guild.id)
            if user.id in guild.members:
                data["member"] = guild.members[user.id].payload(with_user=False)
        if reply_to is not None:
            ref_id = self._message_id_of(reply_to)
            data["message_reference"] = {"type": 0, "message_id": str(ref_id), "channel_id": str(ch.id)}
            if guild is not None:
                data["message_reference"]["guild_id"] = str(guild.id)
            if ref_id in self.messages:
                data["referenced_message"] = self.messages[ref_id]
        self.messages[mid] = data
        await self._dispatch_message_create(
            ch, data, mentions_bot=any(u.id == self.bot_user.id for u in mention_users)
        )
        return data

    def _known_user(self, uid: int) -> bool:
        try:
            self.user(uid)
        except KeyError:
            return False
        return True

    def _mention_payload(self, user: User, guild: Guild | None) -> dict[str, Any]:
        data = user.payload()
        if guild is not None and user.id in guild.members:
            data["member"] = guild.members[user.id].payload(with_user=False)
        return data

    def _message_id_of(self, message: int | dict[str, Any] | SentMessage) -> int:
        if isinstance(message, SentMessage):
            return message.id
        if isinstance(message, dict):
            return int(message["id"])
        return int(message)

    async def _dispatch_message_create(
        self, ch: Channel, data: dict[str, Any], *, mentions_bot: bool
    ) -> None:
        sessions = [s for s in self._sessions if s.identified and not s.ws.closed]
        if not sessions:
            raise RuntimeError("no gateway session is connected to the stand-in")
        is_dm = ch.type == ChannelType.DM
        needed = Intent.DIRECT_MESSAGES if is_dm else Intent.GUILD_MESSAGES
        own = int(data["author"]["id"]) == self.bot_user.id
        for session in sessions:
            if not session.intents & needed:
                continue
            payload = data
            if not (session.intents & Intent.MESSAGE_CONTENT or is_dm or mentions_bot or own):
                payload = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
            await self._dispatch_to(session, "MESSAGE_CREATE", payload)

    async def push_slash_command(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        user: User | Member | str | int = "alice",
        *,
        guild_id: int | None | bool = True,
        channel_id: Channel | int | str | None = None,
        locale: str = "fr",
    ) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE type 2 for a synced chat-input command.

        ``name`` may hold subcommands (``"relais besoin"``). ``options`` maps option
        names to values (Users, Roles, Channels, Members are resolved) or is a raw
        option list. ``guild_id=True`` means the first guild, ``None`` a DM.
        Returns the interaction payload (``id``, ``token``...).
        """
        guild, channel = self._where(guild_id, channel_id, user)
        parts = name.split()
        definition, cmd_guild = self._find_command(parts[0], 1, guild)
        data: dict[str, Any] = {"id": str(definition["id"]), "name": parts[0], "type": 1}
        if cmd_guild is not None:
            data["guild_id"] = str(cmd_guild)
        resolved: dict[str, dict[str, Any]] = {}
        defs = definition.get("options", [])
        for sub in parts[1:]:
            sub_def = next((o for o in defs if o.get("name") == sub), None)
            if sub_def is None:
                raise KeyError(f"no subcommand {sub!r} in {name!r}")
            defs = sub_def.get("options", [])
        if isinstance(options, list):
            leaf = options
        else:
            leaf = [self._option(k, v, defs, guild, resolved) for k, v in (options or {}).items()]
        for sub in reversed(parts[1:]):
            sub_type = 1
            if leaf and all(o.get("type") == 1 for o in leaf):
                sub_type = 2
            leaf = [{"name": sub, "type": sub_type, "options": leaf}]
        if leaf:
            data["options"] = leaf
        if resolved:
            data["resolved"] = resolved
        return await self._push_interaction(2, data, user, guild, channel, locale)

    async def push_autocomplete(
        self,
        name: str,
        options: dict[str, Any],
        focused: str,
        user: User | Member | str | int = "alice",
        *,
        guild_id: int | None | bool = True,
        channel_id: Channel | int | str | None = None,
        locale: str = "fr",
    ) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE type 4 (autocomplete) with ``focused`` option."""
        guild, channel = self._where(guild_id, channel_id, user)
        definition, cmd_guild = self._find_command(name, 1, guild)
        opts = []
        for k, v in options.items():
            opt = {"name": k, "type": self._option_type(k, v, definition.get("options", [])), "value": v}
            if k == focused:
                opt["focused"] = True
            opts.append(opt)
        data: dict[str, Any] = {"id": str(definition["id"]), "name": name, "type": 1, "options": opts}
        if cmd_guild is not None:
            data["guild_id"] = str(cmd_guild)
        return await self._push_interaction(4, data, user, guild, channel, locale)

    async def push_context_menu(
        self,
        name: str,
        target_message: dict[str, Any] | SentMessage | int,
        user: User | Member | str | int = "alice",
        *,
        guild_id: int | None | bool = True,
        channel_id: Channel | int | str | None = None,
        locale: str = "fr",
    ) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE type 2 for a MESSAGE context menu (command type 3)."""
        target = self._message_payload(target_message)
        if channel_id is None:
            channel_id = int(target["channel_id"])
        guild, channel = self._where(guild_id, channel_id, user)
        definition, cmd_guild = self._find_command(name, 3, guild)
        data: dict[str, Any] = {
            "id": str(definition["id"]),
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        if cmd_guild is not None:
            data["guild_id"] = str(cmd_guild)
        return await self._push_interaction(2, data, user, guild, channel, locale)

    async def push_user_command(
        self,
        name: str,
        target_user: User | Member | str | int,
        user: User | Member | str | int = "alice",
        *,
        guild_id: int | None | bool = True,
        channel_id: Channel | int | str | None = None,
        locale: str = "fr",
    ) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE type 2 for a USER context menu (command type 2)."""
        guild, channel = self._where(guild_id, channel_id, user)
        definition, cmd_guild = self._find_command(name, 2, guild)
        target = self.user(target_user)
        resolved: dict[str, dict[str, Any]] = {"users": {str(target.id): target.payload()}}
        if guild is not None and target.id in guild.members:
            member = guild.members[target.id].payload(with_user=False)
            member["permissions"] = str(guild.permissions_for(target.id, channel.id))
            resolved["members"] = {str(target.id): member}
        data: dict[str, Any] = {
            "id": str(definition["id"]),
            "name": name,
            "type": 2,
            "target_id": str(target.id),
            "resolved": resolved,
        }
        if cmd_guild is not None:
            data["guild_id"] = str(cmd_guild)
        return await self._push_interaction(2, data, user, guild, channel, locale)

    async def push_component(
        self,
        custom_id: str,
        message: dict[str, Any] | SentMessage | int,
        user: User | Member | str | int = "alice",
        *,
        component_type: int = 2,
        values: list[str] | None = None,
        locale: str = "fr",
    ) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE type 3: ``user`` pressed a button (or used a select,
        ``component_type=3`` with ``values``) on ``message``."""
        msg = self._message_payload(message)
        channel = self._channel_by_id(int(msg["channel_id"]))
        guild = self._guild_of(channel)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        return await self._push_interaction(3, data, user, guild, channel, locale, message=msg)

    async def push_modal_submit(
        self,
        custom_id: str,
        values: dict[str, str] | list[dict[str, Any]],
        user: User | Member | str | int = "alice",
        *,
        guild_id: int | None | bool = True,
        channel_id: Channel | int | str | None = None,
        message: dict[str, Any] | SentMessage | int | None = None,
        locale: str = "fr",
    ) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE type 5: ``values`` maps text-input custom ids to
        the text typed; each input arrives in its own action row, as discord.py 2.7 expects."""
        if isinstance(values, list):
            components = values
        else:
            components = [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
                for k, v in values.items()
            ]
        msg = self._message_payload(message) if message is not None else None
        if msg is not None and channel_id is None:
            channel_id = int(msg["channel_id"])
        guild, channel = self._where(guild_id, channel_id, user)
        data = {"custom_id": custom_id, "components": components}
        return await self._push_interaction(5, data, user, guild, channel, locale, message=msg)

    def _where(
        self, guild_id: int | None | bool, channel_id: Channel | int | str | None, user: Any
    ) -> tuple[Guild | None, Channel]:
        if guild_id is None or guild_id is False:
            if channel_id is not None:
                ch = channel_id if isinstance(channel_id, Channel) else self.channel(channel_id)
                return self._guild_of(ch), ch
            return None, self.dm_channel(self.user(user))
        if isinstance(channel_id, Channel):
            channel = channel_id
        elif channel_id is not None:
            channel = self.channel(channel_id)
        else:
            channel = None
        if guild_id is True:
            guild = self._guild_of(channel) if channel is not None else self.guild
        else:
            guild = next(g for g in self.guilds if g.id == guild_id)
        if channel is None:
            assert guild is not None
            channel = next(c for c in guild.channels.values() if c.type == ChannelType.TEXT)
        return guild, channel

    def _find_command(self, name: str, type: int, guild: Guild | None) -> tuple[dict[str, Any], int | None]:
        if guild is not None:
            for cmd in self.commands.get(guild.id, []):
                if cmd["name"] == name and cmd.get("type", 1) == type:
                    return cmd, guild.id
        for cmd in self.commands.get(None, []):
            if cmd["name"] == name and cmd.get("type", 1) == type:
                return cmd, None
        synced = {k: [c["name"] for c in v] for k, v in self.commands.items()}
        raise KeyError(f"command {name!r} (type {type}) was not synced; synced: {synced}")

    def _option_type(self, name: str, value: Any, defs: list[dict[str, Any]]) -> int:
        for d in defs:
            if d.get("name") == name:
                return int(d["type"])
        if isinstance(value, bool):
            return 5
        if isinstance(value, int):
            return 4
        if isinstance(value, float):
            return 10
        if isinstance(value, (User, Member)):
            return 6
        if isinstance(value, Channel):
            return 7
        if isinstance(value, Role):
            return 8
        return 3

    def _option(
        self,
        name: str,
        value: Any,
        defs: list[dict[str, Any]],
        guild: Guild | None,
        resolved: dict[str, dict],
    ) -> dict[str, Any]:
        kind = self._option_type(name, value, defs)
        if kind == 6:
            user = self.user(value)
            resolved.setdefault("users", {})[str(user.id)] = user.payload()
            if guild is not None and user.id in guild.members:
                member = guild.members[user.id].payload(with_user=False)
                member["permissions"] = str(guild.permissions_for(user.id))
                resolved.setdefault("members", {})[str(user.id)] = member
            value = str(user.id)
        elif kind == 7:
            ch = value if isinstance(value, Channel) else self.channel(value)
            resolved.setdefault("channels", {})[str(ch.id)] = {
                **ch.payload(),
                "permissions": str(guild.permissions_for(self.bot_user.id, ch.id) if guild else Perm.ALL),
            }
            value = str(ch.id)
        elif kind == 8:
            role = value if isinstance(value, Role) else self.role(value)
            resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            value = str(role.id)
        return {"name": name, "type": kind, "value": value}

    def _message_payload(self, message: dict[str, Any] | SentMessage | int) -> dict[str, Any]:
        if isinstance(message, SentMessage):
            return self._bot_message_payload(message)
        if isinstance(message, dict):
            return message
        mid = int(message)
        for m in self.sent:
            if m.id == mid:
                return self._bot_message_payload(m)
        return self.messages[mid]

    async def _push_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user: Any,
        guild: Guild | None,
        channel: Channel,
        locale: str,
        *,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        u = self.user(user)
        iid = new_snowflake()
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": secrets.token_urlsafe(48),
            "version": 1,
            "locale": locale,
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "app_permissions": str(
                guild.permissions_for(self.bot_user.id, channel.id)
                if guild is not None
                else Perm.EVERYONE_DEFAULT
            ),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)} if guild is not None else {"1": str(u.id)},
            "context": 0 if guild is not None else 1,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild is not None:
            if u.id not in guild.members:
                raise KeyError(f"user {u.username!r} is not a member of guild {guild.name!r}")
            member = guild.members[u.id].payload()
            member["permissions"] = str(guild.permissions_for(u.id, channel.id))
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                member=member,
            )
        else:
            payload["user"] = u.payload()
        if message is not None:
            payload["message"] = message
        state = _Interaction(payload, time.monotonic())
        self._interactions[iid] = state
        self._interactions_by_token[payload["token"]] = state
        self.interactions[iid] = payload
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    # REST ---------------------------------------------------------------------------
    _ROUTES: list[tuple[str, re.Pattern[str], str]] = [
        (m, re.compile("^" + p + "$"), h)
        for m, p, h in [
            ("GET", r"users/@me", "_get_me"),
            ("GET", r"users/(?P<user_id>\d+)", "_get_user"),
            ("GET", r"oauth2/applications/@me", "_get_application"),
            ("GET", r"applications/@me", "_get_application"),
            ("GET", r"gateway(/bot)?", "_get_gateway"),
            ("PUT", r"applications/(?P<app_id>\d+)/commands", "_put_commands"),
            ("GET", r"applications/(?P<app_id>\d+)/commands", "_get_commands"),
            ("PUT", r"applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands", "_put_commands"),
            ("GET", r"applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands", "_get_commands"),
            ("GET", r"channels/(?P<channel_id>\d+)", "_get_channel"),
            ("POST", r"channels/(?P<channel_id>\d+)/messages", "_create_message"),
            ("GET", r"channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", "_get_message"),
            ("PATCH", r"channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", "_edit_message"),
            ("DELETE", r"channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", "_delete_message"),
            (
                "PUT",
                r"channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)/reactions/(?P<emoji>[^/]+)/@me",
                "_add_reaction",
            ),
            (
                "DELETE",
                r"channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)/reactions/(?P<emoji>[^/]+)/@me",
                "_remove_reaction",
            ),
            ("POST", r"channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)/threads", "_create_thread"),
            ("POST", r"channels/(?P<channel_id>\d+)/threads", "_create_thread"),
            ("POST", r"channels/(?P<channel_id>\d+)/typing", "_typing"),
            ("POST", r"users/@me/channels", "_create_dm"),
            ("GET", r"guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)", "_get_member"),
            (
                "POST",
                r"interactions/(?P<interaction_id>\d+)/(?P<token>[^/]+)/callback",
                "_interaction_callback",
            ),
            ("POST", r"webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)", "_followup"),
            (
                "GET",
                r"webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                "_webhook_get",
            ),
            (
                "PATCH",
                r"webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                "_webhook_edit",
            ),
            (
                "DELETE",
                r"webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                "_webhook_delete",
            ),
        ]
    ]

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        tail = (
            request.path.split("/api/v10/", 1)[-1]
            if "/api/v10/" in request.path
            else request.match_info["tail"]
        )
        tail = tail.strip("/")
        response = await self._handle(request, tail)
        self.requests.append((request.method, tail, response.status))
        if response.status in (401, 403, 429):
            self.invalid_request_count += 1
        if response.status >= 500:
            self.server_error_count += 1
        self._notify()
        return response

    async def _handle(self, request: web.Request, tail: str) -> web.StreamResponse:
        for method, pattern, handler in self._ROUTES:  # noqa: B007 - the route found is used below
            match = pattern.match(tail)
            if match and method == request.method:
                break
        else:
            self.unhandled.append((request.method, tail))
            _log.warning("Discord stand-in has no route for %s %s", request.method, tail)
            return _json_response({"message": "404: Not Found", "code": 0}, 404)
        params = {k: unquote(v) for k, v in match.groupdict().items()}
        exempt = tail.startswith("interactions/") or tail.startswith("webhooks/")
        if not exempt and request.headers.get("Authorization") != f"Bot {self.token}":
            return _json_response({"message": "401: Unauthorized", "code": 0}, 401)
        try:
            if not exempt:
                self._check_global()
            return await getattr(self, handler)(request, **params)
        except _ApiError as exc:
            body: dict[str, Any] = {"message": exc.message, "code": exc.code}
            if exc.retry_after is not None:
                body = {"message": exc.message, "retry_after": exc.retry_after, "global": exc.is_global}
            return _json_response(body, exc.status, exc.headers)

    def _check_global(self) -> None:
        rl = self.rate_limits
        if not rl.enabled:
            return
        now = time.monotonic()
        while self._global and self._global[0] <= now - rl.global_period:
            self._global.popleft()
        if len(self._global) >= rl.global_limit:
            retry = self._global[0] + rl.global_period - now
            self.rate_limited_count += 1
            self.global_rate_limited_count += 1
            raise self._too_many(retry, is_global=True)
        self._global.append(now)

    def _too_many(
        self, retry_after: float, *, is_global: bool, headers: dict[str, str] | None = None
    ) -> _ApiError:
        retry_after = max(0.001, math.ceil(retry_after * 1000) / 1000)
        hdrs = {"Via": "1.1 google", "Retry-After": str(max(1, math.ceil(retry_after)))}
        if is_global:
            hdrs.update({"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"})
        else:
            hdrs["X-RateLimit-Scope"] = "user"
        hdrs.update(headers or {})
        return _ApiError(
            429, 0, "You are being rate limited.", hdrs, retry_after=retry_after, is_global=is_global
        )

    def _bucket(self, kind: str, channel_id: int) -> dict[str, str]:
        """Count one request in the channel's bucket; return headers or raise 429."""
        rl = self.rate_limits
        if not rl.enabled:
            return {}
        limit, period = {
            "message": (rl.message_limit, rl.message_period),
            "edit": (rl.edit_limit, rl.edit_period),
            "reaction": (rl.reaction_limit, rl.reaction_period),
        }[kind]
        window = self._windows.get((kind, channel_id))
        if window is None or window.limit != limit or window.period != period:
            window = self._windows[(kind, channel_id)] = _Window(limit, period)
        allowed, remaining, reset_after = window.hit(time.monotonic())
        reset_after = math.ceil(reset_after * 1000) / 1000
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(kind),
        }
        if not allowed:
            self.rate_limited_count += 1
            raise self._too_many(reset_after, is_global=False, headers=headers)
        return headers

    def _check_channel(self, channel_id: int) -> Channel:
        if channel_id in self._forbidden:
            status, code, message = self._forbidden[channel_id]
            raise _ApiError(status, code, message)
        return self._channel_by_id(channel_id)

    async def _read_payload(self, request: web.Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            form = await request.post()
            payload: dict[str, Any] = {}
            files: list[dict[str, Any]] = []
            for key, value in form.items():
                if isinstance(value, str):
                    if key == "payload_json":
                        payload = json.loads(value)
                elif key == "payload_json":
                    payload = json.loads(value.file.read().decode())
                else:
                    files.append({"field": key, "filename": value.filename, "content": value.file.read()})
            return payload, files
        if not request.can_read_body:
            return {}, []
        raw = await request.read()
        return (json.loads(raw) if raw else {}), []

    # REST handlers ---------------------------------------------------------------
    async def _get_me(self, request: web.Request) -> web.Response:
        return _json_response(
            {**self.bot_user.payload(), "verified": True, "mfa_enabled": False, "locale": "fr"}
        )

    async def _get_user(self, request: web.Request, user_id: str) -> web.Response:
        try:
            return _json_response(self.user(int(user_id)).payload())
        except KeyError:
            raise _ApiError(404, 10013, "Unknown User") from None

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "Relais stand-in application",
                "summary": "",
                "type": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": secrets.token_hex(32),
                "flags": 0,
                "owner": User(new_snowflake(), "owner").payload(),
                "team": None,
                "bot": self.bot_user.payload(),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "rpc_origins": [],
                "tags": [],
            }
        )

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.application_id:
            raise _ApiError(403, 50001, "Missing Access")

    async def _put_commands(
        self, request: web.Request, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        gid = int(guild_id) if guild_id else None
        if gid is not None and not any(g.id == gid for g in self.guilds):
            raise _ApiError(403, 50001, "Missing Access")
        body, _ = await self._read_payload(request)
        self.command_syncs.append((gid, body))
        result = []
        for cmd in body:
            kind = int(cmd.get("type", 1))
            key = (gid, cmd["name"], kind)
            cid = self._command_ids.setdefault(key, new_snowflake())
            out = {
                "id": str(cid),
                "application_id": str(self.application_id),
                "version": str(new_snowflake()),
                "type": kind,
                "name": cmd["name"],
                "description": cmd.get("description", ""),
                "options": cmd.get("options", []),
                "default_member_permissions": cmd.get("default_member_permissions"),
                "dm_permission": cmd.get("dm_permission", True),
                "nsfw": cmd.get("nsfw", False),
                "contexts": cmd.get("contexts"),
                "integration_types": cmd.get("integration_types", [0]),
                "name_localizations": cmd.get("name_localizations"),
                "description_localizations": cmd.get("description_localizations"),
            }
            if gid is not None:
                out["guild_id"] = str(gid)
            result.append(out)
        self.commands[gid] = result
        return _json_response(result)

    async def _get_commands(
        self, request: web.Request, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        return _json_response(self.commands.get(int(guild_id) if guild_id else None, []))

    async def _get_channel(self, request: web.Request, channel_id: str) -> web.Response:
        return _json_response(self._check_channel(int(channel_id)).payload())

    async def _get_member(self, request: web.Request, guild_id: str, user_id: str) -> web.Response:
        for guild in self.guilds:
            if guild.id == int(guild_id):
                if int(user_id) in guild.members:
                    return _json_response(guild.members[int(user_id)].payload())
                raise _ApiError(404, 10007, "Unknown Member")
        raise _ApiError(404, 10004, "Unknown Guild")

    async def _typing(self, request: web.Request, channel_id: str) -> web.Response:
        self._check_channel(int(channel_id))
        return _no_content()

    async def _create_dm(self, request: web.Request) -> web.Response:
        body, _ = await self._read_payload(request)
        try:
            user = self.user(int(body["recipient_id"]))
        except KeyError:
            raise _ApiError(400, 50033, "Invalid Recipient(s)") from None
        return _json_response(self.dm_channel(user).payload())

    def _check_send_permission(self, channel: Channel) -> None:
        if channel.type == ChannelType.DM:
            if channel.recipients and channel.recipients[0].id in self._dm_blocked:
                raise _ApiError(403, 50007, "Cannot send messages to this user")
            return
        guild = self._guild_of(channel)
        assert guild is not None
        perms = guild.permissions_for(self.bot_user.id, channel.id)
        if not perms & Perm.VIEW_CHANNEL:
            raise _ApiError(403, 50001, "Missing Access")
        needed = Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
        if not perms & needed:
            raise _ApiError(403, 50013, "Missing Permissions")

    def _validate_message(
        self, payload: dict[str, Any], files: list[dict[str, Any]], *, creating: bool
    ) -> None:
        errors: dict[str, Any] = {}
        content = payload.get("content")
        if content is not None and len(content) > 2000:
            errors["content"] = {
                "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]
            }
        embeds = payload.get("embeds") or []
        if len(embeds) > 10:
            errors["embeds"] = {
                "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 10 or fewer in length."}]
            }
        total = 0
        for e in embeds:
            total += len(e.get("title") or "") + len(e.get("description") or "")
            total += len((e.get("footer") or {}).get("text") or "") + len(
                (e.get("author") or {}).get("name") or ""
            )
            for f in e.get("fields") or []:
                total += len(f.get("name") or "") + len(f.get("value") or "")
            if len(e.get("description") or "") > 4096 or len(e.get("title") or "") > 256:
                errors["embeds"] = {
                    "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Embed field too long."}]
                }
        if total > 6000:
            errors["embeds"] = {
                "_errors": [
                    {"code": "MAX_EMBED_SIZE_EXCEEDED", "message": "Embed size exceeds maximum size of 6000"}
                ]
            }
        components = payload.get("components") or []
        if not payload.get("flags", 0) & (1 << 15) and len(components) > 5:
            errors["components"] = {
                "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 5 or fewer in length."}]
            }
        probe = SentMessage(0, 0, None, 0, components=components)
        if any(len(cid) > 100 for cid in probe.custom_ids()):
            errors["components"] = {
                "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "custom_id too long."}]
            }
        if errors:
            raise _ApiError(400, 50035, "Invalid Form Body " + json.dumps({"errors": errors}))
        if creating and not (
            content or embeds or files or components or payload.get("sticker_ids") or payload.get("poll")
        ):
            raise _ApiError(400, 50006, "Cannot send an empty message")

    def _attachments(
        self, payload: dict[str, Any], files: list[dict[str, Any]], channel_id: int
    ) -> list[dict[str, Any]]:
        out = []
        described = {
            int(a["id"]): a for a in payload.get("attachments", []) if str(a.get("id", "")).isdigit()
        }
        for index, f in enumerate(files):
            aid = new_snowflake()
            meta = described.get(index, {})
            filename = meta.get("filename") or f["filename"]
            url = f"http://127.0.0.1:{self.port}/attachments/{channel_id}/{aid}/{filename}"
            out.append(
                {
                    "id": str(aid),
                    "filename": filename,
                    "description": meta.get("description"),
                    "size": len(f["content"]),
                    "url": url,
                    "proxy_url": url,
                    "content_type": "application/octet-stream",
                    "content": f["content"],
                }
            )
        return out

    def _store_new(
        self,
        channel: Channel,
        payload: dict[str, Any],
        files: list[dict[str, Any]],
        *,
        source: str,
        interaction_id: int | None = None,
        loading: bool = False,
        flags: int | None = None,
        message_id: int | None = None,
    ) -> SentMessage:
        reference = payload.get("message_reference")
        referenced = None
        if reference and reference.get("message_id"):
            ref_id = int(reference["message_id"])
            referenced = self.messages.get(ref_id)
            if referenced is None and reference.get("fail_if_not_exists", True):
                raise _ApiError(400, 50035, "Invalid Form Body: Unknown message")
        msg = SentMessage(
            id=message_id or new_snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=self.bot_user.id,
            content=payload.get("content") or "",
            embeds=list(payload.get("embeds") or []),
            components=list(payload.get("components") or []),
            allowed_mentions=payload.get("allowed_mentions"),
            message_reference=reference,
            flags=int(payload.get("flags", 0) if flags is None else flags),
            attachments=self._attachments(payload, files, channel.id),
            source=source,
            interaction_id=interaction_id,
            nonce=payload.get("nonce"),
            tts=bool(payload.get("tts", False)),
            payload=payload,
            loading=loading,
            referenced_message=referenced,
        )
        self.sent.append(msg)
        self.messages[msg.id] = self._bot_message_payload(msg)
        return msg

    def _bot_message_payload(self, msg: SentMessage) -> dict[str, Any]:
        guild = next((g for g in self.guilds if g.id == msg.guild_id), None)
        pinged_users = []
        for uid in sorted(msg.pinged_user_ids):
            if self._known_user(uid):
                pinged_users.append(self._mention_payload(self.user(uid), guild))
        data: dict[str, Any] = {
            "id": str(msg.id),
            "channel_id": str(msg.channel_id),
            "type": 0,
            "author": self.bot_user.payload(),
            "content": msg.content,
            "timestamp": msg.timestamp,
            "edited_timestamp": _iso_now() if msg.edits else None,
            "tts": msg.tts,
            "mention_everyone": msg.pinged_everyone,
            "mentions": pinged_users,
            "mention_roles": [str(r) for r in sorted(msg.pinged_role_ids)],
            "attachments": [{k: v for k, v in a.items() if k != "content"} for a in msg.attachments],
            "embeds": msg.embeds,
            "components": msg.components,
            "pinned": False,
            "flags": msg.flags,
        }
        if msg.nonce is not None:
            data["nonce"] = msg.nonce
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
            if guild is not None and self.bot_user.id in guild.members:
                data["member"] = guild.members[self.bot_user.id].payload(with_user=False)
        if msg.message_reference:
            data["message_reference"] = {"type": 0, **msg.message_reference}
            data["type"] = 19
            if msg.referenced_message is not None:
                data["referenced_message"] = msg.referenced_message
        if msg.source != "channel":
            data["webhook_id"] = str(self.application_id)
            data["application_id"] = str(self.application_id)
            state = self._interactions.get(msg.interaction_id or 0)
            if state is not None:
                data["type"] = 20 if state.payload["type"] == 2 else 0
                user = state.payload.get("member", {}).get("user") or state.payload.get("user")
                data["interaction_metadata"] = {
                    "id": str(state.id),
                    "type": state.payload["type"],
                    "user": user,
                    "authorizing_integration_owners": state.payload.get("authorizing_integration_owners", {}),
                }
        return data

    async def _echo(self, event: str, msg: SentMessage) -> None:
        if not self.echo_own_messages or msg.ephemeral or msg.loading:
            return
        channel = self._channel_by_id(msg.channel_id)
        needed = Intent.DIRECT_MESSAGES if channel.type == ChannelType.DM else Intent.GUILD_MESSAGES
        for session in [s for s in self._sessions if s.identified and not s.ws.closed]:
            if session.intents & needed:
                await self._dispatch_to(session, event, self._bot_message_payload(msg))

    async def _create_message(self, request: web.Request, channel_id: str) -> web.Response:
        cid = int(channel_id)
        channel = self._check_channel(cid)
        for i, (where, retry, is_global) in enumerate(self._forced_429):
            if where in (None, cid):
                del self._forced_429[i]
                self.rate_limited_count += 1
                if is_global:
                    self.global_rate_limited_count += 1
                raise self._too_many(retry, is_global=is_global)
        headers = self._bucket("message", cid)
        payload, files = await self._read_payload(request)
        for i, (where, status) in enumerate(self._fail_next):
            if where in (None, cid):
                del self._fail_next[i]
                return _json_response(
                    {"message": f"{status}: Internal Server Error", "code": 0}, status, headers
                )
        if self._fail_fraction and self._random.random() < self._fail_fraction:
            return _json_response({"message": "500: Internal Server Error", "code": 0}, 500, headers)
        self._check_send_permission(channel)
        self._validate_message(payload, files, creating=True)
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            key = f"{cid}:{nonce}"
            if key in self._nonces:
                return _json_response(self._bot_message_payload(self._nonces[key]), 200, headers)
        msg = self._store_new(channel, payload, files, source="channel")
        if nonce is not None and payload.get("enforce_nonce"):
            self._nonces[f"{cid}:{nonce}"] = msg
        await self._echo("MESSAGE_CREATE", msg)
        return _json_response(self._bot_message_payload(msg), 200, headers)

    def _find_sent(self, channel_id: int, message_id: int) -> SentMessage:
        for m in self.sent:
            if m.id == message_id and m.channel_id == channel_id and not m.deleted:
                return m
        raise _ApiError(404, 10008, "Unknown Message")

    async def _get_message(self, request: web.Request, channel_id: str, message_id: str) -> web.Response:
        self._check_channel(int(channel_id))
        mid = int(message_id)
        for m in self.sent:
            if m.id == mid and not m.deleted:
                return _json_response(self._bot_message_payload(m))
        if mid in self.messages and self.messages[mid]["channel_id"] == channel_id:
            return _json_response(self.messages[mid])
        raise _ApiError(404, 10008, "Unknown Message")

    def _apply_edit(self, msg: SentMessage, payload: dict[str, Any], files: list[dict[str, Any]]) -> None:
        self._validate_message(payload, files, creating=False)
        msg.edits.append(payload)
        if "content" in payload:
            msg.content = payload["content"] or ""
        if "embeds" in payload:
            msg.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            msg.components = list(payload["components"] or [])
        if "allowed_mentions" in payload:
            msg.allowed_mentions = payload["allowed_mentions"]
        if "flags" in payload and payload["flags"] is not None:
            msg.flags = (msg.flags & 64) | int(payload["flags"])
        if files or "attachments" in payload:
            kept_ids = {str(a.get("id")) for a in payload.get("attachments", [])}
            kept = [a for a in msg.attachments if a["id"] in kept_ids]
            msg.attachments = kept + self._attachments(payload, files, msg.channel_id)
        self.messages[msg.id] = self._bot_message_payload(msg)

    async def _edit_message(self, request: web.Request, channel_id: str, message_id: str) -> web.Response:
        cid = int(channel_id)
        self._check_channel(cid)
        headers = self._bucket("edit", cid)
        payload, files = await self._read_payload(request)
        msg = self._find_sent(cid, int(message_id))
        self._apply_edit(msg, payload, files)
        await self._echo("MESSAGE_UPDATE", msg)
        return _json_response(self._bot_message_payload(msg), 200, headers)

    async def _delete_message(self, request: web.Request, channel_id: str, message_id: str) -> web.Response:
        cid = int(channel_id)
        self._check_channel(cid)
        headers = self._bucket("edit", cid)
        msg = self._find_sent(cid, int(message_id))
        msg.deleted = True
        return _no_content(headers)

    async def _add_reaction(
        self, request: web.Request, channel_id: str, message_id: str, emoji: str
    ) -> web.Response:
        cid, mid = int(channel_id), int(message_id)
        self._check_channel(cid)
        headers = self._bucket("reaction", cid)
        if mid not in self.messages:
            raise _ApiError(404, 10008, "Unknown Message")
        self.reactions.append(Reaction(cid, mid, emoji))
        return _no_content(headers)

    async def _remove_reaction(
        self, request: web.Request, channel_id: str, message_id: str, emoji: str
    ) -> web.Response:
        cid, mid = int(channel_id), int(message_id)
        self._check_channel(cid)
        headers = self._bucket("reaction", cid)
        for r in self.reactions:
            if (r.channel_id, r.message_id, r.emoji) == (cid, mid, emoji) and not r.removed:
                r.removed = True
        return _no_content(headers)

    async def _create_thread(
        self, request: web.Request, channel_id: str, message_id: str | None = None
    ) -> web.Response:
        cid = int(channel_id)
        parent = self._check_channel(cid)
        guild = self._guild_of(parent)
        if guild is None or parent.is_thread:
            raise _ApiError(400, 50024, "Cannot execute action on this channel type")
        body, _ = await self._read_payload(request)
        perms = guild.permissions_for(self.bot_user.id, cid)
        private = (
            message_id is None
            and int(body.get("type", ChannelType.PRIVATE_THREAD)) == ChannelType.PRIVATE_THREAD
        )
        needed = Perm.CREATE_PRIVATE_THREADS if private else Perm.CREATE_PUBLIC_THREADS
        if not perms & needed:
            raise _ApiError(403, 50013, "Missing Permissions")
        thread_id = None
        if message_id is not None:
            thread_id = int(message_id)
            if thread_id not in self.messages:
                raise _ApiError(404, 10008, "Unknown Message")
            if thread_id in guild.channels:
                raise _ApiError(400, 160004, "A thread has already been created for this message")
        kind = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
        thread = guild._add_channel(str(body.get("name", "thread"))[:100], kind, cid, id=thread_id)
        thread.owner_id = self.bot_user.id
        self.threads_created.append(thread)
        payload = thread.payload()
        for session in [s for s in self._sessions if s.identified and not s.ws.closed]:
            if session.intents & Intent.GUILDS:
                await self._dispatch_to(session, "THREAD_CREATE", {**payload, "newly_created": True})
        return _json_response(payload, 201)

    # interactions -------------------------------------------------------------------
    async def _interaction_callback(
        self, request: web.Request, interaction_id: str, token: str
    ) -> web.StreamResponse:
        state = self._interactions.get(int(interaction_id))
        if state is None or state.payload["token"] != token:
            raise _ApiError(404, 10062, "Unknown interaction")
        if state.response_type is not None:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        if (
            self.interaction_deadline is not None
            and time.monotonic() - state.created > self.interaction_deadline
        ):
            raise _ApiError(404, 10062, "Unknown interaction")
        body, files = await self._read_payload(request)
        kind = int(body.get("type", 0))
        data = body.get("data")
        channel = self._channel_by_id(state.channel_id)
        record = InteractionResponse(state.id, kind, data)
        resource: dict[str, Any] | None = None
        if kind == 4:
            self._validate_message(data or {}, files, creating=True)
            msg = self._store_new(channel, data or {}, files, source="interaction", interaction_id=state.id)
            state.original = record.message = msg
            resource = {"type": 4, "message": self._bot_message_payload(msg)}
        elif kind == 5:
            flags = int((data or {}).get("flags", 0)) | 128
            msg = self._store_new(
                channel, {}, [], source="interaction", interaction_id=state.id, loading=True, flags=flags
            )
            state.original = record.message = msg
            resource = {"type": 5, "message": self._bot_message_payload(msg)}
        elif kind in (6, 7):
            if state.payload["type"] not in (3, 5) or "message" not in state.payload and kind == 7:
                raise _ApiError(400, 40004, "Interaction response type not allowed for this interaction")
            target = state.payload.get("message")
            if target is not None:
                found = [m for m in self.sent if m.id == int(target["id"])]
                if found:
                    state.original = record.message = found[0]
                    if kind == 7:
                        self._apply_edit(found[0], data or {}, files)
                        resource = {"type": 7, "message": self._bot_message_payload(found[0])}
        elif kind == 8:
            if state.payload["type"] != 4:
                raise _ApiError(400, 40004, "Interaction response type not allowed for this interaction")
        elif kind == 9:
            if state.payload["type"] == 5:
                raise _ApiError(400, 40004, "Interaction response type not allowed for this interaction")
        else:
            raise _ApiError(400, 50035, f"Invalid Form Body: unsupported response type {kind}")
        state.response_type = kind
        self.interaction_responses.append(record)
        if record.message is not None and kind == 4:
            await self._echo("MESSAGE_CREATE", record.message)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return _no_content()
        interaction_info: dict[str, Any] = {
            "id": str(state.id),
            "type": state.payload["type"],
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(record.message and record.message.ephemeral),
        }
        if record.message is not None:
            interaction_info["response_message_id"] = str(record.message.id)
        answer: dict[str, Any] = {"interaction": interaction_info}
        if resource is not None:
            answer["resource"] = resource
        return _json_response(answer)

    def _state_for_token(self, app_id: str, token: str) -> _Interaction:
        state = self._interactions_by_token.get(token)
        if int(app_id) != self.application_id or state is None:
            raise _ApiError(404, 10015, "Unknown Webhook")
        return state

    async def _followup(self, request: web.Request, app_id: str, token: str) -> web.StreamResponse:
        state = self._state_for_token(app_id, token)
        if state.response_type is None:
            raise _ApiError(404, 10015, "Unknown Webhook")
        payload, files = await self._read_payload(request)
        self._validate_message(payload, files, creating=True)
        original = state.original
        if original is not None and original.loading and state.response_type == 5:
            # The first follow-up after a deferred answer fills in the "thinking" message.
            original.loading = False
            self._apply_edit(original, payload, files)
            original.flags &= ~128
            msg = original
            await self._echo("MESSAGE_CREATE", msg)
        else:
            channel = self._channel_by_id(state.channel_id)
            msg = self._store_new(channel, payload, files, source="followup", interaction_id=state.id)
            await self._echo("MESSAGE_CREATE", msg)
        if request.query.get("wait") in ("1", "true", "True"):
            return _json_response(self._bot_message_payload(msg))
        return _no_content()

    def _webhook_message(self, state: _Interaction, message_id: str) -> SentMessage:
        if message_id == "@original":
            if state.original is None:
                raise _ApiError(404, 10008, "Unknown Message")
            return state.original
        for m in self.sent:
            if m.id == int(message_id) and m.interaction_id == state.id:
                return m
        raise _ApiError(404, 10008, "Unknown Message")

    async def _webhook_get(
        self, request: web.Request, app_id: str, token: str, message_id: str
    ) -> web.Response:
        state = self._state_for_token(app_id, token)
        return _json_response(self._bot_message_payload(self._webhook_message(state, message_id)))

    async def _webhook_edit(
        self, request: web.Request, app_id: str, token: str, message_id: str
    ) -> web.Response:
        state = self._state_for_token(app_id, token)
        msg = self._webhook_message(state, message_id)
        payload, files = await self._read_payload(request)
        was_loading = msg.loading
        msg.loading = False
        self._apply_edit(msg, payload, files)
        msg.flags &= ~128
        await self._echo("MESSAGE_CREATE" if was_loading else "MESSAGE_UPDATE", msg)
        return _json_response(self._bot_message_payload(msg))

    async def _webhook_delete(
        self, request: web.Request, app_id: str, token: str, message_id: str
    ) -> web.Response:
        state = self._state_for_token(app_id, token)
        self._webhook_message(state, message_id).deleted = True
        return _no_content()


# --------------------------------------------------------------------------- patching


def _patch(api_base: str, gateway_url: str) -> Callable[[], None]:
    import discord.gateway
    import discord.http

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore


@contextlib.contextmanager
def point_discord_at(standin: DiscordStandIn) -> Iterator[DiscordStandIn]:
    """Point discord.py's REST base and gateway at ``standin``; restore them on exit."""
    restore = _patch(standin.api_base, standin.gateway_url)
    try:
        yield standin
    finally:
        restore()
