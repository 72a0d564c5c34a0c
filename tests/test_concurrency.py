"""Several hub processes on one database handling events at the same instant (a deployment runs the Telegram
and the Discord bot as separate processes, and may run more than one of each): the rows that two processes
may create at once (a new person, a new community, the flood counter, a guidance cool-down, a step-by-step
dialogue, the de-duplication of an event) must not cost an event to a duplicate-key error, nor make the hub
say or do a thing twice."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from sqlmodel import func, select

from core.db import Database
from core.models import Community, Dialogue, OutboxMessage, Person, RateCounter, SeenEvent
from relais.testing import race

WORKERS = 4
NEW_PEOPLE_ROUNDS = 3
GUIDANCE_ROUNDS = 3


def _rounds(worker: int) -> list[dict]:
    rounds = []
    for r in range(NEW_PEOPLE_ROUNDS):
        # A person nobody knows yet writes in a channel of a community nobody knows yet, four messages handled
        # at once by four processes, each naming a category 3 item (guidance is due in that chat once).
        rounds.append(dict(
            platform="discord", event_id=f"new{r}-w{worker}", chat=f"chan{r}", chat_kind="channel",
            community=f"guild{r}", community_name=f"Fablab {r}",
            author=dict(platform="discord", platform_id=f"newcomer{r}", display_name="Nouvelle", language="fr"),
            text=f"Quelqu'un a déjà imprimé la valve Charlotte ? (message {worker})"))
    for r in range(GUIDANCE_ROUNDS):
        # Four people write at once in one chat of a known community, each naming a category 3 item: the chat
        # hears its guidance once (nothing else makes these events wait for each other).
        rounds.append(dict(
            platform="discord", event_id=f"guid{r}-w{worker}", chat=f"talk{r}", chat_kind="channel",
            community="guild0", author=dict(platform="discord", platform_id=f"maker{r}-{worker}",
                                            display_name=f"Maker {worker}", language="fr"),
            text=f"Des nouvelles du caisson d'intubation ? (message {worker})"))
    # The same platform event delivered to the four processes at once.
    rounds.append(dict(
        platform="telegram", event_id="same-event", chat="tg-dup", chat_kind="private",
        author=dict(platform="telegram", platform_id="tg-dup", display_name="Soignante", language="fr"),
        text="Il nous faut 200 visières au CHU de Tours avant vendredi", addressed=True))
    # One person starting a step-by-step need in the same chat four times at once (a double tap, a retry).
    rounds.append(dict(
        platform="telegram", event_id=f"dialogue-w{worker}", chat="tg-dlg", chat_kind="private",
        author=dict(platform="telegram", platform_id="tg-dlg", display_name="Infirmier", language="fr"),
        text="/besoin", addressed=True))
    return rounds


def _count(s, model, *where) -> int:
    return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def test_four_processes_at_once_lose_nothing_and_say_nothing_twice(db_url):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=race.worker, args=(db_url, i, _rounds(i), barrier, results))
             for i in range(WORKERS)]
    for p in procs:
        p.start()
    total = WORKERS * (NEW_PEOPLE_ROUNDS + GUIDANCE_ROUNDS + 2)
    outcome = [results.get(timeout=300) for _ in range(total)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    errors = [o[3] for o in outcome if o[3]]
    assert errors == [], errors[0]
    replies = {(o[0], o[1]): o[2] for o in outcome}

    db = Database(db_url)
    try:
        with db.session() as s:
            for r in range(NEW_PEOPLE_ROUNDS):
                assert _count(s, SeenEvent, SeenEvent.event_id.startswith(f"new{r}-")) == WORKERS
                people = s.exec(select(Person).where(Person.platform_id == f"newcomer{r}")).all()
                assert len(people) == 1
                assert _count(s, Community, Community.platform_id == f"guild{r}") == 1
                counter = s.get(RateCounter, people[0].id)
                assert counter is not None and counter.count == WORKERS  # every message counted once
                guidance = s.exec(select(OutboxMessage).where(OutboxMessage.chat == f"chan{r}",
                                                              OutboxMessage.kind == "guidance")).all()
                assert len(guidance) == 1, [g.text[:60] for g in guidance]

            for r in range(GUIDANCE_ROUNDS):
                assert _count(s, SeenEvent, SeenEvent.event_id.startswith(f"guid{r}-")) == WORKERS
                guidance = s.exec(select(OutboxMessage).where(OutboxMessage.chat == f"talk{r}",
                                                              OutboxMessage.kind == "guidance")).all()
                assert len(guidance) == 1, [g.text[:60] for g in guidance]

            same = NEW_PEOPLE_ROUNDS + GUIDANCE_ROUNDS
            handled = [w for w in range(WORKERS) if replies[(w, same)] > 0]
            assert len(handled) == 1, replies  # one process handled it, the others saw it already
            assert _count(s, SeenEvent, SeenEvent.event_id == "same-event") == 1
            assert _count(s, Person, Person.platform_id == "tg-dup") == 1

            dialogue = same + 1
            assert all(replies[(w, dialogue)] > 0 for w in range(WORKERS)), replies
            assert _count(s, SeenEvent, SeenEvent.event_id.startswith("dialogue-w")) == WORKERS
            person = s.exec(select(Person).where(Person.platform_id == "tg-dlg")).one()
            rows = s.exec(select(Dialogue).where(Dialogue.person_id == person.id)).all()
            assert len(rows) == 1 and rows[0].flow == "need"
    finally:
        db.dispose()


@pytest.fixture(autouse=True)
def _no_leftover_processes():
    yield
    for child in mp.active_children():
        child.kill()
