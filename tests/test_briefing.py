"""Morning briefings with a fake clock: content and order, local times, once per community and local date
even with several schedulers on one PostgreSQL, and recovery from a crash between claim and send."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import func, select

from core import briefing, jobs
from core.db import Database
from core.delivery import RetryPolicy, claim
from core.hub import Hub
from core.models import (
    AuditEntry,
    Briefing,
    Commitment,
    Community,
    Escalation,
    Need,
    NeedLine,
    Offer,
    OutboxMessage,
    Role,
    SeenEvent,
)
from core.ports import FakeClock

DAY_BEFORE = datetime(2020, 3, 22, 12, 0, tzinfo=UTC)


def community(hub: Hub, platform_id: str, *, tz: str = "Europe/Paris", lang: str = "fr",
              name: str = "Makers 37") -> int:
    with hub.db.session() as s:
        row = Community(platform="discord", platform_id=platform_id, name=name, language=lang, timezone=tz,
                        briefing_channel=f"brief-{platform_id}", created_at=DAY_BEFORE)
        s.add(row)
        s.flush()
        return row.id


def need(hub: Hub, *, created: datetime, deadline: date | None = None, category: int | None = 2,
         item: str = "face_shield", quantity: int = 100, status: str = "open", place: str = "Tours",
         department: str = "37") -> int:
    with hub.db.session() as s:
        row = Need(platform="telegram", chat="1001", place_name=place, department=department, deadline=deadline,
                   category=category, status=status, created_at=created, updated_at=created)
        s.add(row)
        s.flush()
        s.add(NeedLine(need_id=row.id, item_id=item, quantity=quantity))
        return row.id


def briefings(hub: Hub) -> list[Briefing]:
    with hub.db.session() as s:
        return list(s.exec(select(Briefing).order_by(Briefing.id)))


def outbox(hub: Hub, kind: str = "briefing") -> list[OutboxMessage]:
    with hub.db.session() as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


def test_content_and_order(hub, clock):
    """Clock: Monday 2020-03-23 09:00 UTC (10:00 in Paris); the briefing is Tuesday 08:00 Paris."""
    community(hub, "g1")
    t = clock.now()
    old = need(hub, created=t - timedelta(hours=60), deadline=date(2020, 3, 30), place="Blois", department="41")
    need(hub, created=t - timedelta(hours=60), status="covered")  # covered: not "uncovered"
    later = need(hub, created=t + timedelta(hours=2), deadline=date(2020, 3, 27))
    sooner_low = need(hub, created=t + timedelta(hours=3), deadline=date(2020, 3, 25), category=1, item="ear_saver")
    sooner_high = need(hub, created=t + timedelta(hours=4), deadline=date(2020, 3, 25), category=3,
                       item="valve_adapter")
    undated = need(hub, created=t + timedelta(hours=1), deadline=None)
    need(hub, created=t + timedelta(hours=5), deadline=date(2020, 3, 24), category=4, item="ventilator")
    with hub.db.session() as s:
        for dept in ("37", "37", "41"):
            s.add(Offer(platform="discord", chat="c", department=dept, created_at=t + timedelta(hours=6)))
        s.add(Commitment(need_id=later, item_id="face_shield", quantity=50, created_at=t + timedelta(hours=7)))
        s.add(Escalation(topic="legal", text="Peut-on vendre des visières ?", platform="telegram", chat="1",
                         status="answered", answer="Non, seulement les donner.", answered_at=t + timedelta(hours=8),
                         created_at=t))
        s.add(Escalation(topic="sanitary", text="Quelle désinfection ?", platform="telegram", chat="1",
                         status="open", created_at=t))
        s.add(AuditEntry(at=t + timedelta(hours=9), action="item.classified", subject="item:gown",
                         before={"category": None}, after={"category": 2}))
    clock.advance(hours=22)  # Tuesday 08:00 in Paris
    [out] = jobs.run_briefings(hub)
    with hub.db.session() as s:
        row = s.exec(select(Briefing)).one()
        c = s.get(Community, row.community_id)
        data = briefing.compose(s, c, clock.now(), since=clock.now() - timedelta(days=1))
    refs = [n["ref"] for n in data["new_needs"]]
    # urgent first: nearest deadline, then the riskier category; undated last; category 4 never
    assert refs == [f"N-{sooner_high}", f"N-{sooner_low}", f"N-{later}", f"N-{undated}"]
    assert [n["ref"] for n in data["stale_needs"]] == [f"N-{old}"]
    assert data["offers_by_department"] == [{"department": "37", "count": 2}, {"department": "41", "count": 1}]
    figures = row.figures
    assert figures["new_needs"] == 4 and figures["uncovered_48h"] == 1 and figures["commitments"] == 1
    assert figures["committed_units"] == 50 and figures["open_questions"] == 1 and figures["new_offers"] == 3
    assert out.chat == "brief-g1" and out.priority == 2 and out.template == "briefing"
    text = out.text
    order = [text.index(f"N-{i}") for i in (sooner_high, sooner_low, later, undated)]
    assert order == sorted(order)
    assert "ventilator" not in text and "respirateur" not in text.lower()
    assert "Toujours non couverts après 48 h" in text and "Blois" in text
    assert "37 (2), 41 (1)" in text
    assert "Non, seulement les donner." in text and "Q-" in text
    assert "catégorie ? → 2" in text
    assert out.title.startswith("Point du matin – mardi 24 mars")


def test_figures_show_the_change_since_yesterday(hub, clock):
    community(hub, "g1", lang="en")
    need(hub, created=clock.now())
    clock.advance(hours=22)
    [first] = jobs.run_briefings(hub)
    assert "(+" not in first.text.split("\n")[0]  # nothing to compare with yet
    for _ in range(2):
        need(hub, created=clock.now() + timedelta(hours=1))
    clock.advance(days=1)
    [second] = jobs.run_briefings(hub)
    assert "3 open needs (+2)" in second.text
    assert second.title.startswith("Morning briefing – Wednesday 25 March")


def test_each_community_gets_its_briefing_at_its_own_eight_oclock(hub, clock):
    paris = community(hub, "paris")
    martinique = community(hub, "fdf", tz="America/Martinique", name="Makers 972")
    clock.current = datetime(2020, 3, 24, 6, 59, tzinfo=UTC)  # 07:59 in Paris, 02:59 in Martinique
    assert jobs.run_briefings(hub) == []
    clock.current = datetime(2020, 3, 24, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    assert [o.chat for o in jobs.run_briefings(hub)] == ["brief-paris"]
    clock.current = datetime(2020, 3, 24, 11, 59, tzinfo=UTC)  # 07:59 in Martinique (UTC-4)
    assert jobs.run_briefings(hub) == []
    clock.current = datetime(2020, 3, 24, 12, 0, tzinfo=UTC)
    assert [o.chat for o in jobs.run_briefings(hub)] == ["brief-fdf"]
    clock.current = datetime(2020, 3, 24, 23, 30, tzinfo=UTC)  # Wednesday 00:30 in Paris
    assert jobs.run_briefings(hub) == []
    clock.current = datetime(2020, 3, 25, 3, 30, tzinfo=UTC)  # still Tuesday 23:30 in Martinique
    assert jobs.run_briefings(hub) == []
    rows = {(b.community_id, b.local_date) for b in briefings(hub)}
    assert rows == {(paris, date(2020, 3, 24)), (martinique, date(2020, 3, 24))}


def test_three_schedulers_on_one_database_brief_each_community_once(settings, clock):
    """Three schedulers (each its own engine, as separate processes would have) run the briefing job at
    the same moments, for three mornings, on PostgreSQL (and SQLite): one briefing and one outbox message
    per community and local date."""
    hubs = [Hub(Database(settings.database_url), settings=settings, clock=clock) for _ in range(3)]
    try:
        ids = [community(hubs[0], f"g{i}", tz=tz) for i, tz in
               enumerate(("Europe/Paris", "America/Martinique", "Europe/Paris", "Indian/Reunion"))]
        need(hubs[0], created=clock.now())
        clock.current = datetime(2020, 3, 24, 0, 0, tzinfo=UTC)
        produced: list[int] = []
        for hour in range(0, 72):  # three days, the job every hour in every scheduler at once
            clock.current = datetime(2020, 3, 24, 0, 0, tzinfo=UTC) + timedelta(hours=hour)
            barrier = threading.Barrier(3)
            errors: list[BaseException] = []

            def run(h: Hub) -> None:
                try:
                    barrier.wait()  # noqa: B023 - run in this iteration's threads
                    produced.extend(o.outbox_id for o in jobs.run_briefings(h))
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)  # noqa: B023

            threads = [threading.Thread(target=run, args=(h,)) for h in hubs]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert errors == []
        rows = briefings(hubs[0])
        keys = [(b.community_id, b.local_date) for b in rows]
        assert len(keys) == len(set(keys))  # the unique claim: never two rows
        with hubs[0].db.session() as s:
            communities = [s.get(Community, c) for c in ids]
        start = datetime(2020, 3, 24, 0, 0, tzinfo=UTC)
        due = {(c.id, briefing.due(c, start + timedelta(hours=h))) for c in communities for h in range(72)}
        assert set(keys) == {(c, d) for c, d in due if d is not None}
        assert all(b.status == "sent" for b in rows)
        queued = outbox(hubs[0])
        assert len(queued) == len(produced) == len(rows) == len(set(produced)) >= 12
    finally:
        for h in hubs:
            h.db.dispose()


def test_a_claim_left_unsent_by_a_crashed_scheduler_is_sent_by_the_next_run(hub, clock):
    cid = community(hub, "g1")
    clock.advance(hours=22)
    local = briefing.due(briefings_community(hub, cid), clock.now())
    with hub.db.session() as s:  # committed claim, then the process died before queueing the message
        s.add(Briefing(community_id=cid, local_date=local, status="claimed", claimed_at=clock.now()))
    clock.advance(minutes=1)
    [out] = jobs.run_briefings(hub)
    assert out.kind == "briefing"
    [row] = briefings(hub)
    assert row.status == "sent" and row.figures["open_needs"] == 0
    assert jobs.run_briefings(hub) == []
    assert len(outbox(hub)) == 1


def test_a_crash_while_composing_leaves_nothing_and_the_next_run_sends(hub, clock, monkeypatch):
    community(hub, "g1")
    clock.advance(hours=22)

    def crash(*args, **kwargs):
        raise RuntimeError("process died")

    monkeypatch.setattr(jobs, "briefing_outbound", crash)
    with pytest.raises(RuntimeError):
        jobs.run_briefings(hub)
    assert briefings(hub) == [] and outbox(hub) == []  # the claim was rolled back with the rest
    monkeypatch.undo()
    clock.advance(minutes=1)
    assert len(jobs.run_briefings(hub)) == 1
    assert len(outbox(hub)) == 1


def test_a_briefing_queued_but_not_delivered_is_delivered_after_the_claim_goes_stale(hub, clock):
    community(hub, "g1")
    clock.advance(hours=22)
    [out] = jobs.run_briefings(hub)
    now = clock.now()
    [taken] = claim(hub.db, "discord", now, worker="worker-that-dies")
    assert taken.id == out.outbox_id  # claimed for sending, then the worker died
    assert claim(hub.db, "discord", now + timedelta(seconds=30), worker="other") == []
    stale = now + timedelta(seconds=RetryPolicy().claim_timeout_seconds + 1)
    assert [m.id for m in claim(hub.db, "discord", stale, worker="other")] == [out.outbox_id]


def briefings_community(hub: Hub, cid: int) -> Community:
    with hub.db.session() as s:
        return s.get(Community, cid)


def test_retention_purge_forgets_old_markers_and_sent_messages(hub, clock):
    now = clock.now()
    with hub.db.session() as s:
        s.add(SeenEvent(platform="telegram", event_id="old", seen_at=now - timedelta(days=8)))
        s.add(SeenEvent(platform="telegram", event_id="new", seen_at=now - timedelta(days=1)))
        for status, age in (("sent", 200), ("sent", 10), ("failed", 200), ("pending", 200)):
            s.add(OutboxMessage(platform="telegram", chat="1", kind="x", text="t", status=status,
                                created_at=now - timedelta(days=age)))
    assert jobs.run_retention_purge(hub) == {"seen_events": 1, "sent_messages": 1}
    assert jobs.run_retention_purge(hub) == {"seen_events": 0, "sent_messages": 0}
    with hub.db.session() as s:
        assert s.exec(select(func.count()).select_from(OutboxMessage)).one() == 3


def test_moderators_see_the_outbox_status(hub, clock):
    from tests.helpers import caregiver, maker, one

    mod = maker(hub, "Claire", "3001", channel="moderation")
    hub.grant_role(mod.identity, Role.MODERATOR, community="g1", community_name="Makers 37")
    with hub.db.session() as s:
        s.add(OutboxMessage(platform="telegram", chat="42", kind="match", text="t", status="failed", attempts=1,
                            error="Forbidden: bot was blocked by the user", created_at=clock.now()))
    status = one(mod.say("/outbox"), "listing")
    assert status.template == "outbox_status"
    assert "bot was blocked by the user" in status.text and "telegram" in status.text
    refused = caregiver(hub).say("/outbox")
    assert [o.template for o in refused if o.kind != "privacy"] == ["refused/not_allowed"]


def test_the_scheduler_plans_every_job_at_its_time(hub):
    from relais.scheduler import build_scheduler

    scheduler = build_scheduler(hub)
    jobs_by_id = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs_by_id) == {"briefings", "ticket_reminders", "stale_commitments", "weekly_review",
                               "retention_purge"}
    assert jobs_by_id["stale_commitments"].trigger.interval == timedelta(minutes=30)
    monday = datetime(2020, 3, 23, 9, 0, tzinfo=UTC)
    review = jobs_by_id["weekly_review"].trigger.get_next_fire_time(None, monday)
    assert (review.weekday(), review.hour, str(review.tzinfo)) == (0, 9, "Europe/Paris")
    assert review.date() == date(2020, 3, 30)  # 09:00 Paris was 08:00 UTC: this week's is past
    purge = jobs_by_id["retention_purge"].trigger.get_next_fire_time(None, monday)
    assert (purge.hour, purge.minute) == (3, 30)


def test_fake_clock_is_used_for_the_local_date(clock):
    c = Community(platform="discord", platform_id="x", timezone="Pacific/Kiritimati", created_at=DAY_BEFORE)
    assert briefing.due(c, FakeClock(datetime(2020, 3, 23, 18, 0, tzinfo=UTC)).now()) == date(2020, 3, 24)
