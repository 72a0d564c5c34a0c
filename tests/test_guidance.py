"""Risk categories, precautionary guidance, the design catalogue, trusted sources and flagged claims,
driven through the hub with the fake clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import func, select

from core import catalog, guidance, permissions
from core.messages import Identity
from core.models import (
    AuditEntry,
    Community,
    Design,
    DesignatedContact,
    FlaggedClaim,
    Item,
    Need,
    OutboxMessage,
    Person,
    RiskCategory,
    Role,
)
from tests.helpers import Speaker, caregiver, kinds, maker, one

RC3 = "https://www.printables.com/model/25857-prusa-face-shield-rc3"
RC4 = "https://www.printables.com/model/40000-face-shield-rc4"


def person(hub, platform: str, pid: str) -> Person:
    with hub.db.session() as s:
        return s.exec(select(Person).where(Person.platform == platform, Person.platform_id == pid)).one()


def moderator(hub, name="Modo", pid="3001") -> Speaker:
    """A moderator of the Discord community g1, speaking in its #fabrication channel."""
    mod = maker(hub, name, pid)
    mod.say("/aide")
    with hub.db.session() as s:
        p = s.exec(select(Person).where(Person.platform_id == pid)).one()
        community = s.exec(select(Community).where(Community.platform_id == "g1")).one()
        permissions.grant(s, p, Role.MODERATOR, community)
    return mod


def contact(hub, name="Dr Martin", pid="9001", topic="sanitary") -> Speaker:
    """A designated national contact, writing to the bot in a private Telegram chat."""
    who = Speaker(hub, Identity("telegram", pid, name, "fr"))
    who.say("/start")
    with hub.db.session() as s:
        p = s.exec(select(Person).where(Person.platform_id == pid)).one()
        s.add(DesignatedContact(person_id=p.id, topic=topic))
    return who


def guidance_of(outs) -> list[str]:
    return [o.template for o in outs if o.kind == "guidance"]


def audits(hub, action: str) -> list[AuditEntry]:
    with hub.db.session() as s:
        return list(s.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def count(hub, model, *where) -> int:
    with hub.db.session() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


# ------------------------------------------------------------------------------------------ catalogue

def test_default_catalogue_follows_the_taxonomy_and_seeding_keeps_authority_changes(hub):
    expected = {"door_opener": 1, "ear_saver": 1, "fabric_mask": 2, "face_shield": 2, "gown": 2,
                "intubation_box": 3, "valve_adapter": 3, "spare_part": 3, "nasal_swab": 3, "ventilator": 4,
                "hand_sanitizer": 2}
    with hub.db.session() as s:
        items = {i.id: i for i in s.exec(select(Item))}
        assert {k: items[k].category for k in expected} == expected
        assert all(items[k].name_fr and items[k].name_en and items[k].synonyms.get("fr") for k in expected)
        names = {c.id: (c.name_fr, c.name_en) for c in s.exec(select(RiskCategory))}
        assert names[1][0] == "Usage libre" and names[4][0] == "Ne pas fabriquer"
    mod = moderator(hub)
    one(mod.say("/classer visière 3"), "info")
    hub.refresh_catalog()  # seeds again, as every process start does
    with hub.db.session() as s:
        assert s.get(Item, "face_shield").category == 3, "the authority's change survives the seed"
        assert catalog.seed(s) == 0, "seeding twice adds nothing"
        s.delete(s.get(Item, "door_opener"))
    with hub.db.session() as s:
        assert catalog.seed(s) == 1, "a missing default row comes back"
        assert s.get(Item, "door_opener").category == 1


# ------------------------------------------------------------------------------------------ guidance texts

@pytest.mark.parametrize("lang", ["fr", "en"])
def test_guidance_of_each_category_in_both_languages(hub, lang):
    who = Speaker(hub, Identity("telegram", "1500", "Sam", lang))
    texts = {}
    for n in (1, 2, 3, 4):
        out = one(who.say(f"/guidance {n}"), "guidance")
        assert out.template == f"guidance/category_{n}" and out.language == lang
        texts[n] = out.title + "\n" + out.text
    if lang == "fr":
        assert "librement" in texts[1]
        assert "Ceci n'est pas un dispositif médical" in texts[2] and "nettoyage" in texts[2]
        assert "demande écrite" in texts[3] and "établissement de santé" in texts[3]
        assert all(w in texts[3] for w in ("matière", "lot", "maker"))
        assert "ne le fabriquez pas" in texts[4]
    else:
        assert "freely" in texts[1]
        assert "This is not a medical device" in texts[2] and "cleaning" in texts[2]
        assert "written request" in texts[3] and "health facility" in texts[3]
        assert all(w in texts[3] for w in ("material", "batch", "maker"))
        assert "do not make" in texts[4]
    assert hub.settings.official_channel_url in texts[4] and hub.settings.open_research_url in texts[4]
    overview = one(who.say("/guidance"), "guidance")
    assert overview.template == "guidance/overview"
    by_item = one(who.say("/consignes valve charlotte"), "guidance")
    assert by_item.template == "guidance/category_3"


# ------------------------------------------------------------------------------------------ when it is sent

def test_confirmations_carry_guidance_always_in_private_once_per_cooldown_in_public(hub, clock):
    marie = caregiver(hub)
    first = marie.confirm(marie.say("il nous faut 100 visières à Tours pour vendredi"))
    assert guidance_of(first) == ["guidance/category_2"]
    again = marie.confirm(marie.say("il nous faut aussi 50 visières à Tours pour lundi"))
    assert guidance_of(again) == ["guidance/category_2"], "always in a direct conversation"

    lea = maker(hub)
    offer = lea.confirm(lea.say("j'ai 2 imprimantes 3D à Tours, je peux faire 50 visières par jour"))
    assert guidance_of(offer) == ["guidance/category_2"]
    assert not one(offer, "guidance").direct and one(offer, "guidance").chat == "fabrication"
    bob = maker(hub, "Bob", "2002")
    quiet = bob.confirm(bob.say("j'ai 3 imprimantes 3D à Tours, je peux faire 30 visières par jour"))
    assert "offer_recorded" in kinds(quiet) and guidance_of(quiet) == [], "the channel saw it an hour ago"
    committed = bob.say("/engager N-1 20")
    assert "commitment" in kinds(committed) and guidance_of(committed) == []
    clock.advance(hours=hub.settings.guidance_cooldown_hours + 1)
    later = bob.say("/engager N-1 10")
    assert guidance_of(later) == ["guidance/category_2"], "the cool-down is over"
    in_private = Speaker(hub, bob.identity).say("/commit N-2 5")
    assert guidance_of(in_private) == ["guidance/category_2"]


def test_category_1_confirmation_has_no_guidance(hub):
    marie = caregiver(hub)
    done = marie.confirm(marie.say("il nous faut 300 ouvre-portes sans contact à Tours pour jeudi"))
    assert "need_recorded" in kinds(done) and guidance_of(done) == []


def test_public_mention_of_category_3_or_4_without_need_or_offer(hub, clock):
    lea = maker(hub)
    outs = lea.say("Quelqu'un a déjà imprimé des valves Charlotte ? ça a l'air génial")
    assert guidance_of(outs) == ["guidance/category_3"]
    assert guidance_of(maker(hub, "Bob", "2002").say("les valves charlotte c'est top")) == []
    assert lea.say("les visières c'est vraiment pratique") == [], "category 2 alone: nothing said"
    cat4 = lea.say("Les respirateurs imprimés en 3D, vous en pensez quoi ?")
    assert "guidance/category_4" in guidance_of(cat4)
    other_chat = Speaker(hub, lea.identity, chat="general", community="g1")
    assert guidance_of(other_chat.say("et les valves charlotte alors ?")) == ["guidance/category_3"]
    clock.advance(hours=25)
    assert guidance_of(lea.say("bon, les valves charlotte, on y va ?")) == ["guidance/category_3"]


def test_private_question_about_a_category_4_item_gets_the_guidance(hub):
    marie = caregiver(hub)
    outs = marie.say("Les respirateurs imprimés en 3D, vous en pensez quoi ?")
    assert "guidance/category_4" in guidance_of(outs)


# ------------------------------------------------------------------------------------------ category 4

def test_category_4_is_recorded_never_matched_posted_or_briefed(hub, clock):
    from core import jobs

    with hub.db.session() as s:
        for c in s.exec(select(Community)):
            c.needs_channel = "besoins"
    builder = maker(hub, "Rémi", "2003")
    said = builder.say("je peux fabriquer des respirateurs avec mon imprimante 3D à Tours")
    assert guidance_of(said) == ["guidance/category_4"], "the channel is told at once"
    held = builder.confirm(said)
    assert "offer_recorded" in kinds(held)
    assert any(o.template == "escalate_hint" for o in held)
    marie = caregiver(hub)
    done = marie.confirm(marie.say("il nous faudrait 2 respirateurs pour le CHU de Tours"))
    assert "need_recorded" in kinds(done) and "guidance/category_4" in guidance_of(done)
    assert any(o.template == "escalate_hint" for o in done)
    assert not any(o.kind in ("match", "need_nearby", "need_post") for o in done)
    assert not [o for o in done if o.chat == "2003"], "the ventilator maker is not asked"
    with hub.db.session() as s:
        assert s.exec(select(Need)).one().category == 4
    assert one(builder.say("/engager N-1 1"), "refused").template == "refused/category4_not_matched"
    listing = one(builder.say("/besoins"), "listing")
    assert "N-1" not in listing.text
    # a need the held offer could otherwise fill (3D printing) is not matched to it either
    paul = caregiver(hub, "Paul", "1002")
    shields = paul.confirm(paul.say("il nous faut 100 visières à Tours pour vendredi"))
    assert not [o for o in shields if o.chat == "2003"]
    assert "Rémi" not in " ".join(o.text for o in shields if o.kind == "match")
    with hub.db.session() as s:
        for c in s.exec(select(Community)):
            c.briefing_channel = "coordination"
            c.created_at = clock.now() - timedelta(days=2)
    clock.advance(hours=22)
    briefings = jobs.run_briefings(hub)
    assert briefings and all("N-1" not in b.text for b in briefings)


def test_category_4_guidance_reaches_its_author_even_when_the_group_just_saw_it(hub):
    group = {"chat": "-100777", "community": "-100777"}
    marie = Speaker(hub, Identity("telegram", "1001", "Marie", "fr"), **group)
    paul = Speaker(hub, Identity("telegram", "1002", "Paul", "fr"), **group)
    said = marie.say("il nous faudrait 2 respirateurs pour le CHU de Tours")
    assert [o.chat for o in said if o.template == "guidance/category_4"] == ["-100777"], "a public mention"
    first = marie.confirm(said)
    assert "need_recorded" in kinds(first) and guidance_of(first) == [], "she has just been answered"
    said = paul.say("il nous faudrait 1 respirateur pour le CHU de Blois")
    assert guidance_of(said) == [], "the group saw it a minute ago"
    second = paul.confirm(said)
    sent = [o for o in second if o.template == "guidance/category_4"]
    assert len(sent) == 1 and sent[0].direct and sent[0].chat == "1002", "but Paul gets it directly"


def test_reclassifying_an_item_to_4_stops_its_open_needs_at_once(hub):
    marie = caregiver(hub)
    marie.confirm(marie.say("il nous faut 100 visières à Tours pour vendredi"))
    mod = moderator(hub)
    one(mod.say("/classify face_shield 4"), "info")
    with hub.db.session() as s:
        assert s.exec(select(Need)).one().category == 4
    assert one(maker(hub).say("/engager N-1 10"), "refused").template == "refused/category4_not_matched"


# ------------------------------------------------------------------------------------------ designs

def test_design_catalogue_validated_unknown_and_withdrawn(hub):
    mod = moderator(hub)
    added = one(mod.say(f"/design add {RC3} visière RC3 CC-BY-NC"), "info")
    assert added.template == "design/recorded" and "D-1" in added.text
    one(mod.say("/design validate D-1"), "info")
    lea = maker(hub)
    checked = lea.say("Le modèle que j'utilise : https://printables.com/model/25857-rc3?utm_source=discord")
    check = one(checked, "design_check")
    assert check.template == "design/validated" and "RC3" in check.text
    assert guidance_of(checked) == ["guidance/category_2"]

    unknown = lea.say("Sinon il y a celui-ci https://www.thingiverse.com/thing:4233193")
    notice = one(unknown, "design_check")
    assert notice.template == "design/unreviewed"
    with hub.db.session() as s:
        recorded = s.exec(select(Design).where(Design.url == "https://thingiverse.com/thing:4233193")).one()
        assert recorded.status == "unreviewed"
    assert lea.say("https://www.thingiverse.com/thing:4233193") == [], "once per chat within the cool-down"
    assert lea.say("un article https://www.lemonde.fr/sante/article/2020/03/23/masques") == []

    one(mod.say(f"/design add {RC4} face_shield RC4"), "info")
    one(mod.say(f"/design valider {RC4}"), "info")
    one(mod.say("/design withdraw D-1 fixation fragile, remplacé par RC4"), "info")
    warned = lea.say(f"je reposte {RC3}")
    warning = one(warned, "warning")
    assert warning.template == "design/withdrawn" and "fixation fragile" in warning.text
    assert "model/40000" in warning.text, "points to the validated version"
    assert guidance_of(warned) == []
    in_private = Speaker(hub, lea.identity).say(RC3)
    assert one(in_private, "warning").template == "design/withdrawn"

    listing = one(maker(hub, "Bob", "2002").say("/design list"), "listing")
    assert all(ref in listing.text for ref in ("D-1", "D-2", "D-3"))
    only_unreviewed = one(lea.say("/modele liste non-evalues"), "listing")
    assert "thing:4233193" in only_unreviewed.text and "40000" not in only_unreviewed.text


def test_design_category_overrides_its_items(hub):
    mod = moderator(hub)
    mod.say(f"/design add {RC3} face_shield")
    mod.say("/design validate D-1")
    one(mod.say("/classify D-1 3"), "info")
    outs = Speaker(hub, Identity("telegram", "1001", "Marie", "fr")).say(RC3)
    assert one(outs, "design_check").template == "design/validated"
    assert guidance_of(outs) == ["guidance/category_3"]


def test_weekly_review_goes_to_the_authority_once_per_week(hub, clock):
    from core import jobs

    martin = contact(hub)
    contact(hub, "Juriste", "9002", topic="legal")
    maker(hub).say("regardez https://www.thingiverse.com/thing:4233193")
    with hub.db.session() as s:
        s.add(Item(id="oxygen_splitter", name_fr="répartiteur d'oxygène", name_en="oxygen splitter"))
    hub.refresh_catalog()
    outs = guidance.weekly_review(hub)
    assert [o.chat for o in outs] == [martin.identity.platform_id], "to the sanitary contacts"
    review = outs[0]
    assert review.direct and review.template == "guidance/weekly_review"
    assert "thing:4233193" in review.text and "répartiteur d'oxygène" in review.text
    assert count(hub, OutboxMessage, OutboxMessage.id == review.outbox_id) == 1
    assert guidance.weekly_review(hub) == [] and jobs.run_weekly_review(hub) == [], "once per week"
    clock.advance(days=7)
    assert len(jobs.run_weekly_review(hub)) == 1
    with hub.db.session() as s:
        s.get(Item, "oxygen_splitter").category = 4
        for d in s.exec(select(Design)):
            d.status = "validated"
    clock.advance(days=7)
    assert guidance.weekly_review(hub) == [], "nothing to review: nothing sent"


# ------------------------------------------------------------------------------------------ the authority's controls

def test_every_change_is_audited_with_before_and_after(hub):
    mod = moderator(hub)
    mod_id = person(hub, "discord", "3001").id
    one(mod.say("/classer valve_adapter 4"), "info")
    entry = audits(hub, "item.classified")[-1]
    assert (entry.actor_id, entry.subject, entry.before, entry.after) == (
        mod_id, "item:valve_adapter", {"category": 3}, {"category": 4})

    martin = contact(hub)
    martin_id = person(hub, "telegram", "9001").id
    edited = martin.say("/consignes modifier 2 fr Visières : modèle RC3 uniquement, étiquette obligatoire.")
    assert one(edited, "info").template == "guidance/edited"
    assert "RC3 uniquement" in one(edited, "guidance").text
    entry = audits(hub, "guidance.edited")[-1]
    assert entry.actor_id == martin_id and entry.before == {"lang": "fr", "text": None}
    assert entry.after == {"lang": "fr", "text": "Visières : modèle RC3 uniquement, étiquette obligatoire."}
    fr = one(caregiver(hub).say("/consignes 2"), "guidance")
    assert "RC3 uniquement" in fr.text, "takes effect at once"
    en = one(Speaker(hub, Identity("telegram", "1600", "Ann", "en")).say("/guidance 2"), "guidance")
    assert "RC3 uniquement" not in en.text and "not a medical device" in en.text
    martin.say("/guidance reset 2 fr")
    assert audits(hub, "guidance.edited")[-1].after == {"lang": "fr", "text": None}
    assert "Ceci n'est pas un dispositif médical" in one(caregiver(hub).say("/consignes 2"), "guidance").text

    mod.say(f"/design add {RC3} face_shield RC3")
    mod.say("/design validate D-1")
    martin.say("/design withdraw D-1 remplacé")
    reviews = audits(hub, "design.reviewed")
    assert [(a.before["status"], a.after["status"]) for a in reviews] == [("unreviewed", "validated"),
                                                                           ("validated", "withdrawn")]
    assert reviews[-1].actor_id == martin_id and reviews[-1].after["note"] == "remplacé"


CONTROLS = [
    "/classify face_shield 3",
    "/classer D-1 2",
    "/guidance edit 2 fr Nouveau texte",
    "/consignes reinitialiser 2",
    f"/design add {RC4} face_shield",
    "/design validate D-1",
    "/modele retirer D-1 motif",
    "/sources add https://solidarites-sante.gouv.fr Ministère",
    "/sources remove 1",
    "/flag https://fake.example/miracle remède miracle",
    "/signaler liste",
]


@pytest.mark.parametrize("role", ["moderator", "contact"])
@pytest.mark.parametrize("line", CONTROLS)
def test_controls_are_refused_to_members_and_allowed_to_moderators_and_contacts(hub, line, role):
    mod = moderator(hub)
    mod.say(f"/design add {RC3} face_shield")
    mod.say("/sources add https://www.ansm.sante.fr ANSM")
    member = maker(hub, "Bob", "2002")
    refused = one(member.say(line), "refused")
    assert refused.template == "refused/not_allowed"
    who = moderator(hub, "Modo2", "3002") if role == "moderator" else contact(hub)
    outs = who.say(line)
    assert outs and not [o for o in outs if o.kind in ("refused", "error")], [o.text for o in outs]


def test_reading_is_open_to_everyone(hub):
    member = maker(hub, "Bob", "2002")
    for line in ("/design list", "/sources", "/consignes", "/guidance 3", "/modele"):
        outs = member.say(line)
        assert outs and not [o for o in outs if o.kind == "refused"], line


# ------------------------------------------------------------------------------------------ sources and flags

def test_flagged_links_and_claims_get_a_warning_with_the_trusted_sources(hub):
    mod = moderator(hub)
    listed = one(mod.say("/sources add https://www.ansm.sante.fr/actualites ANSM"), "listing")
    assert "ANSM" in listed.text and "gouvernement.fr" in listed.text
    one(mod.say("/flag https://fake-news.example/remede?utm_source=fb remède miracle non prouvé"), "info")
    one(mod.say('/signaler "le vinaigre tue le virus" aucune source sérieuse'), "info")
    with hub.db.session() as s:
        assert {c.pattern for c in s.exec(select(FlaggedClaim))} == {"https://fake-news.example/remede",
                                                                    "le vinaigre tue le virus"}
    assert audits(hub, "claim.flagged")[-1].after["note"] == "aucune source sérieuse"
    marie = caregiver(hub)
    warned = marie.say("vu sur facebook https://fake-news.example/remede?fbclid=xyz")
    warning = one(warned, "warning")
    assert warning.template == "flag/warning" and "remède miracle" in warning.text
    assert "ansm.sante.fr/actualites" in warning.text
    claim = marie.say("Apparemment le vinaigre tue bien le virus, partagez !")
    assert one(claim, "warning").template == "flag/warning"
    lea = maker(hub)
    assert one(lea.say("le vinaigre tue le virus, c'est prouvé"), "warning")
    assert lea.say("le vinaigre tue le virus !!") == [], "not twice in a row in the same channel"
    public = lea.say("il nous faut 100 visières à Tours, le vinaigre tue le virus")
    assert "proposal" in kinds(public), "a flagged claim does not stop the rest of the message"


def test_sources_listing_falls_back_on_the_configured_ones(hub):
    outs = one(caregiver(hub).say("/sources"), "listing")
    assert hub.settings.trusted_sources[0] in outs.text


# ------------------------------------------------------------------------------------------ demo

@pytest.mark.parametrize("lang", ["fr", "en"])
def test_demo_shows_guidance_a_validated_design_and_a_withdrawn_one(tmp_path, lang):
    import io

    from core.settings import Settings
    from relais.demo import run_demo

    out = io.StringIO()
    settings = Settings(database_url=f"sqlite:///{tmp_path}/demo.db", default_language=lang, _env_file=None)
    assert run_demo(settings, out, as_json=True) == 0
    messages = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    templates = [m.get("template") for m in messages]
    assert any(t and t.startswith("guidance/category_") for t in templates)
    assert "design/validated" in templates and "design/withdrawn" in templates
