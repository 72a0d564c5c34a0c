# ruff: noqa: F401, F811  (the Telegram fixtures bot and tg come from tests.test_telegram_bot)
"""Forum topics and group migration on Telegram, end to end: the real python-telegram-bot Application
against the local Bot API stand-in, the real core on SQLite and PostgreSQL.

A forum supergroup's messages carry ``message_thread_id`` (and ``is_topic_message``) when written in a
topic, none in the General topic; a group that becomes a supergroup sends ``migrate_to_chat_id`` (in
the old group) and ``migrate_from_chat_id`` (in the new one)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core import jobs
from core.messages import Identity
from core.models import AuditEntry, Community, DesignatedContact, OutboxMessage, Person, Role
from tests.test_telegram_bot import (
    CONTACT,
    GROUP,
    MARIE,
    NEED_TEXT,
    PAUL,
    Speaker,
    bot,
    rows,
    settled,
    texts,
    tg,
    with_buttons,
)

OLD_GROUP, NEW_GROUP = -4242, -1004242


def asked_thread(message) -> int | None:
    """The topic the bot asked for (``message_thread_id`` in its call), not where the stand-in put it."""
    return message.params.get("message_thread_id")


async def test_a_message_in_a_topic_is_answered_in_that_topic(bot, tg, hub):
    topic = tg.create_topic(GROUP, PAUL, "Visières")
    member = Speaker(tg, hub, PAUL, chat=GROUP)
    [help_] = await member.say("/aide", thread=topic)
    assert help_.chat_id == GROUP and help_.thread == topic and asked_thread(help_) == topic
    [row] = rows(hub, OutboxMessage, OutboxMessage.chat == str(GROUP))
    assert row.thread == str(topic)


async def test_button_follow_ups_stay_in_the_topic(bot, tg, hub):
    topic = tg.create_topic(GROUP, MARIE, "Besoins")
    marie = Speaker(tg, hub, MARIE, chat=GROUP)
    mention = [{"type": "mention", "offset": 0, "length": len("@relais_test_bot")}]
    proposal = with_buttons(await marie.say(f"@relais_test_bot {NEED_TEXT}", entities=mention, thread=topic))
    assert asked_thread(proposal) == topic
    # A button press has no message of the person's to reply to: only the thread keeps it in the topic.
    done = await marie.press(proposal, "confirm")
    in_group = [m for m in done if m.chat_id == GROUP]
    assert any("N-1" in t for t in texts(in_group))
    assert [(m.thread, asked_thread(m)) for m in in_group] == [(topic, topic)] * len(in_group)


async def test_a_contacts_answer_lands_in_the_topic_the_question_was_asked_in(bot, tg, hub):
    contact = Speaker(tg, hub, CONTACT)
    await contact.say("/start")
    with hub.db.session() as s:
        person = s.exec(select(Person).where(Person.platform == "telegram",
                                             Person.platform_id == str(CONTACT))).one()
        s.add(DesignatedContact(person_id=person.id, topic="legal"))
    tg.create_topic(GROUP, PAUL, "Autre chose")
    topic = tg.create_topic(GROUP, MARIE, "Questions")
    marie = Speaker(tg, hub, MARIE, chat=GROUP)
    proposal = with_buttons(await marie.say("/question A-t-on le droit de vendre les visières qu'on imprime ?",
                                            thread=topic))
    done = await marie.press(proposal, "confirm")
    [ticket] = [m for m in done if m.chat_id == CONTACT]
    assert "Q-1" in ticket.plain_text and ticket.thread is None
    # The answer is written later, in the contact's private chat: no message of Marie's to reply to, so
    # only the ticket's stored topic brings it back into "Questions" rather than the General topic.
    before = len(tg.messages(GROUP))
    answered = await contact.say("/answer Q-1 Non : la vente suppose un marquage CE.")
    [in_group] = [m for m in answered if m.chat_id == GROUP]
    assert "marquage CE" in in_group.plain_text and "Q-1" in in_group.plain_text
    assert (in_group.thread, asked_thread(in_group)) == (topic, topic)
    assert in_group.params.get("reply_to_message_id") is None
    [to_marie] = [m for m in answered if m.chat_id == MARIE]
    assert "marquage CE" in to_marie.plain_text and asked_thread(to_marie) is None
    assert tg.messages(GROUP)[before:] == [in_group]


async def test_a_message_in_the_general_topic_is_answered_without_a_thread(bot, tg, hub):
    tg.create_topic(GROUP, PAUL, "Autre chose")  # the group is a forum with a topic
    member = Speaker(tg, hub, PAUL, chat=GROUP)
    [help_] = await member.say("/aide")
    assert help_.chat_id == GROUP and help_.thread is None and asked_thread(help_) is None
    [row] = rows(hub, OutboxMessage, OutboxMessage.chat == str(GROUP))
    assert row.thread is None


async def test_a_topic_deleted_since_gets_the_message_in_the_chat_itself(bot, tg, hub):
    topic = tg.create_topic(GROUP, PAUL, "Éphémère")
    tg.delete_topic(GROUP, topic)
    with hub.db.session() as s:
        s.add(OutboxMessage(platform="telegram", chat=str(GROUP), thread=str(topic), kind="info", text="Bonjour",
                            language="fr", buttons=[], priority=1, next_attempt_at=hub.clock.now(),
                            created_at=hub.clock.now()))
    bot.worker.wake()
    await settled(tg, hub)
    [sent] = tg.messages(GROUP)
    assert sent.plain_text == "Bonjour" and sent.thread is None and asked_thread(sent) is None
    assert tg.status_counts[400] == 1, "the topic was tried first"
    assert {r.status for r in rows(hub, OutboxMessage, OutboxMessage.chat == str(GROUP))} == {"sent"}


def community(hub, platform_id: int) -> Community | None:
    with hub.db.session() as s:
        return s.exec(select(Community).where(Community.platform == "telegram",
                                              Community.platform_id == str(platform_id))).first()


def make_moderator(hub, user_id: int, group: int) -> None:
    hub.grant_role(Identity("telegram", str(user_id), "Paul", "en"), Role.MODERATOR, community=str(group))


async def test_a_briefing_set_to_a_topic_is_posted_in_it(bot, tg, hub, clock):
    marie = Speaker(tg, hub, MARIE)
    await marie.press(with_buttons(await marie.say(NEED_TEXT)), "confirm")  # an open need: text and chart
    topic = tg.create_topic(GROUP, PAUL, "Point du matin")
    make_moderator(hub, PAUL, GROUP)
    paul = Speaker(tg, hub, PAUL, chat=GROUP)
    [shown] = await paul.say("/settings briefing_channel here", thread=topic)
    assert shown.thread == topic and f"(topic {topic})" in shown.plain_text
    with hub.db.session() as s:
        com = s.exec(select(Community).where(Community.platform_id == str(GROUP))).one()
        assert (com.briefing_channel, com.briefing_thread) == (str(GROUP), str(topic))
        com.created_at = clock.now() - timedelta(days=2)
    clock.advance(hours=22)  # Tuesday 08:00 in Paris
    before = len(tg.messages(GROUP))
    [out] = jobs.run_briefings(hub)
    assert out.thread == str(topic)
    bot.worker.wake()
    await settled(tg, hub)
    [briefing, chart] = tg.messages(GROUP)[before:]
    assert "N-1" in briefing.plain_text and chart.method == "sendPhoto"
    assert [(m.thread, asked_thread(m)) for m in (briefing, chart)] == [(topic, topic), (topic, topic)]


async def test_a_group_that_becomes_a_supergroup_keeps_its_community(bot, tg, hub, clock):
    tg.chat(OLD_GROUP, "group", "Soignants 37")
    member = Speaker(tg, hub, PAUL, chat=OLD_GROUP)
    await member.say("/aide")
    make_moderator(hub, PAUL, OLD_GROUP)
    [shown] = await member.say("/settings briefing_time 07:15 radius 80 briefing_channel here")
    assert "07:15" in shown.plain_text
    old = community(hub, OLD_GROUP)
    to_old, to_new = tg.migrate(OLD_GROUP, NEW_GROUP, PAUL)
    assert await member.push(to_old) == []
    assert community(hub, OLD_GROUP) is None
    moved = community(hub, NEW_GROUP)
    assert (moved.id, moved.briefing_time, moved.radius_km, moved.briefing_channel) == (
        old.id, "07:15", 80.0, str(NEW_GROUP))
    # The supergroup's own service message, and the same update delivered again, change nothing.
    assert await member.push(to_new) == []
    assert await member.push(to_old) == []
    assert [a.subject for a in rows(hub, AuditEntry, AuditEntry.action == "chat.migrated")] == [
        f"community:{old.id}"]
    assert [(c.id, c.platform_id) for c in rows(hub, Community)] == [(old.id, str(NEW_GROUP))]
    # The next briefing goes to the new id, not through a refused send to the old one.
    with hub.db.session() as s:
        com = s.get(Community, old.id)
        com.created_at = clock.now() - timedelta(days=2)
    clock.advance(hours=22)
    [out] = jobs.run_briefings(hub)
    assert out.chat == str(NEW_GROUP)
    bot.worker.wake()
    await settled(tg, hub)
    assert [m.method for m in tg.messages(NEW_GROUP)] == ["sendMessage"]
    assert tg.status_counts[400] == 0, "nothing was sent to the old id (refused with migrate_to_chat_id)"


async def test_a_send_refused_as_migrated_moves_the_community_too(bot, tg, hub):
    tg.chat(OLD_GROUP, "group", "Soignants 37")
    member = Speaker(tg, hub, PAUL, chat=OLD_GROUP)
    await member.say("/aide")
    old = community(hub, OLD_GROUP)
    tg.migrate(OLD_GROUP, NEW_GROUP, PAUL)  # the service messages never reach the bot
    [reply] = await member.push(tg.command(NEW_GROUP, PAUL, "aide"))  # written in the supergroup meanwhile
    assert reply.chat_id == NEW_GROUP
    with hub.db.session() as s:
        s.add(OutboxMessage(platform="telegram", chat=str(OLD_GROUP), kind="info", text="Bonjour", language="fr",
                            buttons=[], priority=1, next_attempt_at=hub.clock.now(),
                            created_at=hub.clock.now()))
    bot.worker.wake()
    await settled(tg, hub)
    assert tg.messages(NEW_GROUP)[-1].plain_text == "Bonjour"
    assert tg.status_counts[400] == 1, "one send refused with migrate_to_chat_id, then sent to the new id"
    # The community of the old group was kept; the one created in the supergroup meanwhile merged into it.
    assert [(c.id, c.platform_id) for c in rows(hub, Community)] == [(old.id, str(NEW_GROUP))]
