"""Commitments, refusals, progress, delivery and receipt, cancellation and closing, stale commitments;
on SQLite and PostgreSQL."""

from sqlmodel import select

from core import needs
from core.models import AuditEntry, Commitment, Need, NeedLine
from tests.helpers import caregiver, kinds, maker, one


def log_need(hub, text="il nous faut 200 visières pour l'EHPAD Les Tilleuls à Tours"):
    marie = caregiver(hub)
    one(marie.confirm(marie.say(text)), "need_recorded")
    return marie


def state(hub, need_id=1):
    with hub.db.session() as s:
        need = s.get(Need, need_id)
        line = s.exec(select(NeedLine).where(NeedLine.need_id == need_id)).one()
        commitments = list(
            s.exec(select(Commitment).where(Commitment.need_id == need_id).order_by(Commitment.id))
        )
        return (
            need.status,
            (line.committed, line.delivered),
            [(c.quantity, c.delivered, c.status) for c in commitments],
        )


def test_commitments_update_coverage_and_refusals_say_why(hub):
    marie = log_need(hub)
    lea, bob = maker(hub), maker(hub, "Bob", "2002")
    one(lea.say("/engager N-1 120"), "commitment")
    assert state(hub)[:2] == ("partly_covered", (120, 0))
    over = one(bob.say("/commit N-1 100"), "refused")
    assert over.template == "refused/over_commit" and "80" in over.text
    assert one(bob.say("/commit N-1 0"), "refused").template == "refused/bad_quantity"
    assert one(bob.say("/commit N-1 -5"), "refused").template == "refused/bad_quantity"
    assert one(bob.say("/commit N-99 5"), "refused").template == "refused/unknown_need"
    assert one(bob.say("/commit"), "refused").template == "refused/usage"
    one(lea.say("/commit N-1 30"), "commitment")  # the same maker adds to their commitment
    assert state(hub)[2] == [(150, 0, "committed")]
    done = bob.say("/commit N-1 50")
    assert one(done, "commitment_notice").chat == "1001"
    assert state(hub)[:2] == ("covered", (200, 0))
    assert one(bob.say("/commit N-1 1"), "refused").template == "refused/over_commit"
    marie.say("/fermer N-1")
    assert one(bob.say("/commit N-1 1"), "refused").template == "refused/need_not_open"


def test_cancelling_tells_every_maker_and_ends_their_commitments(hub):
    marie = log_need(hub)
    lea, bob = maker(hub), maker(hub, "Bob", "2002")
    lea.say("/commit N-1 100")
    bob.say("/commit N-1 50")
    assert one(bob.say("/annuler N-1"), "refused").template == "refused/not_yours"
    outs = marie.say("/annuler N-1")
    assert one(outs, "status").template == "need_cancelled"
    notices = [o for o in outs if o.template == "need_cancelled_notice"]
    assert sorted(o.chat for o in notices) == ["2001", "2002"] and all(o.direct for o in notices)
    assert state(hub) == ("cancelled", (150, 0), [(100, 0, "cancelled"), (50, 0, "cancelled")])
    assert one(marie.say("/annuler N-1"), "refused").template == "refused/need_not_open"
    assert one(lea.say("/livre N-1"), "refused").template == "refused/no_commitment"


def test_closing_tells_makers_still_at_work(hub):
    marie = log_need(hub)
    lea = maker(hub)
    lea.say("/commit N-1 100")
    outs = marie.say("/close N-1")
    assert one(outs, "status").template == "need_closed"
    assert [o.chat for o in outs if o.template == "need_closed_notice"] == ["2001"]
    assert state(hub)[0] == "closed"


def test_progress_delivery_and_receipt(hub):
    marie = log_need(hub)
    lea, bob = maker(hub), maker(hub, "Bob", "2002")
    lea.say("/commit N-1 150")
    bob.say("/commit N-1 50")
    assert one(marie.say("/recu N-1"), "refused").template == "refused/nothing_delivered"
    assert (
        one(caregiver(hub, "Paul", "1002").say("/avancement N-1"), "refused").template
        == "refused/no_commitment"
    )
    outs = lea.say("/avancement N-1 60")
    assert one(outs, "progress").template == "progress_recorded"
    notice = [o for o in outs if o.template == "progress_notice"]
    assert notice and notice[0].chat == "1001" and "60" in notice[0].text and "150" in notice[0].text
    assert one(lea.say("/livre N-1 0"), "refused").template == "refused/bad_quantity"
    outs = lea.say("/livre N-1 100")  # a partial delivery
    asked = [o for o in outs if o.direct and o.chat == "1001"]
    assert asked[0].buttons[0].action == "need:received:1"
    assert state(hub)[1:] == ((200, 100), [(150, 100, "committed"), (50, 0, "committed")])
    lea.press("need:deliver:1")  # the rest, from the button of a reminder
    bob.say("/deliver N-1")
    assert state(hub)[0] == "delivered"
    outs = marie.press("need:received:1")
    assert one(outs, "delivery").template == "received"
    assert sorted(o.chat for o in outs if o.kind == "receipt_notice") == ["2001", "2002"]
    assert state(hub) == ("closed", (200, 200), [(150, 150, "confirmed"), (50, 50, "confirmed")])


def test_stale_commitments_are_flagged_once_to_maker_and_requester(hub, clock):
    log_need(hub)
    lea = maker(hub)
    lea.say("/commit N-1 100")
    hours = hub.settings.stale_commitment_hours
    clock.advance(hours=hours - 1)
    assert needs.flag_stale_commitments(hub, clock.now()) == []
    clock.advance(hours=2)
    flagged = needs.flag_stale_commitments(hub, clock.now())
    assert sorted((o.chat, o.template) for o in flagged) == [
        ("1001", "stale_requester"),
        ("2001", "stale_maker"),
    ]
    to_maker = next(o for o in flagged if o.chat == "2001")
    assert [b.action for b in to_maker.buttons] == ["need:deliver:1", "need:progress:1"]
    assert needs.flag_stale_commitments(hub, clock.now()) == [], "flagged once"
    with hub.db.session() as s:
        assert s.exec(select(Commitment)).one().stale_flagged_at is not None
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "commitment.stale")).first() is not None
    lea.press("need:progress:1")  # "still on it": news again
    with hub.db.session() as s:
        assert s.exec(select(Commitment)).one().stale_flagged_at is None
    clock.advance(hours=hours + 1)
    assert len(needs.flag_stale_commitments(hub, clock.now())) == 2


def test_commit_button_without_quantity_takes_what_remains(hub):
    log_need(hub)
    maker(hub, "Bob", "2002").say("/commit N-1 150")
    outs = maker(hub).press("need:commit:1")
    assert "commitment" in kinds(outs)
    assert state(hub)[:2] == ("covered", (200, 0))
    refused = one(maker(hub, "Zoé", "2003").press("need:commit:1"), "refused")
    assert refused.template == "refused/over_commit"
