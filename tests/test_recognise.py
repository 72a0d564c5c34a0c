"""The chat-message recogniser: each tricky family with cases written for these tests."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core.recognise as recognise_pkg
from core.recognise import (
    DEFAULT_THRESHOLD,
    ItemMention,
    LexEntry,
    Lexicon,
    Recogniser,
    Recognition,
    analyse_stream,
)

PARIS = timezone(timedelta(hours=2))
WED = datetime(2020, 4, 15, 10, 0, tzinfo=PARIS)  # a Wednesday


@pytest.fixture(scope="module")
def rec() -> Recogniser:
    return Recogniser(Lexicon.default())


def items(r: Recognition) -> dict[str, int | None]:
    return {m.item: m.quantity for m in r.items}


def test_public_api_is_exported():
    for name in ("Recogniser", "Recognition", "ItemMention", "Lexicon", "LexEntry", "DEFAULT_THRESHOLD", "analyse_stream"):
        assert name in recognise_pkg.__all__
    assert 0 < DEFAULT_THRESHOLD < 1


def test_recognition_is_frozen(rec):
    r = rec.recognise("Besoin de 10 visières", sent_at=WED)
    with pytest.raises(FrozenInstanceError):
        r.intent = "offer"  # type: ignore[misc]


# ---------------------------------------------------------------- intents
@pytest.mark.parametrize("text, intent", [
    ("Bonjour, l'EHPAD de Cusset aurait besoin de 30 surblouses. Merci", "need"),
    ("We need 12 face shields at our clinic, thanks", "need"),
    ("J'ai une Ender 3 dispo, je peux imprimer des ouvre-portes", "offer"),
    ("Laser cutter available in Tours, can cut visors", "offer"),
    ("Comment stériliser les visières après usage ?", "question"),
    ("Who pays for the elastic bands we buy?", "question"),
    ("Bonne nuit tout le monde 😴", "other"),
    ("ok", "other"),
])
def test_basic_intents(rec, text, intent):
    assert rec.recognise(text, sent_at=WED).intent == intent


@pytest.mark.parametrize("text", [
    "pas de visières ici, on n'en a jamais eu besoin, merci quand même",
    "Je n'ai plus d'imprimante, désolé",
    "My sewing machine is broken, I'm out",
    "Nous n'avons plus besoin de surblouses, vous pouvez retirer la demande",
])
def test_negations_are_not_needs_or_offers(rec, text):
    assert rec.recognise(text, sent_at=WED).intent == "other"


@pytest.mark.parametrize("text", [
    "Merci pour les 80 surblouses, l'équipe est ravie",
    "Bien reçu les 30 ouvre-portes, merci !",
    "Livré 40 visières à la clinique ce matin",
    "Just delivered 20 ear savers to the pharmacy 🙂",
    "Annulé : finalement la région nous a fourni les visières",
    "Please cancel our request for 15 gowns, we got some from the hospital",
])
def test_thanks_delivery_reports_and_cancellations_are_other(rec, text):
    assert rec.recognise(text, sent_at=WED).intent == "other"


def test_quoted_lines_are_ignored(rec):
    r = rec.recognise("> besoin de 40 visières à Tours\nmerci, c'est noté", sent_at=WED)
    assert r.intent == "other"
    assert r.items == ()


def test_need_relayed_by_a_maker(rec):
    r = rec.recognise("Mon cousin bosse au SSIAD de Vitré, ils ont besoin de 20 surblouses, qqn peut aider ?", sent_at=WED)
    assert r.intent == "need"
    assert items(r) == {"gown": 20}


def test_need_phrased_as_a_question(rec):
    r = rec.recognise("Quelqu'un pourrait nous faire 50 visières pour l'EHPAD ?", sent_at=WED)
    assert r.intent == "need"
    assert items(r) == {"face_shield": 50}


def test_offer_phrased_as_a_question(rec):
    r = rec.recognise("vous avez besoin de visières ? j'en ai 30", sent_at=WED)
    assert r.intent == "offer"
    assert items(r) == {"face_shield": 30}


def test_conditional_need_is_an_offer(rec):
    r = rec.recognise("Si un hôpital a besoin d'attache-masques, j'en ai une quarantaine", sent_at=WED)
    assert r.intent == "offer"
    assert items(r) == {"ear_saver": 40}


def test_contrast_keeps_only_what_is_still_needed(rec):
    r = rec.recognise("Pas besoin de visières, par contre il nous faudrait 25 surblouses", sent_at=WED)
    assert r.intent == "need"
    assert items(r) == {"gown": 25}


# ---------------------------------------------------------------- items, capabilities
def test_typos_missing_accents_and_abbreviations(rec):
    r = rec.recognise("bjr besoin de 10 visirees pr l'ehpad svp", sent_at=WED)
    assert r.intent == "need"
    assert items(r) == {"face_shield": 10}


def test_capabilities_from_machines_and_brands(rec):
    r = rec.recognise("Dispo : 2 Prusa, une découpe laser et une voiture pour livrer", sent_at=WED)
    assert r.intent == "offer"
    assert set(r.capabilities) == {"3d_printing", "laser_cutting", "transport"}


def test_negated_capability_is_dropped(rec):
    r = rec.recognise("pas d'imprimante chez moi mais je peux coudre des surblouses", sent_at=WED)
    assert r.intent == "offer"
    assert r.capabilities == ("sewing",)


def test_materials_need_a_giving_cue(rec):
    given_away = rec.recognise("Je donne 3 bobines de PETG, à récupérer à Laval", sent_at=WED)
    assert "materials" in given_away.capabilities
    used = rec.recognise("J'ai une imprimante et du PETG, je peux faire des visières", sent_at=WED)
    assert "materials" not in used.capabilities


def test_items_only_for_needs_and_offers(rec):
    r = rec.recognise("Comment désinfecter 40 visières d'un coup ?", sent_at=WED)
    assert r.intent == "question"
    assert r.items == () and r.capabilities == () and r.deadline is None and r.place is None


def test_item_added_at_run_time_is_recognised_without_code():
    base = Lexicon.default()
    lex = Lexicon.from_entries(
        list(base.items) + [LexEntry("hair_cap", {"fr": "charlotte", "en": "hair cap"},
                                     {"fr": ["charlottes", "charlotte jetable"], "en": ["hair caps"]})],
        base.capabilities,
    )
    r = Recogniser(lex).recognise("Besoin de 200 charlottes pour le bloc", sent_at=WED)
    assert r.intent == "need"
    assert items(r) == {"hair_cap": 200}


# ---------------------------------------------------------------- quantities
@pytest.mark.parametrize("text, expected", [
    ("Besoin de 20 à 30 visières", {"face_shield": 20}),
    ("Il nous faudrait 300 masques tissu adultes + 50 taille enfant", {"fabric_mask": 350}),
    ("On aurait besoin d'une vingtaine de surblouses", {"gown": 20}),
    ("Recherchons écouvillons, une centaine", {"nasal_swab": 100}),
    ("Je peux faire environ 40 attache-masques par jour", {"ear_saver": 40}),
    ("Capacité : 1 200 visières/semaine avec nos 6 imprimantes", {"face_shield": 1200}),
    ("need ear savers, 60 please", {"ear_saver": 60}),
    ("Besoin de gel hydroalcoolique (30 flacons de 500ml)", {"hand_sanitizer": 30}),
    ("besoin de visières, qté : 45", {"face_shield": 45}),
    ("besoin de deux visières et trois surblouses", {"face_shield": 2, "gown": 3}),
    ("We can mould door openers, 10k per day", {"door_opener": 10000}),
])
def test_quantity_conventions(rec, text, expected):
    assert items(rec.recognise(text, sent_at=WED)) == expected


def test_numbers_that_are_not_counts(rec):
    r = rec.recognise("EHPAD de Montluçon (03100), 45 résidents : besoin de visières pour le 20/04. Tél 04 70 12 34 56",
                      sent_at=WED)
    assert items(r) == {"face_shield": None}


# ---------------------------------------------------------------- deadlines (Wednesday 2020-04-15)
@pytest.mark.parametrize("phrase, expected", [
    ("demain matin", date(2020, 4, 16)),
    ("avant jeudi", date(2020, 4, 16)),
    ("pour vendredi", date(2020, 4, 17)),
    ("d'ici vendredi", date(2020, 4, 17)),
    ("sous 48h", date(2020, 4, 17)),
    ("fin de semaine", date(2020, 4, 17)),
    ("lundi prochain", date(2020, 4, 20)),
    ("pour le 11/05", date(2020, 5, 11)),
    ("by Friday", date(2020, 4, 17)),
    ("avant mercredi", date(2020, 4, 22)),
    ("pour le 4 mai", date(2020, 5, 4)),
    ("by May 5th", date(2020, 5, 5)),
    ("d'ici 10 jours", date(2020, 4, 25)),
    ("pour ce soir", date(2020, 4, 15)),
    ("end of April", date(2020, 4, 30)),
])
def test_deadlines_relative_to_local_date(rec, phrase, expected):
    r = rec.recognise(f"Besoin de 10 visières {phrase}, EHPAD de Blois", sent_at=WED)
    assert r.intent == "need"
    assert r.deadline == expected


def test_deadline_uses_the_local_date_of_the_timezone(rec):
    late_utc = datetime(2020, 4, 15, 22, 30, tzinfo=UTC)  # already Thursday in Paris
    r = rec.recognise("besoin de 5 visières pour demain", sent_at=late_utc, timezone="Europe/Paris")
    assert r.deadline == date(2020, 4, 17)
    r = rec.recognise("besoin de 5 visières pour demain", sent_at=late_utc, timezone="UTC")
    assert r.deadline == date(2020, 4, 16)


def test_offers_and_no_rush_have_no_deadline(rec):
    assert rec.recognise("Je peux faire 30 visières d'ici jeudi", sent_at=WED).deadline is None
    assert rec.recognise("Besoin de 10 visières, pas pressé", sent_at=WED).deadline is None
    assert rec.recognise("Besoin de 10 visières à partir du 20 avril", sent_at=WED).deadline is None


# ---------------------------------------------------------------- topics, places, confidence, cues
@pytest.mark.parametrize("text, topic", [
    ("Peut-on passer les surblouses à l'autoclave ?", "sanitary"),
    ("Est-ce légal de vendre les visières ?", "legal"),
    ("Quelle température de buse pour le PETG ?", "technical"),
    ("Qui rembourse les frais de port ?", "logistics"),
])
def test_question_topics(rec, text, topic):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "question"
    assert r.topic == topic


class FakeGazetteer:
    def __init__(self):
        self.calls = []

    def find_in_text(self, text):
        self.calls.append(text)
        from types import SimpleNamespace
        return SimpleNamespace(name="Tours", lat=47.39, lon=0.69) if "Tours" in text else None


def test_place_only_for_needs_and_offers():
    gaz = FakeGazetteer()
    r = Recogniser(Lexicon.default(), gazetteer=gaz)
    assert r.recognise("Besoin de 10 visières à Tours", sent_at=WED).place.name == "Tours"
    assert r.recognise("Il y a un point de collecte à Tours ?", sent_at=WED).place is None
    assert len(gaz.calls) == 1


def test_confidence_and_cues_explain_the_decision(rec):
    r = rec.recognise("Il nous faut 60 visières avant vendredi", sent_at=WED)
    assert r.confidence >= DEFAULT_THRESHOLD
    assert any("il nous faut" in c for c in r.cues)
    assert any("face_shield" in c and "visières" in c for c in r.cues)
    assert any("deadline 2020-04-17" in c for c in r.cues)
    vague = rec.recognise("visières", sent_at=WED)
    assert vague.intent == "other" or vague.confidence < DEFAULT_THRESHOLD


def test_to_prediction_and_analyse_stream(rec):
    lines = [
        json.dumps({"id": "a", "text": "Besoin de 3 visières pour demain", "channel": "telegram",
                    "sent_at": "2020-04-15T23:30:00-04:00"}),
        "",
        "not json",
        json.dumps({"id": "b", "text": "Dispo imprimante 3D", "channel": "discord", "sent_at": "2020-04-15T10:00:00+02:00"}),
    ]
    preds = list(analyse_stream(lines, rec))
    assert [p["id"] for p in preds] == ["a", "b"]
    assert preds[0]["intent"] == "need"
    assert preds[0]["items"] == [{"item": "face_shield", "quantity": 3}]
    assert preds[0]["deadline"] == "2020-04-16"  # the local date of sent_at's own offset
    assert preds[1]["capabilities"] == ["3d_printing"]
    assert set(preds[1]) >= {"id", "intent", "items", "capabilities", "place", "deadline", "topic"}


def test_pathological_inputs_are_cut_short(rec):
    for text in ("visière " * 20000, "9" * 100000, "?" * 50000, "1 " * 50000):
        r = rec.recognise(text, sent_at=WED)
        assert r.intent in ("need", "offer", "question", "other")


# ---------------------------------------------------------------- property test
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(max_size=400),
    channel=st.sampled_from(["discord", "telegram", "console", "", "irc"]),
    tz=st.sampled_from(["Europe/Paris", "UTC", "America/Martinique", "Indian/Reunion", "Not/AZone", "", None]),
    when=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                      timezones=st.sampled_from([UTC, PARIS, timezone(timedelta(hours=-4))])),
)
def test_any_text_gives_a_valid_recognition(rec, text, channel, tz, when):
    r = rec.recognise(text, channel=channel, sent_at=when, timezone=tz)
    assert isinstance(r, Recognition)
    assert r.intent in ("need", "offer", "question", "other")
    assert 0.0 <= r.confidence <= 1.0
    assert all(isinstance(m, ItemMention) and (m.quantity is None or m.quantity > 0) for m in r.items)
    assert r.topic is None or r.intent == "question"
    assert r.deadline is None or r.intent == "need"
    assert "recogniser error" not in r.cues
    json.dumps(r.to_prediction("x"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["besoin", "de", "visières", "40", "pour", "demain", "?", "je", "peux", "dispo",
                                 "pas", "merci", "+", "x30", "une", "vingtaine", "/", "jour", "avant", "le", "12/05",
                                 "imprimante", "si", "qui", "en", "veut", "\n", ">", "annulé"]), max_size=60))
def test_domain_word_salad_never_fails(rec, words):
    r = rec.recognise(" ".join(words), sent_at=WED)
    assert "recogniser error" not in r.cues
