"""The hot path every inbound message takes: de-duplication, flood control, proposals superseded."""

from __future__ import annotations

from sqlmodel import select

from core.models import (
    BlockedChat,
    Community,
    Dialogue,
    OutboxMessage,
    Person,
    Proposal,
    RateCounter,
    SeenEvent,
)
from tests.helpers import Speaker, caregiver, kinds, maker


def test_flood_limit_answers_once_per_minute_then_resets(hub, clock):
    hub.settings.flood_limit_per_minute = 3
    marie = caregiver(hub)
    for _ in range(3):
        assert "refused" not in kinds(marie.say("/aide"))
    flooded = marie.say("/aide")
    assert kinds(flooded) == ["refused"] and flooded[0].template == "refused/flood"
    assert marie.say("/aide") == []  # told once in the minute
    clock.advance(minutes=1)
    assert kinds(marie.say("/aide")) == ["help"]
    # Another person has a counter of their own.
    assert kinds(caregiver(hub, "Paul", "1002").say("/aide")) == ["privacy", "help"]


def test_a_redelivered_event_is_handled_once_and_a_new_proposal_supersedes_the_old(hub, clock):
    lea = maker(hub)
    text = "J'ai une imprimante 3D à Tours, je peux faire 50 visières par jour"
    first = lea.say(text, event_id="m1")
    assert "proposal" in kinds(first)
    assert lea.say(text, event_id="m1") == []
    lea.say("Je peux aussi faire 20 visières par jour à Blois avec une imprimante 3D", event_id="m2")
    with hub.db.session() as s:
        assert [p.status for p in s.exec(select(Proposal).order_by(Proposal.id))] == ["superseded", "pending"]
        assert len(list(s.exec(select(SeenEvent)))) == 2


def test_last_seen_is_kept_to_the_minute(hub, clock):
    marie = caregiver(hub)
    marie.say("/aide")
    clock.advance(seconds=20)
    marie.say("/aide")
    with hub.db.session() as s:
        first = s.exec(select(Person)).one().last_seen_at
    clock.advance(minutes=2)
    marie.say("/aide")
    with hub.db.session() as s:
        later = s.exec(select(Person)).one().last_seen_at
    assert later.replace(tzinfo=None) > first.replace(tzinfo=None)


def test_a_refusal_undoes_what_the_event_did_but_keeps_its_arrival(hub, clock):
    marie = caregiver(hub)
    first = marie.say("/nimportequoi", event_id="r1")
    # First contact: the privacy notice stays with the refusal, both in the outbox.
    assert kinds(first) == ["privacy", "refused"] and first[1].template == "refused/unknown_command"
    assert all(o.outbox_id for o in first)
    assert marie.say("/nimportequoi", event_id="r1") == []  # the refused event is recorded all the same
    lea = maker(hub)
    assert lea.say("/nimportequoi", event_id="r2")[0].template == "refused/unknown_command"
    with hub.db.session() as s:
        people = {p.display_name: p for p in s.exec(select(Person))}
        assert set(people) == {"Marie", "Léa"}
        assert people["Marie"].privacy_notice_at is None  # undone with the rest: said again next time
        assert len(list(s.exec(select(Community)))) == 1  # Léa's server, created by the refused event
        assert list(s.exec(select(RateCounter))) == []  # a refused message is not counted
        assert sorted(o.kind for o in s.exec(select(OutboxMessage))) == ["privacy", "refused", "refused"]
    assert kinds(marie.say("/aide")) == ["privacy", "help"]


def test_writing_in_private_lifts_a_block_and_public_chats_stay_blocked(hub, clock):
    marie = caregiver(hub)
    lea = maker(hub)
    marie.say("/aide")
    lea.say("/aide")
    for platform, chat in (("telegram", "1001"), ("telegram", "1003"), ("discord", "fabrication")):
        with hub.db.session() as s:
            s.add(BlockedChat(platform=platform, chat=chat, reason="blocked"))
    marie.say("/aide")  # a known person
    caregiver(hub, "Paul", "1003").say("/nimportequoi")  # a new person, and a refused event
    lea.say("/aide")
    with hub.db.session() as s:
        assert [(b.platform, b.chat) for b in s.exec(select(BlockedChat))] == [("discord", "fabrication")]


def test_an_open_dialogue_takes_the_next_message_of_its_chat_only(hub, clock):
    marie = caregiver(hub)
    assert marie.say("/besoin")[-1].template == "dialogue/need_items"
    with hub.db.session() as s:
        assert len(list(s.exec(select(Dialogue)))) == 1
    assert [o.template for o in marie.say("visières")] == ["dialogue/need_quantity"]
    # The same person in another chat is not in that dialogue.
    elsewhere = Speaker(hub, marie.identity, chat="-100", community="-100").say("bonjour à tous", addressed=True)
    assert not any(o.template.startswith("dialogue/") for o in elsewhere)
