"""Briefing benchmark: time to compose one morning briefing with 100,000 needs and 100,000 offers (and
their lines, commitments and questions) in the database, on SQLite and on a throwaway PostgreSQL.

Usage: python bench/briefing.py [--quick] [--only sqlite|postgres]
Prints the median of several compositions (after one warm-up), for a community briefed on the whole
country and for one briefed on a region; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlmodel import select  # noqa: E402

from core import briefing, catalog  # noqa: E402
from core.db import Database, upgrade  # noqa: E402
from core.models import AuditEntry, Briefing, Commitment, Community, Escalation, Need, NeedLine, Offer  # noqa: E402

NOW = datetime(2020, 4, 20, 6, 0, tzinfo=UTC)
STATUSES = ["open"] * 5 + ["partly_covered"] * 2 + ["covered", "delivered", "closed", "cancelled"]
AREA = "Centre-Val de Loire"  # the second community's area: 6 of the 95 départements
ITEMS = ["face_shield", "ear_saver", "fabric_mask", "gown", "valve_adapter", "intubation_box", "ventilator"]
CATEGORY = {"face_shield": 2, "ear_saver": 1, "fabric_mask": 2, "gown": 2, "valve_adapter": 3,
            "intubation_box": 3, "ventilator": 4}


def fill(db: Database, n: int, seed: int = 1) -> None:
    """``n`` needs (one or two lines each) and ``n`` offers over 30 days, with commitments and questions."""
    rnd = random.Random(seed)
    with db.session() as s:
        catalog.seed(s)
        for platform_id, region in (("bench", None), ("bench-area", AREA)):
            community = Community(platform="discord", platform_id=platform_id, name="Bench", region=region,
                                  created_at=NOW - timedelta(days=40))
            s.add(community)
            s.flush()
            # yesterday's briefing, so "since" and the change since yesterday are computed as in production
            s.add(Briefing(community_id=community.id, local_date=date(2020, 4, 19), status="sent",
                           claimed_at=NOW - timedelta(days=1), sent_at=NOW - timedelta(days=1),
                           figures={"open_needs": n // 2, "active_offers": n // 2, "area": region}))
    chunk = 10_000
    with db.engine.begin() as conn:
        for start in range(0, n, chunk):
            needs, offers, lines = [], [], []
            for i in range(start + 1, min(n, start + chunk) + 1):
                created = NOW - timedelta(minutes=rnd.randrange(30 * 24 * 60))
                item = rnd.choice(ITEMS)
                dept = f"{rnd.randrange(1, 96):02d}"
                needs.append({"id": i, "platform": "telegram", "chat": str(1000 + i % 5000), "place_name": "Ville",
                              "department": dept, "status": rnd.choice(STATUSES), "category": CATEGORY[item],
                              "deadline": (created + timedelta(days=rnd.randrange(1, 15))).date()
                              if rnd.random() < 0.7 else None,
                              "text": "", "created_at": created, "updated_at": created})
                lines.append({"need_id": i, "item_id": item, "quantity": rnd.randrange(10, 500), "committed": 0,
                              "delivered": 0})
                if rnd.random() < 0.3:
                    lines.append({"need_id": i, "item_id": "ear_saver", "quantity": 100, "committed": 0,
                                  "delivered": 0})
                offers.append({"id": i, "platform": "discord", "chat": "c", "capabilities": ["3d_printing"],
                               "items": [], "department": dept, "status": rnd.choice(["active"] * 4 + ["paused"]),
                               "text": "", "created_at": created, "updated_at": created})
            conn.execute(insert(Need.__table__), needs)
            conn.execute(insert(NeedLine.__table__), lines)
            conn.execute(insert(Offer.__table__), offers)
        commitments = [{"need_id": rnd.randrange(1, n + 1), "item_id": "face_shield", "quantity": 50,
                        "delivered": 0, "status": "committed",
                        "created_at": NOW - timedelta(minutes=rnd.randrange(30 * 24 * 60)),
                        "updated_at": NOW} for _ in range(n // 10)]
        conn.execute(insert(Commitment.__table__), commitments)
        questions = [{"topic": "legal", "text": f"Question {i} ?", "platform": "telegram", "chat": "1",
                      "status": rnd.choice(["open", "answered", "closed"]), "answer": "Réponse.",
                      "answered_at": NOW - timedelta(hours=rnd.randrange(24 * 30)), "public": True,
                      "asker_named": False, "created_at": NOW - timedelta(days=rnd.randrange(30))}
                     for i in range(max(n // 100, 10))]
        conn.execute(insert(Escalation.__table__), questions)
        conn.execute(insert(AuditEntry.__table__), [
            {"at": NOW - timedelta(hours=rnd.randrange(24 * 30)), "action": "item.classified",
             "subject": "item:gown", "before": {"category": 1}, "after": {"category": 2}} for _ in range(1000)])
    if db.is_postgres:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            for table in ("need", "needline", "offer", "commitment", "escalation"):
                seq = f"{table}_id_seq"
                conn.exec_driver_sql(f"SELECT setval('{seq}', (SELECT max(id) FROM {table}))")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def measure(db: Database, runs: int, platform_id: str = "bench") -> tuple[float, float, dict]:
    """(first, median of the next ``runs``) composition times in ms, and the last briefing's figures."""
    times = []
    data: dict = {}
    for _ in range(runs + 1):
        with db.session() as s:
            community = s.exec(select(Community).where(Community.platform_id == platform_id)).one()
            started = time.perf_counter()
            data = briefing.compose(s, community, NOW)
            times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:]), data


def run(kind: str, n: int, runs: int, tmp: Path) -> dict:
    cluster = None
    if kind == "postgres":
        from relais.testing.pg import PgCluster

        cluster = PgCluster().start()
        url = cluster.create_database("briefing")
    else:
        url = f"sqlite:///{tmp / 'briefing.db'}"
    try:
        upgrade(url)
        db = Database(url)
        started = time.perf_counter()
        fill(db, n)
        filled = time.perf_counter() - started
        first, median, data = measure(db, runs)
        area_first, area_median, area_data = measure(db, runs, "bench-area")
        db.dispose()
        return {"first_ms": round(first, 1), "median_ms": round(median, 1), "fill_seconds": round(filled, 1),
                "figures": data["figures"], "new_needs_listed": len(data["new_needs"]),
                "area_first_ms": round(area_first, 1), "area_median_ms": round(area_median, 1),
                "area_figures": area_data["figures"]}
    finally:
        if cluster is not None:
            cluster.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 needs and offers instead of 100,000")
    parser.add_argument("--only", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    n = 10_000 if args.quick else 100_000
    summary: dict = {"needs": n, "offers": n}
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        for kind in ("sqlite", "postgres"):
            if args.only and args.only != kind:
                continue
            result = run(kind, n, args.runs, Path(tmp))
            print(f"{kind}: {n:,} needs and {n:,} offers (filled in {result['fill_seconds']} s); compose "
                  f"{result['median_ms']} ms median of {args.runs} (first {result['first_ms']} ms); "
                  f"figures {json.dumps(result['figures'])}")
            print(f"{kind}: one area ({AREA}): compose {result['area_median_ms']} ms median of {args.runs} "
                  f"(first {result['area_first_ms']} ms); figures {json.dumps(result['area_figures'])}")
            summary[f"compose_ms_{kind}"] = result["median_ms"]
            summary[f"compose_first_ms_{kind}"] = result["first_ms"]
            summary[f"compose_area_ms_{kind}"] = result["area_median_ms"]
    summary["target_ms"] = 500
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
