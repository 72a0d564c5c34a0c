"""Editing a proposal: a form prefilled by the core (Discord), or the step-by-step dialogue (Telegram)."""

import json

from sqlmodel import func, select

from core.messages import Action, Form, Identity, Outbound
from core.models import Dialogue, Need, NeedLine, Offer, OutboxMessage, Proposal
from tests.helpers import Speaker, caregiver, kinds, maker, one

OFFER_TEXT = "J'ai une imprimante 3D à Tours, je peux faire 50 visières par jour"
NEED_TEXT = "Bonjour, il nous faut 200 visières et 50 surblouses à Tours avant vendredi"


def count(hub, model, *where) -> int:
    with hub.db.session() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def proposals(hub) -> list[Proposal]:
    with hub.db.session() as s:
        return list(s.exec(select(Proposal).order_by(Proposal.id)))


def edit_press(who: Speaker, proposal: Outbound) -> Action:
    """The "Edit" press as a bot sees it before asking the core for the form."""
    action = next(b.action for b in proposal.buttons if b.action.startswith("proposal:edit:"))
    return Action(platform=who.identity.platform, event_id="unused", chat=who.chat or who.identity.platform_id,
                  author=who.identity, name=action, sent_at=who.hub.clock.now(),
                  chat_kind="private" if who.chat is None else "channel", community=who.community)


def fields(form: Form) -> dict[str, str]:
    return {f.name: f.value for f in form.fields}


def submit(who: Speaker, form: Form, **changes: str) -> list[Outbound]:
    return who.press(form.action, json.dumps(dict(fields(form), **changes)))


def test_edit_form_of_an_offer_holds_what_was_understood_and_stores_nothing(hub):
    lea = maker(hub)
    proposal = one(lea.say(OFFER_TEXT), "proposal")
    before = count(hub, OutboxMessage)
    form = hub.edit_form(edit_press(lea, proposal))
    assert isinstance(form, Form) and form.kind == "offer" and form.language == "fr"
    assert form.action == f"proposal:edit:{proposals(hub)[0].id}"
    assert fields(form) == {"items": "50 visière de protection, impression 3D", "place": "Tours"}
    assert [f.required for f in form.fields] == [True, False]
    assert count(hub, OutboxMessage) == before and proposals(hub)[0].status == "pending"


def test_someone_else_gets_the_refusal_and_no_form(hub):
    lea = maker(hub)
    proposal = one(lea.say(OFFER_TEXT), "proposal")
    before = count(hub, OutboxMessage)
    tom = maker(hub, "Tom", "2002")
    refused = hub.edit_form(edit_press(tom, proposal))
    assert isinstance(refused, Outbound) and refused.kind == "refused"
    assert refused.template == "refused/not_yours" and refused.chat == "fabrication"
    assert refused.outbox_id is None and count(hub, OutboxMessage) == before  # an answer to the press only
    # A stranger who never wrote to the hub is refused the same way (and not created).
    stranger = Speaker(hub, Identity("discord", "9999", "X", "en"), chat="fabrication", community="g1")
    assert hub.edit_form(edit_press(stranger, proposal)).template == "refused/not_yours"
    # Submitting a form anyway is refused by the core too.
    outs = tom.press(proposal.buttons[1].action, json.dumps({"items": "10 visières", "place": "Lyon"}))
    assert one(outs, "refused").template == "refused/not_yours"
    assert [p.status for p in proposals(hub)] == ["pending"]


def test_submitted_offer_form_replaces_the_proposal(hub):
    lea = maker(hub)
    proposal = one(lea.say(OFFER_TEXT), "proposal")
    form = hub.edit_form(edit_press(lea, proposal))
    outs = submit(lea, form, items="80 visière de protection, 30 attache-masque, impression 3D", place="Lyon")
    new = one(outs, "proposal")
    assert "80" in new.text and "Lyon" in new.text and "attache-masque" in new.text
    old, corrected = proposals(hub)
    assert old.status == "dismissed" and corrected.status == "pending"
    assert [b.action for b in new.buttons][1] == f"proposal:edit:{corrected.id}"
    assert corrected.data["items"] == [{"item": "face_shield", "quantity": 80},
                                       {"item": "ear_saver", "quantity": 30}]
    assert corrected.data["place"]["name"] == "Lyon" and corrected.data["place"]["department"] == "69"
    lea.confirm(outs)
    with hub.db.session() as s:
        offer = s.exec(select(Offer)).one()
    assert offer.place_name == "Lyon" and offer.capabilities == ["3d_printing"]
    assert offer.items == corrected.data["items"]
    # The old proposal's buttons no longer do anything.
    assert one(lea.press(proposal.buttons[0].action), "refused").template == "refused/no_pending"
    assert hub.edit_form(edit_press(lea, proposal)).template == "refused/no_pending"


def test_need_form_round_trip_keeps_unchanged_fields_exactly(hub):
    marie = caregiver(hub)
    proposal = one(marie.say(NEED_TEXT), "proposal")
    form = hub.edit_form(edit_press(marie, proposal))
    assert form.kind == "need"
    assert fields(form) == {"items": "200 visière de protection, 50 surblouse", "place": "Tours",
                            "deadline": "vendredi 27 mars", "facility": ""}
    [old] = proposals(hub)
    outs = submit(marie, form, facility="Résidence Les Lilas")  # not a name the recogniser would find
    one(outs, "proposal")
    _, corrected = proposals(hub)
    for key in ("items", "place", "deadline"):
        assert corrected.data[key] == old.data[key], key
    assert corrected.data["facility"] == "Résidence Les Lilas"


def test_need_form_with_new_quantities_date_and_place(hub):
    marie = caregiver(hub)
    proposal = one(marie.say(NEED_TEXT), "proposal")
    form = hub.edit_form(edit_press(marie, proposal))
    outs = submit(marie, form, items="300 visière de protection", place="Joué-lès-Tours", deadline="30/03",
                  facility="EHPAD Les Tilleuls")
    marie.confirm(outs)
    with hub.db.session() as s:
        need = s.exec(select(Need)).one()
        [line] = s.exec(select(NeedLine)).all()
    assert (line.item_id, line.quantity) == ("face_shield", 300)
    assert need.place_name == "Joué-lès-Tours" and need.deadline.isoformat() == "2020-03-30"
    assert need.facility == "EHPAD Les Tilleuls"


def test_wrong_fields_are_refused_and_the_proposal_stays(hub):
    marie = caregiver(hub)
    proposal = one(marie.say(NEED_TEXT), "proposal")
    form = hub.edit_form(edit_press(marie, proposal))
    cases = {"refused/unknown_place": {"place": "Zzyzxville"},
             "refused/bad_deadline": {"deadline": "quand vous pouvez"},
             "refused/need_without_item": {"items": "des bisous"}}
    for template, changes in cases.items():
        assert one(submit(marie, form, **changes), "refused").template == template
    assert one(marie.press(form.action, "not json"), "refused").template == "refused/unknown_action"
    assert [p.status for p in proposals(hub)] == ["pending"]
    assert count(hub, Dialogue) == 0
    # The form still opens: the refusals changed nothing.
    assert isinstance(hub.edit_form(edit_press(marie, proposal)), Form)


def test_question_form_edits_text_and_topic(hub):
    lea = maker(hub)
    proposal = one(lea.say("Est-ce qu'on a le droit de vendre des visières imprimées en 3D ?"), "proposal")
    form = hub.edit_form(edit_press(lea, proposal))
    assert form.kind == "question"
    assert fields(form) == {"text": "Est-ce qu'on a le droit de vendre des visières imprimées en 3D ?",
                            "topic": "juridique"}
    assert [(f.required, f.long) for f in form.fields] == [(True, True), (False, False)]
    outs = submit(lea, form, text="Quelle épaisseur de PETG pour une visière ?", topic="technique")
    new = one(outs, "proposal")
    assert "PETG" in new.text and "technique" in new.text
    _, corrected = proposals(hub)
    assert corrected.kind == "question" and corrected.data["topic"] == "technical"
    assert corrected.data["text"] == "Quelle épaisseur de PETG pour une visière ?"


def test_english_speaker_gets_an_english_form(hub):
    ann = Speaker(hub, Identity("discord", "3001", "Ann", "en"), chat="makers", community="g2")
    proposal = one(ann.say("I can make 40 face shields a day in Lyon with my 3D printer"), "proposal")
    form = hub.edit_form(edit_press(ann, proposal))
    assert form.language == "en" and fields(form)["items"] == "40 face shield, 3D printing"
    one(submit(ann, form, items="60 face shield, 3D printing"), "proposal")
    assert proposals(hub)[-1].data["items"] == [{"item": "face_shield", "quantity": 60}]


def test_telegram_edit_press_still_starts_the_dialogue(hub):
    marie = caregiver(hub)
    outs = marie.say(NEED_TEXT)
    proposal = one(outs, "proposal")
    started = marie.press(proposal.buttons[1].action)  # no value: no form on Telegram
    assert kinds(started) == ["proposal"] and started[0].template == "dialogue/need_items"
    assert [p.status for p in proposals(hub)] == ["dismissed"]
    assert count(hub, Dialogue) == 1
