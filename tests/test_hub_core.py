"""The whole coordination loop through the real core, on SQLite and PostgreSQL."""

from datetime import date, timedelta

from sqlmodel import func, select

from core import jobs
from core.messages import Identity
from core.models import (
    Commitment,
    Community,
    DesignatedContact,
    Escalation,
    Need,
    NeedLine,
    Offer,
    OutboxMessage,
    Person,
    Proposal,
)
from tests.helpers import Speaker, caregiver, kinds, maker, one, replies


def count(hub, model, *where) -> int:
    with hub.db.session() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def log_need(hub, who=None, text="Bonjour, il nous faut 200 visières pour l'EHPAD Les Tilleuls à Tours avant vendredi"):
    who = who or caregiver(hub)
    outs = who.say(text)
    one(outs, "proposal")
    return who, who.confirm(outs)


def test_need_in_one_message_is_proposed_then_recorded(hub):
    marie = caregiver(hub)
    outs = marie.say("Bonjour, il nous faut 200 visières pour l'EHPAD Les Tilleuls à Tours avant vendredi")
    proposal = one(outs, "proposal")
    assert "200" in proposal.text and "Tours" in proposal.text
    assert [b.action.split(":")[1] for b in proposal.buttons] == ["confirm", "edit", "dismiss"]
    assert count(hub, Need) == 0, "nothing is recorded before the author confirms"
    done = marie.confirm(outs)
    recorded = one(done, "need_recorded")
    assert "N-1" in recorded.title
    assert one(done, "guidance").template == "guidance/category_2"
    with hub.db.session() as s:
        need = s.exec(select(Need)).one()
        line = s.exec(select(NeedLine)).one()
        assert (line.item_id, line.quantity) == ("face_shield", 200)
        assert need.place_name == "Tours" and need.department == "37"
        assert need.deadline == date(2020, 3, 27)
        assert need.facility and "Tilleuls" in need.facility
        assert s.exec(select(func.count()).select_from(OutboxMessage)).one() >= 3


def test_same_platform_event_twice_is_handled_once(hub):
    marie = caregiver(hub)
    first = marie.say("il nous faut 50 surblouses à Lyon pour demain", event_id="tg-update-77")
    again = marie.say("il nous faut 50 surblouses à Lyon pour demain", event_id="tg-update-77")
    assert first and again == []
    assert count(hub, Proposal) == 1


def test_offer_is_matched_to_a_need_nearby(hub):
    marie, _ = log_need(hub)
    lea = maker(hub)
    outs = lea.say("j'ai 2 Prusa et une découpe laser à Joué-lès-Tours, dispo pour des visières")
    proposal = one(outs, "proposal")
    assert proposal.chat == "fabrication" and not proposal.direct
    done = lea.confirm(outs)
    assert "offer_recorded" in kinds(done)
    to_marie = [o for o in done if o.direct and o.chat == "1001"]
    assert to_marie and to_marie[0].kind == "match" and "Léa" in to_marie[0].text
    with hub.db.session() as s:
        offer = s.exec(select(Offer)).one()
        assert "3d_printing" in offer.capabilities and offer.place_name == "Joué-lès-Tours"


def test_chit_chat_in_a_public_channel_gets_no_answer(hub):
    lea = maker(hub)
    assert lea.say("haha trop bien, bonne soirée à tous 😄") == []
    assert lea.say("merci pour les 200 visières livrées hier !") == []
    assert count(hub, Proposal) == 0


def test_commitments_cover_a_need_and_over_commitment_is_refused(hub):
    log_need(hub)
    lea = maker(hub)
    one(replies(lea.say("/engager N-1 120")), "commitment")
    bob = maker(hub, "Bob", "2002")
    refused = one(bob.say("/commit N-1 100"), "refused")
    assert refused.template == "refused/over_commit" and "80" in refused.text
    one(replies(bob.say("/commit N-1 80")), "commitment")
    with hub.db.session() as s:
        assert s.exec(select(Need)).one().status == "covered"
        assert s.exec(select(func.sum(Commitment.quantity))).one() == 200


def test_delivery_then_receipt_closes_the_need(hub):
    marie, _ = log_need(hub)
    lea = maker(hub)
    lea.say("/commit N-1 200")
    notice = [o for o in lea.say("/livre N-1") if o.direct]
    assert notice and notice[0].buttons[0].action == "need:received:1"
    one(marie.press(notice[0].buttons[0].action), "delivery")
    with hub.db.session() as s:
        assert s.exec(select(Need)).one().status == "closed"


def test_question_is_escalated_answered_and_reused(hub):
    contact = Speaker(hub, Identity("telegram", "9001", "Dr Martin", "fr"))
    contact.say("/start")
    with hub.db.session() as s:
        person = s.exec(select(Person).where(Person.platform_id == "9001")).one()
        s.add(DesignatedContact(person_id=person.id, topic="legal"))
    marie = caregiver(hub)
    outs = marie.say("A-t-on le droit de vendre les visières qu'on imprime ?")
    proposal = one(outs, "proposal")
    assert proposal.template == "proposal/question"
    done = marie.confirm(outs)
    one(done, "escalated")
    ticket = one(done, "ticket")
    assert ticket.chat == "9001" and ticket.direct
    stranger = caregiver(hub, "Intrus", "666")
    assert one(stranger.say("/answer Q-1 oui bien sûr"), "refused").template == "refused/not_allowed"
    answered = contact.say("/reponse Q-1 Non : la vente suppose un marquage CE.")
    to_asker = one(answered, "answer")
    assert to_asker.chat == "1001" and "marquage CE" in to_asker.text
    with hub.db.session() as s:
        assert s.exec(select(Escalation)).one().status == "answered"
    other = caregiver(hub, "Paul", "1002")
    again = other.say("/question a-t-on le droit de vendre des visieres imprimees ?")
    similar = one(again, "similar_answers")
    assert "Q-1" in similar.text and "marquage CE" in similar.text


def test_morning_briefing_once_per_community_and_day(hub, clock):
    log_need(hub)
    lea = maker(hub)
    lea.say("salut")  # creates the Discord community
    with hub.db.session() as s:
        for c in s.exec(select(Community)):
            c.briefing_channel = "coordination"
            c.created_at = clock.now() - timedelta(days=2)
    clock.advance(hours=22)  # Tuesday 08:00 in Paris
    first = jobs.run_briefings(hub)
    assert [o.kind for o in first] == ["briefing"]
    assert "N-1" in first[0].text and first[0].chat == "coordination"
    assert jobs.run_briefings(hub) == []


def test_category_4_need_is_recorded_but_never_matched(hub):
    lea = maker(hub)
    lea.confirm(lea.say("j'ai une imprimante 3D et de l'électronique à Tours, dispo pour aider"))
    marie = caregiver(hub)
    outs = marie.confirm(marie.say("il nous faudrait 2 respirateurs pour le CHU de Tours"))
    assert "need_recorded" in kinds(outs)
    assert any(o.template == "guidance/category_4" for o in outs)
    assert not any(o.kind in ("match", "need_nearby", "need_post") for o in outs)
    assert one(lea.say("/commit N-1 1"), "refused").template == "refused/category4_not_matched"


def test_bad_input_gets_a_clear_answer_and_records_nothing(hub):
    marie = caregiver(hub)
    marie.say("/start")
    before = (count(hub, Need), count(hub, Proposal), count(hub, Offer))
    empty = one(marie.say("   "), "error")
    assert empty.template == "refused/empty"
    huge = one(marie.say("visière " * 12500), "error")
    assert huge.template == "refused/too_long" and "100" in huge.text
    unknown = one(marie.say("/frobnicate now"), "refused")
    assert "/frobnicate" in unknown.text
    weird = marie.say("\x00\x07\u202e\u200b")
    assert one(weird, "error").template == "refused/empty"
    bad_qty = one(marie.say("/commit N-999 -5"), "refused")
    assert bad_qty.template in ("refused/unknown_need", "refused/bad_quantity")
    assert (count(hub, Need), count(hub, Proposal), count(hub, Offer)) == before


def test_moderator_commands_are_refused_to_members(hub):
    lea = maker(hub)
    assert one(lea.say("/classify face_shield 3"), "refused").template == "refused/not_allowed"
    assert one(lea.say("/contacts add 9001 legal"), "refused").template == "refused/not_allowed"


def test_phone_numbers_and_emails_are_not_echoed_in_public(hub):
    contact = Speaker(hub, Identity("telegram", "9001", "Dr Martin", "fr"))
    contact.say("/start")
    with hub.db.session() as s:
        person = s.exec(select(Person).where(Person.platform_id == "9001")).one()
        s.add(DesignatedContact(person_id=person.id, topic="logistics"))
    lea = maker(hub)
    outs = lea.say("/question qui paie le PETG ? rappelez-moi au 06 12 34 56 78 ou lea@example.org")
    lea.confirm(outs)
    answered = contact.say("/answer Q-1 La mairie rembourse sur facture.")
    public = [o for o in answered if o.kind == "answer" and not o.direct]
    private = [o for o in answered if o.kind == "answer" and o.direct]
    assert public and public[0].chat == "fabrication"
    assert "06 12" not in public[0].text and "lea@example.org" not in public[0].text
    assert "rembourse" in public[0].text
    assert private and "06 12 34 56 78" in private[0].text
