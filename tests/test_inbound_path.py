"""The hot path every inbound message takes: de-duplication, flood control, proposals superseded."""

from __future__ import annotations

from sqlmodel import select

from core.models import Person, Proposal, SeenEvent
from tests.helpers import caregiver, kinds, maker


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
