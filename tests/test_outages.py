"""Failures of the outside world: the database stopped for a while, the online geocoder down.

The PostgreSQL tests stop and restart a cluster of their own (stopping the session's shared one would
break the tests that run after them)."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import psycopg
import pytest
from geopy.exc import GeocoderUnavailable
from sqlalchemy import exc as sa_exc
from sqlmodel import func, select

from core import catalog
from core.db import Database, upgrade
from core.hub import Hub
from core.inbox import Command, Inbox, Submitted, unavailable
from core.messages import Action, Identity, Inbound
from core.models import OutboxMessage, Proposal, SeenEvent
from core.places import make_geocoder
from core.settings import Settings
from tests.conftest import START
from tests.helpers import caregiver, kinds, one

NEED_TEXTS = ["Il nous faut {n} visières au CHU de Tours avant vendredi",
              "On cherche {n} surblouses pour l'EHPAD de Joué-lès-Tours",
              "Besoin de {n} masques en tissu à Blois pour lundi"]


@pytest.fixture
def cluster():
    from relais.testing.pg import PgCluster

    with PgCluster() as pg:
        url = pg.create_database("outage")
        upgrade(url)
        db = Database(url)
        with db.session() as s:
            catalog.seed(s)
        db.dispose()
        yield pg, url


def message(i: int, person: int, chat_kind: str = "private") -> Inbound:
    author = Identity("discord", f"p{person}", f"Personne {person}", "fr")
    private = chat_kind == "private"
    return Inbound(platform="discord", event_id=f"message:{1000 + i}", chat=author.platform_id if private else "c1",
                   chat_kind=chat_kind, community=None if private else "g1", author=author,
                   text=NEED_TEXTS[i % 3].format(n=10 + i), sent_at=START, addressed=True)


def count(db: Database, model, *where) -> int:
    with db.session() as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def test_what_counts_as_the_database_being_unreachable():
    def wrapped(orig):
        return sa_exc.OperationalError("SELECT 1", {}, orig)

    assert unavailable(wrapped(sqlite3.OperationalError("unable to open database file")))
    assert unavailable(wrapped(sqlite3.OperationalError("disk I/O error")))
    assert unavailable(wrapped(sqlite3.OperationalError("database is locked")))
    assert not unavailable(wrapped(sqlite3.OperationalError("no such table: person")))
    assert unavailable(wrapped(psycopg.OperationalError("connection refused")))
    assert unavailable(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert not unavailable(ValueError("a bug"))
    assert not unavailable(sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")))


async def test_messages_during_a_postgresql_stop_are_handled_after_it_restarts(cluster, clock, tmp_path):
    pg, url = cluster
    db = Database(url)
    hub = Hub(db, settings=Settings(database_url=url, _env_file=None), clock=clock)
    handled: list[str] = []

    async def processed(event, context, outs):
        handled.append(event.event_id)
        assert context == {"n": int(event.event_id.split(":")[1]) - 1000}

    inbox = Inbox(hub, spool=tmp_path / "inbox.jsonl", first_pause=0.05, max_pause=0.3, on_processed=processed)
    runner = asyncio.create_task(inbox.run())
    try:
        live = await inbox.submit(message(0, 0))  # the database is up: the hub answers at once
        assert "proposal" in kinds(live)

        await asyncio.to_thread(pg.stop_server)
        n = 30
        results = [await inbox.submit(message(i, i % 4, "private" if i % 2 else "channel"), {"n": i})
                   for i in range(1, n + 1)]
        assert results == [Submitted.KEPT] * n
        # A redelivered event while stopped is kept too; the core records it once.
        assert await inbox.submit(message(5, 1), {"n": 5}) is Submitted.KEPT
        assert len(inbox.kept) == n + 1 and inbox.outage
        assert len((tmp_path / "inbox.jsonl").read_text().splitlines()) == n + 1
        await asyncio.sleep(0.3)  # a few failed attempts with back-off
        assert handled == []

        await asyncio.to_thread(pg.start_server)
        assert await inbox.drained(timeout=60)
    finally:
        inbox.stop()
        await runner

    assert handled == [f"message:{1000 + i}" for i in range(1, n + 1)] + ["message:1005"]  # in order
    assert count(db, SeenEvent) == n + 1  # the live one and the n kept ones, none twice
    proposals = count(db, Proposal)
    # Each person's latest proposal in a chat supersedes the earlier one, but every message made one.
    assert proposals == n + 1
    assert count(db, OutboxMessage, OutboxMessage.kind == "proposal") == n + 1
    assert (tmp_path / "inbox.jsonl").read_text() == ""  # emptied once everything was handled
    db.dispose()


async def test_kept_events_survive_a_restart_through_the_spool_file(cluster, clock, tmp_path):
    pg, url = cluster
    spool = tmp_path / "inbox.jsonl"
    db = Database(url)
    hub = Hub(db, settings=Settings(database_url=url, _env_file=None), clock=clock)
    await asyncio.to_thread(pg.stop_server)
    first = Inbox(hub, spool=spool)
    who = Identity("discord", "p9", "Léa", "en")
    events = [message(1, 1), message(2, 2, "channel"),
              Action(platform="discord", event_id="interaction:7", chat="p9", author=who,
                     name="proposal:dismiss:999", sent_at=START, value=None),
              Command(platform="discord", event_id="interaction:8", chat="c1", author=who, name="status",
                      chat_kind="channel", community="g1")]
    for event in events:
        assert await first.submit(event, {"channel": "c1"}) is Submitted.KEPT
    # The process stops here (its inbox never ran); a new one starts once the database is back.
    await asyncio.to_thread(pg.start_server)
    seen = []

    async def processed(event, context, outs):
        seen.append((event, context, kinds(outs)))

    second = Inbox(hub, spool=spool, first_pause=0.05, on_processed=processed)
    assert second.load() == 4
    runner = asyncio.create_task(second.run())
    try:
        assert await second.drained(timeout=30)
    finally:
        second.stop()
        await runner
    assert [e for e, _, _ in seen] == events  # read back exactly, in order
    assert all(c == {"channel": "c1"} for _, c, _ in seen)
    assert "proposal" in seen[0][2] and "refused" in seen[2][2] and "status" in seen[3][2]
    assert count(db, SeenEvent) == 4
    db.dispose()


async def test_a_bug_drops_the_event_instead_of_blocking_the_queue(hub):
    calls = []

    class Flaky:
        """The real hub, whose first call finds the database gone and whose second call hits a bug."""

        def __init__(self, real):
            self.real = real

        def receive(self, msg):
            calls.append(msg.event_id)
            if len(calls) == 1:
                raise sa_exc.OperationalError("BEGIN", {}, psycopg.OperationalError("connection refused"))
            if len(calls) == 2:
                raise ValueError("a bug")
            return self.real.receive(msg)

    inbox = Inbox(Flaky(hub), first_pause=0.01)
    assert await inbox.submit(message(1, 1)) is Submitted.KEPT
    assert await inbox.submit(message(2, 2)) is Submitted.KEPT  # behind the first one
    runner = asyncio.create_task(inbox.run())
    try:
        assert await inbox.drained(timeout=10)
    finally:
        inbox.stop()
        await runner
    assert calls == ["message:1001", "message:1001", "message:1002"] and inbox.failed == 1


async def test_a_full_inbox_refuses_new_events(hub):
    class Down:
        def receive(self, msg):
            raise sa_exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("unable to open database file"))

    inbox = Inbox(Down(), limit=2)
    assert [await inbox.submit(message(i, i)) for i in range(3)] == [Submitted.KEPT, Submitted.KEPT,
                                                                      Submitted.REFUSED]
    assert [e.event.event_id for e in inbox.kept] == ["message:1000", "message:1001"]  # the oldest stay


# ----------------------------------------------------------------------------- the geocoder


def test_online_geocoder_down_falls_back_on_the_offline_gazetteer():
    class Down:
        def __init__(self):
            self.calls = 0

        def geocode(self, query, exactly_one=True, **kwargs):
            self.calls += 1
            raise GeocoderUnavailable("Nominatim is down")

    down = Down()
    geocode = make_geocoder(online=True, user_agent="relais-test", online_geocoder=down, min_delay_seconds=0)
    assert geocode("Joué-lès-Tours").raw["department"] == "37"  # offline first, no network
    assert down.calls == 0
    assert geocode("Technopole Sophia Antipolis") is None  # unknown offline, online down: nothing
    assert down.calls >= 1
    assert geocode.cache == {}  # a failure is not remembered as "not found"


def test_an_unknown_place_in_a_need_gets_a_clear_answer(hub):
    # The hub places needs with the offline gazetteer only (make_geocoder is not used by the hub).
    marie = caregiver(hub)
    outs = marie.say("Il nous faut 200 visières à Zzyzxville-sur-Brume avant vendredi")
    assert one(outs, "proposal").template == "proposal/need"  # recorded without a place, not an error
    marie.say("/besoin")
    marie.say("visières")
    marie.say("200")
    refused = one(marie.say("Zzyzxville-sur-Brume"), "refused")
    assert refused.template == "refused/unknown_place" and "Zzyzxville-sur-Brume" in refused.text
    assert one(marie.say("Tours"), "proposal").template == "dialogue/need_deadline"


# ----------------------------------------------------------------------------- the Discord bot end to end


async def test_discord_messages_during_a_postgresql_stop_are_handled_after_it_restarts(cluster, clock):
    from bots.discord.app import build_bot
    from tests.standins.discord_api import DiscordStandIn

    pg, url = cluster
    settings = Settings(database_url=url, _env_file=None)
    db = Database(url)
    hub = Hub(db, settings=settings, clock=clock)
    async with DiscordStandIn() as api:
        bot = build_bot(hub, settings, guild_ready_timeout=0.05, poll_seconds=0.1,
                        inbox_options={"first_pause": 0.05, "max_pause": 0.3})
        async with api.running(bot):
            channel = api.channel("offres")
            kept: list[str] = []
            handled: list[str] = []

            async def on_kept(event_id, result):
                kept.append(event_id)

            async def on_handled(event_id, outs):
                handled.append(event_id)

            bot.add_listener(on_kept, "on_relais_kept")
            bot.add_listener(on_handled, "on_relais_handled")

            await asyncio.to_thread(pg.stop_server)
            n = 8
            for i in range(n):
                await api.push_message(channel, ("bob", "claire")[i % 2], NEED_TEXTS[i % 3].format(n=10 + i),
                                       message_id=7000 + i)
            await api.push_message(api.dm_channel("alice"), "alice", NEED_TEXTS[0].format(n=99), message_id=7100)
            await api.push_message(api.dm_channel("alice"), "alice", NEED_TEXTS[1].format(n=98), message_id=7101)
            command = await api.push_slash_command("status", {}, "bob", channel_id=channel)
            await _until(lambda: len(kept) == n + 2 and len(bot.inbox.kept) == n + 3)
            # Alice (a DM) is told once that her messages are kept; the channel chatter is not answered.
            told = await api.wait_for(lambda: api.messages_in(api.dm_channel("alice")))
            assert len(told) == 1 and "conservé" in told[0].content
            [answer] = await api.wait_for(lambda: api.messages_for(command))
            assert "conservé" in answer.content and answer.ephemeral
            assert api.messages_in(channel, include_ephemeral=False) == []

            await asyncio.to_thread(pg.start_server)
            assert await bot.inbox.drained(timeout=60)
            await _until(lambda: len(handled) == n + 2)
            # Each chat's messages in the order they were written (chats may interleave).
            assert [e for e in handled if e < "message:71"] == [f"message:{7000 + i}" for i in range(n)]
            assert [e for e in handled if e >= "message:71"] == ["message:7100", "message:7101"]
            proposals = await api.wait_for(lambda: (m := api.messages_in(channel, include_ephemeral=False))
                                           and len([x for x in m if x.custom_ids()]) >= n and m)
            assert len([m for m in proposals if m.custom_ids()]) == n  # one proposal per message, none twice
            await api.wait_for(lambda: len(api.reactions) >= n + 2)
            assert sorted(r.message_id for r in api.reactions) == [7000 + i for i in range(n)] + [7100, 7101]
        assert count(db, SeenEvent) == n + 3
        assert count(db, Proposal) == n + 2
    db.dispose()


async def _until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)
