"""The Telegram stand-in drives the real python-telegram-bot over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, EndPointNotFound, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.standins.telegram_api import TelegramLimits, TelegramStandIn, parse_telegram_html

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as standin:
        yield standin


def make_app(tg: TelegramStandIn, *, rate_limiter: AIORateLimiter | None = None) -> Application:
    builder = ApplicationBuilder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    return builder.build()


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Run the application with polling, without signal handlers."""
    await app.initialize()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@contextlib.asynccontextmanager
async def bot_for(tg: TelegramStandIn) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
        yield bot


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Repeat the text back, escaped, in bold."""
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_html(f"<b>echo</b> {update.effective_message.text}")


async def test_echo_bot_receives_pushed_message_and_reply_is_recorded(tg: TelegramStandIn) -> None:
    app = make_app(tg)
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with running(app):
        update = tg.push_update(tg.private_text(42, "bonjour", first_name="Camille"))
        [reply] = await tg.wait_for_messages(42, 1, timeout=5)
    assert reply.text == "<b>echo</b> bonjour"
    assert reply.plain_text == "echo bonjour"
    assert reply.parse_mode == "HTML"
    assert reply.entities == [{"type": "bold", "offset": 0, "length": 4}]
    assert reply.reply_to is None  # reply_text does not quote in private chats
    assert app.bot.username == tg.bot_user["username"]
    # The update was confirmed by the final offset: nothing left pending.
    assert tg.pending_updates() == []
    assert update["update_id"] == 1
    assert [c.method for c in tg.calls[:2]] == ["getMe", "deleteWebhook"]


async def test_group_command_and_reply_quote(tg: TelegramStandIn) -> None:
    seen: list[tuple[str, list[str]]] = []

    async def need(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        seen.append((update.effective_chat.type, list(context.args or [])))
        await update.effective_message.reply_text("noted")

    app = make_app(tg)
    app.add_handler(CommandHandler("need", need))
    async with running(app):
        tg.push_update(tg.command(-1001, 7, "need", "10 visières"))
        [reply] = await tg.wait_for_messages(-1001, 1)
    assert seen == [("supergroup", ["10", "visières"])]
    assert reply.reply_to == 1  # in groups reply_text quotes the command message
    assert reply.plain_text == "noted"


async def test_callback_query_is_answered_and_message_edited(tg: TelegramStandIn) -> None:
    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="yes")]])
        assert update.effective_message is not None
        await update.effective_message.reply_text("Confirmer ?", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Merci")
        await query.edit_message_text(f"Choix : {query.data}")

    app = make_app(tg)
    app.add_handler(CommandHandler("ask", ask))
    app.add_handler(CallbackQueryHandler(pressed))
    async with running(app):
        tg.push_update(tg.command(42, 42, "ask"))
        [question] = await tg.wait_for_messages(42, 1)
        assert question.buttons == [{"text": "Oui", "callback_data": "yes"}]
        update = tg.push_update(tg.callback_query(42, question, "yes"))
        answer = await tg.wait_for_callback_answer(update["callback_query"]["id"])
        await tg.wait_for_calls("editMessageText", 1)
    assert answer["text"] == "Merci"
    assert question.plain_text == "Choix : yes"
    assert question.reply_markup is None
    assert [e["method"] for e in question.edits] == ["editMessageText"]


async def test_same_update_id_can_be_delivered_twice(tg: TelegramStandIn) -> None:
    received: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        received.append(update.update_id)

    app = make_app(tg)
    app.add_handler(MessageHandler(filters.ALL, record))
    async with running(app):
        first = tg.push_update(tg.private_text(5, "one"))
        tg.push_update(tg.private_text(5, "two"))
        await tg.wait_until(lambda: len(received) == 2)
        tg.push_update(dict(first))  # same update_id again
        await tg.wait_until(lambda: len(received) == 3)
        after = tg.push_update(tg.location(5, 5, 48.85, 2.35))
        await tg.wait_until(lambda: len(received) == 4)
    assert received == [1, 2, 1, 3]
    assert after["message"]["location"] == {"latitude": 48.85, "longitude": 2.35}


async def test_reply_to_bot_message_carries_reply_to_message(tg: TelegramStandIn) -> None:
    replies: list[str] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.reply_to_message is not None
        replies.append(f"{message.text} -> {message.reply_to_message.text}")

    app = make_app(tg)
    app.add_handler(MessageHandler(filters.REPLY, record))
    async with running(app):
        sent = await app.bot.send_message(42, "Combien ?")
        [recorded] = tg.messages(42)
        tg.push_update(tg.reply(42, 42, "12", recorded))
        await tg.wait_until(lambda: replies)
    assert sent.message_id == recorded.message_id
    assert replies == ["12 -> Combien ?"]


async def test_private_chat_limit_raises_retry_after(tg: TelegramStandIn) -> None:
    tg.set_limits(TelegramLimits(private_burst=1))
    async with bot_for(tg) as bot:
        await bot.send_message(42, "first")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(42, "second")
    assert "Retry in 1 second" in str(caught.value)
    assert tg.calls_to("sendMessage")[-1].status == 429
    assert tg.calls_to("sendMessage")[-1].description == "Too Many Requests: retry after 1"
    assert tg.rate_limited == 1
    assert tg.rate_limited_by_chat[42] == 1
    assert [m.plain_text for m in tg.messages(42)] == ["first"]


async def test_group_limit_is_per_minute(tg: TelegramStandIn) -> None:
    now = [1000.0]
    standin = TelegramStandIn(clock=lambda: now[0], limits=TelegramLimits(group_burst=20))
    async with standin, bot_for(standin) as bot:
        for i in range(20):
            await bot.send_message(-100, f"m{i}")
        with pytest.raises(RetryAfter):
            await bot.send_message(-100, "too many")
        now[0] += 3.0  # 20/min: one more token every 3 s
        await bot.send_message(-100, "again")
    assert len(standin.messages(-100)) == 21
    assert standin.rate_limited == 1


async def test_ai_rate_limiter_retries_until_delivered(tg: TelegramStandIn) -> None:
    tg.set_limits(TelegramLimits(private_burst=1))
    app = make_app(tg, rate_limiter=AIORateLimiter(max_retries=3))
    async with app:
        await app.bot.send_message(42, "one")
        await app.bot.send_message(42, "two")  # 429 first, retried after retry_after
    assert [m.plain_text for m in tg.messages(42)] == ["one", "two"]
    assert tg.rate_limited >= 1


async def test_limits_can_be_switched_off(tg: TelegramStandIn) -> None:
    tg.set_limits(TelegramLimits.off())
    async with bot_for(tg) as bot:
        await asyncio.gather(*(bot.send_message(42, f"m{i}") for i in range(40)))
    assert len(tg.messages(42)) == 40
    assert tg.rate_limited == 0
    assert sorted(m.message_id for m in tg.messages(42)) == list(range(1, 41))


async def test_injected_server_errors_surface_as_network_errors(tg: TelegramStandIn) -> None:
    tg.fail_next(1)
    async with bot_for(tg) as bot:
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(42, "lost")
        await bot.send_message(42, "kept")
    assert [m.plain_text for m in tg.messages(42)] == ["kept"]
    assert tg.injected_failures == 1
    assert tg.status_counts[500] == 1


async def test_fail_fraction_is_seeded(tg: TelegramStandIn) -> None:
    outcomes: list[list[bool]] = []
    for _ in range(2):
        tg.fail_fraction(0.5, seed=7)
        run: list[bool] = []
        async with bot_for(tg) as bot:
            tg.set_limits(TelegramLimits.off())
            for i in range(12):
                try:
                    await bot.send_message(42, f"m{i}")
                    run.append(True)
                except NetworkError:
                    run.append(False)
        outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    assert True in outcomes[0] and False in outcomes[0]


async def test_blocked_and_missing_chats(tg: TelegramStandIn) -> None:
    tg.block_chat(42)
    tg.lose_chat(43)
    async with bot_for(tg) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(42, "hello")
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(43, "hello")
        tg.clear_chat_error(42)
        await bot.send_message(42, "hello again")
    assert [m.chat_id for m in tg.messages()] == [42]


@pytest.mark.parametrize(
    "text",
    [
        "<b>unclosed",
        "<script>alert(1)</script>",
        "Tom & Jerry",
        "a < b",
        "<b><i>crossed</b></i>",
        "stray </b>",
        '<span class="x">no</span>',
    ],
)
async def test_malformed_html_is_rejected(tg: TelegramStandIn, text: str) -> None:
    async with bot_for(tg) as bot:
        with pytest.raises(BadRequest, match="(?i)can.t parse entities"):
            await bot.send_message(42, text, parse_mode="HTML")
    assert tg.messages(42) == []


async def test_well_formed_html_and_length_limit(tg: TelegramStandIn) -> None:
    async with bot_for(tg) as bot:
        await bot.send_message(
            42,
            '<b>a</b> &lt;script&gt; &amp; &#233; <a href="https://x.org/?a=1&amp;b=2">lien</a> '
            "<tg-spoiler>s</tg-spoiler> <blockquote>q</blockquote>",
            parse_mode="HTML",
        )
        await bot.send_message(42, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # tags do not count
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(42, "x" * 4097)
        with pytest.raises(BadRequest, match="(?i)message text is empty"):
            await bot.send_message(42, "<b> </b>", parse_mode="HTML")
    first = tg.messages(42)[0]
    assert first.plain_text == "a <script> & é lien s q"
    assert {"type": "text_link", "offset": 15, "length": 4, "url": "https://x.org/?a=1&b=2"} in first.entities


def test_html_parser_offsets_are_utf16() -> None:
    plain, entities = parse_telegram_html("😀 <b>gras</b>")
    assert plain == "😀 gras"
    assert entities == [{"type": "bold", "offset": 3, "length": 4}]


async def test_commands_photo_document_chat_and_unknown_method(tg: TelegramStandIn) -> None:
    async with bot_for(tg) as bot:
        await bot.set_my_commands([BotCommand("besoin", "Signaler un besoin")], language_code="fr")
        await bot.set_my_commands([BotCommand("start", "Start")], scope=BotCommandScopeAllPrivateChats())
        fr = await bot.get_my_commands(language_code="fr")
        photo = await bot.send_photo(
            42, photo=io.BytesIO(b"\x89PNG fake"), caption="<i>visière</i>", parse_mode="HTML"
        )
        document = await bot.send_document(42, document=io.BytesIO(b"%PDF"), filename="guide.pdf")
        await bot.send_chat_action(42, "typing")
        tg.push_update(tg.group_text(-5, 7, "hi", chat_type="group", title="Makers 13"))
        chat = await bot.get_chat(-5)
        assert await bot.delete_message(42, document.message_id)
        downloaded = await (await bot.get_file(photo.photo[0].file_id)).download_as_bytearray()
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod")
    assert [c.command for c in fr] == ["besoin"]
    assert tg.get_commands({"type": "all_private_chats"}) == [{"command": "start", "description": "Start"}]
    assert tg.get_commands() == []
    assert photo.caption == "visière"
    assert tg.messages(42)[0].file == b"\x89PNG fake"
    assert tg.messages(42)[1].deleted
    assert document.document.file_name == "guide.pdf"
    assert tg.chat_actions == [(42, "typing")]
    assert chat.title == "Makers 13" and chat.type == "group"
    assert bytes(downloaded) == b"\x89PNG fake"


async def test_held_answer_is_delivered_but_unacknowledged(tg: TelegramStandIn) -> None:
    tg.hold(phase="after")
    async with bot_for(tg) as bot:
        send = asyncio.create_task(bot.send_message(42, "in flight"))
        await tg.wait_for_held(1)
        assert [m.plain_text for m in tg.messages(42)] == ["in flight"]
        assert not send.done()
        tg.release()
        message = await asyncio.wait_for(send, 5)
    assert message.text == "in flight"


async def test_stop_releases_pending_long_poll() -> None:
    tg = TelegramStandIn(max_poll_timeout=30)
    await tg.start()
    async with bot_for(tg) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=25, read_timeout=30))
        await tg.wait_until(lambda: tg.calls_to("getUpdates"))
        await asyncio.wait_for(tg.stop(), 5)
        updates = await asyncio.wait_for(poll, 5)
    assert updates == ()


async def test_stand_in_runs_in_its_own_thread() -> None:
    tg = TelegramStandIn(limits=TelegramLimits.off()).start_in_thread()
    try:
        async with bot_for(tg) as bot:
            await asyncio.gather(*(bot.send_message(-7, f"m{i}") for i in range(10)))
        messages = await tg.wait_for_messages(-7, 10, timeout=5)
        tg.push_update(tg.private_text(3, "hi"))
        async with bot_for(tg) as bot:
            updates = await bot.get_updates(timeout=1)
    finally:
        tg.stop_in_thread()
    assert len(messages) == 10
    assert [u.message.text for u in updates] == ["hi"]


async def test_raw_http_json_bodies_tokens_and_unknown_methods(tg: TelegramStandIn) -> None:
    url = f"{tg.base_url}{tg.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/sendMessage", json={"chat_id": 9, "text": "json body"}) as response:
            sent = await response.json()
        async with http.get(f"{url}/getUpdates", params={"timeout": "0"}) as response:
            updates = await response.json()
        async with http.post(f"{url}/frobnicate", data={"chat_id": "9"}) as response:
            unknown = (response.status, await response.json())
        async with http.post(f"{tg.base_url}0:wrong/getMe") as response:
            wrong_token = response.status
        broken = {"chat_id": "9", "text": "x", "reply_markup": "{"}
        async with http.post(f"{url}/sendMessage", data=broken) as response:
            bad_json = response.status
    assert sent["ok"] is True and sent["result"]["text"] == "json body"
    assert sent["result"]["chat"] == {"id": 9, "type": "private", "first_name": "User9"}
    assert updates == {"ok": True, "result": []}
    assert unknown == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert wrong_token == 401
    assert bad_json == 400


async def test_forum_topics_and_group_migration(tg: TelegramStandIn) -> None:
    from telegram.error import ChatMigrated

    forum = -1009876
    topic = tg.create_topic(forum, 7, "Masques")
    seen: list[tuple[int | None, bool | None]] = []

    async def note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        seen.append((message.message_thread_id, message.is_topic_message))

    app = make_app(tg)
    app.add_handler(MessageHandler(filters.TEXT, note))
    async with running(app):
        tg.push_update(tg.group_text(forum, 7, "in the topic", thread=topic))
        tg.push_update(tg.group_text(forum, 7, "in General"))
        await tg.wait_until(lambda: len(seen) == 2 or None, what="two messages")
    assert seen == [(topic, True), (None, None)]
    async with bot_for(tg) as bot:
        asked = await bot.send_message(forum, "to the topic", message_thread_id=topic)
        general = await bot.send_message(forum, "to General")
        replied = await bot.send_message(forum, "a reply", reply_to_message_id=asked.message_id)
        with pytest.raises(BadRequest, match="(?i)message thread not found"):
            await bot.send_message(forum, "nowhere", message_thread_id=999)
        assert asked.message_thread_id == topic and asked.is_topic_message
        old, new = -4242, -1004242
        tg.chat(old, "group")
        to_old, to_new = tg.migrate(old, new, 7)
        assert to_old["message"]["migrate_to_chat_id"] == new
        assert to_new["message"]["migrate_from_chat_id"] == old
        with pytest.raises(ChatMigrated) as raised:
            await bot.send_message(old, "hello")
        assert raised.value.new_chat_id == new
    assert [m.thread for m in tg.messages(forum)] == [topic, None, topic]
    assert [m.params.get("message_thread_id") for m in tg.messages(forum)] == [topic, None, None]
    assert general.message_thread_id is None and replied.message_thread_id == topic
