"""Matching benchmark: per-need ranking latency on SQLite and PostgreSQL, against a naive full scan.

A national network: 50,000 offers and 5,000 open needs placed on real communes of metropolitan France
(core/places/data, the gazetteer's data), drawn in proportion to their population, so that Paris,
Lyon or Lille are as crowded as they would be. Makers, items, capabilities, capacities, offer ages
and a few thousand commitments (delivered, open, stalled) are drawn at random with a fixed seed.

For every need, ``core.matching.rank`` (indexed ring search, 50 km radius widened while nothing is
found) is timed on each database: p50 and p99 per need. The naive scan (``rank_naive``: the same
scoring function on every active offer with geodesic distances, offers already loaded in memory, which
favours the naive side) is timed on a random sample of needs, and its top 10 (offer ids and scores)
must equal the indexed one's on both databases. Speed-up = mean naive time / mean indexed time on the
same sample (SQLite).

Usage: python bench/matching.py [--quick] [--offers N] [--needs N] [--naive-sample N] [--seed N]
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text
from sqlmodel import select

from core import catalog, matching
from core.db import Database, upgrade
from core.models import Commitment, Need, NeedLine, Offer, Person
from core.places.gazetteer import DATA_DIR

NOW = datetime(2020, 3, 30, 9, 0, tzinfo=UTC)
CAPABILITIES = [
    ("3d_printing", 0.7),
    ("laser_cutting", 0.12),
    ("sewing", 0.3),
    ("cnc", 0.04),
    ("electronics", 0.05),
    ("injection_molding", 0.01),
    ("transport", 0.08),
    ("materials", 0.05),
]
OFFER_ITEMS = [
    ("face_shield", 0.35),
    ("ear_saver", 0.15),
    ("fabric_mask", 0.15),
    ("gown", 0.08),
    ("door_opener", 0.08),
    ("intubation_box", 0.02),
    ("hand_sanitizer", 0.02),
    ("valve_adapter", 0.01),
]
NEED_ITEMS = (
    ["face_shield"] * 40
    + ["fabric_mask"] * 15
    + ["gown"] * 15
    + ["ear_saver"] * 10
    + ["door_opener"] * 5
    + ["intubation_box"] * 5
    + ["hand_sanitizer"] * 5
    + ["spare_part"] * 2
    + ["valve_adapter"] * 2
    + ["nasal_swab"]
)


def communes() -> list[tuple[float, float, str, str, int]]:
    """(lat, lon, department, name, population) of every commune of metropolitan France."""
    out = []
    with gzip.open(DATA_DIR / "communes.tsv.gz", "rt", encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        for line in fh:
            row = line.rstrip("\n").split("\t")
            if row[col["kind"]] != "C" or row[col["dep"]].startswith("97"):
                continue
            pop = int(row[col["pop"]] or 0)
            lat, lon = float(row[col["lat"]] or "nan"), float(row[col["lon"]] or "nan")
            if pop > 0 and math.isfinite(lat) and math.isfinite(lon):
                out.append(
                    (float(row[col["lat"]]), float(row[col["lon"]]), row[col["dep"]], row[col["name"]], pop)
                )
    return out


def generate(n_offers: int, n_needs: int, seed: int) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    places = communes()
    weights = [p[4] for p in places]
    n_makers = int(n_offers * 0.8)
    persons = [
        {
            "id": i + 1,
            "platform": "discord",
            "platform_id": str(100000 + i),
            "display_name": f"maker{i}",
            "language": "fr",
            "created_at": NOW,
            "last_seen_at": NOW,
            "notify_needs": True,
        }
        for i in range(n_makers + n_needs)
    ]
    offers = []
    for i, (lat, lon, dep, name, _) in enumerate(rng.choices(places, weights, k=n_offers)):
        caps = [c for c, p in CAPABILITIES if rng.random() < p] or ["3d_printing"]
        items = [
            {"item": it, "quantity": rng.choice([None, 20, 50, 100])}
            for it, p in OFFER_ITEMS
            if rng.random() < p
        ]
        capacity = sum(x["quantity"] or 0 for x in items) or rng.choice([None, None, 10, 30, 100, 500])
        updated = NOW - timedelta(hours=rng.randint(0, 24 * 40))
        offers.append(
            {
                "id": i + 1,
                "maker_id": rng.randint(1, n_makers),
                "platform": "discord",
                "chat": "c",
                "capabilities": caps,
                "items": items,
                "capacity_per_day": capacity,
                "place_name": name,
                "lat": lat,
                "lon": lon,
                "department": dep,
                "status": "active",
                "text": "",
                "created_at": updated,
                "updated_at": updated,
            }
        )
    needs, lines = [], []
    for i, (lat, lon, dep, name, _) in enumerate(rng.choices(places, weights, k=n_needs)):
        nid = i + 1
        deadline = (NOW + timedelta(days=rng.randint(1, 10))).date() if rng.random() < 0.7 else None
        needs.append(
            {
                "id": nid,
                "requester_id": n_makers + nid,
                "platform": "telegram",
                "chat": "x",
                "place_name": name,
                "lat": lat,
                "lon": lon,
                "department": dep,
                "deadline": deadline,
                "status": "open",
                "category": 2,
                "text": "",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        for item in {rng.choice(NEED_ITEMS) for _ in range(rng.choice([1, 1, 1, 2]))}:
            lines.append(
                {
                    "need_id": nid,
                    "item_id": item,
                    "quantity": rng.choice([None, 20, 100, 200, 1000]),
                    "committed": 0,
                    "delivered": 0,
                }
            )
    commitments = []
    for _ in range(n_needs // 2):
        status = rng.choice(["committed", "committed", "delivered", "confirmed"])
        qty = rng.choice([10, 50, 200])
        commitments.append(
            {
                "need_id": rng.randint(1, n_needs),
                "item_id": "face_shield",
                "maker_id": rng.randint(1, n_makers),
                "quantity": qty,
                "delivered": qty if status != "committed" else 0,
                "status": status,
                "created_at": NOW - timedelta(days=3),
                "updated_at": NOW - timedelta(days=3),
                "stale_flagged_at": NOW if status == "committed" and rng.random() < 0.3 else None,
            }
        )
    return {"person": persons, "offer": offers, "need": needs, "needline": lines, "commitment": commitments}


def fill(url: str, data: dict[str, list[dict]]) -> Database:
    upgrade(url)
    db = Database(url)
    with db.session() as s:
        catalog.seed(s)
    with db.session() as s:
        for model in (Person, Offer, Need, NeedLine, Commitment):
            rows = data[model.__tablename__]
            for i in range(0, len(rows), 5000):
                s.exec(model.__table__.insert(), params=rows[i : i + 5000])  # type: ignore[call-overload]
        s.flush()
        matching.reindex_offers(s)
        if url.startswith("postgresql"):
            for table in ("person", "offer", "need", "needline"):
                s.exec(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
    # Statistics, and on PostgreSQL the visibility map that index-only scans need, as autovacuum leaves
    # them after a bulk load (the throwaway cluster commits asynchronously: a first VACUUM cannot yet
    # mark the pages all-visible; after a checkpoint a second one does).
    if url.startswith("postgresql"):
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))
            conn.execute(text("VACUUM"))
    else:
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    return db


def load_needs(db: Database) -> list[tuple[Need, list[NeedLine]]]:
    with db.session() as s:
        needs = {n.id: n for n in s.exec(select(Need).order_by(Need.id))}
        lines: dict[int, list[NeedLine]] = {}
        for ln in s.exec(select(NeedLine).order_by(NeedLine.id)):
            lines.setdefault(ln.need_id, []).append(ln)
        s.expunge_all()
    return [(needs[i], lines.get(i, [])) for i in sorted(needs)]


def time_ranks(db: Database, needs, radius: float) -> tuple[list[float], dict[int, list]]:
    times, tops = [], {}
    with db.session() as s:
        for need, lines in needs[:20]:  # warm-up: caches, prepared plans
            matching.rank(s, need, lines, radius_km=radius, now=NOW)
        for need, lines in needs:
            t0 = time.perf_counter()
            found = matching.rank(s, need, lines, radius_km=radius, now=NOW)
            times.append((time.perf_counter() - t0) * 1000)
            tops[need.id] = [(c.offer.id, c.score) for c in found]
    return times, tops


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="5,000 offers, 500 needs, 5 naive needs")
    ap.add_argument("--offers", type=int)
    ap.add_argument("--needs", type=int)
    ap.add_argument("--naive-sample", type=int)
    ap.add_argument("--radius", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=2020)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the PostgreSQL cluster on the way out
    n_offers = args.offers or (5_000 if args.quick else 50_000)
    n_needs = args.needs or (500 if args.quick else 5_000)
    n_naive = args.naive_sample or (5 if args.quick else 20)

    t0 = time.perf_counter()
    data = generate(n_offers, n_needs, args.seed)
    print(
        f"generated {n_offers} offers, {n_needs} needs, {len(data['commitment'])} commitments "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    from relais.testing.pg import PgCluster

    result: dict[str, object] = {"offers": n_offers, "needs": n_needs, "radius_km": args.radius}
    with tempfile.TemporaryDirectory() as tmp, PgCluster() as cluster:
        dbs = {
            "sqlite": fill(f"sqlite:///{tmp}/bench.db", data),
            "postgres": fill(cluster.create_database("bench"), data),
        }
        print(f"filled SQLite and PostgreSQL in {time.perf_counter() - t0:.1f} s", flush=True)
        needs = load_needs(dbs["sqlite"])
        tops: dict[str, dict[int, list]] = {}
        times: dict[str, list[float]] = {}
        for kind, db in dbs.items():
            times[kind], tops[kind] = time_ranks(db, needs, args.radius)
            found = sum(1 for t in tops[kind].values() if t)
            print(
                f"{kind:9s} indexed rank, {len(needs)} needs: p50 {pct(times[kind], 50):.2f} ms, "
                f"p90 {pct(times[kind], 90):.2f} ms, p99 {pct(times[kind], 99):.2f} ms, "
                f"max {max(times[kind]):.2f} ms; {found} needs with candidates",
                flush=True,
            )
            result[f"p50_ms_{kind}"] = round(pct(times[kind], 50), 3)
            result[f"p99_ms_{kind}"] = round(pct(times[kind], 99), 3)
            result[f"max_ms_{kind}"] = round(max(times[kind]), 3)

        rng = random.Random(args.seed + 1)
        sample = rng.sample(range(len(needs)), min(n_naive, len(needs)))
        same = all(tops["sqlite"][n.id] == tops["postgres"][n.id] for n, _ in needs)
        naive_ms, fast_ms = [], []
        with dbs["sqlite"].session() as s:
            offers = matching.all_offer_rows(s)
            stats = matching.maker_stats(s, [o.maker_id for o in offers])
            for i in sample:
                need, lines = needs[i]
                t1 = time.perf_counter()
                slow = matching.rank_naive(
                    s, need, lines, radius_km=args.radius, now=NOW, offers=offers, stats=stats
                )
                naive_ms.append((time.perf_counter() - t1) * 1000)
                fast_ms.append(times["sqlite"][i])
                top = [(c.offer.id, c.score) for c in slow]
                same = same and top == tops["sqlite"][need.id] == tops["postgres"][need.id]
        speedup = statistics.mean(naive_ms) / statistics.mean(fast_ms)
        print(
            f"naive full scan (same scoring, geodesic on every fitting offer, offers preloaded), "
            f"{len(sample)} needs: mean {statistics.mean(naive_ms):.0f} ms vs indexed "
            f"{statistics.mean(fast_ms):.2f} ms on the same needs: x{speedup:.0f}; same top 10: {same}",
            flush=True,
        )
        for db in dbs.values():
            db.dispose()
    result.update(
        {
            "naive_sample": len(sample),
            "naive_ms_mean": round(statistics.mean(naive_ms), 1),
            "indexed_ms_mean_same_sample": round(statistics.mean(fast_ms), 3),
            "speedup_vs_naive": round(speedup, 1),
            "same_top10": same,
        }
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
