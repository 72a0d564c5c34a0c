"""Escalation benchmark: how well and how fast answered questions are found again.

Quality: a few answered questions (French), then reworded French and English questions, each labelled
with the answered question it asks again (or none); a suggestion is right when it is the labelled one.
Speed: one lookup against N answered questions on SQLite, cold (first time each question is read) and
warm (their concepts cached), as every new question proposal does.

Usage: python bench/escalation.py [--quick]
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import catalog, escalation  # noqa: E402
from core.db import Database, upgrade  # noqa: E402
from core.models import Escalation  # noqa: E402

ANSWERED = [
    "A-t-on le droit de vendre les visières qu'on imprime ?",
    "Un hôpital peut-il accepter des adaptateurs de valve imprimés en 3D ?",
    "Qui est responsable si une visière casse pendant un soin ?",
    "Les makers peuvent-ils se déplacer jusqu'au fablab pendant le confinement ?",
    "Comment désinfecter les visières avant de les livrer ?",
    "Qui paie le filament PETG ?",
]
QUERIES = [  # (question, index of the answered question it asks again, or None)
    ("Est-ce qu'on peut vendre des visieres imprimees en 3D ?", 0),
    ("Peut-on vendre nos visières ?", 0),
    ("Are we allowed to sell 3D-printed face shields?", 0),
    ("Can we sell the face shields we print?", 0),
    ("May a hospital accept printed valve adapters?", 1),
    ("Les CHU acceptent-ils les valves imprimées ?", 1),
    ("Who is liable if a face shield breaks?", 2),
    ("Qui est responsable en cas d'accident avec une visière ?", 2),
    ("Can makers travel to the fablab during lockdown?", 3),
    ("Peut-on circuler pour aller au fablab avec une attestation ?", 3),
    ("How should we disinfect face shields before delivery?", 4),
    ("Faut-il stériliser les visières avant livraison ?", 4),
    ("Who pays for the PETG filament?", 5),
    ("Qui rembourse le filament ?", 5),
    ("Peut-on donner des visières gratuitement à une pharmacie ?", None),
    ("Quelle version du modèle de visière est validée ?", None),
    ("Where is the nearest collection point for masks?", None),
    ("Combien de surblouses faut-il pour un EHPAD ?", None),
]
NOW = datetime(2020, 3, 23, 9, tzinfo=UTC)


def database(directory: str, n: int) -> Database:
    url = f"sqlite:///{directory}/bench-{n}.db"
    upgrade(url)
    db = Database(url)
    with db.session() as s:
        catalog.seed(s)
        for i in range(n):
            text = ANSWERED[i % len(ANSWERED)] if i < len(ANSWERED) else f"{ANSWERED[i % len(ANSWERED)]} ({i})"
            s.add(Escalation(topic="legal", text=text, platform="telegram", chat="1", status="answered",
                             answer=f"Réponse {i}", public=True, created_at=NOW))
    return db


def quality(db: Database) -> dict:
    right = wrong = missed = quiet = 0
    for question, expected in QUERIES:
        with db.session() as s:
            found = escalation.similar_answered(s, question, limit=1)
        got = found[0].id - 1 if found else None
        if expected is None:
            quiet += got is None
            wrong += got is not None
        elif got == expected:
            right += 1
        elif got is None:
            missed += 1
        else:
            wrong += 1
        print(f"  {'ok ' if got == expected else 'NO '} {expected!s:>4} → {got!s:>4}  {question}")
    labelled = sum(1 for _, e in QUERIES if e is not None)
    return {"queries": len(QUERIES), "right": right, "wrong": wrong, "missed": missed,
            "recall": round(right / labelled, 3), "precision": round(right / max(1, right + wrong), 3),
            "unrelated_left_alone": quiet}


def speed(db: Database, n: int, repeat: int) -> dict:
    question = "Are we allowed to sell 3D-printed face shields?"
    escalation._CONCEPTS.clear()
    with db.session() as s:
        start = time.perf_counter()
        escalation.similar_answered(s, question)
        cold = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        with db.session() as s:
            start = time.perf_counter()
            escalation.similar_answered(s, question)
            times.append(time.perf_counter() - start)
    times.sort()
    return {"answered": n, "cold_ms": round(cold * 1000, 1), "warm_median_ms": round(times[len(times) // 2] * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="relais-bench-") as tmp:
        print("Suggestions (expected → suggested answered question):")
        q = quality(database(tmp, len(ANSWERED)))
        sizes = [100, 500] if args.quick else [100, 500, 2000]
        s = []
        for n in sizes:
            db = database(tmp, n)
            s.append(speed(db, n, 3 if args.quick else 10))
            db.dispose()
            print(f"lookup against {n} answered questions: cold {s[-1]['cold_ms']} ms, "
                  f"warm {s[-1]['warm_median_ms']} ms")
    print(f"recall {q['recall']}, precision {q['precision']}, unrelated left alone {q['unrelated_left_alone']}/"
          f"{sum(1 for _, e in QUERIES if e is None)}")
    print(json.dumps({"bench": "escalation", "quality": q, "speed": s}))


if __name__ == "__main__":
    main()
