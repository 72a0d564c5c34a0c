"""Exports for authorities: needs, offers and capacity by department, as CSV or GeoJSON.

People appear only as stable pseudonymous ids (``core.privacy.pseudonym``), and coordinates are rounded
to 0.01 degree (about a kilometre), unless the person exporting is an admin, who also gets names and
exact coordinates. Free text is never exported.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

from sqlmodel import Session, func, select

from core import areas, matching, permissions
from core.commands import command
from core.errors import Refused
from core.hub import local_date, need_ref, offer_ref
from core.models import Capability, Need, NeedLine, Offer, Person, Role

KINDS = ("needs", "offers", "capacity")
FORMATS = ("csv", "geojson")

NEED_COLUMNS = [
    "ref",
    "status",
    "category",
    "created",
    "deadline",
    "facility",
    "place",
    "department",
    "region",
    "lat",
    "lon",
    "item",
    "quantity",
    "committed",
    "delivered",
    "remaining",
    "requester",
]
OFFER_COLUMNS = [
    "ref",
    "status",
    "created",
    "updated",
    "place",
    "department",
    "region",
    "lat",
    "lon",
    "capabilities",
    "items",
    "capacity_per_day",
    "maker",
]
CAPACITY_COLUMNS = [
    "department",
    "name",
    "region",
    "lat",
    "lon",
    "makers",
    "offers",
    "daily_capacity",
    "open_units",
    "committed_share",
]


def pseudonym(person_id: int | None) -> str:
    from core.privacy import pseudonym as _pseudonym

    return _pseudonym(person_id)


def _coord(value: float | None, exact: bool) -> float | None:
    if value is None:
        return None
    return value if exact else round(value, 2)


def _names(s: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {p.id: p.display_name for p in s.exec(select(Person).where(Person.id.in_(sorted(ids))))}


def needs_rows(s: Session, *, names: bool = False) -> list[dict[str, Any]]:
    """One row per need line, every status."""
    needs = {n.id: n for n in s.exec(select(Need).order_by(Need.id))}
    who = _names(s, {n.requester_id for n in needs.values()}) if names else {}
    rows = []
    for line in s.exec(select(NeedLine).order_by(NeedLine.need_id, NeedLine.id)):
        n = needs.get(line.need_id)
        if n is None:
            continue
        row = {
            "ref": need_ref(n.id),
            "status": n.status,
            "category": n.category,
            "created": n.created_at.isoformat() if n.created_at else None,
            "deadline": n.deadline.isoformat() if n.deadline else None,
            "facility": n.facility,
            "place": n.place_name,
            "department": n.department,
            "region": areas.region_of_department(n.department),
            "lat": _coord(n.lat, names),
            "lon": _coord(n.lon, names),
            "item": line.item_id,
            "quantity": line.quantity,
            "committed": line.committed,
            "delivered": line.delivered,
            "remaining": max(line.quantity - line.committed, 0) if line.quantity is not None else None,
            "requester": pseudonym(n.requester_id),
        }
        if names:
            row["requester_name"] = who.get(n.requester_id)
        rows.append(row)
    return rows


def offers_rows(s: Session, *, names: bool = False) -> list[dict[str, Any]]:
    offers = list(s.exec(select(Offer).order_by(Offer.id)))
    who = _names(s, {o.maker_id for o in offers}) if names else {}
    rows = []
    for o in offers:
        row = {
            "ref": offer_ref(o.id),
            "status": o.status,
            "created": o.created_at.isoformat() if o.created_at else None,
            "updated": o.updated_at.isoformat() if o.updated_at else None,
            "place": o.place_name,
            "department": o.department,
            "region": areas.region_of_department(o.department),
            "lat": _coord(o.lat, names),
            "lon": _coord(o.lon, names),
            "capabilities": "|".join(o.capabilities or []),
            "items": "|".join(f"{i.get('item')}:{i.get('quantity') or ''}" for i in o.items or []),
            "capacity_per_day": o.capacity_per_day,
            "maker": pseudonym(o.maker_id),
        }
        if names:
            row["maker_name"] = who.get(o.maker_id)
        rows.append(row)
    return rows


def capability_ids(s: Session) -> list[str]:
    return [c.id for c in s.exec(select(Capability).order_by(Capability.id))]


def capacity_rows(s: Session) -> list[dict[str, Any]]:
    """One row per department with active offers; the point is the mean of the offers' coordinates."""
    centres = {
        dep: (lat, lon)
        for dep, lat, lon in s.exec(
            select(Offer.department, func.avg(Offer.lat), func.avg(Offer.lon))
            .where(Offer.status == "active", Offer.lat.is_not(None))
            .group_by(Offer.department)
        )
    }
    caps = capability_ids(s)
    rows = []
    for r in matching.capacity(s):
        lat, lon = centres.get(r["department"] if r["department"] != "?" else None, (None, None))
        row = {
            k: r[k]
            for k in (
                "department",
                "name",
                "region",
                "makers",
                "offers",
                "daily_capacity",
                "open_units",
                "committed_share",
            )
        }
        row["lat"] = round(float(lat), 4) if lat is not None else None
        row["lon"] = round(float(lon), 4) if lon is not None else None
        for c in caps:
            row[f"cap_{c}"] = r["capabilities"].get(c, 0)
        rows.append(row)
    return rows


def _safe_cell(value: Any) -> Any:
    """Keep spreadsheets from running user text as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _safe_cell(row.get(k)) for k in columns})
    return out.getvalue()


def to_geojson(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    features = []
    for row in rows:
        lat, lon = row.get("lat"), row.get("lon")
        geometry = (
            {"type": "Point", "coordinates": [lon, lat]} if lat is not None and lon is not None else None
        )
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {k: row.get(k) for k in columns if k not in ("lat", "lon")},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def columns_for(s: Session, what: str, names: bool) -> list[str]:
    if what == "needs":
        return NEED_COLUMNS + (["requester_name"] if names else [])
    if what == "offers":
        return OFFER_COLUMNS + (["maker_name"] if names else [])
    return CAPACITY_COLUMNS + [f"cap_{c}" for c in capability_ids(s)]


def export(s: Session, what: str, fmt: str, *, names: bool = False) -> tuple[str, int]:
    """The export as text, and its number of rows."""
    if what == "needs":
        rows = needs_rows(s, names=names)
    elif what == "offers":
        rows = offers_rows(s, names=names)
    else:
        rows = capacity_rows(s)
    columns = columns_for(s, what, names)
    if fmt == "csv":
        return to_csv(rows, columns), len(rows)
    return json.dumps(to_geojson(rows, columns), ensure_ascii=False, separators=(",", ":")), len(rows)


# What a chat platform accepts as one uploaded file (Telegram: 50 MB for a bot's document; Discord: 8 MB
# is the smallest limit a DM or a server without boosts has had). Other platforms (the console) take
# the smaller one.
FILE_LIMITS = {"telegram": 50_000_000, "discord": 8_000_000}
EXTENSIONS = {"csv": "csv", "geojson": "geojson"}


def file_name(what: str, fmt: str, day: date) -> str:
    """``relais-needs-2020-03-23.csv``."""
    return f"relais-{what}-{day.isoformat()}.{EXTENSIONS[fmt]}"


def export_file(s: Session, what: str, fmt: str, *, names: bool = False) -> tuple[bytes, int]:
    """The export as a file's bytes (UTF-8; a CSV starts with a byte order mark so that spreadsheets
    read its accents right), and its number of rows."""
    text, count = export(s, what, fmt, names=names)
    return (text.encode("utf-8-sig") if fmt == "csv" else text.encode("utf-8")), count


def file_limit(platform: str, setting: int | None = None) -> int:
    """The largest export file sent on ``platform``; ``setting`` (RELAIS_EXPORT_MAX_BYTES) may lower it."""
    limit = FILE_LIMITS.get(platform, min(FILE_LIMITS.values()))
    return min(limit, setting) if setting else limit


@command("export", "exporter")
def cmd_export(ctx, args: str) -> None:
    """``/export needs|offers|capacity csv|geojson``: the file goes to the person in a direct conversation
    (asked in a public channel, the channel only gets a short note), with a short description."""
    parts = args.lower().split()
    aliases = {"besoins": "needs", "offres": "offers", "capacite": "capacity", "capacité": "capacity"}
    what = aliases.get(parts[0], parts[0]) if parts else None
    fmt = parts[1] if len(parts) > 1 else "csv"
    if what not in KINDS or fmt not in FORMATS:
        raise Refused("refused/usage", usage="/export needs|offers|capacity csv|geojson")
    names = Role.ADMIN in permissions.roles_of(ctx.s, ctx.person, ctx.community)
    data, count = export_file(ctx.s, what, fmt, names=names)
    limit = file_limit(ctx.person.platform, ctx.hub.settings.export_max_bytes)
    if len(data) > limit:
        raise Refused("refused/export_too_big", what=what, fmt=fmt, count=count, size=len(data), limit=limit,
                      service=ctx.person.platform)
    tz = ctx.community.timezone if ctx.community is not None else ctx.hub.settings.default_timezone
    name = file_name(what, fmt, local_date(ctx.now, tz))
    ctx.audit("data.exported", what, after={"format": fmt, "rows": count, "names": names, "bytes": len(data)})
    ctx.tell(ctx.person, "export_ready", "export", priority=0, file=(name, data), what=what, fmt=fmt,
             count=count, filename=name, size=len(data), named=names)
    if not ctx.private:
        ctx.reply("export_sent", "info")
