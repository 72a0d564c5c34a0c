"""Held-out labelled batches (tests/data/heldout_*.jsonl) scored with simple corpus metrics.

heldout_3.jsonl was written before the recogniser was tuned on it (first score: intent accuracy 0.957, item F1 0.930,
capability F1 0.874, quantity 0.904, place 0.899, deadline 0.920, topic 0.872); its floors guard the fixes.
heldout_4.jsonl was written after those fixes and scored once, untouched (intent 0.929, item F1 0.940, capability
F1 0.944, quantity 0.818, place 0.868, deadline 0.900, topic 0.812); its floors sit a little below that, so that a
regression is caught without freezing today's exact errors. heldout_5.jsonl (110 messages) was written after the
heldout_4 fixes and scored once, untouched (intent macro F1 0.944, intent accuracy 0.945, item F1 0.938, capability
F1 0.919, quantity 0.906, place 0.965, deadline 1.000 with 1 false deadline, topic 0.840); the "round 2"
section of tests/test_recognise_generalise.py then fixed the phrasings behind its errors, and its floors sit a little
under what it reaches after them. heldout_6.jsonl (110 messages) was written after the round 2 fixes and scored once,
untouched (intent macro F1 0.943, intent accuracy 0.945, item F1 0.953, capability F1 1.000, quantity 0.944, place
0.945 with a false place rate of 0.000, deadline 1.000 with 1 false deadline, topic 0.880); the "round 3" section of
tests/test_recognise_generalise.py then fixed the phenomena behind its errors, and its floors sit a little under what
it reaches after them. heldout_7.jsonl (120 harder messages: long mixed messages, replies and follow-ups, unusual
requesters, slang, English from foreign makers, communes that are common words, Corsica, overseas) was written after
the round 3 fixes and scored once, untouched (intent macro F1 0.880, intent accuracy 0.883, item F1 0.889, capability
F1 0.877, quantity 0.857, place 0.839 with a false place rate of 0.017, deadline 0.952 with 0 false deadlines, topic
0.929); the "round 4" section of tests/test_recognise_generalise.py then fixed some of the phenomena behind its
errors, and its floors sit a little under what it reaches after them. heldout_8.jsonl (110 fresh messages) was
written after the round 4 fixes without reading the recogniser and scored once, untouched (intent macro F1 0.928,
intent accuracy 0.927, item F1 0.972, capability F1 0.911, quantity 0.984, place 0.948 with a false place rate of
0.000, deadline 0.889 with 0 false deadlines, topic 0.880); the "round 5" section of
tests/test_recognise_generalise.py then fixed phenomena behind its errors, so it is tuned on now, and its floors sit a
little under what it reaches after them. Labels follow the shared corpus README conventions.
The metrics are computed here rather than imported from the shared scorer, so the test stands on its own.
"""

from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path

import pytest

from core.recognise import analyse_stream, default_recogniser

DATA = Path(__file__).resolve().parent / "data"

FLOORS = {
    "heldout_3.jsonl": {"intent_accuracy": 0.95, "intent_macro_f1": 0.95, "item_f1": 0.95, "capability_f1": 0.93,
                        "quantity_accuracy": 0.93, "place_accuracy": 0.90, "deadline_accuracy": 0.95,
                        "topic_accuracy": 0.90, "max_deadline_false": 1, "max_place_false_rate": 0.05},
    "heldout_4.jsonl": {"intent_accuracy": 0.90, "intent_macro_f1": 0.88, "item_f1": 0.90, "capability_f1": 0.88,
                        "quantity_accuracy": 0.75, "place_accuracy": 0.80, "deadline_accuracy": 0.85,
                        "topic_accuracy": 0.75, "max_deadline_false": 2, "max_place_false_rate": 0.05},
    "heldout_5.jsonl": {"intent_accuracy": 0.95, "intent_macro_f1": 0.95, "item_f1": 0.95, "capability_f1": 0.95,
                        "quantity_accuracy": 0.95, "place_accuracy": 0.95, "deadline_accuracy": 0.95,
                        "topic_accuracy": 0.92, "max_deadline_false": 1, "max_place_false_rate": 0.05},
    "heldout_6.jsonl": {"intent_accuracy": 0.96, "intent_macro_f1": 0.96, "item_f1": 0.96, "capability_f1": 0.96,
                        "quantity_accuracy": 0.95, "place_accuracy": 0.95, "deadline_accuracy": 0.95,
                        "topic_accuracy": 0.92, "max_deadline_false": 1, "max_place_false_rate": 0.05},
    "heldout_7.jsonl": {"intent_accuracy": 0.89, "intent_macro_f1": 0.89, "item_f1": 0.92, "capability_f1": 0.85,
                        "quantity_accuracy": 0.92, "place_accuracy": 0.87, "deadline_accuracy": 0.92,
                        "topic_accuracy": 0.90, "max_deadline_false": 1, "max_place_false_rate": 0.05},
    "heldout_8.jsonl": {"intent_accuracy": 0.96, "intent_macro_f1": 0.96, "item_f1": 0.96, "capability_f1": 0.93,
                        "quantity_accuracy": 0.96, "place_accuracy": 0.95, "deadline_accuracy": 0.95,
                        "topic_accuracy": 0.95, "max_deadline_false": 1, "max_place_false_rate": 0.05},
}
INTENTS = ("need", "offer", "question", "other")


def _norm_place(name: str | None) -> str | None:
    if not name:
        return None
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    for ch in "-'’_.,":
        s = s.replace(ch, " ")
    return " ".join({"st": "saint", "ste": "sainte"}.get(w, w) for w in s.split())


def _km(a, b) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _f1(tp: int, fp: int, fn: int) -> float:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return 2 * p * r / (p + r) if p + r else 0.0


def score(gold: list[dict], preds: dict[str, dict]) -> dict[str, float]:
    conf = {g: dict.fromkeys(INTENTS, 0) for g in INTENTS}
    items = [0, 0, 0]
    caps = [0, 0, 0]
    qty = [0, 0]
    place = [0, 0]
    place_false = place_null = 0
    deadline = [0, 0]
    deadline_false = 0
    topic = [0, 0]
    for g in gold:
        e, p = g["expected"], preds.get(g["id"], {})
        pi = p.get("intent") if p.get("intent") in INTENTS else "other"
        conf[e["intent"]][pi] += 1
        gi = {x["item"]: x.get("quantity") for x in e.get("items") or []}
        pit: dict[str, int | None] = {}
        for x in p.get("items") or []:
            pit.setdefault(x["item"], x.get("quantity"))
        for k, q in gi.items():
            if k in pit:
                items[0] += 1
                if q is not None:
                    qty[1] += 1
                    qty[0] += pit[k] == q
            else:
                items[2] += 1
        items[1] += sum(1 for k in pit if k not in gi)
        gc, pc = set(e.get("capabilities") or []), set(p.get("capabilities") or [])
        caps[0] += len(gc & pc)
        caps[1] += len(pc - gc)
        caps[2] += len(gc - pc)
        pp = p.get("place")
        pname = pp.get("name") if isinstance(pp, dict) else None
        if e.get("place"):
            place[1] += 1
            ok = pname is not None and _norm_place(pname) == _norm_place(e["place"])
            if not ok and pp and e.get("place_coords") and pp.get("lat") is not None:
                ok = _km((pp["lat"], pp["lon"]), e["place_coords"]) <= 25.0
            place[0] += ok
        else:
            place_null += 1
            place_false += pname is not None
        if e.get("deadline"):
            deadline[1] += 1
            deadline[0] += p.get("deadline") == e["deadline"]
        elif p.get("deadline"):
            deadline_false += 1
        if e["intent"] == "question" and e.get("topic"):
            topic[1] += 1
            topic[0] += p.get("topic") == e["topic"]
    f1s = []
    for c in INTENTS:
        tp = conf[c][c]
        f1s.append(_f1(tp, sum(conf[g][c] for g in INTENTS) - tp, sum(conf[c].values()) - tp))
    return {
        "intent_accuracy": sum(conf[c][c] for c in INTENTS) / max(1, len(gold)),
        "intent_macro_f1": sum(f1s) / len(f1s),
        "item_f1": _f1(*items),
        "capability_f1": _f1(*caps),
        "quantity_accuracy": qty[0] / qty[1] if qty[1] else 1.0,
        "place_accuracy": place[0] / place[1] if place[1] else 1.0,
        "place_false_rate": place_false / place_null if place_null else 0.0,
        "deadline_accuracy": deadline[0] / deadline[1] if deadline[1] else 1.0,
        "deadline_false": deadline_false,
        "topic_accuracy": topic[0] / topic[1] if topic[1] else 1.0,
    }


@pytest.fixture(scope="module")
def recogniser():
    return default_recogniser()


def _load(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_heldout_file_is_well_formed(name):
    gold = _load(name)
    assert len(gold) >= 60
    assert len({g["id"] for g in gold}) == len(gold)
    for g in gold:
        e = g["expected"]
        assert e["intent"] in INTENTS
        if e["intent"] not in ("need", "offer"):  # README: only needs and offers carry items, place, deadline
            assert not e["items"] and not e["capabilities"] and not e["place"] and not e["deadline"], g["id"]
        if e["intent"] == "offer":
            assert e["deadline"] is None, g["id"]
        assert (e["topic"] is not None) == (e["intent"] == "question"), g["id"]
        if e["place"]:
            assert len(e["place_coords"]) == 2, g["id"]


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_heldout_file_scores_above_floors(name, recogniser):
    gold = _load(name)
    lines = [json.dumps({k: g[k] for k in ("id", "channel", "sent_at", "text")}) for g in gold]
    preds = {p["id"]: p for p in analyse_stream(lines, recogniser)}
    m = score(gold, preds)
    floors = FLOORS[name]
    short = [f"{k} {m[k]:.3f} < {v}" for k, v in floors.items() if not k.startswith("max_") and m[k] < v]
    if m["deadline_false"] > floors["max_deadline_false"]:
        short.append(f"deadline_false {m['deadline_false']} > {floors['max_deadline_false']}")
    if m["place_false_rate"] > floors["max_place_false_rate"]:
        short.append(f"place_false_rate {m['place_false_rate']:.3f} > {floors['max_place_false_rate']}")
    assert not short, f"{name}: " + "; ".join(short)


def test_local_metrics_agree_with_a_hand_count():
    gold = [
        {"id": "a", "expected": {"intent": "need", "items": [{"item": "gown", "quantity": 5}], "capabilities": [],
                                 "place": None, "deadline": "2020-04-03", "topic": None}},
        {"id": "b", "expected": {"intent": "question", "items": [], "capabilities": [], "place": None,
                                 "deadline": None, "topic": "legal"}},
    ]
    preds = {"a": {"intent": "need", "items": [{"item": "gown", "quantity": 4}, {"item": "face_shield"}],
                   "capabilities": [], "place": None, "deadline": "2020-04-03"},
             "b": {"intent": "question", "topic": "sanitary"}}
    m = score(gold, preds)
    assert m["intent_accuracy"] == 1.0
    assert m["item_f1"] == pytest.approx(2 / 3)
    assert m["quantity_accuracy"] == 0.0
    assert m["deadline_accuracy"] == 1.0
    assert m["topic_accuracy"] == 0.0
