"""The domain model, stored with SQLModel. Timestamps are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, MetaData, UniqueConstraint
from sqlmodel import Field, SQLModel

# A naming convention before the first migration keeps constraint names stable
# across SQLite and PostgreSQL (and makes batch migrations possible on SQLite).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


class NeedStatus:
    OPEN = "open"
    PARTLY_COVERED = "partly_covered"
    COVERED = "covered"
    DELIVERED = "delivered"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    ACTIVE = (OPEN, PARTLY_COVERED, COVERED)


class Role:
    CAREGIVER = "caregiver"  # a requester: caregiver, facility, town hall
    MAKER = "maker"
    MODERATOR = "moderator"
    CONTACT = "contact"
    ADMIN = "admin"
    ALL = (CAREGIVER, MAKER, MODERATOR, CONTACT, ADMIN)


class Person(SQLModel, table=True):
    """A platform identity. Only platform ids and display names are kept."""

    __table_args__ = (UniqueConstraint("platform", "platform_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    platform_id: str = Field(max_length=64)
    display_name: str = Field(max_length=100)
    language: str = Field(default="fr", max_length=5)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    privacy_notice_at: datetime | None = None
    notify_needs: bool = True


class RoleGrant(SQLModel, table=True):
    """A role held by a person, optionally restricted to one community."""

    __table_args__ = (UniqueConstraint("person_id", "role", "community_id"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=16)
    community_id: int | None = Field(default=None, foreign_key="community.id")
    granted_at: datetime = Field(default_factory=utcnow)


class Community(SQLModel, table=True):
    """A Discord server or a Telegram group, with its own language, clock and channels."""

    __table_args__ = (UniqueConstraint("platform", "platform_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    platform_id: str = Field(max_length=64)
    name: str = Field(default="", max_length=100)
    language: str = Field(default="fr", max_length=5)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    briefing_time: str = Field(default="08:00", max_length=5)
    briefing_channel: str | None = Field(default=None, max_length=64)
    briefing_thread: str | None = Field(default=None, max_length=64)  # a topic of briefing_channel (Telegram forum)
    needs_channel: str | None = Field(default=None, max_length=64)
    intake_channels: list[str] = Field(default_factory=list, sa_type=JSON)
    reply_in_dm: bool = False
    radius_km: float = 50.0
    region: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Item(SQLModel, table=True):
    """A catalogue item: what is made or supplied, in a risk category."""

    id: str = Field(primary_key=True, max_length=64)
    name_fr: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    synonyms: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    made_with: list[str] = Field(default_factory=list, sa_type=JSON)
    category: int | None = Field(default=None, foreign_key="riskcategory.id")
    active: bool = True


class Capability(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name_fr: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    synonyms: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class RiskCategory(SQLModel, table=True):
    """A danger level set by the health authority; guidance lives in prompts/ unless overridden."""

    id: int = Field(primary_key=True)
    name_fr: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    guidance_fr: str | None = None
    guidance_en: str | None = None


class Design(SQLModel, table=True):
    """A shared design (a file or a plan), with its review status."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500, unique=True)
    name: str = Field(default="", max_length=200)
    item_id: str | None = Field(default=None, foreign_key="item.id")
    version: str | None = Field(default=None, max_length=40)
    licence: str | None = Field(default=None, max_length=60)
    status: str = Field(default="unreviewed", max_length=16)  # unreviewed | validated | withdrawn
    category: int | None = Field(default=None, foreign_key="riskcategory.id")
    note: str | None = Field(default=None, max_length=500)  # why it was withdrawn, or review remarks
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Need(SQLModel, table=True):
    """Equipment asked for by a requester, followed from open to delivered."""

    __table_args__ = (Index("ix_need_lat_lon", "lat", "lon"),
                      # the briefing's counts: open work by age, without reading the rows
                      Index("ix_need_status_created_at", "status", "created_at", "category"))
    id: int | None = Field(default=None, primary_key=True)
    requester_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    community_id: int | None = Field(default=None, foreign_key="community.id")
    platform: str = Field(max_length=16)
    chat: str = Field(max_length=64)
    facility: str | None = Field(default=None, max_length=200)
    place_name: str | None = Field(default=None, max_length=120)
    lat: float | None = None
    lon: float | None = None
    department: str | None = Field(default=None, max_length=3, index=True)
    deadline: date | None = None
    status: str = Field(default=NeedStatus.OPEN, max_length=16, index=True)
    category: int | None = None
    text: str = Field(default="", max_length=4000)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class NeedLine(SQLModel, table=True):
    """One item of a need, with the quantity asked, committed and delivered."""

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    item_id: str = Field(foreign_key="item.id", index=True)
    quantity: int | None = None
    committed: int = 0
    delivered: int = 0


class Offer(SQLModel, table=True):
    """Production capacity, stock or transport offered by a maker."""

    __table_args__ = (Index("ix_offer_lat_lon", "lat", "lon"),
                      Index("ix_offer_created_at_department", "created_at", "department"))  # new offers by department
    id: int | None = Field(default=None, primary_key=True)
    maker_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    community_id: int | None = Field(default=None, foreign_key="community.id")
    platform: str = Field(max_length=16)
    chat: str = Field(max_length=64)
    capabilities: list[str] = Field(default_factory=list, sa_type=JSON)
    items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    capacity_per_day: int | None = None
    place_name: str | None = Field(default=None, max_length=120)
    lat: float | None = None
    lon: float | None = None
    department: str | None = Field(default=None, max_length=3, index=True)
    status: str = Field(default="active", max_length=16, index=True)  # active | paused | withdrawn
    category: int | None = None
    text: str = Field(default="", max_length=4000)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class Commitment(SQLModel, table=True):
    """A maker's promise to make a quantity of one item of a need."""

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    item_id: str = Field(foreign_key="item.id")
    maker_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    offer_id: int | None = Field(default=None, foreign_key="offer.id")
    quantity: int
    delivered: int = 0
    status: str = Field(default="committed", max_length=16)  # committed | delivered | confirmed | cancelled
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    made: int | None = None  # units made so far, as last reported by the maker
    stale_flagged_at: datetime | None = None  # when the maker and requester were told it had gone quiet


class OfferTag(SQLModel, table=True):
    """One thing an offer can fill (an item id or a capability id) at the offer's coordinates: the indexed
    spatial pre-filter of matching. No foreign keys, so erasing or purging never waits on it.
    ``band`` is the offer's latitude strip (core.matching.BAND_DEG); capacity and updated_day (days since
    1970 UTC) are copies of the offer's, so that the covering index alone bounds a row's score. Written only by
    core.matching.index_offer / reindex_offers."""

    __table_args__ = (
        Index("ix_offertag_tag_band_lon", "tag", "band", "lon", "lat", "offer_id", "capacity", "updated_day"),
    )
    offer_id: int = Field(primary_key=True)
    tag: str = Field(primary_key=True, max_length=64)
    lat: float | None = None
    lon: float | None = None
    band: int | None = None
    capacity: int | None = None
    updated_day: float | None = None


class MakerAlert(SQLModel, table=True):
    """A maker told about a need near them: once per need, and counted for the daily cap."""

    __table_args__ = (UniqueConstraint("person_id", "need_id"),
                      Index("ix_makeralert_person_at", "person_id", "at"))
    id: int | None = Field(default=None, primary_key=True)
    person_id: int
    need_id: int
    at: datetime = Field(default_factory=utcnow)


class Proposal(SQLModel, table=True):
    """What the hub understood and waits for its author to confirm (a pending need, offer or question)."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=16)
    chat: str = Field(max_length=64)
    thread: str | None = Field(default=None, max_length=64)  # the topic of chat it was made in (Telegram forum)
    community_id: int | None = Field(default=None, foreign_key="community.id")
    kind: str = Field(max_length=16)  # need | offer | question
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", max_length=16)  # pending | confirmed | dismissed
    created_at: datetime = Field(default_factory=utcnow)


class Dialogue(SQLModel, table=True):
    """The state of a step-by-step conversation, so a restart resumes it."""

    __table_args__ = (UniqueConstraint("person_id", "platform", "chat"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    platform: str = Field(max_length=16)
    chat: str = Field(max_length=64)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow)


class DesignatedContact(SQLModel, table=True):
    """A national contact answering one topic, optionally for one region; rank 0 first, then backups."""

    __table_args__ = (UniqueConstraint("person_id", "topic", "region"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    topic: str = Field(max_length=16)
    region: str | None = Field(default=None, max_length=64)
    rank: int = 0


class Escalation(SQLModel, table=True):
    """A question routed to a designated contact, kept alive until answered."""

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=16, index=True)
    region: str | None = Field(default=None, max_length=64)
    text: str = Field(max_length=4000)
    asker_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    asker_named: bool = False
    community_id: int | None = Field(default=None, foreign_key="community.id")
    platform: str = Field(max_length=16)
    chat: str = Field(max_length=64)
    thread: str | None = Field(default=None, max_length=64)  # the topic of chat asked in: the answer goes there
    status: str = Field(default="open", max_length=16, index=True)  # open | answered | closed
    contact_id: int | None = Field(default=None, foreign_key="person.id")
    routed_at: datetime | None = None  # when the current contact got it: the service-level clock starts here
    reminded_at: datetime | None = None
    handed_over_at: datetime | None = None
    answer: str | None = Field(default=None, max_length=4000)
    answered_by: int | None = Field(default=None, foreign_key="person.id")
    answered_at: datetime | None = None
    public: bool = True
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Briefing(SQLModel, table=True):
    """One morning briefing per community and local date, claimed before it is sent."""

    __table_args__ = (UniqueConstraint("community_id", "local_date"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    local_date: date
    status: str = Field(default="claimed", max_length=16)  # claimed | sent
    claimed_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class OutboxMessage(SQLModel, table=True):
    """A message to send, persisted before it is sent; delivery workers claim and send it."""

    __table_args__ = (Index("ix_outbox_due", "platform", "status", "priority", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    chat: str = Field(max_length=64)
    thread: str | None = Field(default=None, max_length=64)  # a topic inside chat (Telegram forum topic)
    direct: bool = False  # chat is a person's platform id: open a direct conversation
    kind: str = Field(max_length=32)
    title: str | None = Field(default=None, max_length=300)
    text: str
    language: str = Field(default="fr", max_length=5)
    buttons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    attachment: bytes | None = Field(default=None, sa_type=LargeBinary)  # e.g. the briefing's PNG chart
    attachment_name: str | None = Field(default=None, max_length=100)  # its file name ("briefing.png")
    reply_to: str | None = Field(default=None, max_length=64)
    priority: int = 1  # 0: reply to a person's own action, 1: normal, 2: bulk
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = None
    platform_message_id: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class SeenEvent(SQLModel, table=True):
    """Platform events already handled, so a redelivered event is handled once."""

    platform: str = Field(primary_key=True, max_length=16)
    event_id: str = Field(primary_key=True, max_length=128)
    seen_at: datetime = Field(default_factory=utcnow, index=True)


class BlockedChat(SQLModel, table=True):
    """A chat that answered with a permanent error (bot blocked, chat gone): nothing more is sent there."""

    platform: str = Field(primary_key=True, max_length=16)
    chat: str = Field(primary_key=True, max_length=64)
    reason: str = Field(default="", max_length=300)
    at: datetime = Field(default_factory=utcnow)


class GuidanceSent(SQLModel, table=True):
    """When a category's guidance was last posted in a chat (for the cool-down)."""

    platform: str = Field(primary_key=True, max_length=16)
    chat: str = Field(primary_key=True, max_length=64)
    category: int = Field(primary_key=True)
    at: datetime = Field(default_factory=utcnow)


class NoticeSent(SQLModel, table=True):
    """When a notice about one design or flagged claim was last posted in a chat (for the cool-down)."""

    platform: str = Field(primary_key=True, max_length=16)
    chat: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(default_factory=utcnow)


class CatalogReview(SQLModel, table=True):
    """One weekly catalogue review per ISO week ("2020-W13"), claimed before it is sent."""

    week: str = Field(primary_key=True, max_length=10)
    status: str = Field(default="claimed", max_length=16)  # claimed | sent
    claimed_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class FlaggedClaim(SQLModel, table=True):
    """A link or claim a moderator flagged as dubious."""

    id: int | None = Field(default=None, primary_key=True)
    pattern: str = Field(max_length=500, unique=True)
    note: str = Field(default="", max_length=500)
    flagged_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)


class TrustedSource(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500, unique=True)
    label: str = Field(default="", max_length=200)


class GeocodeCache(SQLModel, table=True):
    query: str = Field(primary_key=True, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    lat: float | None = None
    lon: float | None = None
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Who did what, when, with the state before and after."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    action: str = Field(max_length=64)
    subject: str = Field(default="", max_length=120)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class RateCounter(SQLModel, table=True):
    """Messages from one person in the current minute (flood control), and whether they were told."""

    person_id: int = Field(primary_key=True, foreign_key="person.id")
    window_start: datetime = Field(default_factory=utcnow)
    count: int = 0
    warned: bool = False
