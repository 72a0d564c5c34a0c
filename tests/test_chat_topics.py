"""Topics inside a chat (Telegram forum topics) through the core, on SQLite and PostgreSQL: replies and
follow-ups keep the topic of the message they answer, in the Outbound and in the outbox row."""

from __future__ import annotations

import itertools

from sqlmodel import select

from core.messages import Action, Identity, Inbound
from core.models import OutboxMessage
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
