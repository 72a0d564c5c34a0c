"""Regenerate migrations/versions/0001_initial_schema.py from the current models.

Only while Relais has no deployed database (before the first release): afterwards migrations are
append-only and each schema change gets its own revision (`alembic revision --autogenerate`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from core.db import alembic_config

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def main() -> None:
    target = VERSIONS / "0001_initial_schema.py"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{tmp}/empty.db")
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    print(f"regenerated {target}")


if __name__ == "__main__":
    main()
