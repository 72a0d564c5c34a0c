"""Morning briefings per community area (fake clock, SQLite and PostgreSQL): a community with a region or
départements is briefed on the needs and offers of its area only, with one line of national totals;
questions to the authorities stay national; ``/settings region`` accepts regions, aliases and département
codes, refuses anything else and clears with "-"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from core import areas, briefing, escalation, jobs
from core.models import Briefing, Commitment, Community, Escalation, Need, NeedLine, Offer, Role
from tests.helpers import maker, one

DAY_BEFORE = datetime(2020, 3, 22, 12, 0, tzinfo=UTC)
CENTRE = "Centre-Val de Loire"


def community(hub, platform_id: str, *, region: str | None = None, lang: str = "fr") -> int:
    with hub.db.session() as s:
        row = Community(platform="discord", platform_id=platform_id, name=f"Makers {platform_id}", language=lang,
                        timezone="Europe/Paris", briefing_channel=f"brief-{platform_id}", region=region,
                        created_at=DAY_BEFORE)
        s.add(row)
        s.flush()
        return row.id


def need(hub, *, place: str, department: str, created: datetime, status: str = "open", quantity: int = 100,
         committed: int = 0, updated: datetime | None = None) -> int:
    with hub.db.session() as s:
        row = Need(platform="telegram", chat="1001", place_name=place, department=department, status=status,
                   category=2, deadline=date(2020, 3, 27), created_at=created, updated_at=updated or created)
        s.add(row)
        s.flush()
        s.add(NeedLine(need_id=row.id, item_id="face_shield", quantity=quantity, committed=committed))
        return row.id


def offer(hub, department: str, created: datetime) -> None:
    with hub.db.session() as s:
        s.add(Offer(platform="discord", chat="c", department=department, created_at=created))


def commitment(hub, need_id: int, quantity: int, created: datetime) -> None:
    with hub.db.session() as s:
        s.add(Commitment(need_id=need_id, item_id="face_shield", quantity=quantity, created_at=created))


def tours_and_marseille(hub, clock) -> dict[str, int]:
    """Needs, offers, commitments and deliveries in Tours (37) and Marseille (13), one question open."""
    t = clock.now()
    ids = {
        "tours_new": need(hub, place="Tours", department="37", created=t + timedelta(hours=1), quantity=200,
                          committed=50),
        "marseille_new": need(hub, place="Marseille", department="13", created=t + timedelta(hours=2),
                              quantity=300),
        "tours_old": need(hub, place="Tours", department="37", created=t - timedelta(hours=60)),
        "marseille_old": need(hub, place="Marseille", department="13", created=t - timedelta(hours=60)),
        "tours_done": need(hub, place="Tours", department="37", created=t - timedelta(hours=70),
                           status="delivered", updated=t + timedelta(hours=3)),
        "marseille_done": need(hub, place="Marseille", department="13", created=t - timedelta(hours=70),
                               status="delivered", updated=t + timedelta(hours=3)),
        "marseille_done2": need(hub, place="Marseille", department="13", created=t - timedelta(hours=70),
                                status="closed", updated=t + timedelta(hours=4)),
    }
    offer(hub, "37", t + timedelta(hours=5))
    for _ in range(3):
        offer(hub, "13", t + timedelta(hours=5))
    commitment(hub, ids["tours_new"], 50, t + timedelta(hours=6))
    commitment(hub, ids["marseille_new"], 70, t + timedelta(hours=6))
    commitment(hub, ids["marseille_new"], 30, t + timedelta(hours=7))
    with hub.db.session() as s:
        s.add(Escalation(topic="legal", text="Peut-on vendre des visières ?", platform="telegram", chat="1",
                         status="open", created_at=t))
    return ids


def test_a_regional_community_is_briefed_on_its_area_and_a_national_one_on_everything(hub, clock):
    regional = community(hub, "tours", region=CENTRE)
    national = community(hub, "hub")
    ids = tours_and_marseille(hub, clock)
    clock.advance(hours=22)  # Tuesday 08:00 in Paris
    outs = {o.chat: o for o in jobs.run_briefings(hub)}
    assert set(outs) == {"brief-tours", "brief-hub"}
    here, everywhere = outs["brief-tours"], outs["brief-hub"]

    # The regional briefing lists Tours only, and counts Tours only.
    listed = [n["ref"] for n in here.context["new_needs"]] + [n["ref"] for n in here.context["stale_needs"]]
    assert listed == [f"N-{ids['tours_new']}", f"N-{ids['tours_old']}"]
    assert "Marseille" not in here.text and "Tours" in here.text
    assert here.context["offers_by_department"] == [{"department": "37", "count": 1}]
    with hub.db.session() as s:
        stored = {b.community_id: b.figures for b in s.exec(select(Briefing))}
    figures = stored[regional]
    assert (figures["open_needs"], figures["new_needs"], figures["uncovered_48h"], figures["new_offers"],
            figures["active_offers"], figures["commitments"], figures["committed_units"],
            figures["deliveries"]) == (2, 1, 1, 1, 1, 1, 50, 1)
    assert figures["open_questions"] == 1  # questions to the authorities stay national
    assert figures["area"] == CENTRE
    # It says which area it covers, and gives the national totals for context.
    assert here.title.endswith(f"– {CENTRE}") and f"Zone du point : {CENTRE}" in here.text
    assert "Dans tout le pays : 4 besoins ouverts, 4 offres actives." in here.text
    assert "1 question en attente" in here.text and "Q-" in here.text
    # The chart: the area's départements only.
    assert here.context["open_by_department"] == [{"department": "37", "committed": 50, "uncovered": 250}]
    assert here.attachment is not None

    # The national briefing lists both towns and counts everything, as before areas existed.
    listed = [n["ref"] for n in everywhere.context["new_needs"]]
    assert sorted(listed) == sorted([f"N-{ids['tours_new']}", f"N-{ids['marseille_new']}"])
    assert "Marseille" in everywhere.text and "Tours" in everywhere.text
    assert stored[national] == {"open_needs": 4, "active_offers": 4, "new_needs": 2, "uncovered_48h": 2,
                                "new_offers": 4, "commitments": 3, "committed_units": 150, "deliveries": 3,
                                "open_questions": 1, "area": None}
    assert everywhere.context["offers_by_department"] == [{"department": "13", "count": 3},
                                                          {"department": "37", "count": 1}]
    assert [r["department"] for r in everywhere.context["open_by_department"]] == ["13", "37"]
    assert "Dans tout le pays" not in everywhere.text and "Zone du point" not in everywhere.text
    assert everywhere.title == "Point du matin – mardi 24 mars – Makers hub"


def test_an_area_of_departements_in_english(hub, clock):
    community(hub, "blois", region="37,41", lang="en")
    t = clock.now()
    tours = need(hub, place="Tours", department="37", created=t + timedelta(hours=1))
    blois = need(hub, place="Blois", department="41", created=t + timedelta(hours=2))
    need(hub, place="Orléans", department="45", created=t + timedelta(hours=3))  # same region, not the area
    need(hub, place="Marseille", department="13", created=t + timedelta(hours=4))
    clock.advance(hours=22)
    [out] = jobs.run_briefings(hub)
    assert [n["ref"] for n in out.context["new_needs"]] == [f"N-{tours}", f"N-{blois}"]
    assert "Orléans" not in out.text and "Marseille" not in out.text
    assert out.title.endswith("– Indre-et-Loire (37), Loir-et-Cher (41)")
    assert "Area: Indre-et-Loire (37), Loir-et-Cher (41)" in out.text
    assert "2 open needs" in out.text and "Whole country: 4 open needs, 0 active offers." in out.text
    assert {r["department"] for r in out.context["open_by_department"]} == {"37", "41"}


def test_the_change_since_yesterday_compares_like_with_like(hub, clock):
    cid = community(hub, "tours", lang="en")
    need(hub, place="Tours", department="37", created=clock.now())
    for _ in range(2):
        need(hub, place="Marseille", department="13", created=clock.now())
    clock.advance(hours=22)
    [first] = jobs.run_briefings(hub)
    assert "3 open needs" in first.text
    with hub.db.session() as s:  # the community narrows its area: yesterday's national figures don't compare
        s.get(Community, cid).region = CENTRE
    need(hub, place="Tours", department="37", created=clock.now() + timedelta(hours=1))
    clock.advance(days=1)
    [second] = jobs.run_briefings(hub)
    assert "2 open needs," in second.text
    assert "(+" not in second.text and "(-" not in second.text and second.context["delta"] == {}
    need(hub, place="Tours", department="37", created=clock.now() + timedelta(hours=1))
    need(hub, place="Marseille", department="13", created=clock.now() + timedelta(hours=1))
    clock.advance(days=1)
    [third] = jobs.run_briefings(hub)  # same area as yesterday: +1 in Tours, Marseille not counted
    assert "3 open needs (+1)" in third.text and third.context["delta"]["open_needs"] == 1


def test_stored_figures_with_missing_or_odd_keys_do_not_break_a_briefing(hub, clock):
    cid = community(hub, "tours", region=CENTRE)
    need(hub, place="Tours", department="37", created=clock.now())
    with hub.db.session() as s:  # yesterday's row, same area: a null, a string, a figure no longer made
        s.add(Briefing(community_id=cid, local_date=date(2020, 3, 23), status="sent", claimed_at=clock.now(),
                       sent_at=clock.now() - timedelta(hours=1),
                       figures={"open_needs": None, "new_needs": "x", "retired_figure": 3, "area": CENTRE}))
    clock.advance(hours=22)
    [out] = jobs.run_briefings(hub)
    assert out.context["delta"] == {} and "1 besoin ouvert," in out.text
    with hub.db.session() as s:  # today's row, as if it had one figure only (missing keys)
        row = s.exec(select(Briefing).where(Briefing.local_date == date(2020, 3, 24))).one()
        row.figures = {"open_needs": 3, "area": CENTRE}
    with hub.db.session() as s:
        data = briefing.compose(s, s.get(Community, cid), clock.now())
    assert data["delta"] == {"open_needs": -2}


def test_a_free_text_region_stored_before_areas_were_checked_briefs_the_whole_country(hub, clock):
    community(hub, "old", region="Chez nous")
    need(hub, place="Tours", department="37", created=clock.now())
    need(hub, place="Marseille", department="13", created=clock.now())
    clock.advance(hours=22)
    [out] = jobs.run_briefings(hub)
    assert "Tours" in out.text and "Marseille" in out.text and out.context["area"] is None
    assert "Dans tout le pays" not in out.text


# ------------------------------------------------------------------------------------------ settings

def moderator(hub):
    mod = maker(hub, "Claire", "3001", channel="moderation")
    hub.grant_role(mod.identity, Role.MODERATOR, community="g1", community_name="Makers 37")
    return mod


def stored_region(hub) -> str | None:
    with hub.db.session() as s:
        return s.exec(select(Community).where(Community.platform_id == "g1")).one().region


def test_settings_region_takes_aliases_departements_and_dash_and_refuses_nonsense(hub):
    mod = moderator(hub)
    out = one(mod.say("/reglages region paca"), "settings")
    assert stored_region(hub) == "Provence-Alpes-Côte d'Azur" and "Provence-Alpes-Côte d'Azur" in out.text
    # A region of several words, in any case and without accents, followed by another setting.
    one(mod.say("/reglages region centre val de loire heure 7h30"), "settings")
    assert stored_region(hub) == CENTRE
    with hub.db.session() as s:
        assert s.exec(select(Community).where(Community.platform_id == "g1")).one().briefing_time == "07:30"
    one(mod.say("/settings region 37"), "settings")
    assert stored_region(hub) == "37"
    one(mod.say("/settings region 41, 37"), "settings")
    assert stored_region(hub) == "37,41"
    for nonsense in ("/reglages region Atlantide", "/reglages region 99", "/reglages region 37,Mars",
                     "/reglages region", "/reglages heure 07:00 region Gondor"):
        refused = one(mod.say(nonsense), "refused")
        assert refused.template in ("refused/bad_region", "refused/usage"), nonsense
        assert stored_region(hub) == "37,41", nonsense
    refused = one(mod.say("/reglages region Atlantide"), "refused")
    assert refused.template == "refused/bad_region"
    assert "Atlantide" in refused.text and "/reglages region PACA" in refused.text
    with hub.db.session() as s:  # the whole command was refused: the hour of the last attempt was not kept
        assert s.exec(select(Community).where(Community.platform_id == "g1")).one().briefing_time == "07:30"
    out = one(mod.say("/reglages region -"), "settings")
    assert stored_region(hub) is None and "région : tout le pays" in out.text


def test_settings_region_is_for_moderators_only(hub):
    moderator(hub)
    lea = maker(hub)
    assert one(lea.say("/settings region PACA"), "refused").template == "refused/not_allowed"
    assert stored_region(hub) is None


@pytest.mark.parametrize("typed, stored, region", [
    ("Île-de-France", "Île-de-France", "Île-de-France"), ("ILE DE FRANCE", "Île-de-France", "Île-de-France"),
    ("IDF", "Île-de-France", "Île-de-France"), ("2a", "2A", "Corse"), ("1", "01", "Auvergne-Rhône-Alpes"),
    ("37;41", "37,41", CENTRE), ("37,72", "37,72", None), ("la reunion", "La Réunion", "La Réunion"),
])
def test_areas_are_stored_canonical_and_route_tickets_to_their_region(typed, stored, region):
    assert areas.parse_area(typed) == stored
    assert areas.parse_area(stored) == stored  # canonical: reading it again changes nothing
    assert escalation.ticket_region(Community(platform="discord", platform_id="x", name="x", region=stored),
                                    None) == region


def test_departements_of_an_area():
    assert areas.departments_of_area(CENTRE) == ("18", "28", "36", "37", "41", "45")
    assert areas.departments_of_area("PACA") == ("04", "05", "06", "13", "83", "84")
    assert areas.departments_of_area(None) is None and areas.departments_of_area("Chez nous") is None
    for bad in ("Atlantide", "99", "20", "37,Mars", "37 41 x"):
        with pytest.raises(ValueError):
            areas.parse_area(bad)
    assert areas.parse_area("-") is None
