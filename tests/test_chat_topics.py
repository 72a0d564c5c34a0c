"""Topics inside a chat (Telegram forum topics) through the core, on SQLite and PostgreSQL: replies and
follow-ups keep the topic of the message they answer, in the Outbound and in the outbox row."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlmodel import select, update

from core import jobs
from core.messages import Action, Identity, Inbound
from core.models import (
    AuditEntry,
    BlockedChat,
    Briefing,
    Community,
    DesignatedContact,
    Escalation,
    OutboxMessage,
    Person,
    RoleGrant,
)
from tests.helpers import kinds, one

GROUP = "-1001234567890"
TOPIC = "42"
MARIE = Identity("telegram", "1001", "Marie", "fr")
NEED = "@relais il nous faut 200 visières pour l'EHPAD Les Tilleuls à Tours avant vendredi"
_ids = itertools.count(1)


def say(hub, text: str, *, thread: str | None = TOPIC, chat: str = GROUP, who: Identity = MARIE):
    private = chat == who.platform_id
    return hub.receive(Inbound(platform="telegram", event_id=f"topic-msg-{next(_ids)}", chat=chat, author=who,
                               text=text, sent_at=hub.clock.now(), chat_kind="private" if private else "group",
                               community=None if private else chat, addressed=True, thread=thread,
                               reply_to=None if private else str(next(_ids))))


def press(hub, action: str, *, thread: str | None = TOPIC, chat: str = GROUP, who: Identity = MARIE):
    return hub.act(Action(platform="telegram", event_id=f"topic-act-{next(_ids)}", chat=chat, author=who,
                          name=action, sent_at=hub.clock.now(), chat_kind="group", community=chat,
                          thread=thread))


def stored(hub, outs) -> dict[int, str | None]:
    ids = [o.outbox_id for o in outs]
    with hub.db.session() as s:
        return {r.id: r.thread for r in s.exec(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}


def test_a_reply_keeps_the_topic_in_the_outbound_and_the_outbox(hub):
    outs = say(hub, "/aide")
    [reply] = outs
    assert reply.chat == GROUP and reply.thread == TOPIC
    assert stored(hub, outs) == {reply.outbox_id: TOPIC}


def test_a_message_outside_any_topic_gets_a_reply_without_one(hub):
    outs = say(hub, "/aide", thread=None)
    assert [o.thread for o in outs] == [None]
    assert set(stored(hub, outs).values()) == {None}


def test_a_refusal_keeps_the_topic(hub):
    # A refusal rolls the event back and answers from a new context: the topic must survive that.
    [refused] = say(hub, "/frobnicate")
    assert refused.kind == "refused" and refused.thread == TOPIC
    assert stored(hub, [refused]) == {refused.outbox_id: TOPIC}


def test_button_follow_ups_stay_in_the_topic_and_direct_messages_have_none(hub):
    outs = say(hub, NEED)
    proposal = one(outs, "proposal")
    assert proposal.thread == TOPIC
    done = press(hub, proposal.buttons[0].action)
    assert "need_recorded" in kinds(done)
    in_group = [o for o in done if not o.direct and o.chat == GROUP and o.priority == 0]
    assert in_group and all(o.thread == TOPIC for o in in_group), [(o.kind, o.thread) for o in in_group]
    assert all(o.thread is None for o in done if o.direct)
    rows = stored(hub, done)
    assert all(rows[o.outbox_id] == o.thread for o in done)


def test_a_private_chat_has_no_topic(hub):
    outs = say(hub, "/aide", chat=MARIE.platform_id, thread="9")
    assert outs and all(o.thread is None for o in outs)


# --------------------------------------------------------------------------- a group that became a supergroup

OLD, NEW = "-4242", "-1004242"


def community_at(hub, platform_id: str):
    with hub.db.session() as s:
        return s.exec(select(Community).where(Community.platform == "telegram",
                                              Community.platform_id == platform_id)).first()


def test_migrating_a_chat_moves_its_community_and_what_waits_for_it(hub):
    say(hub, "/aide", chat=OLD, thread=None)
    with hub.db.session() as s:
        com = s.exec(select(Community).where(Community.platform_id == OLD)).one()
        com.briefing_channel, com.needs_channel, com.intake_channels = OLD, OLD, [OLD, "-77"]
        com.briefing_time, com_id = "07:15", com.id
        s.add(BlockedChat(platform="telegram", chat=OLD, reason="gone", at=hub.clock.now()))
        s.add(OutboxMessage(platform="telegram", chat=OLD, kind="info", text="waiting", language="fr",
                            buttons=[], status="pending", next_attempt_at=hub.clock.now(),
                            created_at=hub.clock.now()))
        s.add(OutboxMessage(platform="telegram", chat=OLD, kind="info", text="already sent", language="fr",
                            buttons=[], status="sent", next_attempt_at=hub.clock.now(),
                            created_at=hub.clock.now()))
        s.add(OutboxMessage(platform="discord", chat=OLD, kind="info", text="another platform", language="fr",
                            buttons=[], status="pending", next_attempt_at=hub.clock.now(),
                            created_at=hub.clock.now()))
    moved = hub.migrate_chat("telegram", OLD, NEW)
    assert moved["community"] == com_id and moved["merged"] is None
    assert community_at(hub, OLD) is None
    com = community_at(hub, NEW)
    assert com.id == com_id and com.briefing_time == "07:15"
    assert (com.briefing_channel, com.needs_channel, com.intake_channels) == (NEW, NEW, [NEW, "-77"])
    with hub.db.session() as s:
        outbox = {(r.platform, r.text): r.chat for r in s.exec(select(OutboxMessage))
                  if r.text in ("waiting", "already sent", "another platform")}
        assert outbox == {("telegram", "waiting"): NEW, ("telegram", "already sent"): OLD,
                          ("discord", "another platform"): OLD}
        assert [b.chat for b in s.exec(select(BlockedChat))] == [NEW]
        [audit] = s.exec(select(AuditEntry).where(AuditEntry.action == "chat.migrated")).all()
        assert audit.subject == f"community:{com_id}" and audit.after["to"] == NEW
    # The same migration told again (the supergroup's own service message, a redelivery): nothing changes.
    assert hub.migrate_chat("telegram", OLD, NEW) is None
    with hub.db.session() as s:
        assert len(s.exec(select(AuditEntry).where(AuditEntry.action == "chat.migrated")).all()) == 1
    # A message in the supergroup finds the community with its settings (no new one is created).
    assert say(hub, "/aide", chat=NEW, thread=None)
    with hub.db.session() as s:
        assert [(c.id, c.briefing_time) for c in s.exec(select(Community))] == [(com_id, "07:15")]


def test_a_community_created_under_the_new_id_meanwhile_is_merged_into_the_old_one(hub):
    say(hub, "/aide", chat=OLD, thread=None)
    say(hub, "/aide", chat=NEW, thread=None)  # addressed in the supergroup before the migration arrived
    old_com, new_com = community_at(hub, OLD), community_at(hub, NEW)
    with hub.db.session() as s:
        s.exec(update(Community).where(Community.id == old_com.id).values(briefing_time="06:45"))
        marie = s.exec(select(Person).where(Person.platform_id == MARIE.platform_id)).one()
        s.add(RoleGrant(person_id=marie.id, role="moderator", community_id=old_com.id))
        s.add(RoleGrant(person_id=marie.id, role="moderator", community_id=new_com.id))  # a duplicate
        s.add(RoleGrant(person_id=marie.id, role="maker", community_id=new_com.id))
        s.add(Briefing(community_id=new_com.id, local_date=hub.clock.now().date(), status="sent"))
    moved = hub.migrate_chat("telegram", OLD, NEW)
    assert moved["community"] == old_com.id and moved["merged"] == new_com.id
    kept = community_at(hub, NEW)
    assert kept.id == old_com.id and kept.briefing_time == "06:45"
    with hub.db.session() as s:
        assert s.get(Community, new_com.id) is None
        grants = sorted((g.role, g.community_id) for g in s.exec(select(RoleGrant)))
        assert grants == [("maker", old_com.id), ("moderator", old_com.id)]
        assert [b.community_id for b in s.exec(select(Briefing))] == [old_com.id]


def test_migration_of_an_unknown_chat_changes_nothing(hub):
    assert hub.migrate_chat("telegram", "-1", "-1001") is None
    with hub.db.session() as s:
        assert not s.exec(select(AuditEntry).where(AuditEntry.action == "chat.migrated")).all()


# --------------------------------------------------------------------------- a briefing in a topic


def test_briefing_channel_set_here_in_a_topic_keeps_the_topic(hub, clock):
    hub.grant_role(MARIE, "moderator", community=GROUP, community_name="Soignants 37")
    [shown] = say(hub, "/reglages salon_point ici")
    assert shown.kind == "settings" and "(sujet 42)" in shown.text and shown.thread == TOPIC
    com = community_at(hub, GROUP)
    assert (com.briefing_channel, com.briefing_thread) == (GROUP, TOPIC)
    [now_posted] = [o for o in say(hub, "/point maintenant", thread=None) if o.kind == "briefing"]
    assert (now_posted.chat, now_posted.thread) == (GROUP, TOPIC)
    with hub.db.session() as s:
        s.exec(update(Community).where(Community.id == com.id)
               .values(created_at=clock.now() - timedelta(days=2)))
    clock.advance(hours=22)
    [out] = jobs.run_briefings(hub)
    assert (out.chat, out.thread) == (GROUP, TOPIC)
    assert stored(hub, [out]) == {out.outbox_id: TOPIC}
    # Said in the General topic, or given as an id, the briefing channel has no topic.
    say(hub, "/reglages salon_point here", thread=None)
    assert community_at(hub, GROUP).briefing_thread is None
    say(hub, "/reglages salon_point ici")
    say(hub, "/reglages salon_point -100999")
    com = community_at(hub, GROUP)
    assert (com.briefing_channel, com.briefing_thread) == ("-100999", None)


# --------------------------------------------------------------------------- a question's answer, relayed later

CONTACT = Identity("telegram", "9001", "Dr Martin", "fr")
MOD = Identity("telegram", "1002", "Paul", "fr")
QUESTION = "/question A-t-on le droit de vendre les visières qu'on imprime ?"
OTHER_TOPIC = "77"


def designate_contact(hub) -> None:
    say(hub, "/start", chat=CONTACT.platform_id, who=CONTACT, thread=None)
    with hub.db.session() as s:
        contact = s.exec(select(Person).where(Person.platform_id == CONTACT.platform_id)).one()
        s.add(DesignatedContact(person_id=contact.id, topic="legal"))


def ask_in(hub, thread: str | None, chat: str = GROUP, confirm_in: str | None = "same") -> list:
    """Marie asks in ``chat`` (in topic ``thread``) and confirms with the proposal's button, pressed in the
    topic of the proposal (or in ``confirm_in``)."""
    proposal = one(say(hub, QUESTION, chat=chat, thread=thread), "proposal")
    assert proposal.thread == (None if chat == MARIE.platform_id else thread)
    where = thread if confirm_in == "same" else confirm_in
    if chat == MARIE.platform_id:
        return hub.act(Action(platform="telegram", event_id=f"topic-act-{next(_ids)}", chat=chat, author=MARIE,
                              name=proposal.buttons[0].action, sent_at=hub.clock.now(), thread=None))
    return press(hub, proposal.buttons[0].action, chat=chat, thread=where)


def answered(hub, ref: str = "Q-1") -> tuple[list, list]:
    """The contact answers in their private chat: (what went to the group, what went to the asker)."""
    outs = say(hub, f"/reponse {ref} Non : la vente suppose un marquage CE.", chat=CONTACT.platform_id,
               who=CONTACT, thread=None)
    answers = [o for o in outs if o.kind == "answer"]
    return [o for o in answers if not o.direct], [o for o in answers if o.direct]


def ticket_thread(hub, ticket_id: int = 1) -> tuple[str, str | None]:
    with hub.db.session() as s:
        esc = s.get(Escalation, ticket_id)
        return esc.chat, esc.thread


def test_a_contacts_answer_is_relayed_into_the_topic_the_question_was_asked_in(hub):
    designate_contact(hub)
    done = ask_in(hub, TOPIC)
    assert one(done, "escalated").thread == TOPIC
    [ticket] = [o for o in done if o.kind == "ticket"]
    assert ticket.direct and ticket.chat == CONTACT.platform_id and ticket.thread is None
    assert ticket_thread(hub) == (GROUP, TOPIC)
    [in_group], [to_marie] = answered(hub)
    assert (in_group.chat, in_group.thread) == (GROUP, TOPIC) and "marquage CE" in in_group.text
    assert (to_marie.chat, to_marie.thread) == (MARIE.platform_id, None)
    assert stored(hub, [in_group, to_marie]) == {in_group.outbox_id: TOPIC, to_marie.outbox_id: None}
    with hub.db.session() as s:
        [audit] = s.exec(select(AuditEntry).where(AuditEntry.action == "ticket.answer_posted")).all()
        assert audit.after == {"platform": "telegram", "chat": GROUP, "thread": TOPIC}


def test_a_question_asked_outside_any_topic_or_in_private_gets_its_answer_without_one(hub):
    designate_contact(hub)
    ask_in(hub, None)  # the General topic of the forum, or a group without topics
    assert ticket_thread(hub, 1) == (GROUP, None)
    [in_group], [to_marie] = answered(hub, "Q-1")
    assert (in_group.chat, in_group.thread, to_marie.thread) == (GROUP, None, None)
    assert set(stored(hub, [in_group, to_marie]).values()) == {None}
    # Asked in private (a stray thread id from the platform is ignored): only Marie gets the answer.
    ask_in(hub, "9", chat=MARIE.platform_id)
    assert ticket_thread(hub, 2) == (MARIE.platform_id, None)
    in_group, [to_marie] = answered(hub, "Q-2")
    assert in_group == [] and (to_marie.chat, to_marie.thread) == (MARIE.platform_id, None)


def test_a_question_confirmed_from_another_topic_keeps_the_topic_it_was_asked_in(hub):
    designate_contact(hub)
    one(say(hub, QUESTION, thread=TOPIC), "proposal")
    done = say(hub, "/oui", thread=OTHER_TOPIC)  # typed in another topic of the same forum
    assert one(done, "escalated").thread == OTHER_TOPIC, "the confirmation is answered where it was typed"
    assert ticket_thread(hub) == (GROUP, TOPIC)
    [in_group], _ = answered(hub)
    assert (in_group.chat, in_group.thread) == (GROUP, TOPIC)


def test_a_question_a_moderator_escalates_in_a_topic_is_answered_there(hub):
    designate_contact(hub)
    hub.grant_role(MOD, "moderator", community=GROUP, community_name="Soignants 37")
    say(hub, "/start", chat=MARIE.platform_id, thread=None)  # Marie is known; her message is escalated
    text = "A-t-on le droit de vendre les visières qu'on imprime ?"
    done = say(hub, f"/escalader telegram:{MARIE.platform_id} {text}", who=MOD)
    [to_mod] = [o for o in done if o.kind == "escalated" and not o.direct]
    [to_marie] = [o for o in done if o.kind == "escalated" and o.direct]
    assert (to_mod.chat, to_mod.thread, to_marie.thread) == (GROUP, TOPIC, None)
    assert ticket_thread(hub, 1) == (GROUP, TOPIC)
    [in_group], _ = answered(hub, "Q-1")
    assert in_group.thread == TOPIC
    # The same question again: answers already given come first, with a proposal to confirm, which keeps
    # the topic the moderator escalated it in even when confirmed from another one.
    proposal = one(say(hub, f"/escalader telegram:{MARIE.platform_id} {text}", who=MOD), "proposal")
    assert proposal.thread == TOPIC
    press(hub, proposal.buttons[0].action, who=MOD, thread=OTHER_TOPIC)
    assert ticket_thread(hub, 2) == (GROUP, TOPIC)
    [in_group], _ = answered(hub, "Q-2")
    assert (in_group.chat, in_group.thread) == (GROUP, TOPIC)


def test_a_migrated_chat_keeps_the_topic_of_its_open_questions(hub):
    designate_contact(hub)
    ask_in(hub, TOPIC, chat=OLD)
    assert hub.migrate_chat("telegram", OLD, NEW)["moved"]["escalation"] == 1
    assert ticket_thread(hub) == (NEW, TOPIC)
    [in_group], _ = answered(hub)
    assert (in_group.chat, in_group.thread) == (NEW, TOPIC)
