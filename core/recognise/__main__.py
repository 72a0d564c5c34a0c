"""python -m core.recognise [--no-places] < corpus.jsonl > predictions.jsonl"""

import json
import sys

from core.recognise import Lexicon, Recogniser, analyse_stream, default_recogniser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rec = Recogniser(Lexicon.default()) if "--no-places" in argv else default_recogniser()
    for pred in analyse_stream(sys.stdin, rec):
        sys.stdout.write(json.dumps(pred, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
