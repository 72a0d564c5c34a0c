"""Ranking offers for a need, widening the radius, asking makers within their daily cap, the needs channel,
queries and the capacity inventory; on SQLite and PostgreSQL."""

import random
from datetime import date, timedelta

from sqlalchemy import text
from sqlmodel import select

from core import matching
from core.models import Commitment, Community, MakerAlert, Need, NeedLine, Offer, OfferTag, Person
from tests.conftest import START
from tests.helpers import Speaker, caregiver, kinds, maker, one

TOURS = (47.3941, 0.6848)


def person(s, pid: str, name: str, platform: str = "discord") -> Person:
    p = Person(platform=platform, platform_id=pid, display_name=name, created_at=START, last_seen_at=START)
    s.add(p)
    s.flush()
    return p


def add_offer(
    s,
    who: Person | None,
    lat,
    lon,
    *,
    items=(),
    caps=(),
    capacity=None,
    updated_at=START,
    community_id=None,
    place=None,
    department="37",
    index=True,
) -> Offer:
    offer = Offer(
        maker_id=who.id if who else None,
        platform="discord",
        chat="c",
        capabilities=list(caps),
        items=[{"item": i, "quantity": None} for i in items],
        capacity_per_day=capacity,
        lat=lat,
        lon=lon,
        department=department,
        place_name=place,
        community_id=community_id,
        created_at=updated_at,
        updated_at=updated_at,
    )
    s.add(offer)
    if index:
        s.flush()
        matching.index_offer(s, offer)
    return offer


def add_need(
    s, who: Person | None, lat, lon, item="face_shield", quantity=200, deadline=None, department="37"
) -> tuple[Need, list[NeedLine]]:
    need = Need(
        requester_id=who.id if who else None,
        platform="telegram",
        chat="x",
        lat=lat,
        lon=lon,
        department=department,
        deadline=deadline,
        category=2,
        created_at=START,
        updated_at=START,
    )
    s.add(need)
    s.flush()
    line = NeedLine(need_id=need.id, item_id=item, quantity=quantity)
    s.add(line)
    s.flush()
    return need, [line]


def km_north(point, km):
    return point[0] + km / 111.2, point[1]


def test_rank_puts_the_best_fit_first_and_says_why(hub):
    with hub.db.session() as s:
        m = [person(s, str(3000 + i), f"M{i}") for i in range(6)]
        listed = add_offer(
            s, m[0], *km_north(TOURS, 5), items=["face_shield"], caps=["3d_printing"], capacity=50
        )
        capable = add_offer(s, m[1], *km_north(TOURS, 5), caps=["3d_printing"], capacity=50)
        far = add_offer(s, m[2], *km_north(TOURS, 40), items=["face_shield"], capacity=50)
        add_offer(s, m[3], *km_north(TOURS, 1), caps=["sewing"], capacity=500)  # cannot make face shields
        add_offer(s, m[4], *km_north(TOURS, 80), items=["face_shield"], capacity=500)  # beyond 50 km
        need, lines = add_need(s, None, *TOURS, deadline=date(2020, 3, 27))
        found = matching.rank(s, need, lines, radius_km=50, now=START)
        assert [c.offer.id for c in found] == [listed.id, capable.id, far.id]
        assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
        best = found[0]
        assert "item:face_shield" in best.reasons and "distance:5km" in best.reasons
        assert "capacity:50/day" in best.reasons and "covers:100%" in best.reasons
        assert "available" in best.reasons and "deliveries:0" in best.reasons
        assert "capability:3d_printing" in found[1].reasons
        assert round(found[2].km) == 40


def test_rank_prefers_a_maker_who_delivers_and_is_not_overloaded(hub):
    with hub.db.session() as s:
        steady, busy = person(s, "3101", "Steady"), person(s, "3102", "Busy")
        a = add_offer(s, steady, *km_north(TOURS, 10), items=["face_shield"], capacity=20)
        b = add_offer(s, busy, *km_north(TOURS, 10), items=["face_shield"], capacity=20)
        other, _ = add_need(s, None, 45.0, 5.0)
        s.add(
            Commitment(
                need_id=other.id,
                item_id="face_shield",
                maker_id=steady.id,
                quantity=10,
                delivered=10,
                status="confirmed",
            )
        )
        s.add(
            Commitment(
                need_id=other.id,
                item_id="face_shield",
                maker_id=busy.id,
                quantity=300,
                status="committed",
                stale_flagged_at=START,
            )
        )
        need, lines = add_need(s, None, *TOURS)
        found = matching.rank(s, need, lines, now=START)
        assert [c.offer.id for c in found] == [a.id, b.id]
        assert "deliveries:1" in found[0].reasons
        assert "busy:300" in found[1].reasons and "stalled:1" in found[1].reasons


def test_rank_skips_the_requesters_own_offer_and_inactive_offers(hub):
    with hub.db.session() as s:
        me, other = person(s, "3201", "Me"), person(s, "3202", "Other")
        add_offer(s, me, *TOURS, items=["face_shield"])
        paused = add_offer(s, other, *TOURS, items=["face_shield"])
        paused.status = "paused"
        need, lines = add_need(s, me, *TOURS)
        assert matching.rank(s, need, lines, max_radius_km=50) == []


def test_radius_widens_step_by_step_when_nothing_is_near(hub):
    with hub.db.session() as s:
        far = add_offer(s, person(s, "3301", "Far"), *km_north(TOURS, 120), items=["face_shield"])
        need, lines = add_need(s, None, *TOURS)
        found = matching.rank(s, need, lines, radius_km=50, max_radius_km=400, now=START)
        assert [c.offer.id for c in found] == [far.id]
        assert "widened:200km" in found[0].reasons  # 50 -> 100 -> 200
        assert matching.rank(s, need, lines, radius_km=50, max_radius_km=100, now=START) == []


def test_need_placed_by_department_only_matches_offers_of_that_department(hub):
    with hub.db.session() as s:
        here = add_offer(s, person(s, "3401", "Here"), *TOURS, items=["face_shield"], department="37")
        add_offer(s, person(s, "3402", "There"), 45.0, 5.0, items=["face_shield"], department="69")
        need, lines = add_need(s, None, None, None, department="37")
        found = matching.rank(s, need, lines, now=START)
        assert [c.offer.id for c in found] == [here.id] and "department:37" in found[0].reasons


def test_indexed_search_gives_exactly_the_full_scan_top_10(hub):
    rng = random.Random(5)
    with hub.db.session() as s:
        makers = [person(s, str(4000 + i), f"M{i}") for i in range(60)]
        towns = [TOURS, (47.9, 1.9), (47.2, -1.55), (46.58, 0.34)]
        for _ in range(400):
            town = rng.choice(towns)
            lat = town[0] + rng.choice([0, 0, rng.uniform(-0.6, 0.6)])  # many offers share the town's point
            lon = town[1] + rng.choice([0, rng.uniform(-0.8, 0.8)])
            items = rng.sample(["face_shield", "gown", "ear_saver", "fabric_mask"], rng.randint(0, 2))
            caps = rng.sample(["3d_printing", "laser_cutting", "sewing", "cnc"], rng.randint(0, 2))
            add_offer(
                s,
                rng.choice(makers),
                lat,
                lon,
                items=items,
                caps=caps or ["3d_printing"],
                index=False,
                capacity=rng.choice([None, 10, 50, 200]),
                updated_at=START - timedelta(days=rng.randint(0, 30)),
            )
        s.flush()
        matching.reindex_offers(s)
        elsewhere, _ = add_need(s, None, 45.0, 5.0)
        for _ in range(80):
            s.add(
                Commitment(
                    need_id=elsewhere.id,
                    item_id="face_shield",
                    maker_id=rng.choice(makers).id,
                    quantity=rng.randint(1, 100),
                    status=rng.choice(["committed", "delivered", "confirmed"]),
                    stale_flagged_at=rng.choice([None, START]),
                )
            )
        s.flush()
        offers, stats = matching.all_offer_rows(s), None
        for _ in range(15):
            town = rng.choice(towns)
            need, lines = add_need(
                s,
                None,
                town[0] + rng.uniform(-0.3, 0.3),
                town[1] + rng.uniform(-0.3, 0.3),
                item=rng.choice(["face_shield", "gown", "ear_saver", "intubation_box"]),
                quantity=rng.choice([None, 30, 500]),
                deadline=date(2020, 3, 27),
            )
            radius = rng.choice([5, 20, 50])
            fast = matching.rank(s, need, lines, radius_km=radius, now=START)
            slow = matching.rank_naive(
                s, need, lines, radius_km=radius, now=START, offers=offers, stats=stats
            )
            assert [(c.offer.id, c.score) for c in fast] == [(c.offer.id, c.score) for c in slow]
            assert [c.reasons for c in fast] == [c.reasons for c in slow]


def test_index_follows_the_offer(hub):
    with hub.db.session() as s:
        offer = add_offer(s, None, *TOURS, items=["gown"], caps=["sewing"])
        assert {t.tag for t in s.exec(select(OfferTag).where(OfferTag.offer_id == offer.id))} == {
            "gown",
            "sewing",
        }
        offer.status = "withdrawn"
        matching.index_offer(s, offer)
        assert s.exec(select(OfferTag).where(OfferTag.offer_id == offer.id)).first() is None
        offer.status = "active"
        assert matching.reindex_offers(s) == 2


# ------------------------------------------------------------------------------------ through the hub


def say_need(hub, who, text):
    return who.confirm(who.say(text))


def lea_offers_near_tours(hub, pid="2001", name="Léa"):
    with hub.db.session() as s:
        lea = person(s, pid, name)
        add_offer(
            s,
            lea,
            47.3486,
            0.6650,
            items=["face_shield"],
            caps=["3d_printing"],
            capacity=50,
            place="Joué-lès-Tours",
        )
    return maker(hub, name, pid)


def test_new_need_asks_nearby_makers_once_within_their_daily_cap(hub, clock):
    hub.settings.maker_daily_cap = 2
    lea = lea_offers_near_tours(hub)
    marie = caregiver(hub)
    texts = [
        "il nous faut 200 visières pour l'EHPAD Les Tilleuls à Tours",
        "il nous faut 50 visières à Tours",
        "il nous faut 30 visières à Tours pour la pharmacie",
        "il nous faut 20 visières à Tours",
    ]
    told = []
    for message in texts[:3]:
        outs = say_need(hub, marie, message)
        assert "match" in kinds(outs)
        told.append([o for o in outs if o.kind == "need_nearby"])
    assert [len(t) for t in told] == [1, 1, 0], "the third alert of the day is over the cap"
    alert = told[0][0]
    assert alert.direct and alert.chat == "2001" and "N-1" in alert.title
    assert alert.buttons[0].action == "need:commit:1"
    clock.advance(hours=25)
    outs = say_need(hub, marie, texts[3])
    assert len([o for o in outs if o.kind == "need_nearby"]) == 1
    # one step from the alert to a commitment for all that remains
    done = lea.press(alert.buttons[0].action)
    assert one(done, "commitment").template == "commitment_recorded"
    assert one(done, "commitment_notice").chat == "1001"
    with hub.db.session() as s:
        assert s.exec(select(NeedLine).where(NeedLine.need_id == 1)).one().committed == 200
        assert len(list(s.exec(select(MakerAlert)))) == 3


def test_makers_who_opt_out_are_not_asked(hub):
    lea = lea_offers_near_tours(hub)
    assert one(lea.say("/alertes off"), "info").template == "alerts"
    outs = say_need(hub, caregiver(hub), "il nous faut 200 visières à Tours")
    assert "match" in kinds(outs) and "need_nearby" not in kinds(outs)
    lea.say("/alerts on")
    outs = say_need(hub, caregiver(hub), "il nous faut 20 visières à Tours")
    assert "need_nearby" in kinds(outs)


def test_need_is_posted_in_the_needs_channel_of_the_makers_community(hub):
    lea = lea_offers_near_tours(hub)
    lea.say("/start")  # the Discord community g1 exists now
    with hub.db.session() as s:
        com = s.exec(select(Community)).one()
        com.needs_channel = "besoins"
        for offer in s.exec(select(Offer)):
            offer.community_id = com.id
    outs = say_need(hub, caregiver(hub), "il nous faut 200 visières à Tours")
    post = one(outs, "need_post")
    assert post.chat == "besoins" and not post.direct and post.buttons[0].action == "need:commit:1"


def test_queries_near_a_place_by_item_and_status(hub):
    with hub.db.session() as s:
        add_need(s, None, *TOURS, item="face_shield")
        add_need(s, None, *km_north(TOURS, 20), item="gown")
        far, _ = add_need(s, None, 43.6, 1.44, item="face_shield", department="31")
        far.status = "covered"
        add_offer(s, None, *km_north(TOURS, 3), caps=["sewing"])
        add_offer(s, None, 43.6, 1.44, caps=["sewing"], department="31")

        class Tours:
            name, lat, lon, department = "Tours", TOURS[0], TOURS[1], "37"

        near = matching.open_needs(s, place=Tours)
        assert [(n.id, round(km)) for n, km in near] == [(1, 0), (2, 20)]
        assert [n.id for n, _ in matching.open_needs(s, item="face_shield")] == [1, 3]
        assert [n.id for n, _ in matching.open_needs(s, status="covered")] == [3]
        assert [round(km) for _, km in matching.active_offers(s, place=Tours)] == [3]
        assert len(matching.active_offers(s, tag="sewing")) == 2
    marie = caregiver(hub)
    listing = one(marie.say("/besoins Tours visière"), "listing")
    assert "N-1" in listing.text and "N-2" not in listing.text
    assert "N-3" in one(marie.say("/besoins couvert"), "listing").text


def test_capacity_inventory_by_department_and_region(hub):
    with hub.db.session() as s:
        a, b = person(s, "3501", "A"), person(s, "3502", "B")
        o = add_offer(s, a, *TOURS, items=["face_shield"], caps=["3d_printing", "laser_cutting"], capacity=40)
        add_offer(s, b, *TOURS, caps=["3d_printing"], capacity=30)
        add_offer(s, b, 48.11, -1.68, caps=["sewing"], capacity=100, department="35")
        need, _ = add_need(s, None, *TOURS)
        s.add(
            Commitment(
                need_id=need.id, item_id="face_shield", maker_id=a.id, offer_id=o.id, quantity=98, delivered=0
            )
        )
        s.flush()
        rows = {r["department"]: r for r in matching.capacity(s)}
        assert rows["37"]["makers"] == 2 and rows["37"]["offers"] == 2 and rows["37"]["daily_capacity"] == 70
        assert rows["37"]["capabilities"] == {"3d_printing": 2, "laser_cutting": 1}
        assert rows["37"]["open_units"] == 98 and rows["37"]["committed_share"] == 0.2  # 98 / (70 * 7)
        assert rows["37"]["region"] == "Centre-Val de Loire" and rows["35"]["region"] == "Bretagne"
        regions = {r["region"]: r for r in matching.capacity_by_region(list(rows.values()))}
        assert regions["Bretagne"]["daily_capacity"] == 100
        moderator = person(s, "3503", "Modo", "telegram")
        from core import permissions

        permissions.grant(s, moderator, "moderator")
    assert one(caregiver(hub).say("/capacite"), "refused").template == "refused/not_allowed"
    modo = Speaker(hub, caregiver(hub, "Modo", "3503").identity)
    national = one(modo.say("/capacite"), "listing")
    assert "Centre-Val de Loire" in national.text and "Bretagne" in national.text
    dep = one(modo.say("/capacité Indre-et-Loire"), "listing")
    assert "Indre-et-Loire (37)" in dep.text and "70" in dep.text and "20 %" in dep.text
    assert "Ille-et-Vilaine" in one(modo.say("/capacity Bretagne"), "listing").text
    assert one(modo.say("/capacity Atlantide"), "refused").template == "refused/unknown_place"


def test_rank_leaves_the_session_settings_as_they_were(hub):
    """On PostgreSQL the ring queries keep generic plans for the time of a ranking only."""
    with hub.db.session() as s:
        lea = person(s, "2001", "Léa")
        add_offer(s, lea, *TOURS, items=["face_shield"], caps=["3d_printing"])
        need, lines = add_need(s, None, *TOURS)
        postgres = s.get_bind().dialect.name == "postgresql"
        before = s.exec(text("SELECT current_setting('plan_cache_mode')")).one()[0] if postgres else None
        assert [c.offer.maker_id for c in matching.rank(s, need, lines, now=START)] == [lea.id]
        if postgres:
            assert s.exec(text("SELECT current_setting('plan_cache_mode')")).one()[0] == before
