"""A chat that changes its id: a Telegram group becomes a supergroup (``migrate_to_chat_id``).

Everything the core keeps under the old id moves to the new one in the caller's transaction: the
community, the channels that name the chat, where needs, offers, proposals, tickets and dialogues were
written (their follow-ups go there), the messages still waiting in the outbox, the cool-downs and a
block. The tables are found from the models (a ``platform`` + ``chat`` pair, a foreign key to
``community.id``), so a table added later moves too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Table, UniqueConstraint, and_, delete, exists, select, update
from sqlmodel import Session

from core.models import AuditEntry, Community, OutboxMessage, metadata

__all__ = ["briefing_place", "migrate_chat"]

_COMMUNITY_ID = Community.__table__.c.id


def briefing_place(community: Community) -> tuple[str, str | None]:
    """Where a community's briefing goes: its briefing channel (in the topic set with it, e.g. by
    ``/reglages salon_point ici`` in a Telegram forum topic), else its own chat."""
    if community.briefing_channel:
        return community.briefing_channel, community.briefing_thread
    return community.platform_id, None


def _unique_sets(table: Table) -> list[list[str]]:
    """The column sets of ``table`` that must stay unique (primary key, constraints, unique indexes)."""
    sets = [[c.name for c in table.primary_key.columns]]
    sets += [[c.name for c in con.columns] for con in table.constraints if isinstance(con, UniqueConstraint)]
    sets += [[c.name for c in ix.columns] for ix in table.indexes if isinstance(ix, Index) and ix.unique]
    return sets


def _move(conn, table: Table, column: str, old: Any, new: Any, *where) -> int:
    """Set ``column`` from ``old`` to ``new`` in the rows matching ``where``; a row that would then
    collide with a row already at ``new`` (same values in a unique set holding ``column``) is dropped:
    the one at ``new`` is kept."""
    col = table.c[column]
    scope = [c for c in where]
    for names in _unique_sets(table):
        if column not in names:
            continue
        twin = table.alias("twin")
        same = [twin.c[n] == table.c[n] for n in names if n != column]
        conn.execute(delete(table).where(col == old, *scope, exists().where(twin.c[column] == new, *same)))
    return conn.execute(update(table).where(col == old, *scope).values({column: new})).rowcount or 0


def migrate_chat(s: Session, platform: str, old: str, new: str, now: datetime) -> dict[str, Any] | None:
    """Move what the core keeps under chat ``old`` of ``platform`` to ``new``; what moved, or None when
    nothing was left under ``old`` (a second delivery of the same migration changes nothing).

    When a community already exists under the new id (someone addressed the bot in the supergroup before
    the migration reached the core), the old chat's community is kept: it holds the settings, roles and
    history. Whatever points at the newer one (needs, offers, tickets, role grants, briefings...) moves
    to the kept one, except what the kept one has already (the same role, a briefing of the same date),
    and the newer one is deleted. One audit entry records the move."""
    old, new = str(old), str(new)
    if old == new:
        return None
    conn = s.connection()
    s.flush()
    c = Community.__table__.c
    kept = conn.execute(select(c.id).where(c.platform == platform, c.platform_id == old)
                        .with_for_update()).scalar()
    newer = conn.execute(select(c.id).where(c.platform == platform, c.platform_id == new)
                         .with_for_update()).scalar()
    moved: dict[str, int] = {}
    merged = None
    if kept is not None:
        if newer is not None:
            for table in metadata.sorted_tables:
                for fk in table.foreign_keys:
                    if fk.column is _COMMUNITY_ID:
                        n = _move(conn, table, fk.parent.name, newer, kept)
                        if n:
                            moved[f"{table.name}.{fk.parent.name}"] = n
            conn.execute(delete(Community.__table__).where(c.id == newer))
            merged = newer
        conn.execute(update(Community.__table__).where(c.id == kept).values(platform_id=new))
    # The channels of any community that name the old chat.
    channels = 0
    for com in conn.execute(select(c.id, c.briefing_channel, c.needs_channel, c.intake_channels)
                            .where(c.platform == platform)).all():
        values: dict[str, Any] = {}
        if com.briefing_channel == old:
            values["briefing_channel"] = new
        if com.needs_channel == old:
            values["needs_channel"] = new
        intake = list(com.intake_channels or [])
        if old in intake:
            values["intake_channels"] = list(dict.fromkeys(new if ch == old else ch for ch in intake))
        if values:
            conn.execute(update(Community.__table__).where(c.id == com.id).values(**values))
            channels += 1
    if channels:
        moved["community.channels"] = channels
    # Rows written in the chat or waiting to go there.
    outbox = OutboxMessage.__table__
    for table in metadata.sorted_tables:
        if "platform" not in table.c or "chat" not in table.c:
            continue
        where = [table.c.platform == platform]
        if table is outbox:  # only what is still to be sent; a message to a person is not in the chat
            where += [table.c.status == "pending", table.c.direct == False]
        n = _move(conn, table, "chat", old, new, and_(*where))
        if n:
            moved[table.name] = n
    if kept is None and not moved:
        return None
    summary = {"platform": platform, "from": old, "to": new, "community": kept, "merged": merged,
               "moved": moved}
    s.add(AuditEntry(at=now, actor_id=None, action="chat.migrated",
                     subject=f"community:{kept}" if kept is not None else f"{platform}:{old}",
                     before={"chat": old}, after=summary))
    return summary
