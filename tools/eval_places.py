"""Evaluate Gazetteer.find_in_text on a labelled corpus (default: ../shared/corpus/dev.jsonl).

For needs and offers with an expected place, a prediction counts when it lies within
25 km of `place_coords` (the scorer's rule). For needs and offers without a place,
it counts when nothing is found. Also prints load time and per-message timings.

    python tools/eval_places.py [corpus.jsonl] [-v]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(ROOT.parent / "shared" / "corpus" / "dev.jsonl"))
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from core.places import Gazetteer, distance_km

    gaz = Gazetteer.load()
    load_s = time.perf_counter() - t0

    rows = [
        json.loads(line)
        for line in Path(args.corpus).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    with_place = ok_place = without_place = ok_none = 0
    misses = []
    for row in rows:
        exp = row["expected"]
        if exp["intent"] not in ("need", "offer"):
            continue
        found = gaz.find_in_text(row["text"])
        if exp.get("place"):
            with_place += 1
            good = found is not None and distance_km(found.coords, tuple(exp["place_coords"])) <= 25.0
            ok_place += good
            if not good:
                misses.append((row["id"], exp["place"], found, row["text"]))
        else:
            without_place += 1
            ok_none += found is None
            if found is not None:
                misses.append((row["id"], None, found, row["text"]))

    timings = []
    texts = [r["text"] for r in rows]
    for _ in range(5):
        for text in texts:
            t = time.perf_counter()
            gaz.find_in_text(text)
            timings.append(time.perf_counter() - t)
    timings.sort()
    big = " ".join(texts) * 1
    big = (big * (100_000 // len(big) + 1))[:100_000]
    t = time.perf_counter()
    gaz.find_in_text(big)
    big_ms = (time.perf_counter() - t) * 1000

    print(f"load: {load_s * 1000:.0f} ms for {len(gaz)} communes")
    share_place = 100 * ok_place / max(with_place, 1)
    share_none = 100 * ok_none / max(without_place, 1)
    print(f"need/offer with a place: {ok_place}/{with_place} within 25 km ({share_place:.1f}%)")
    print(f"need/offer without a place: {ok_none}/{without_place} give None ({share_none:.1f}%)")
    print(
        f"find_in_text over {len(timings)} calls: mean {statistics.mean(timings) * 1e6:.0f} µs, "
        f"p50 {timings[len(timings) // 2] * 1e6:.0f} µs, "
        f"p99 {timings[int(len(timings) * 0.99)] * 1e6:.0f} µs, "
        f"max {timings[-1] * 1e6:.0f} µs; 100 KB text: {big_ms:.1f} ms"
    )
    synthetic(gaz)
    if args.verbose:
        for rid, exp_name, found, text in misses:
            got = f"{found.name} ({found.department})" if found else None
            print(f"  {rid}: expected {exp_name!r}, got {got!r}: {text[:110]!r}")


TEMPLATES = [
    "Besoin de 20 visières à {n}, merci",
    "EHPAD de {n} : besoin de surblouses",
    "dispo sur {l}, ender 3",
    "Hello, makers in {n} here, 4 printers",
    "Mairie de {n}, recherche masques tissu",
    "je suis a {l} et je peux coudre",
    "{n} : 3 imprimantes dispo",
]


def synthetic(gaz, per_pool: int = 300, seed: int = 7) -> None:
    """Recall on communes drawn at random, written into message templates.

    "ok" is the very commune, "homonym" another commune of the same name (ranked
    by population, which is the intended choice without other clues).
    """
    import random

    rng = random.Random(seed)
    communes = [e for e in gaz._entries if e.kind == "C"]
    pools = {
        "pop >= 2000": [e for e in communes if e.population >= 2000],
        "pop < 2000": [e for e in communes if e.population < 2000],
    }
    print("synthetic messages (communes drawn at random):")
    for label, pool in pools.items():
        sample = rng.sample(pool, per_pool)
        for template in TEMPLATES:
            ok = homonym = none = 0
            for entry in sample:
                name = entry.place.name
                found = gaz.find_in_text(template.format(n=name, l=name.lower()))
                if found is None:
                    none += 1
                elif found.insee == entry.place.insee:
                    ok += 1
                elif found.name == name:
                    homonym += 1
            print(
                f"  {label:12} {template!r:45} ok {ok}/{per_pool}, homonym {homonym}, none {none}, "
                f"other {per_pool - ok - homonym - none}"
            )


if __name__ == "__main__":
    main()
