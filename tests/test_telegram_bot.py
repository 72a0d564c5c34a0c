"""The Telegram bot end to end: the real python-telegram-bot Application against the local Bot API
stand-in on 127.0.0.1, the real core on SQLite and PostgreSQL, updates in Telegram's JSON shapes."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select

from bots.telegram.app import TelegramBot, api_urls, serve
from core import jobs
from core.db import Database
from core.hub import Hub
from core.models import (
    BlockedChat,
    Community,
    DesignatedContact,
    Need,
    NeedLine,
    OutboxMessage,
    Person,
    Proposal,
)
from core.ports import SystemClock
from tests.standins.telegram_api import SentMessage, TelegramLimits, TelegramStandIn

ROOT = Path(__file__).resolve().parent.parent
MARIE, CONTACT, PAUL = 1001, 9001, 1002
GROUP = -1001234567890
NEED_TEXT = "Bonjour, il nous faut 200 visières pour l'EHPAD Les Tilleuls à Tours avant vendredi"


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
async def tg():
    async with TelegramStandIn(limits=TelegramLimits.off()) as standin:
        standin.user(MARIE, "Marie", language_code="fr")
        standin.user(CONTACT, "Dr Martin", language_code="fr")
        standin.user(PAUL, "Paul", language_code="en")
        yield standin


def bot_settings(settings, tg: TelegramStandIn, **extra):
    return settings.model_copy(update={"telegram_token": SecretStr(tg.token),
                                       "telegram_api_base_url": f"http://{tg.host}:{tg.port}", **extra})


FAST = {"delivery_clock": SystemClock(), "poll_seconds": 0.05, "poll_timeout": 5, "retry_seconds": 0.1,
        "max_retry_seconds": 0.5, "delivery_options": {"limits": None}}  # the stand-in's limits are off too


def telegram_bot(hub, settings, tg, **extra) -> TelegramBot:
    return TelegramBot(hub, bot_settings(settings, tg, **extra), **FAST)


@pytest.fixture
async def bot(hub, settings, tg):
    async with telegram_bot(hub, settings, tg) as running:
        yield running


def rows(hub, model, *where):
    with hub.db.session() as s:
        return list(s.exec(select(model).where(*where)))


def count(hub, model, *where) -> int:
    with hub.db.session() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


async def settled(tg: TelegramStandIn, hub, timeout: float = 20.0) -> None:
    """Wait until every pushed update is confirmed and the Telegram outbox is empty."""
    deadline = time.monotonic() + timeout
    while True:
        unsent = count(hub, OutboxMessage, OutboxMessage.platform == "telegram",
                       OutboxMessage.status.in_(("pending", "sending")))
        if not tg.pending_updates() and unsent == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not settled: {len(tg.pending_updates())} updates, {unsent} outbox messages")
        await asyncio.sleep(0.02)


class Speaker:
    """A Telegram user writing to the bot; ``say`` returns what the bot sent back."""

    def __init__(self, tg: TelegramStandIn, hub, user_id: int, chat: int | None = None):
        self.tg, self.hub, self.user_id = tg, hub, user_id
        self.chat = chat if chat is not None else user_id

    def _date(self) -> int:
        return int(self.hub.clock.now().timestamp())

    async def push(self, update: dict) -> list[SentMessage]:
        before = len(self.tg.messages())
        self.tg.push_update(update)
        await settled(self.tg, self.hub)
        return [m for m in self.tg.messages()[before:]]

    def update_for(self, text: str, **kwargs) -> dict:
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            return self.tg.command(self.chat, self.user_id, name, args, **kwargs)
        if self.chat > 0:
            return self.tg.private_text(self.user_id, text, date=self._date(), **kwargs)
        return self.tg.group_text(self.chat, self.user_id, text, date=self._date(), **kwargs)

    async def say(self, text: str, **kwargs) -> list[SentMessage]:
        return await self.push(self.update_for(text, **kwargs))

    async def pin(self, lat: float, lon: float) -> list[SentMessage]:
        return await self.push(self.tg.location(self.chat, self.user_id, lat, lon))

    async def press(self, message: SentMessage, verb: str) -> list[SentMessage]:
        data = next(b["callback_data"] for b in message.buttons if b["callback_data"].split(":")[1] == verb)
        return await self.push(self.tg.callback_query(self.user_id, message, data))


def texts(messages: list[SentMessage]) -> list[str]:
    return [m.plain_text or "" for m in messages]


def with_buttons(messages: list[SentMessage]) -> SentMessage:
    found = [m for m in messages if m.buttons]
    assert len(found) == 1, texts(messages)
    return found[0]


async def log_need_in_one_message(marie: Speaker) -> list[SentMessage]:
    proposal = with_buttons(await marie.say(NEED_TEXT))
    return await marie.press(proposal, "confirm")


# --------------------------------------------------------------------------- acceptance


async def test_need_logged_step_by_step(bot, tg, hub):
    marie = Speaker(tg, hub, MARIE)
    first = await marie.say("/besoin")
    assert len(first) == 2, "privacy notice, then the first question"
    assert all(m.chat_id == MARIE and m.parse_mode == "HTML" for m in first)
    # The items step does not take a bare "visières" yet (core recogniser), hence "besoin de visières".
    for answer in ("besoin de visières", "200", "Tours", "vendredi"):
        [question] = await marie.say(answer)
        assert not question.buttons
    proposal = with_buttons(await marie.say("EHPAD Les Tilleuls"))
    assert "200" in proposal.plain_text and "Tours" in proposal.plain_text
    assert count(hub, Need) == 0
    done = await marie.press(proposal, "confirm")
    assert any("N-1" in t for t in texts(done))
    assert tg.callback_answers, "the button's spinner was stopped"
    [need] = rows(hub, Need)
    [line] = rows(hub, NeedLine)
    assert (line.item_id, line.quantity) == ("face_shield", 200)
    assert need.place_name == "Tours" and "Tilleuls" in need.facility
    assert need.deadline.isoformat() == "2020-03-27"


async def test_need_in_one_free_text_message(bot, tg, hub):
    marie = Speaker(tg, hub, MARIE)
    proposal = with_buttons(await marie.say(NEED_TEXT))
    assert [b["callback_data"] for b in proposal.buttons] == [
        "proposal:confirm:1", "proposal:edit:1", "proposal:dismiss:1"]
    assert count(hub, Need) == 0, "nothing is recorded before the author confirms"
    done = await marie.press(proposal, "confirm")
    assert any("N-1" in t for t in texts(done))
    [need] = rows(hub, Need)
    [line] = rows(hub, NeedLine)
    assert (line.item_id, line.quantity) == ("face_shield", 200)
    assert need.place_name == "Tours" and need.deadline.isoformat() == "2020-03-27"


async def test_location_pin_is_the_place_of_a_step_by_step_need(bot, tg, hub):
    marie = Speaker(tg, hub, MARIE)
    await marie.say("/besoin")
    await marie.say("besoin de visières")
    [place_question] = await marie.say("200")
    [deadline_question] = await marie.pin(47.3941, 0.6848)  # a pin in Tours
    assert deadline_question.plain_text != place_question.plain_text
    await marie.say("-")
    proposal = with_buttons(await marie.say("-"))
    await marie.press(proposal, "confirm")
    [need] = rows(hub, Need)
    assert abs(need.lat - 47.3941) < 1e-6 and abs(need.lon - 0.6848) < 1e-6


async def test_status_follow_up_shows_the_need(bot, tg, hub):
    marie = Speaker(tg, hub, MARIE)
    await log_need_in_one_message(marie)
    [status] = await marie.say("/suivi")
    assert "N-1" in status.plain_text


async def test_question_escalated_and_answered_by_a_contact_on_telegram(bot, tg, hub):
    contact, marie = Speaker(tg, hub, CONTACT), Speaker(tg, hub, MARIE)
    await contact.say("/start")
    with hub.db.session() as s:
        person = s.exec(select(Person).where(Person.platform == "telegram",
                                             Person.platform_id == str(CONTACT))).one()
        s.add(DesignatedContact(person_id=person.id, topic="legal"))
    proposal = with_buttons(await marie.say("/question A-t-on le droit de vendre les visières qu'on imprime ?"))
    done = await marie.press(proposal, "confirm")
    [ticket] = [m for m in done if m.chat_id == CONTACT]
    assert "Q-1" in ticket.plain_text and "vendre" in ticket.plain_text
    answered = await contact.say("/answer Q-1 Non : la vente suppose un marquage CE.")
    to_marie = [m for m in answered if m.chat_id == MARIE]
    assert to_marie and "marquage CE" in to_marie[0].plain_text


async def test_briefing_posted_to_a_group(bot, tg, hub, clock):
    marie = Speaker(tg, hub, MARIE)
    await log_need_in_one_message(marie)
    member = Speaker(tg, hub, PAUL, chat=GROUP)
    [help_] = await member.say("/aide")  # the group becomes a community when first addressed
    assert help_.chat_id == GROUP
    with hub.db.session() as s:
        community = s.exec(select(Community).where(Community.platform_id == str(GROUP))).one()
        community.briefing_channel = str(GROUP)
        community.created_at = clock.now() - timedelta(days=2)
    clock.advance(hours=22)  # Tuesday 08:00 in Paris
    before = len(tg.messages(GROUP))
    [out] = jobs.run_briefings(hub)
    assert out.chat == str(GROUP) and out.kind == "briefing"
    bot.worker.wake()
    await settled(tg, hub)
    [briefing, chart] = tg.messages(GROUP)[before:]  # the text, then its chart as a photo
    assert "N-1" in briefing.plain_text and briefing.parse_mode == "HTML"
    assert briefing.method == "sendMessage" and chart.method == "sendPhoto"
    assert chart.file == out.attachment and chart.file.startswith(b"\x89PNG")
    assert chart.plain_text == out.title and chart.text == f"<b>{out.title}</b>"  # the title as its caption
    [row] = rows(hub, OutboxMessage, OutboxMessage.kind == "briefing")
    assert row.status == "sent" and row.platform_message_id == str(briefing.message_id)


async def test_a_briefing_with_nothing_open_is_text_only(bot, tg, hub, clock):
    member = Speaker(tg, hub, PAUL, chat=GROUP)
    await member.say("/aide")
    with hub.db.session() as s:
        community = s.exec(select(Community).where(Community.platform_id == str(GROUP))).one()
        community.briefing_channel = str(GROUP)
        community.created_at = clock.now() - timedelta(days=2)
    clock.advance(hours=22)
    before = len(tg.messages(GROUP))
    [out] = jobs.run_briefings(hub)
    assert out.attachment is None
    bot.worker.wake()
    await settled(tg, hub)
    [briefing] = tg.messages(GROUP)[before:]
    assert briefing.method == "sendMessage" and "Point du matin" in briefing.plain_text


async def test_an_export_arrives_as_a_document_with_its_file_name(bot, tg, hub):
    marie, contact = Speaker(tg, hub, MARIE), Speaker(tg, hub, CONTACT)
    await log_need_in_one_message(marie)
    await contact.say("/start")
    with hub.db.session() as s:
        person = s.exec(select(Person).where(Person.platform == "telegram",
                                             Person.platform_id == str(CONTACT))).one()
        s.add(DesignatedContact(person_id=person.id, topic="legal"))  # contacts may export
    [message, document] = await contact.say("/export needs csv")
    assert message.chat_id == document.chat_id == CONTACT
    assert message.method == "sendMessage" and "Export des besoins (CSV) : 1 ligne" in message.plain_text
    assert "relais-needs-2020-03-23.csv" in message.plain_text and "pseudonyme" in message.plain_text
    assert document.method == "sendDocument" and document.file_name == "relais-needs-2020-03-23.csv"
    assert document.plain_text == "Export des besoins (CSV) : 1 ligne"  # the title as its caption
    content = document.file.decode("utf-8-sig")
    [row] = csv.DictReader(io.StringIO(content))
    assert row["ref"] == "N-1" and row["quantity"] == "200" and row["requester"].startswith("p-")
    assert "Marie" not in content and str(MARIE) not in content and str(CONTACT) not in content
    [sent] = rows(hub, OutboxMessage, OutboxMessage.kind == "export")
    assert sent.status == "sent" and sent.platform_message_id == str(message.message_id)
    assert sent.attachment is None  # the file is not kept once delivered


async def test_same_update_delivered_twice_is_recorded_once(bot, tg, hub):
    marie = Speaker(tg, hub, MARIE)
    update = marie.update_for(NEED_TEXT, update_id=500)
    first = await marie.push(update)
    again = await marie.push(update)
    assert with_buttons(first) and again == []
    assert count(hub, Proposal) == 1


async def test_rate_limited_message_is_retried_after_retry_after(bot, tg, hub):
    marie = Speaker(tg, hub, MARIE)
    tg.inject_error(429, "Too Many Requests: retry after 1", parameters={"retry_after": 1})
    replies = await marie.say("/start")
    assert tg.status_counts[429] == 1
    assert len(replies) == 2, "privacy notice and welcome, both delivered"
    assert any("Marie" in t for t in texts(replies))
    retried = [r for r in rows(hub, OutboxMessage) if r.attempts == 2]
    assert len(retried) == 1 and retried[0].status == "sent"


async def test_markup_in_user_text_is_shown_literally(bot, tg, hub):
    tg.user(4242, "<b>Bob</b> & <script>x</script>", language_code="fr")
    bob = Speaker(tg, hub, 4242)
    replies = await bob.say("/start")
    assert tg.status_counts[400] == 0, "every message was valid HTML the first time"
    welcome = next(m for m in replies if "Bob" in (m.plain_text or ""))
    assert welcome.parse_mode == "HTML"
    assert "<b>Bob</b> & <script>x</script>" in welcome.plain_text
    unknown = await bob.say("/frobnicate <b>&amp;</b>")
    assert tg.status_counts[400] == 0
    assert any("/frobnicate" in t for t in texts(unknown))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_relais_run_starts_the_telegram_bot(db_url, tmp_path):
    tg = TelegramStandIn(limits=TelegramLimits.off(), max_poll_timeout=2).start_in_thread()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAIS_")}
    env.update(RELAIS_DATABASE_URL=db_url, RELAIS_TELEGRAM_TOKEN=tg.token,
               RELAIS_TELEGRAM_API_BASE_URL=f"http://{tg.host}:{tg.port}", PYTHONUNBUFFERED="1")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relais.cli", "run", "--only", "telegram", cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    reading = asyncio.create_task(proc.stdout.read())  # drained all along, so the pipe never fills
    try:
        await tg.wait_for_calls("getMe", timeout=30)
        await tg.wait_for_calls("setMyCommands", 3, timeout=10)
        await tg.wait_until(lambda: tg.calls_to("getUpdates"), timeout=10, what="getUpdates")
        tg.push_update(tg.command(MARIE, MARIE, "start"))
        replies = await tg.wait_for_messages(MARIE, 2, timeout=15)
        assert any("Relais" in (m.plain_text or "") for m in replies)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        output = (await reading).decode(errors="replace")
        tg.stop_in_thread()
    assert "Traceback" not in output, output


# --------------------------------------------------------------------------- more behaviour


async def test_serve_waits_for_the_bot_api_and_stops_when_told(hub, settings):
    port = _free_port()
    tg = TelegramStandIn(limits=TelegramLimits.off(), port=port)
    settings = settings.model_copy(update={"telegram_token": SecretStr(tg.token),
                                           "telegram_api_base_url": f"http://127.0.0.1:{port}"})
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(hub, settings, stop, **FAST))
    try:
        await asyncio.sleep(0.3)  # nothing listens yet: serve keeps trying
        assert not serving.done()
        async with tg:
            tg.push_update(tg.command(MARIE, MARIE, "start"))
            await tg.wait_for_messages(MARIE, 2, timeout=10)
            stop.set()
            await asyncio.wait_for(serving, 10)
            assert not tg.pending_updates(), "the recorded update was confirmed before stopping"
    finally:
        stop.set()
        if not serving.done():
            serving.cancel()


async def test_commands_menus_in_french_and_english(bot, tg):
    fr = [c["command"] for c in tg.get_commands(language_code="fr")]
    en = [c["command"] for c in tg.get_commands(language_code="en")]
    assert fr == ["besoin", "suivi", "question", "reponse", "annuler", "aide", "lang", "start"]
    assert en == ["need", "status", "ask", "answer", "cancel", "help", "lang", "start"]
    assert tg.get_commands() == tg.get_commands(language_code="en")


async def test_restart_mid_dialogue_resumes_it(hub, settings, tg):
    marie = Speaker(tg, hub, MARIE)
    async with telegram_bot(hub, settings, tg):
        await marie.say("/besoin")
        [quantity_question] = await marie.say("besoin de visières")
    db = Database(settings.database_url)
    try:
        fresh = Hub(db, settings=settings, clock=hub.clock)
        async with telegram_bot(fresh, settings, tg):
            marie.hub = fresh
            [place_question] = await marie.say("200")
            assert place_question.plain_text != quantity_question.plain_text
            await marie.say("Tours")
            await marie.say("-")
            proposal = with_buttons(await marie.say("-"))
            await marie.press(proposal, "confirm")
    finally:
        db.dispose()
    [line] = rows(hub, NeedLine)
    assert (line.item_id, line.quantity) == ("face_shield", 200)


async def test_group_answers_only_when_addressed(bot, tg, hub):
    member = Speaker(tg, hub, PAUL, chat=GROUP)
    assert await member.say("haha trop bien, bonne soirée à tous") == []
    assert await member.say("/start@someone_else_bot") == []
    [reply] = await member.say("/aide@relais_test_bot")
    assert reply.chat_id == GROUP and reply.reply_to is not None, "answers quote the message in a group"
    mention = [{"type": "mention", "offset": 0, "length": len("@relais_test_bot")}]
    replies = await member.say("@relais_test_bot il nous faut 200 visières à Tours", entities=mention)
    assert with_buttons(replies).chat_id == GROUP
    [community] = rows(hub, Community, Community.platform_id == str(GROUP))
    assert community.platform == "telegram"


async def test_long_message_split_on_line_boundaries(bot, tg, hub):
    lines = [f"ligne {i} : " + "x" * 90 for i in range(120)]  # about 12,000 characters
    with hub.db.session() as s:
        s.add(OutboxMessage(platform="telegram", chat=str(MARIE), direct=True, kind="info", title="Titre",
                            text="\n".join(lines), language="fr", buttons=[], priority=1,
                            next_attempt_at=hub.clock.now(), created_at=hub.clock.now()))
    tg.user(MARIE)
    tg.chat(MARIE)
    bot.worker.wake()
    await settled(tg, hub)
    parts = tg.messages(MARIE)
    assert len(parts) == 4 and all(len(p.text) <= 4096 for p in parts)
    assert all(p.plain_text.rstrip().endswith("x" * 90) for p in parts), "cuts fall between lines"
    assert "\n".join(p.plain_text.strip() for p in parts) == "Titre\n" + "\n".join(lines)


async def test_html_refused_by_telegram_falls_back_to_plain_text(bot, tg, hub):
    marie = Speaker(tg, hub, MARIE)
    tg.inject_error(400, "Bad Request: can't parse entities: Unsupported start tag")
    replies = await marie.say("/start")
    assert [m.parse_mode for m in replies] == [None, "HTML"], "the refused one went out as plain text"
    assert "Relais" in replies[0].plain_text and "Marie" in replies[1].plain_text


async def test_blocked_chat_is_permanent_and_server_errors_are_retried(bot, tg, hub):
    marie, paul = Speaker(tg, hub, MARIE), Speaker(tg, hub, PAUL)
    tg.fail_next(2)
    assert len(await marie.say("/start")) == 2, "500s are retried"
    tg.block_chat(PAUL)
    assert await paul.say("/start") == []
    assert {r.status for r in rows(hub, OutboxMessage, OutboxMessage.chat == str(PAUL))} == {"failed"}
    assert rows(hub, BlockedChat, BlockedChat.chat == str(PAUL))


class FlakyHub(Hub):
    """A hub whose database is unreachable for the first ``outages`` messages."""

    outages = 4  # more than the quick retries of one attempt

    def receive(self, msg):
        if self.outages:
            self.outages -= 1
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return super().receive(msg)


async def test_update_is_kept_while_the_database_is_unreachable(settings, tg, clock):
    db = Database(settings.database_url)
    hub = FlakyHub(db, settings=settings, clock=clock)
    try:
        async with telegram_bot(hub, settings, tg) as bot:
            marie = Speaker(tg, hub, MARIE)
            replies = await marie.say("/start")
            assert hub.outages == 0 and bot.offset is not None
            kept = [m for m in replies if "conservé" in (m.plain_text or "")]
            assert len(kept) == 1, "told once that the message is kept"
            assert len(replies) == 3, "then the privacy notice and the welcome"
            assert count(hub, Person) == 1
    finally:
        db.dispose()


async def test_webhook_mode_acknowledges_only_recorded_updates(hub, settings, tg):
    import aiohttp

    port = _free_port()
    url = "https://relais.example/telegram/hook"
    async with TelegramBot(hub, bot_settings(settings, tg, telegram_webhook_url=url, telegram_webhook_port=port),
                           webhook_host="127.0.0.1", **FAST) as bot:
        assert tg.webhook["url"] == url and not tg.calls_to("getUpdates")
        update = tg.command(MARIE, MARIE, "start")
        update["update_id"] = 77
        async with aiohttp.ClientSession() as http:
            target = f"http://127.0.0.1:{port}/telegram/hook"
            async with http.post(target, json=update) as answer:
                assert answer.status == 403
            headers = {"X-Telegram-Bot-Api-Secret-Token": bot.webhook_secret}
            async with http.post(target, json=update, headers=headers) as answer:
                assert answer.status == 200
        await settled(tg, hub)
        assert len(tg.messages(MARIE)) == 2


def test_api_urls_accept_a_server_root_or_its_bot_path():
    assert api_urls("http://127.0.0.1:8081") == ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")
    assert api_urls("http://h:1/bot/") == ("http://h:1/bot", "http://h:1/file/bot")


async def test_person_who_unblocks_the_bot_gets_answers_again(bot, tg, hub):
    paul = Speaker(tg, hub, PAUL)
    tg.block_chat(PAUL)
    assert await paul.say("/start") == []
    tg.clear_chat_error(PAUL)  # Paul unblocks the bot and writes again
    assert await paul.say("/aide")


def test_buttons_carry_the_core_action_within_64_bytes():
    from bots.telegram.sender import keyboard

    markup = keyboard([{"label": "Confirmer", "action": "proposal:confirm:1", "style": "primary"},
                       {"label": "Trop long", "action": "x" * 65, "style": "secondary"}])
    [[button]] = markup.inline_keyboard
    assert (button.text, button.callback_data) == ("Confirmer", "proposal:confirm:1")
    assert keyboard([]) is None


def test_telegram_errors_map_to_delivery_outcomes():
    from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

    from bots.telegram.sender import delivery_error

    assert delivery_error(RetryAfter(3)).retry_after == 3
    assert delivery_error(Forbidden("Forbidden: bot was blocked by the user")).permanent
    assert delivery_error(BadRequest("Bad Request: chat not found")).permanent
    for transient in (NetworkError("Bad Gateway"), TimedOut(), NetworkError("Internal Server Error (500)"),
                      BadRequest("Bad Request: message is too long")):
        error = delivery_error(transient)
        assert not error.permanent and error.retry_after is None


def test_a_photo_caption_is_the_escaped_title_within_telegram_limit():
    from bots.telegram.sender import CAPTION_LIMIT, caption

    assert (caption("Point du matin – Makers <37> & co", html=True)
            == "<b>Point du matin – Makers &lt;37&gt; &amp; co</b>")
    assert caption("A <b>", html=False) == "A <b>" and caption(None, html=True) is None
    long = caption("&" * 400, html=True)  # 2,000 characters once escaped
    assert len(long) <= CAPTION_LIMIT and long.endswith("…</b>") and "&amp;" in long
