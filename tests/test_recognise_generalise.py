"""Generalisation of the recogniser on families of phrasing that held-out messages showed to be weak.

Each family is tested with varied messages written for this file (French and English), never copied from a
labelled batch: institutions named after saints or people, quantities placed after the item or before a verb,
needs phrased as requests to makers, English compound item names, and question topics. Labels follow the shared
corpus README (a range gives its lower bound, "une cinquantaine" is 50, "a couple" is 2, "a dozen" is 12).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.recognise import Recognition, default_recogniser

WED = datetime(2020, 4, 15, 10, 0, tzinfo=timezone(timedelta(hours=2)))


@pytest.fixture(scope="module")
def rec():
    return default_recogniser()


def items(r: Recognition) -> dict[str, int | None]:
    return {m.item: m.quantity for m in r.items}


def place_of(r: Recognition) -> tuple[str, str] | None:
    return None if r.place is None else (r.place.name, r.place.department)


# ---------------------------------------------------------------- institutions are not communes
@pytest.mark.parametrize("text, intent, place", [
    # a saint's name right after a hospital, clinic, pharmacy or school names the institution
    ("Clinique Saint-Joseph à Angoulême : besoin de 10 visières", "need", ("Angoulême", "16")),
    ("Bonjour, clinique Saint-Joseph, il nous faudrait 20 surblouses", "need", None),
    ("Bonjour, clinique St Joseph, Angoulême. Il nous faut 2 pièces de rechange", "need", ("Angoulême", "16")),
    ("On cherche des visières pour l'hôpital Saint-Louis", "need", None),
    ("Hôpital Saint-Joseph, Marseille : il nous faut 12 boîtes d'intubation", "need", ("Marseille", "13")),
    ("La polyclinique Saint-Côme de Compiègne cherche 40 visières", "need", ("Compiègne", "60")),
    ("L'EHPAD Saint-Jacques à Rodez aurait besoin de 30 surblouses", "need", ("Rodez", "12")),
    ("Pharmacie Saint-Michel, Bordeaux : 100 attache-masques svp", "need", ("Bordeaux", "33")),
    ("École Sainte-Marie, Cholet, besoin de 50 masques tissu", "need", ("Cholet", "49")),
    ("Clinique Sainte-Anne, on a besoin de 10 visières. On est à Strasbourg.", "need", ("Strasbourg", "67")),
    ("Centre hospitalier Saint-Jean, on cherche 40 surblouses", "need", None),
    # schools are named after people, homes after trees and flowers
    ("Lycée Vauban d'Aire-sur-la-Lys : 60 visières par jour dispo", "offer", ("Aire-sur-la-Lys", "62")),
    ("Le lycée Jean Moulin de Béziers peut imprimer 30 visières par jour", "offer", ("Béziers", "34")),
    ("Le lycée Pasteur peut produire 100 visières par semaine, on est à Besançon", "offer", ("Besançon", "25")),
    ("The Victor Hugo school in Lunel needs 100 ear savers", "need", ("Lunel", "34")),
    ("EHPAD Les Tilleuls, Vendôme : 15 surblouses svp", "need", ("Vendôme", "41")),
    ("Maison de retraite Les Lilas à Melun : besoin de surblouses", "need", ("Melun", "77")),
    # a commune named after a saint is still one after "à", after "de" or before its département
    ("Je suis à Saint-Joseph (974), je peux imprimer des visières", "offer", ("Saint-Joseph", "974")),
    ("Couturière à Saint-Joseph, La Réunion : je peux faire 30 masques tissu par jour", "offer",
     ("Saint-Joseph", "974")),
    ("Le CH Saint-Nazaire a besoin de 50 surblouses", "need", ("Saint-Nazaire", "44")),
    ("L'hôpital de Saint-Lô cherche 20 visières", "need", ("Saint-Lô", "50")),
    ("EHPAD Riom : besoin de 20 visières", "need", ("Riom", "63")),
])
def test_institution_names_are_not_communes(rec, text, intent, place):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == intent
    assert place_of(r) == place


@pytest.mark.parametrize("text, intent, place", [
    # a service inside an institution, named before its town
    ("Le cabinet d'orthophonie de Digne aurait besoin de 2 visières", "need", ("Digne-les-Bains", "04")),
    ("L'accueil de jour Alzheimer de Vitré a besoin de 80 masques en tissu", "need", ("Vitré", "35")),
    # "j'habite X" says where the maker is, over the hospital they make for
    ("J'habite Tarascon et je peux coudre des surblouses pour l'hôpital d'Arles", "offer", ("Tarascon", "13")),
])
def test_places_named_around_institutions(rec, text, intent, place):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == intent
    assert place_of(r) == place


# ---------------------------------------------------------------- counts after the item, before a verb, in words
@pytest.mark.parametrize("text, expected", [
    ("Il nous faut des visières, 20 suffiront", {"face_shield": 20}),
    ("On cherche des attache-masques pour l'EHPAD, 40 suffiraient largement", {"ear_saver": 40}),
    ("Visières : 25 nous suffiraient, merci", {"face_shield": 25}),
    ("Des visières, une cinquantaine nous dépannerait bien", {"face_shield": 50}),
    ("Besoin de blouses, une quarantaine serait parfait", {"gown": 40}),
    ("Pour les surblouses, il en faudrait 30 avant lundi", {"gown": 30}),
    ("Des surblouses ? Il en manque une trentaine au service de réa", {"gown": 30}),
    ("besoin de visières, deux douzaines suffiront", {"face_shield": 24}),
    ("Il nous faudrait quelques centaines d'attache-masques pour le CHU de Brest", {"ear_saver": 200}),
    ("Le CHU cherche des centaines de visières", {"face_shield": 200}),
    ("We need face shields, 20 will do, thanks", {"face_shield": 20}),
    ("We need gowns for the nursing home in Lille, thirty would be great", {"gown": 30}),
    ("Could anyone spare a couple of gowns for our clinic?", {"gown": 2}),
    ("We're short on door openers, a couple would help", {"door_opener": 2}),
    ("We need a dozen face shields for the GP practice", {"face_shield": 12}),
    ("Need a couple dozen face shields for our ward", {"face_shield": 24}),
    ("Our hospital would need a few hundred ear savers by Friday", {"ear_saver": 200}),
    ("Hospital in Reims needs hundreds of ear savers", {"ear_saver": 200}),
    ("Nous aurions besoin de 100 masques enfants en tissu pour la rentrée", {"fabric_mask": 100}),
    ("ehpad a Dole, plus une seule visière, ils en veulent 40 pr demain", {"face_shield": 40}),
    ("Cabinet dentaire à Aix : 4 visières svp, nous rouvrons lundi 11", {"face_shield": 4}),
    ("Our distillery can donate 800 litres of hand sanitiser, bottled in 250 ml", {"hand_sanitizer": 800}),
])
def test_counts_around_the_item(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent in ("need", "offer")
    assert items(r) == expected


@pytest.mark.parametrize("text, intent, expected", [
    # a vague count with no item before it stays unattached
    ("J'ai 3 imprimantes, 2 seraient dispo pour des visières", "offer", {"face_shield": None}),
    ("We need 40 face shields and a few door openers", "need", {"face_shield": 40, "door_opener": None}),
    ("je cherche une dizaine de visières et quelques surblouses", "need", {"face_shield": 10, "gown": None}),
    ("Des dizaines de makers nous ont aidés, merci pour les visières !", "other", {}),
])
def test_vague_counts_stay_vague(rec, text, intent, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == intent
    assert items(r) == expected


# ---------------------------------------------------------------- needs asked of makers
@pytest.mark.parametrize("text, expected, place", [
    ("Pouvez-vous imprimer 4 pièces pour nos pousse-seringues ?", {"spare_part": 4}, None),
    ("Quelqu'un pourrait nous coudre 30 surblouses ?", {"gown": 30}, None),
    ("Could someone print 10 ear savers for our ward?", {"ear_saver": 10}, None),
    ("Est-ce que vous pourriez fabriquer 20 ouvre-portes pour notre EHPAD à Vierzon ?", {"door_opener": 20},
     ("Vierzon", "18")),
    ("Would anyone be able to sew 40 gowns for our care home in Dax?", {"gown": 40}, ("Dax", "40")),
    ("Can you make 15 face shields for the pharmacy? We're in Dijon.", {"face_shield": 15}, ("Dijon", "21")),
    ("Vous pourriez nous faire une vingtaine de visières ?", {"face_shield": 20}, None),
    ("Serait-il possible d'imprimer 50 attache-masques pour notre service ?", {"ear_saver": 50}, None),
    ("Est-ce qu'un maker pourrait nous imprimer des attache-masques ? Une centaine si possible", {"ear_saver": 100},
     None),
    ("Pourriez-vous coudre des surblouses pour l'EHPAD de Saintes ?", {"gown": None}, ("Saintes", "17")),
    ("Is it possible to laser cut 25 visors for the nurses of our clinic?", {"face_shield": 25}, None),
    ("Could you guys whip up a dozen intubation boxes for us?", {"intubation_box": 12}, None),
])
def test_requests_to_makers_are_needs(rec, text, expected, place):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected
    assert place_of(r) == place


@pytest.mark.parametrize("text, intent", [
    # asking whether or how something can be made, or for a file, is a question
    ("Pouvez-vous imprimer les visières en PETG ou seulement en PLA ?", "question"),
    ("Can you print face shields with PLA or does it have to be PETG?", "question"),
    ("Pouvez-vous m'envoyer le fichier STL de la visière ?", "question"),
    ("Can you send us the link to the ear saver file?", "question"),
    ("Est-ce que vous pouvez imprimer des visières avec une Ender 3 ?", "question"),
    ("Pourriez-vous nous dire si les surblouses peuvent être lavées à 60 degrés ?", "question"),
    ("Can someone explain how to cut the visors with a laser?", "question"),
    # a maker offering is still an offer
    ("Je peux imprimer 30 visières pour l'EHPAD de Laval", "offer"),
    ("Si vous avez besoin, je peux vous faire 20 visières", "offer"),
    ("J'ai 200 ouvre-portes imprimés qui traînent à Lorient, qqn les veut ?", "offer"),
])
def test_questions_and_offers_that_look_like_requests(rec, text, intent):
    assert rec.recognise(text, sent_at=WED).intent == intent


# ---------------------------------------------------------------- English compound item names
@pytest.mark.parametrize("text, expected", [
    ("We need two ventilator spare parts (an exhalation valve housing), ICU in Colmar", {"spare_part": 2}),
    ("Our ICU needs 10 snorkel adapters and 3 ventilator replacement parts", {"valve_adapter": 10, "spare_part": 3}),
    ("Need 6 ventilator spare parts and 2 ventilators for our ICU", {"spare_part": 6, "ventilator": 2}),
    ("Could someone print 4 syringe pump parts for us?", {"spare_part": 4}),
    ("we need 5 syringe-pump parts and 10 face shields", {"spare_part": 5, "face_shield": 10}),
    ("We need 20 snorkel mask adapters for the ICU in Lyon", {"valve_adapter": 20}),
    ("Need 30 face-shield visors asap for our clinic", {"face_shield": 30}),
    ("Hi, we need 20 face shield replacement visors for the clinic", {"face_shield": 20}),
    ("Looking for 3 intubation boxes for the OR in Nancy", {"intubation_box": 3}),
    # a ventilator named on its own is still a ventilator
    ("We need a ventilator and 3 face shields", {"ventilator": 1, "face_shield": 3}),
    ("Our hospital needs a ventilator, spare parts would help too", {"ventilator": 1, "spare_part": None}),
    # the French order names the thing first
    ("Besoin de 4 pièces détachées pour respirateur, CHU de Caen", {"spare_part": 4}),
])
def test_english_compound_items(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


# ---------------------------------------------------------------- question topics
@pytest.mark.parametrize("text, topic", [
    # money owed to the state, invoices and insurance are legal matters
    ("Faut-il faire une facture pour les visières qu'on vend à prix coûtant ?", "legal"),
    ("Faut-il facturer la mairie pour les masques ?", "legal"),
    ("Quelle TVA appliquer sur les masques vendus aux mairies ?", "legal"),
    ("Est-ce qu'on doit déclarer les dons aux impôts ?", "legal"),
    ("Les dons de matériel sont-ils déductibles des impôts ?", "legal"),
    ("Faut-il déclarer les heures de bénévolat quelque part ?", "legal"),
    ("Notre asso doit-elle émettre un reçu fiscal pour les dons de PETG ?", "legal"),
    ("Do we need to charge VAT on the ear savers we sell at cost?", "legal"),
    ("Do I need to issue an invoice to the hospital for the filament?", "legal"),
    ("do we need to declare the donations to the tax office if we give 5000 masks away?", "legal"),
    ("Can we issue receipts to donors for tax purposes?", "legal"),
    ("Who do we send the invoice to for the elastic?", "legal"),
    ("Is our fablab's insurance going to cover volunteers driving deliveries?", "legal"),
    # cleaning is sanitary, print settings technical, carrying and paying for it logistics
    ("Comment stériliser les caissons d'intubation entre deux patients ?", "sanitary"),
    ("Can the visors be sterilised in an autoclave?", "sanitary"),
    ("Quels réglages de slicer pour le PETG ?", "technical"),
    ("Which filament do you recommend for door openers?", "technical"),
    ("Quelle température de buse pour le PETG sur une Ender 3 ?", "technical"),
    ("Who pays shipping for the parcels to Corsica?", "logistics"),
    ("Qui prend en charge les frais d'envoi des colis ?", "logistics"),
    ("Is there a collection point in Bordeaux for the finished visors?", "logistics"),
    ("Is there still a central stock of elastic somewhere or should we buy our own now?", "logistics"),
    ("Un taxi peut-il livrer les visières à l'hôpital ?", "logistics"),
    # a question asked indirectly, with or without a question mark
    ("Nos infirmières demandent si les masques tissu protègent aussi bien qu'un chirurgical pour les soins.",
     "sanitary"),
    ("Je me demande si on peut laver les surblouses à 60 degrés", "sanitary"),
    ("I was wondering whether the ear savers can be disinfected with alcohol wipes", "sanitary"),
])
def test_question_topics(rec, text, topic):
    r = rec.recognise(text, sent_at=WED)
    assert (r.intent, r.topic) == ("question", topic)


@pytest.mark.parametrize("text, intent", [
    ("L'EHPAD nous demande si on peut fournir 20 visières pour vendredi", "need"),
    ("Le CHU de Tours demande si quelqu'un peut imprimer 30 visières", "need"),
    ("I was wondering if anyone needs face shields, I have 40 ready in Brest", "offer"),
])
def test_asking_whether_can_still_relay_a_need_or_an_offer(rec, text, intent):
    assert rec.recognise(text, sent_at=WED).intent == intent


# ---------------------------------------------------------------- neighbours: dates, offers, withdrawn offers
@pytest.mark.parametrize("text, deadline", [
    ("Cabinet dentaire à Aix : 4 visières svp, nous rouvrons lundi 20.", "2020-04-20"),
    ("Need 10 face shields by Friday 17th, clinic in Reims", "2020-04-17"),
    ("Besoin de 30 surblouses pour le vendredi 24, EHPAD de Laval", "2020-04-24"),
    ("Besoin de 30 surblouses pour vendredi 24 avril, EHPAD de Laval", "2020-04-24"),
    ("Besoin de 12 visières lundi 14h, EHPAD de Dole", "2020-04-20"),
    # a number after the weekday that counts something leaves the weekday alone
    ("Besoin pour lundi 20 visières, EHPAD de Dole", "2020-04-20"),
    ("Il nous faut pour vendredi, 12 visières et 5 surblouses", "2020-04-17"),
])
def test_weekday_with_a_day_of_the_month(rec, text, deadline):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert r.deadline is not None and r.deadline.isoformat() == deadline


@pytest.mark.parametrize("text, intent, caps", [
    ("Courier with a van in Nantes here. Free deliveries for anything covid related.", "offer", ["transport"]),
    ("Livraisons gratuites sur Angers avec mon utilitaire, pour les soignants", "offer", ["transport"]),
    ("J'avais proposé des visières mais mon imprimante est en carafe, désolée", "other", []),
    ("I had offered gowns last week but my sewing machine died, sorry everyone", "other", []),
])
def test_offers_and_withdrawn_offers(rec, text, intent, caps):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == intent
    assert list(r.capabilities) == caps


def test_a_request_for_parts_of_equipment_named_before(rec):
    r = rec.recognise("Le bloc du CH de Niort a des pousse-seringues dont le clapet a lâché. Pourriez-vous imprimer "
                      "6 pièces de remplacement ? Fichier fourni.", sent_at=WED)
    assert r.intent == "need"
    assert items(r) == {"spare_part": 6}
    assert place_of(r) == ("Niort", "79")


@pytest.mark.parametrize("text, expected, place", [
    ("Our school (St Mary's, Calais) would love a couple of hundred ear savers for the staff", {"ear_saver": 200},
     ("Calais", "62")),
    ("Hôpital Saint-Antoine : on manque de pièces pour nos respirateurs, 3 nous dépanneraient", {"spare_part": 3},
     None),
    ("Could a maker cut us 40 visors? We're a GP surgery in Dieppe.", {"face_shield": 40}, ("Dieppe", "76")),
    ("Quelqu'un aurait-il la possibilité de nous coudre une trentaine de blouses ? EHPAD de Cahors", {"gown": 30},
     ("Cahors", "46")),
    ("Nous sommes à court de visières : 50 seraient les bienvenues. Pharmacie du Centre, Agen", {"face_shield": 50},
     ("Agen", "47")),
])
def test_mixed_neighbours_of_the_weak_spots(rec, text, expected, place):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected
    assert place_of(r) == place


def test_receipts_for_donations_are_legal(rec):
    r = rec.recognise("Est-ce que les reçus de dons doivent mentionner la valeur du matériel ?", sent_at=WED)
    assert (r.intent, r.topic) == ("question", "legal")


# ================================================================ round 2
# Families of phrasing the fifth held-out batch showed to be weak, each tested with messages written for this file.

# ---------------------------------------------------------------- "je" glued to its verb in chat
@pytest.mark.parametrize("text, intent, expected, caps", [
    ("Jpeux imprimer des visières, 20/jour, je suis à Niort", "offer", {"face_shield": 20}, ["3d_printing"]),
    ("jpourrais coudre une trentaine de surblouses cette semaine", "offer", {"gown": 30}, ["sewing"]),
    ("Chuis couturière, jfais des masques tissu pour qui veut", "offer", {"fabric_mask": None}, ["sewing"]),
    ("jai une Ender 3 dispo pour des attache-masques", "offer", {"ear_saver": None}, ["3d_printing"]),
])
def test_je_glued_to_the_verb(rec, text, intent, expected, caps):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == intent
    assert items(r) == expected
    assert list(r.capabilities) == caps


def test_je_contractions_leave_other_words_alone():
    from core.recognise._text import prepare
    assert prepare("jpeux jdois jai chuis").toks == ["je", "peux", "je", "dois", "j", "ai", "je", "suis"]
    assert prepare("photo en jpeg, Jean et Jules, eau de javel, 3 jr").toks == [
        "photo", "en", "jpeg", ",", "jean", "et", "jules", ",", "eau", "de", "javel", ",", "3", "jr"]


# ---------------------------------------------------------------- a capacity stated as a rate is an offer
@pytest.mark.parametrize("text, expected, caps", [
    ("Atelier de 3 couturières à Vannes : masques tissu, une cinquantaine par jour.", {"fabric_mask": 50}, ["sewing"]),
    ("Our sewing group, Calais: cloth masks, about 80 a day, for carers", {"fabric_mask": 80}, ["sewing"]),
    ("Club de modélisme, 5 imprimantes 3D : ouvre-portes, 40/jour env.", {"door_opener": 40}, ["3d_printing"]),
])
def test_a_rate_with_a_capability_is_an_offer(rec, text, expected, caps):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "offer"
    assert items(r) == expected
    assert list(r.capabilities) == caps


@pytest.mark.parametrize("text, intent", [
    ("Notre EHPAD utilise 60 masques tissu par jour, il nous en faudrait 300", "need"),
    ("La mairie de Brest distribue des masques gratuits à partir de lundi, 500 par jour", "other"),
])
def test_a_rate_alone_does_not_make_an_offer(rec, text, intent):
    assert rec.recognise(text, sent_at=WED).intent == intent


# ---------------------------------------------------------------- withdrawn requests and offers, jokes
@pytest.mark.parametrize("text", [
    "Bonjour, nous annulons notre demande de 20 visières, la région nous en a envoyé",
    "On annule la commande de 40 blouses, le CHU nous a dépannés",
    "Hi, we're withdrawing our request for 20 gowns, the council sent some",
    "Je retire mon offre de masques tissu, ma machine à coudre a lâché",
    "I withdraw my offer of ear savers, out of filament",
    "Salut, je retire ma proposition de visières, je reprends le boulot lundi",
    "Poisson d'avril ! Le ministère veut 500 000 surblouses d'ici ce soir",
    "April fool: the ministry just ordered 2 million face shields from our fablab",
    "Je plaisante hein, personne ne nous a demandé 10 000 visières pour demain",
])
def test_withdrawals_and_jokes_are_other(rec, text):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "other"
    assert r.deadline is None


@pytest.mark.parametrize("text, expected", [
    ("We need 30 face shields by Friday, no joke, the ward is out", {"face_shield": 30}),
    ("je rigole pas, il nous faut 30 visières pour demain", {"face_shield": 30}),
    ("On annule pas la demande, on a toujours besoin de 20 surblouses", {"gown": 20}),
    ("I'm not joking, we need 40 gowns by Friday", {"gown": 40}),
])
def test_a_denied_joke_or_cancellation_leaves_the_need(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert (r.intent, items(r)) == ("need", expected)


@pytest.mark.parametrize("text", [
    "You could use PETG for the visors, it's sturdier",
    "Tu pourrais utiliser du PETG pour les visières, c'est plus solide",
])
def test_advice_on_what_to_use_is_not_a_need(rec, text):
    assert rec.recognise(text, sent_at=WED).intent != "need"


# ---------------------------------------------------------------- counts in words after "en", nouns before the item
@pytest.mark.parametrize("text, expected", [
    ("On manque de surblouses, il nous en faudrait deux cents", {"gown": 200}),
    ("Des visières pour l'EHPAD ? Il en faudrait trente.", {"face_shield": 30}),
    ("Pour les écouvillons il leur en faut cinquante environ", {"nasal_swab": 50}),
    ("il nous faudrait une soixantaine de clips attache-masque. Merci", {"ear_saver": 60}),
    ("Besoin de 40 crochets ouvre-porte pour la mairie de Mende", {"door_opener": 40}),
    ("We need 30 plastic ear savers for our carers", {"ear_saver": 30}),
    ("Our ward could use 20 reusable gowns", {"gown": 20}),
])
def test_counts_in_words_and_nouns_before_the_item(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, intent, expected", [
    ("J'en ai deux imprimantes qui tournent pour des visières", "offer", {"face_shield": None}),
    ("J'ai 3 imprimantes, visières en cours", "offer", {"face_shield": None}),
])
def test_counts_of_something_else_stay_off_the_item(rec, text, intent, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == intent
    assert items(r) == expected


# ---------------------------------------------------------------- ranges in words, magnitudes made precise
@pytest.mark.parametrize("text, expected", [
    ("On peut sortir des surblouses, trois ou quatre par jour, atelier couture de Gap", {"gown": 3}),
    ("Je peux imprimer des boîtes d'intubation, une ou deux par semaine", {"intubation_box": 1}),
    ("With our laser cutter we can make face shields, two to three hundred a week", {"face_shield": 200}),
    ("We can sew gowns by the dozens, say 30 a week", {"gown": 30}),
    ("On fait des visières par centaines, disons 150 par jour avec 8 imprimantes", {"face_shield": 150}),
])
def test_word_ranges_and_magnitudes_made_precise(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "offer"
    assert items(r) == expected


@pytest.mark.parametrize("text, expected", [
    # an approximate figure is a figure: it adds up with another one
    ("Besoin de surblouses pour l'équipe (15) et pour les visiteurs (une vingtaine)", {"gown": 35}),
    ("Le CHU cherche des centaines de visières", {"face_shield": 200}),
])
def test_approximate_figures_still_count(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


# ---------------------------------------------------------------- machines named by brand, plural or as a design
@pytest.mark.parametrize("text, caps", [
    ("Fablab à Albi : 4 Ultimakers et 2 Crealitys, on peut faire 100 attache-masques par jour", ["3d_printing"]),
    ("We have two Epilogs and can cut 200 visors a day", ["laser_cutting"]),
    ("40 visières Prusa RC2 prêtes à donner à Rodez, je peux les livrer", ["transport"]),
    ("Got 25 face shields (Prusa RC3 design) ready, I can deliver around Lille", ["transport"]),
])
def test_brands_in_the_plural_and_designs_named_after_a_brand(rec, text, caps):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "offer"
    assert list(r.capabilities) == caps


@pytest.mark.parametrize("text", [
    "Menuiserie à Figeac, on a une machine à commande numérique, on peut découper des caissons d'intubation",
    "Small engineering shop with a numerical control lathe, we can make intubation boxes",
])
def test_numerical_control_is_cnc(rec, text):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "offer"
    assert "cnc" in r.capabilities


# ---------------------------------------------------------------- material received is not material given
@pytest.mark.parametrize("text, caps", [
    ("Je couds des masques tissu, une trentaine par jour, plus si on me donne des élastiques", ["sewing"]),
    ("We sew gowns, about 20 a week, more if someone gives us fabric", ["sewing"]),
    ("Je couds des masques tissu et je donne aussi du tissu à qui en veut", ["sewing", "materials"]),
])
def test_material_received_is_not_material_given(rec, text, caps):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "offer"
    assert sorted(r.capabilities) == sorted(caps)


# ---------------------------------------------------------------- a finished batch is not on offer
@pytest.mark.parametrize("text, expected", [
    ("On a terminé la série de surblouses, on peut maintenant coudre des masques tissu (50/jour)", {"fabric_mask": 50}),
    ("We finished our batch of face shields, now we can print door openers, 60 a day", {"door_opener": 60}),
])
def test_a_finished_batch_is_not_on_offer(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "offer"
    assert items(r) == expected


# ---------------------------------------------------------------- parts of medical equipment
@pytest.mark.parametrize("text, intent, expected", [
    ("We need 3 syringe drivers for the palliative care unit", "need", {"spare_part": 3}),
    ("Il nous faudrait 5 pièces de remplacement pour nos pousse-seringues", "need", {"spare_part": 5}),
    ("Besoin de 2 pièces de remplacement, service de réa du CH de Vienne", "need", {"spare_part": 2}),
    ("Our ICU needs 8 ventilator valve adapters, drawings attached", "need", {"spare_part": 8}),
    ("We need 4 ventilator filter housings", "need", {"spare_part": 4}),
    ("Machine shop in Annecy, we can mill POM parts for ventilators from your drawings", "offer", {"spare_part": None}),
    ("Je peux usiner des composants pour respirateurs sur plan", "offer", {"spare_part": None}),
    # a valve for a diving mask is still a valve adapter, a ventilator still a ventilator
    ("We need 20 snorkel mask adapters for our ICU", "need", {"valve_adapter": 20}),
    ("Our hospital needs a ventilator, spare parts would help too", "need", {"ventilator": 1, "spare_part": None}),
])
def test_parts_of_medical_equipment(rec, text, intent, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == intent
    assert items(r) == expected


# ---------------------------------------------------------------- question topics, round 2
@pytest.mark.parametrize("text, topic", [
    # paying for materials: a kitty, a fund, a budget
    ("Y a-t-il une cagnotte pour acheter du filament ? Je commence à être à sec", "logistics"),
    ("Is there a fundraiser to cover the cost of elastic and PETG?", "logistics"),
    ("Qui finance le tissu pour les surblouses ?", "logistics"),
    # where and when things are dropped off or delivered
    ("Il y a un point relais à Nantes pour laisser les visières ou je les apporte au CHU ?", "logistics"),
    ("Is there a drop-off point in Lyon for finished ear savers?", "logistics"),
    ("Combien de temps faut-il pour être livré une fois la demande faite ?", "logistics"),
    ("How long does it usually take for a request to be delivered?", "logistics"),
    # validation by a health authority
    ("Est-ce que l'ARS a validé un patron de surblouse ? Notre cadre de santé refuse un modèle non validé.",
     "sanitary"),
    ("Has the health agency approved any model of aerosol box? Our anaesthetist won't use one otherwise.", "sanitary"),
    # one word counts once for its topic even when it matches two prefixes
    ("Quel modèle de visière, et quelle version du modèle, pour une Ender 3 ?", "technical"),
])
def test_question_topics_round_2(rec, text, topic):
    r = rec.recognise(text, sent_at=WED)
    assert (r.intent, r.topic) == ("question", topic)


@pytest.mark.parametrize("text, intent", [
    ("Les visières seront livrées à l'hôpital de Vannes ? On attend toujours", "question"),
    ("Visières livrées ce matin à l'EHPAD de Vannes, merci à tous", "other"),
])
def test_a_delivery_to_come_is_not_a_report(rec, text, intent):
    assert rec.recognise(text, sent_at=WED).intent == intent


# ================================================================ round 3
# Families of phrasing the sixth held-out batch showed to be weak, each tested with messages written for this file.

# ---------------------------------------------------------------- formal, relayed and lack-of requests
@pytest.mark.parametrize("text, expected", [
    ("Bonjour, EHPAD Les Glycines à Vannes. Nous sollicitons 30 surblouses pour l'équipe de nuit.", {"gown": 30}),
    ("Good morning, dialysis unit of Arras hospital. We are requesting 15 face shields for our nurses.",
     {"face_shield": 15}),
    ("Demande relayée : l'EHPAD de Figeac, 25 visières.", {"face_shield": 25}),
    ("Relayed request: a GP practice in Lens, 12 gowns.", {"gown": 12}),
    # a lack of something the hub knows
    ("Les aides à domicile de notre SSIAD n'ont aucune visière, 20 visières seraient parfaites.", {"face_shield": 20}),
    ("Our porters have no gowns at all, 25 would do us.", {"gown": 25}),
])
def test_formal_relayed_and_lack_of_requests(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, intent", [
    ("Nos infirmiers n'ont aucun problème avec les visières, merci !", "other"),
    ("We have no idea which file to print for the visors?", "question"),
])
def test_a_lack_of_something_else_is_no_need(rec, text, intent):
    assert rec.recognise(text, sent_at=WED).intent == intent


# ---------------------------------------------------------------- "do you have X?" asks for things
@pytest.mark.parametrize("text, expected", [
    ("cc c l'infirmerie du collège de Redon, vous auriez des visières ? 12 ça nous irait", {"face_shield": 12}),
    ("Avez-vous encore des surblouses ? Une quinzaine nous conviendrait.", {"gown": 15}),
    ("Hi, small care home in Rye. Do you have any ear savers? 40 would suit us.", {"ear_saver": 40}),
    ("Have you got door openers left? Our GP surgery would take 10.", {"door_opener": 10}),
])
def test_do_you_have_an_item_is_a_request(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, intent", [
    ("Vous avez des retours sur les visières en PETG ? Elles tiennent au lavage ?", "question"),
    ("Do you have a link to the ear saver file?", "question"),
    ("Vous avez besoin de visières ? J'en ai 40 à Quimper", "offer"),
])
def test_do_you_have_without_an_item_right_after(rec, text, intent):
    assert rec.recognise(text, sent_at=WED).intent == intent


# ---------------------------------------------------------------- a question built as one outweighs a weak request
@pytest.mark.parametrize("text, topic", [
    ("La mairie peut-elle commander des surblouses à des makers sans appel d'offres ?", "legal"),
    ("Can we pay local makers for visors out of public funds, or is that against procurement rules?", "legal"),
])
def test_a_permission_question_naming_makers_stays_a_question(rec, text, topic):
    r = rec.recognise(text, sent_at=WED)
    assert (r.intent, r.topic) == ("question", topic)


# ---------------------------------------------------------------- question words put last
@pytest.mark.parametrize("text, topic", [
    ("Les surblouses finies on les apporte où à Rennes ?", "logistics"),
    ("le filament donné par le lycée, on le récupère où ??", "logistics"),
    ("Le tissu pour les masques, on le trouve où maintenant ?", "logistics"),
])
def test_where_put_last_asks_where(rec, text, topic):
    r = rec.recognise(text, sent_at=WED)
    assert (r.intent, r.topic) == ("question", topic)


def test_or_is_not_where(rec):
    r = rec.recognise("On imprime les visières en PLA ou en PETG ?", sent_at=WED)
    assert (r.intent, r.topic) == ("question", "technical")


# ---------------------------------------------------------------- topic prefixes do not reach into other words
@pytest.mark.parametrize("word", ["trouver", "couturière", "place", "cadre", "vendredi", "fraiseuse", "réussi", "loin",
                                  "opener", "printemps", "public"])
def test_topic_prefixes_leave_unrelated_words_alone(word):
    from core.recognise._cues import load_cues
    from core.recognise._text import prepare
    cues = load_cues()
    tok = prepare(word).toks[0]
    assert not [tok[:k] for k in cues.prefix_lengths if tok[:k] in cues.prefixes], word


@pytest.mark.parametrize("text, topic", [
    ("Où trouver de l'élastique pour les masques ? La mercerie du coin est vide", "logistics"),
    ("Les couturières doivent-elles laver le tissu à 60° avant de coudre ?", "sanitary"),
    ("Our matron asks whether gowns can be reused after a hot wash?", "sanitary"),
])
def test_topics_of_questions_with_such_words(rec, text, topic):
    r = rec.recognise(text, sent_at=WED)
    assert (r.intent, r.topic) == ("question", topic)


# ---------------------------------------------------------------- counts: in words after the item, as a start, of
# things we own, and generic nouns standing for the item
@pytest.mark.parametrize("text, expected", [
    ("L'EHPAD de Saumur cherche des surblouses, trois cents pour commencer.", {"gown": 300}),
    ("We're after face shields for the ward: fifty to start with, more next week.", {"face_shield": 50}),
    ("Il nous faut des attache-masques, quarante pour le moment", {"ear_saver": 40}),
    # owned equipment counted with "of our" / "de nos" is no count asked for
    ("Three of our ventilators are out of order. We need 3 replacement parts by Friday.", {"spare_part": 3}),
    ("Deux de nos pousse-seringues ne marchent plus, il nous faudrait 2 pièces de remplacement.", {"spare_part": 2}),
    # "appareils", "devices" stand for the equipment named before
    ("Notre service manque de pousse-seringues : 3 appareils nous dépanneraient.", {"spare_part": 3}),
    ("We are short of ventilators, 2 devices would already help a lot.", {"ventilator": 2}),
])
def test_counts_of_round_3(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, expected", [
    ("Besoin de visières, deux modèles possibles, pour le CHU de Caen", {"face_shield": None}),
    ("We need gowns, two sizes if you can, for our hospice", {"gown": None}),
])
def test_words_after_the_item_that_count_something_else(rec, text, expected):
    assert items(rec.recognise(text, sent_at=WED)) == expected


# ---------------------------------------------------------------- items already received are not asked for
@pytest.mark.parametrize("text, expected", [
    ("Merci, on a bien reçu les 30 visières ! Par contre il nous faudrait 20 surblouses pour l'EHPAD de Guéret.",
     {"gown": 20}),
    ("We already received ear savers from you, thanks. Now we need 15 gowns for the night shift.", {"gown": 15}),
])
def test_items_already_received_are_set_aside(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, expected", [
    ("Nous n'avons toujours pas reçu de visières, il nous en faut 40 pour la maison de retraite.", {"face_shield": 40}),
    ("Bonjour, on a reçu une demande de surblouses de la clinique, il en faudrait 25.", {"gown": 25}),
    ("We haven't received any gowns yet and still need 30.", {"gown": 30}),
])
def test_items_awaited_or_requested_stay(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


# ---------------------------------------------------------------- work done, told, is no offer
@pytest.mark.parametrize("text", [
    "On a tellement cousu de surblouses ce mois-ci que la machine fume 😅",
    "J'ai déjà imprimé 400 attache-masques depuis mars, record perso !",
    "We've sewn so many gowns this week that I dream in seams",
])
def test_work_done_told_is_other(rec, text):
    assert rec.recognise(text, sent_at=WED).intent == "other"


@pytest.mark.parametrize("text, expected", [
    ("J'ai imprimé 60 visières cette semaine, dispo pour qui en a besoin à Albi", {"face_shield": 60}),
    ("I've printed 80 ear savers, anyone want them? Based in Hull.", {"ear_saver": 80}),
])
def test_work_done_then_offered_is_an_offer(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "offer"
    assert items(r) == expected


# ---------------------------------------------------------------- polls of fellow makers are chat
@pytest.mark.parametrize("text, intent", [
    ("Qui d'autre fait tourner sa machine à coudre à minuit ? 🌙", "other"),
    ("Who else has a printer running in the kitchen tonight? 😄", "other"),
    ("Qui d'autre a des soucis de warping avec le PETG sur une Ender 3 ?", "question"),
])
def test_polls_of_fellow_makers(rec, text, intent):
    assert rec.recognise(text, sent_at=WED).intent == intent


# ---------------------------------------------------------------- wearing and changing protection is sanitary
@pytest.mark.parametrize("text, topic", [
    ("Combien de temps peut-on porter un masque en tissu avant de le changer ?", "sanitary"),
    ("Should carers change visors between two residents or can they keep the same one all day?", "sanitary"),
    ("Can a face shield be worn over glasses during care?", "sanitary"),
])
def test_wearing_and_changing_protection_is_sanitary(rec, text, topic):
    r = rec.recognise(text, sent_at=WED)
    assert (r.intent, r.topic) == ("question", topic)


# ---------------------------------------------------------------- a weekday told in the past is no deadline
@pytest.mark.parametrize("text, deadline", [
    # WED is Wednesday 15 April 2020
    ("Nous avons rouvert l'accueil de jour mardi. Il nous faudrait 20 visières.", None),
    ("La pharmacie a reçu son stock vendredi, mais il nous manque encore 50 flacons de gel hydroalcoolique.", None),
    ("We opened a second covid ward on Monday and need 30 gowns.", None),
    ("Depuis lundi dernier on manque de surblouses, une vingtaine svp", None),
    # still deadlines: a deadline word, a plan, "prochain", or a clause of its own
    ("Nous avons reçu vos visières, il nous faudrait 20 blouses vendredi.", "2020-04-17"),
    ("On a prévu d'ouvrir lundi, il nous faut 15 visières pour lundi.", "2020-04-20"),
    ("We've been asked to open a ward, we need 10 visors by Monday.", "2020-04-20"),
    ("Il nous faut 12 surblouses, livraison vendredi si possible.", "2020-04-17"),
])
def test_a_weekday_told_in_the_past_is_no_deadline(rec, text, deadline):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert (r.deadline.isoformat() if r.deadline else None) == deadline


@pytest.mark.parametrize("text, deadline", [
    # chat with no commas: the clause runs on to the weekday
    ("y a plus de visières a l'EHPAD il en faudrait 30 lundi", "2020-04-20"),
    ("il y a du monde aux urgences il nous faut 10 surblouses mardi", "2020-04-21"),
    ("livraison a coté de la mairie 15 visières vendredi svp", "2020-04-17"),
])
def test_words_that_only_look_like_a_past_participle(rec, text, deadline):
    r = rec.recognise(text, sent_at=WED)
    assert (r.deadline.isoformat() if r.deadline else None) == deadline


# ---------------------------------------------------------------- where goods go is less telling than where one is
@pytest.mark.parametrize("text, intent, place", [
    ("Infirmière à la clinique de Sens. Il nous faut 20 surblouses, on peut passer les chercher à Auxerre.",
     "need", ("Sens", "89")),
    ("EHPAD de Murat : besoin de 15 visières, vous pouvez les déposer à Aurillac ou à Saint-Flour.",
     "need", ("Murat", "15")),
    ("Fablab de Lannion, 30 visières prêtes, je peux les livrer à Morlaix ou à Guingamp.", "offer", ("Lannion", "22")),
    # a destination alone is still the place
    ("Besoin de 25 visières livrées à Montauban avant vendredi", "need", ("Montauban", "82")),
    ("Je peux livrer à Crest des attache-masques, j'en ai 200", "offer", ("Crest", "26")),
])
def test_where_goods_go_ranks_below_where_one_is(rec, text, intent, place):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == intent
    assert place_of(r) == place


@pytest.mark.parametrize("text, place", [
    # a town whose name is also a common word, right after an institution's "de"
    ("Bonjour, l'hôpital de Sens cherche 30 surblouses pour la réa.", ("Sens", "89")),
    ("ICU nurse at the hospital of Eu: we need 12 face shields.", None),  # "of": no cue for a common word
    ("Le centre hospitalier d'Orange aurait besoin de 40 visières.", ("Orange", "84")),
])
def test_common_word_towns_after_an_institution(rec, text, place):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert place_of(r) == place


@pytest.mark.parametrize("text, place", [
    ("on a du mal à trouver du sens à tout ça, besoin de 10 visières pour le cabinet", None),
    ("Nous sommes à la pharmacie de garde, il nous faut du gel hydroalcoolique en orange ou en bleu", None),
])
def test_common_words_stay_words(rec, text, place):
    assert place_of(rec.recognise(text, sent_at=WED)) == place


@pytest.mark.parametrize("text, expected", [
    ("Il nous faut 40 surblouses livrées à l'EHPAD avant lundi", {"gown": 40}),
    ("We urgently need 20 visors delivered to the ward, please.", {"face_shield": 20}),
])
def test_what_a_need_wants_delivered_is_no_report(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


# ---------------------------------------------------------------- round 4 (phenomena seen in heldout_7)


@pytest.mark.parametrize("text, expected", [
    # a wish relayed for someone else, or what people keep asking for, is a need
    ("My cousin is a midwife in Limoges and they'd love 15 visors for the delivery room.", {"face_shield": 15}),
    ("The vets down the road have been asking for gowns, 20 would be plenty.", {"gown": 20}),
    ("Les aides-soignantes du foyer demandent des surblouses, une quarantaine.", {"gown": 40}),
    ("Les infirmiers de nuit réclament des visières : 12 suffiraient.", {"face_shield": 12}),
])
def test_relayed_wishes_are_needs(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, expected", [
    # a figure given up is no count: "rather than", "instead of", "au lieu de", "plutôt que"
    ("Change to our order: make that 90 gowns rather than 50.", {"gown": 90}),
    ("Il nous faudrait finalement 35 visières au lieu de 20.", {"face_shield": 35}),
    ("We need 12 intubation boxes instead of 8.", {"intubation_box": 12}),
])
def test_a_figure_given_up_is_no_count(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, expected", [
    # a total that restates a share replaces it: "donc", "soit", "so"
    ("Il nous faudrait 3 surblouses par agent, soit 45 surblouses.", {"gown": 45}),
    ("We need 2 cloth masks each for the staff, so 70.", {"fabric_mask": 70}),
    ("On voudrait des visières pour l'équipe, 9 donc.", {"face_shield": 9}),
])
def test_a_restated_total_replaces_the_share(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, expected", [
    # what is already had is not asked for: "nous avons 5 X, il en faudrait 3 de plus"
    ("Nous avons 5 boîtes d'intubation, il en faudrait 3 de plus pour le bloc.", {"intubation_box": 3}),
    ("We have 10 face shields but we need 6 more for the night shift.", {"face_shield": 6}),
    # not what is had: both counts asked for still add up
    ("Il nous faut 30 surblouses pour la réa et 10 surblouses pour l'accueil.", {"gown": 40}),
])
def test_what_is_had_is_not_asked_for(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, expected", [
    # a count of machines is no count of their parts
    ("Pour nos trois pousse-seringues il nous faudrait 5 pièces de rechange.", {"spare_part": 5}),
    ("We need 6 replacement parts for 2 syringe drivers.", {"spare_part": 6}),
    # alone, the machine's count stays
    ("Il nous faut 2 pousse-seringues pour la réa.", {"spare_part": 2}),
])
def test_machines_counted_are_not_parts(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert items(r) == expected


@pytest.mark.parametrize("text, expected", [
    ("Pour l'accueil on voudrait quelques flacons de gel, disons 8.", {"hand_sanitizer": 8}),
    ("Our pharmacy would like 40 bottles of sanitiser.", {"hand_sanitizer": 40}),
    ("The dental practice needs touchless door handles, 6 of them.", {"door_opener": 6}),
])
def test_round4_item_names(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text", [
    # ordinary chat with the new cue words stays out of needs
    "I'd love to help but my printer is broken, sorry.",
    "So 40 of us printed all weekend, great job everyone!",
    "Donc 12 imprimantes tournent ce soir chez nous, bravo à tous.",
])
def test_round4_chat_stays_chat(rec, text):
    assert rec.recognise(text, sent_at=WED).intent != "need"


# ---------------------------------------------------------------- round 5 (phenomena behind heldout_8's errors)
@pytest.mark.parametrize("text, expected", [
    # a requester's wish is a need; offering to fetch what one asks for is no offer
    ("Kiné à Dieppe, je voudrais 4 surblouses, je peux passer les chercher demain.", {"gown": 4}),
    ("Bonjour, j'aimerais 10 masques en tissu pour mon cabinet, on peut venir les récupérer.", {"fabric_mask": 10}),
    ("The headteacher wants 40 face shields for the staff room.", {"face_shield": 40}),
    ("Our surgery would like 6 gowns, I can pick them up on Friday.", {"gown": 6}),
    ("Relaying a request: a shelter in Nevers needs 8 gowns. I can drive them over if someone sews them.", {"gown": 8}),
])
def test_round5_wishes_and_fetching_are_needs(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected
    assert r.capabilities == ()


def test_round5_relayed_request_keeps_its_deadline(rec):
    r = rec.recognise("Passing on a request: a care home in Vierzon needs 20 gowns for Friday.", sent_at=WED)
    assert r.intent == "need" and r.deadline is not None and r.deadline.isoformat() == "2020-04-17"


@pytest.mark.parametrize("text", [
    # an offer to fetch stays an offer when no wish is stated
    "Je peux imprimer 30 visières par jour, je peux passer les déposer.",
    "I can print 20 face shields a day and drop them off.",
])
def test_round5_makers_offers_stay_offers(rec, text):
    assert rec.recognise(text, sent_at=WED).intent == "offer"


@pytest.mark.parametrize("text", [
    "Troisième nuit blanche, jamais autant vu tourner mes imprimantes 😴",
    "Printers humming all night again, anyone still awake? ☕",
])
def test_round5_chat_about_ones_printers_is_other(rec, text):
    assert rec.recognise(text, sent_at=WED).intent == "other"


@pytest.mark.parametrize("text, topic", [
    ("Si une aide-soignante se blesse avec une de mes visières, peut-on se retourner contre nous ?", "legal"),
    ("Could I be held liable if a gown I sewed tears during a shift?", "legal"),
    ("Can a care home sue us if a printed shield fails?", "legal"),
    ("Faut-il laisser reposer les masques cousus quelques jours avant de les donner ?", "sanitary"),
    ("Should we let them sit for three days before handing the shields over?", "sanitary"),
    ("Do you want the shields individually bagged or loose in a box?", "sanitary"),
    ("Doit-on passer par la mairie pour recevoir des surblouses, ou les couturières peuvent livrer directement ?",
     "logistics"),
])
def test_round5_question_topics(rec, text, topic):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "question"
    assert r.topic == topic


@pytest.mark.parametrize("text, expected", [
    # a need stated, then makers asked to make "en"/"them": still a need, not a question
    ("Ici l'EHPAD de Figeac, il nous faut 6 boîtes d'intubation. Vos makers pourraient-ils en fabriquer ?",
     {"intubation_box": 6}),
    ("We need 4 ventilators for the ward. Could your makers build some?", {"ventilator": 4}),
])
def test_round5_makers_asked_to_make_what_was_needed(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


def test_round5_asking_how_makers_deliver_stays_a_question(rec):
    r = rec.recognise("Can the makers post the gowns to us or do we collect them ourselves?", sent_at=WED)
    assert r.intent == "question"


@pytest.mark.parametrize("text, expected", [
    # one per person: the count of people in the same sentence
    ("Nos 12 aides-soignantes voudraient une visière chacune.", {"face_shield": 12}),
    ("Pour nos 8 agents il faudrait des surblouses, une par personne.", {"gown": 8}),
    ("Our 9 porters need one gown each please.", {"gown": 9}),
    # the people counted in another sentence give no count
    ("Our 20 carers need gowns. One each would be great.", {"gown": None}),
])
def test_round5_one_each_counts_the_people(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text, expected", [
    # parts for a piece of equipment: "de rechange", "replacement", "spare"
    ("Le pousse-seringue de la réa a un embout fendu, il nous faudrait 2 embouts de rechange.", {"spare_part": 2}),
    ("Our syringe pump is down, we need 4 replacement valves for it.", {"spare_part": 4}),
    ("Le filtre du respirateur est cassé, il nous faudrait 5 filtres de rechange.", {"spare_part": 5}),
])
def test_round5_replacement_parts_are_spare_parts(rec, text, expected):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "need"
    assert items(r) == expected


@pytest.mark.parametrize("text", [
    # a tool after "à la" is how things are made, not someone else's machine
    "Fablab : on peut faire 3 caissons d'intubation par jour à la découpe laser.",
    "We can make 5 intubation boxes a day with the laser cutter.",
])
def test_round5_laser_cutting_as_a_tool(rec, text):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == "offer"
    assert "laser_cutting" in r.capabilities


# ---------------------------------------------------------------- an area or postcode after a commune

@pytest.mark.parametrize("text, intent, place", [
    # the area in brackets picks the homonym; it is not itself the place
    ("Fablab de Saint-Denis (La Réunion) : on peut imprimer 40 visières par semaine.", "offer", ("Saint-Denis", "974")),
    ("L'EHPAD de Saint-Pierre (974) a besoin de 30 masques en tissu.", "need", ("Saint-Pierre", "974")),
    ("Our makerspace in Valence (82) can print 20 face shields a day.", "offer", ("Valence", "82")),
    ("Besoin de 50 surblouses pour le cabinet infirmier de Bagnols (Gard).", "need", ("Bagnols-sur-Cèze", "30")),
    ("Nurses in Sainte-Marie (Martinique) need 25 face shields.", "need", ("Sainte-Marie", "972")),
    ("Couturière à Rochefort (17), je peux coudre 20 masques par jour.", "offer", ("Rochefort", "17")),
    # a postcode after "dans le" / "in" is its commune; a département alone is no place
    ("On a besoin de 40 visières dans le 34200.", "need", ("Sète", "34")),
    ("We need 40 face shields in 34200.", "need", ("Sète", "34")),
    ("Besoin de 100 masques dans les Landes (40).", "need", None),
    ("On cherche 30 visières dans le 34.", "need", None),
])
def test_an_area_or_postcode_narrows_the_place(rec, text, intent, place):
    r = rec.recognise(text, sent_at=WED)
    assert r.intent == intent
    assert place_of(r) == place
