"""Inbound load: chat messages per second through the whole core path (de-duplicate, recognise,
record, reply into the outbox) on SQLite and on PostgreSQL with 1 and 4 worker processes, then a soak
at half the SQLite rate checking that resident memory stays flat and nothing is lost.

The figures are the steady state: the 500 people have written once before the timed run (most messages in a
running deployment come from people the hub knows), each worker process handles a few messages of its own
before the clock starts (statement caches, templates), and the spawn of processes is not timed.

    python bench/inbound.py [--quick] [--soak-seconds N]

Prints figures and ratios; the last line is one JSON object with ``inbound_per_s_sqlite``,
``inbound_per_s_pg1``, ``inbound_per_s_pg4``, ``lost`` and ``rss_growth_pct``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus" / "dev.jsonl"
FALLBACK = [
    "Il nous faut 200 visières au CHU de Tours avant vendredi",
    "j'ai 2 Prusa et une découpe laser à Joué-lès-Tours, dispo pour des visières",
    "a-t-on le droit de distribuer des valves imprimées ?",
    "merci à tous pour hier !",
    "We need 50 gowns in Lyon by Friday",
    "/suivi",
]


def texts() -> list[str]:
    if CORPUS.exists():
        return [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    return FALLBACK


PEOPLE = 500


def messages(n: int, prefix: str, seed: int = 7, people: str = "u"):
    """n inbound messages (event ids ``prefix-i``) from 500 people (platform ids ``people<k>``), half in
    private chats, half in community channels."""
    rng = random.Random(seed)
    pool = texts()
    return [message(i, rng.randrange(PEOPLE), rng.choice(pool), prefix, people) for i in range(n)]


def first_messages(people: str = "u"):
    """One message from each of the 500 people."""
    pool = texts()
    return [message(k, k, pool[k % len(pool)], "first", people) for k in range(PEOPLE)]


def message(i: int, person: int, text: str, prefix: str, people: str):
    from core.messages import Identity, Inbound

    start = datetime(2020, 3, 23, 9, 0, tzinfo=UTC)
    platform = "telegram" if person % 2 else "discord"
    author = Identity(platform, f"{people}{person}", f"Personne {person}", "fr")
    public = platform == "discord"
    return Inbound(platform=platform, event_id=f"{prefix}-{i}", chat=f"chan{person % 7}" if public
                   else author.platform_id, chat_kind="channel" if public else "private",
                   community="guild1" if public else None, author=author, text=text,
                   sent_at=start + timedelta(seconds=i), addressed=False)


def make_hub(url: str):
    from core.db import Database
    from core.hub import Hub
    from core.ports import SystemClock
    from core.settings import Settings

    settings = Settings(database_url=url, flood_limit_per_minute=10_000, _env_file=None)
    hub = Hub(Database(url), settings=settings, clock=SystemClock())
    _ = hub.recogniser  # load the gazetteer and lexicon before timing
    return hub


WARM_PER_WORKER = 60


def _worker(url: str, msgs, warm, barrier, results) -> None:
    hub = make_hub(url)
    for msg in warm:  # not timed: this process's first statements and templates
        hub.receive(msg)
    barrier.wait()
    t0 = time.perf_counter()
    errors = 0
    replies = 0
    for msg in msgs:
        try:
            replies += len(hub.receive(msg))
        except Exception:  # counted: a message whose handling raised is a lost message
            errors += 1
    results.put((len(msgs), errors, time.perf_counter() - t0, replies))
    hub.db.dispose()


def run_processes(url: str, msgs, processes: int) -> tuple[float, int, int]:
    """Messages per second from the moment every worker is ready to the last one's end; errors; replies."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    chunks = [msgs[i::processes] for i in range(processes)]
    warm = [messages(WARM_PER_WORKER, f"warm{processes}.{i}", seed=100 + i) for i in range(processes)]
    procs = [ctx.Process(target=_worker, args=(url, chunk, w, barrier, results)) for chunk, w in zip(chunks, warm)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    outcome = [results.get(timeout=1800) for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    handled = sum(o[0] for o in outcome)
    errors = sum(o[1] for o in outcome)
    replies = sum(o[3] for o in outcome)
    return handled / elapsed, errors, replies


def seen_events(url: str, prefix: str = "") -> int:
    return recorded(url, prefix)[0]


def recorded(url: str, prefix: str = "") -> tuple[int, int]:
    """Events recorded (de-duplication rows) whose id starts with ``prefix``, and all outbox rows."""
    from sqlmodel import func, select

    from core.db import Database
    from core.models import OutboxMessage, SeenEvent

    db = Database(url)
    with db.session() as s:
        events = s.exec(select(func.count()).select_from(SeenEvent)
                        .where(SeenEvent.event_id.startswith(prefix))).one()
        replies = s.exec(select(func.count()).select_from(OutboxMessage)).one()
    db.dispose()
    return int(events), int(replies)


def check_replies(label: str, url: str, n: int, prefix: str, replies: int, before: int) -> None:
    """A run whose messages were recorded but answered by nothing measured the wrong path."""
    events, outbox = recorded(url, prefix + "-")
    print(f"  {label}: {events} events recorded, {replies} replies ({replies / max(n, 1):.2f} per message), "
          f"outbox {before} -> {outbox} rows")
    if replies < n // 4 or outbox - before < replies:
        raise SystemExit(f"{label}: {replies} replies for {n} messages, {outbox - before} new outbox rows: "
                         "the core path is broken")


def prepare(url: str) -> int:
    """Migrate, seed, and let every person write once (not timed); returns the outbox size."""
    from core import catalog
    from core.db import Database, upgrade

    upgrade(url)
    db = Database(url)
    with db.session() as s:
        catalog.seed(s)
    db.dispose()
    hub = make_hub(url)
    for msg in first_messages():
        hub.receive(msg)
    hub.db.dispose()
    return recorded(url)[1]


def rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def soak(url: str, rate: float, seconds: float) -> tuple[float, int, int]:
    """Feed messages at ``rate``/s for ``seconds``; returns RSS growth % (after warm-up), sent, lost."""
    import gc

    hub = make_hub(url)
    msgs = messages(int(rate * seconds) + 1000, "soak", seed=11)
    warm = 500
    for msg in msgs[:warm]:
        hub.receive(msg)
    gc.collect()
    rss0 = rss_kib()
    t0 = time.perf_counter()
    sent = 0
    errors = 0
    for msg in msgs[warm:]:
        if time.perf_counter() - t0 >= seconds:
            break
        due = t0 + sent / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            hub.receive(msg)
        except Exception:
            errors += 1
        sent += 1
    gc.collect()
    rss1 = rss_kib()
    hub.db.dispose()
    return 100.0 * (rss1 - rss0) / max(rss0, 1), sent + warm, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--soak-seconds", type=float, default=None)
    args = parser.parse_args()
    n = args.messages or (600 if args.quick else 4000)
    soak_seconds = args.soak_seconds if args.soak_seconds is not None else (15 if args.quick else 600)

    from relais.testing.pg import PgCluster

    figures: dict[str, float | int] = {}
    lost = 0
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/inbound.db"
        before = prepare(url)
        msgs = messages(n, "s")
        rate, errors, replies = run_processes(url, msgs, 1)
        lost += errors + (n - seen_events(url, "s-"))
        figures["inbound_per_s_sqlite"] = round(rate, 1)
        print(f"SQLite, 1 process: {rate:.0f} messages/s over {n} messages (target 300)")
        check_replies("SQLite", url, n, "s", replies, before)

        with PgCluster() as pg:
            for procs in (1, 4):
                url_pg = pg.create_database(f"inbound{procs}")
                before = prepare(url_pg)
                msgs = messages(n, f"p{procs}")
                rate, errors, replies = run_processes(url_pg, msgs, procs)
                lost += errors + (n - seen_events(url_pg, f"p{procs}-"))
                figures[f"inbound_per_s_pg{procs}"] = round(rate, 1)
                print(f"PostgreSQL, {procs} process(es): {rate:.0f} messages/s over {n} messages")
                check_replies(f"PostgreSQL x{procs}", url_pg, n, f"p{procs}", replies, before)
        ratio = figures["inbound_per_s_pg4"] / max(figures["inbound_per_s_pg1"], 1e-9)
        figures["pg4_over_pg1"] = round(ratio, 2)
        print(f"PostgreSQL 4 processes / 1 process: {ratio:.2f}x (target 1.5x)")

        soak_url = f"sqlite:///{tmp}/soak.db"
        prepare(soak_url)
        soak_rate = figures["inbound_per_s_sqlite"] / 2
        growth, sent, errors = soak(soak_url, soak_rate, soak_seconds)
        soak_lost = errors + (sent - seen_events(soak_url, "soak-"))
        lost += soak_lost
        print(f"soak: {sent} messages at {soak_rate:.0f}/s for {soak_seconds:.0f} s, resident memory "
              f"{growth:+.1f}% after warm-up (target < 10%), lost {soak_lost}")
    figures["lost"] = lost
    figures["rss_growth_pct"] = round(growth, 2)
    figures["soak_seconds"] = soak_seconds
    print(f"lost messages: {lost}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
