"""The default catalogue (items, capabilities, risk categories) and its seeding into the database."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.models import Capability, Item, RiskCategory

DATA_DIR = Path(__file__).resolve().parent / "data"

# Which capabilities make which item: used to match an offer of capacity to a need of items.
MADE_WITH: dict[str, list[str]] = {
    "door_opener": ["3d_printing", "laser_cutting", "cnc"],
    "ear_saver": ["3d_printing", "laser_cutting", "injection_molding"],
    "fabric_mask": ["sewing", "materials"],
    "face_shield": ["3d_printing", "laser_cutting", "injection_molding", "materials"],
    "gown": ["sewing", "materials"],
    "intubation_box": ["laser_cutting", "cnc"],
    "valve_adapter": ["3d_printing"],
    "spare_part": ["3d_printing", "cnc", "electronics"],
    "nasal_swab": ["3d_printing", "injection_molding"],
    "ventilator": ["electronics"],
    "hand_sanitizer": ["materials"],
}


@lru_cache(maxsize=1)
def default_catalog() -> dict[str, Any]:
    return json.loads((DATA_DIR / "catalog.json").read_text(encoding="utf-8"))


def seed(session: Session) -> int:
    """Insert the default catalogue rows that are missing; never overwrite what the authority changed.
    Idempotent, and safe when several processes start at once: a row another process inserted first is
    skipped."""
    data = default_catalog()
    added = 0
    for cat in data["risk_categories"]:
        if session.get(RiskCategory, cat["id"]) is None:
            added += _insert(session, RiskCategory(id=cat["id"], name_fr=cat["name"]["fr"],
                                                   name_en=cat["name"]["en"]))
    for entry in data["items"]:
        if session.get(Item, entry["id"]) is None:
            added += _insert(session, Item(
                id=entry["id"], name_fr=entry["name"]["fr"], name_en=entry["name"]["en"],
                synonyms=entry.get("synonyms", {}), category=entry.get("category"),
                made_with=entry.get("made_with") or MADE_WITH.get(entry["id"], []),
            ))
    for entry in data["capabilities"]:
        if session.get(Capability, entry["id"]) is None:
            added += _insert(session, Capability(id=entry["id"], name_fr=entry["name"]["fr"],
                                                 name_en=entry["name"]["en"], synonyms=entry.get("synonyms", {})))
    return added


def _insert(session: Session, row: Any) -> int:
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return 0
    return 1


def load_names(session: Session) -> dict[str, Any]:
    items = {i.id: {"fr": i.name_fr, "en": i.name_en} for i in session.exec(select(Item))}
    caps = {c.id: {"fr": c.name_fr, "en": c.name_en} for c in session.exec(select(Capability))}
    cats = {c.id: {"fr": c.name_fr, "en": c.name_en} for c in session.exec(select(RiskCategory))}
    return {"items": items, "capabilities": caps, "categories": cats}
