"""The ``relais`` command: the composition root of every process."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from core.settings import Settings


def _hub(settings: Settings, clock=None):
    from core.db import Database, upgrade
    from core.hub import Hub

    upgrade(settings.database_url)
    return Hub(Database(settings.database_url), settings=settings, clock=clock)


def cmd_db(args, settings: Settings) -> int:
    from core import catalog
    from core.db import Database, downgrade, upgrade

    if args.action == "upgrade":
        upgrade(settings.database_url, args.revision)
        db = Database(settings.database_url)
        with db.session() as s:
            added = catalog.seed(s)
        db.dispose()
        print(f"database at {args.revision}; {added} default catalogue rows added")
    else:
        downgrade(settings.database_url, args.revision)
        print(f"database downgraded to {args.revision}")
    return 0


def cmd_demo(args, settings: Settings) -> int:
    from relais.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="relais-demo-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        settings = settings.model_copy(update={"database_url": url, "default_language": args.lang})
        return run_demo(settings, sys.stdout, as_json=args.json)


def cmd_console(args, settings: Settings) -> int:
    from core.ports import FakeClock
    from relais.console import Console

    if args.lang:
        settings = settings.model_copy(update={"default_language": args.lang})
    clock = FakeClock(datetime.now(UTC))
    hub = _hub(settings, clock)
    console = Console(hub, sys.stdout, as_json=args.json, echo=not args.json)
    return console.run(sys.stdin)


def cmd_analyse(args, settings: Settings) -> int:
    import json

    from core.places import Gazetteer
    from core.recognise import Lexicon, Recogniser, analyse_stream

    recogniser = Recogniser(Lexicon.default(), gazetteer=Gazetteer.default())
    source = open(args.file, encoding="utf-8") if args.file and args.file != "-" else sys.stdin
    with source:
        for prediction in analyse_stream(source, recogniser):
            sys.stdout.write(json.dumps(prediction, ensure_ascii=False) + "\n")
    return 0


def cmd_run(args, settings: Settings) -> int:
    missing = settings.missing_for_run()
    if missing and args.only != "scheduler":
        print("relais run: no bot is configured. Set at least one of: " + ", ".join(missing)
              + " (environment or .env). Optional: RELAIS_DATABASE_URL, RELAIS_TELEGRAM_API_BASE_URL, "
              "RELAIS_DISCORD_REST_BASE_URL, RELAIS_DISCORD_GATEWAY_URL.", file=sys.stderr)
        return 2
    from relais.runner import run

    return run(settings, only=args.only)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relais", description="Relais crisis coordination hub")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade"])
    db.add_argument("revision", nargs="?", default=None)

    demo = sub.add_parser("demo", help="run a scripted crisis on a throwaway database")
    demo.add_argument("--lang", choices=["fr", "en"], default="fr")
    demo.add_argument("--json", action="store_true", help="one JSON object per outbound message")

    console = sub.add_parser("console", help="chat with the hub in the terminal")
    console.add_argument("--json", action="store_true", help="one JSON object per outbound message")
    console.add_argument("--lang", choices=["fr", "en"])

    analyse = sub.add_parser("analyse", help="recognise corpus-format JSON lines")
    analyse.add_argument("file", nargs="?", default="-")

    run = sub.add_parser("run", help="start the configured bots and the scheduler")
    run.add_argument("--only", choices=["telegram", "discord", "scheduler"], default=None,
                     help="start one process kind (as in the Procfile); default: everything configured")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    if args.command == "db":
        args.revision = args.revision or ("head" if args.action == "upgrade" else "base")
    handlers = {"db": cmd_db, "demo": cmd_demo, "console": cmd_console, "analyse": cmd_analyse, "run": cmd_run}
    return handlers[args.command](args, settings)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
