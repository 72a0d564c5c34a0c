"""The hub: platform-neutral messages in, outbound messages out, everything stored."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core import catalog, permissions
from core.db import Database, upsert_insert
from core.errors import BadInput, Refused
from core.messages import KINDS, Action, Button, Form, Identity, Inbound, Outbound
from core.models import (
    BlockedChat,
    Community,
    Dialogue,
    Need,
    NeedLine,
    OutboxMessage,
    Person,
    Proposal,
    RateCounter,
    SeenEvent,
    utcnow,
)
from core.ports import Clock, SystemClock
from core.settings import Settings
from core.templates import Renderer
from core.text import clean, redact_contacts

log = logging.getLogger(__name__)

COMMAND_RE = re.compile(r"^/(?P<name>[A-Za-zÀ-ÿ_]{1,32})(?:@\w+)?(?:\s+(?P<args>.*))?$", re.S)

# The statements every inbound event runs, built once with bound parameters: building a statement costs
# more Python time than SQLite takes to run it.
_PERSON = select(Person).where(Person.platform == bindparam("platform"), Person.platform_id == bindparam("pid"))
_COMMUNITY = select(Community).where(Community.platform == bindparam("platform"),
                                     Community.platform_id == bindparam("pid"))
# Who writes, where, in one statement: the person, the community, whether the chat is blocked and whether a
# step-by-step dialogue is open there (a person not found yet goes the slower way, creating rows).
_ARRIVAL = (sa_select(Person, Community,
                      exists().where(BlockedChat.platform == bindparam("platform"), BlockedChat.chat == bindparam("chat")),
                      exists().where(Dialogue.person_id == Person.id, Dialogue.platform == bindparam("platform"),
                                     Dialogue.chat == bindparam("chat")))
            .outerjoin(Community, and_(Community.platform == bindparam("platform"),
                                       Community.platform_id == bindparam("community")))
            .where(Person.platform == bindparam("person_platform"), Person.platform_id == bindparam("pid")))
_UNBLOCK = delete(BlockedChat).where(BlockedChat.platform == bindparam("platform"),
                                     BlockedChat.chat == bindparam("chat"))
_COUNTS: dict[str, Any] = {}  # dialect name → the flood counter's INSERT ... ON CONFLICT DO UPDATE RETURNING
_OUTBOX = insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True)
_SEEN: dict[str, Any] = {}  # dialect name → INSERT ... ON CONFLICT DO NOTHING RETURNING


def _count_statement(dialect: str):
    """Count a person's message: a new minute starts a new window; their first message inserts the counter
    (one statement, also when two processes count the same new person at once)."""
    stmt = _COUNTS.get(dialect)
    if stmt is None:
        dialect_insert = upsert_insert(dialect)
        when = RateCounter.__table__.c.window_start.type
        new_window = RateCounter.window_start <= bindparam("cutoff", type_=when)
        stmt = _COUNTS[dialect] = (
            dialect_insert(RateCounter)
            .values(person_id=bindparam("pid"), window_start=bindparam("now", type_=when), count=1, warned=False)
            .on_conflict_do_update(index_elements=["person_id"], set_={
                "window_start": case((new_window, bindparam("now", type_=when)), else_=RateCounter.window_start),
                "count": case((new_window, 1), else_=RateCounter.count + 1),
                "warned": case((new_window, False), else_=RateCounter.warned),
            }).returning(RateCounter.count, RateCounter.warned))
    return stmt


def _seen_statement(dialect: str):
    stmt = _SEEN.get(dialect)
    if stmt is None:
        dialect_insert = upsert_insert(dialect)
        stmt = _SEEN[dialect] = (
            dialect_insert(SeenEvent)
            .values(platform=bindparam("platform"), event_id=bindparam("event_id"), seen_at=bindparam("seen_at"))
            .on_conflict_do_nothing(index_elements=["platform", "event_id"]).returning(SeenEvent.platform))
    return stmt


@dataclass
class Ctx:
    """One inbound event being handled: the open transaction, who acts, where, and what to say."""

    hub: Hub
    s: Session
    now: datetime
    person: Person
    platform: str
    chat: str
    chat_kind: str
    community: Community | None
    lang: str
    event_id: str
    reply_to: str | None = None
    location: tuple[float, float] | None = None
    thread: str | None = None  # the topic of ``chat`` the event came from (a Telegram forum topic)
    out: list[Outbound] = field(default_factory=list)
    catalog_changed: bool = False
    dialogue_open: bool | None = None  # whether a dialogue was open in this chat as the event arrived (None: ask)

    @property
    def private(self) -> bool:
        return self.chat_kind == "private"

    def reply(self, template: str, kind: str, *, buttons: tuple[Button, ...] = (), **context: Any) -> None:
        """Answer in the chat the event came from, in its topic (a reply to the person's own action)."""
        self.out.append(self.hub.compose(
            platform=self.platform, chat=self.chat, kind=kind, template=template, language=self.lang,
            context=context, buttons=buttons, reply_to=self.reply_to, priority=0,
            public=not self.private, label=self.label_here(), thread=self.thread,
        ))

    def tell(self, person: Person, template: str, kind: str, *, buttons: tuple[Button, ...] = (),
             priority: int = 1, file: tuple[str, bytes] | None = None, **context: Any) -> None:
        """Write to a person directly, on their own platform and in their language (``file``: a name and
        the bytes of a file sent with it)."""
        self.out.append(self.hub.compose_direct(person, template, kind, context, buttons=buttons,
                                                priority=priority, file=file))

    def post(self, platform: str, chat: str, template: str, kind: str, language: str, *,
             buttons: tuple[Button, ...] = (), priority: int = 1, thread: str | None = None,
             **context: Any) -> None:
        """Post in a public channel or group (in one of its topics with ``thread``)."""
        self.out.append(self.hub.compose(
            platform=platform, chat=chat, kind=kind, template=template, language=language,
            context=context, buttons=buttons, priority=priority, public=True, label=f"{platform}:#{chat}",
            thread=thread,
        ))

    def label_here(self) -> str:
        if self.private:
            return f"{self.platform}:@{self.person.display_name}"
        return f"{self.platform}:#{self.chat}"

    def audit(self, action: str, subject: str = "", before: dict | None = None, after: dict | None = None) -> None:
        from core.models import AuditEntry

        self.s.add(AuditEntry(at=self.now, actor_id=self.person.id, action=action, subject=subject,
                              before=before, after=after))


class Hub:
    """Coordinates needs, offers, guidance, escalations and briefings; knows no chat platform."""

    def __init__(self, db: Database, *, settings: Settings | None = None, clock: Clock | None = None,
                 renderer: Renderer | None = None, places: Any = None, recogniser: Any = None,
                 online_geocoder: Any = None):
        self.db = db
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        self.renderer = renderer or Renderer()
        self._places = places
        self._online_geocoder = online_geocoder  # tests pass a fake; None means Nominatim when enabled
        self._locator = None
        self._recogniser = recogniser
        self._catalog_version = 0
        self._recogniser_version = -1
        self.refresh_catalog()

    # ------------------------------------------------------------------ set-up

    def refresh_catalog(self) -> None:
        """Seed missing default catalogue rows and reload names (after any catalogue change)."""
        with self.db.session() as s:
            catalog.seed(s)
            names = catalog.load_names(s)
        self.renderer.set_names(**names)
        self._catalog_version += 1

    def locate(self, s: Session, query: str):
        """A place someone typed ("st etienne", "69003"): offline first, online only when configured."""
        if self._locator is None:
            from core.geocode import Locator

            self._locator = Locator(self.places, online=self.settings.geocoder_online,
                                    user_agent=self.settings.geocoder_user_agent,
                                    online_geocoder=self._online_geocoder)
        return self._locator.locate(s, query)

    @property
    def places(self):
        if self._places is None:
            from core.places import Gazetteer

            self._places = Gazetteer.default()
        return self._places

    @property
    def recogniser(self):
        if self._recogniser is None or self._recogniser_version != self._catalog_version:
            from core.models import Capability, Item
            from core.recognise import LexEntry, Lexicon, Recogniser

            with self.db.session() as s:
                items = [LexEntry(i.id, {"fr": i.name_fr, "en": i.name_en}, dict(i.synonyms or {}))
                         for i in s.exec(select(Item).where(Item.active == True))]  # noqa: E712
                caps = [LexEntry(c.id, {"fr": c.name_fr, "en": c.name_en}, dict(c.synonyms or {}))
                        for c in s.exec(select(Capability))]
            self._recogniser = Recogniser(Lexicon.from_entries(items, caps), gazetteer=self.places)
            self._recogniser_version = self._catalog_version
        return self._recogniser

    @property
    def threshold(self) -> float:
        if self.settings.recognition_threshold is not None:
            return self.settings.recognition_threshold
        from core.recognise import DEFAULT_THRESHOLD

        return DEFAULT_THRESHOLD

    # ------------------------------------------------------------------ composing

    def compose(self, *, platform: str, chat: str, kind: str, template: str, language: str,
                context: dict[str, Any], buttons: tuple[Button, ...] = (), direct: bool = False,
                reply_to: str | None = None, priority: int = 1, public: bool = False,
                label: str = "", thread: str | None = None,
                file: tuple[str, bytes] | None = None) -> Outbound:
        """Render ``template`` into an outbound message; ``file`` is a name and the bytes of a file sent
        with it (an export, a chart)."""
        if kind not in KINDS:
            raise ValueError(f"undocumented outbound kind {kind!r}: add it to core.messages.KINDS and the README")
        rendered = self.renderer.render(template, language, **context)
        text = rendered.text
        if public:
            text = redact_contacts(text)
        return Outbound(platform=platform, chat=chat, kind=kind, text=text, title=rendered.title,
                        language=language, template=template, context=context, buttons=buttons,
                        direct=direct, reply_to=reply_to, priority=priority, label=label,
                        thread=None if direct else thread, attachment_name=file[0] if file else None,
                        attachment=file[1] if file else None)

    def compose_direct(self, person: Person, template: str, kind: str, context: dict[str, Any], *,
                       buttons: tuple[Button, ...] = (), priority: int = 1,
                       file: tuple[str, bytes] | None = None) -> Outbound:
        """A message to a person directly, on their own platform and in their language."""
        return self.compose(platform=person.platform, chat=person.platform_id, kind=kind, template=template,
                            language=person.language, context=context, buttons=buttons, direct=True,
                            priority=priority, label=f"{person.platform}:@{person.display_name}", file=file)

    def _persist(self, s: Session, outs: list[Outbound], claim: tuple[str, str] | None = None) -> None:
        """Every outbound message goes into the outbox in the same transaction as what caused it.

        ``claim`` = (chat, worker): replies in that chat are stored already claimed by that worker, for
        a bot that sends them itself as the answer to an interaction."""
        if not outs:
            return
        rows = []
        now = self.clock.now()
        for o in outs:
            if claim is not None and o.priority == 0 and not o.direct and o.chat == claim[0]:
                o.claimed = True
            rows.append(dict(
                platform=o.platform, chat=o.chat, thread=o.thread, direct=o.direct, kind=o.kind, title=o.title, text=o.text,
                language=o.language, buttons=[{"label": b.label, "action": b.action, "style": b.style}
                                              for b in o.buttons],
                attachment=o.attachment, attachment_name=o.attachment_name,
                reply_to=o.reply_to, priority=o.priority, status="sending" if o.claimed else "pending",
                attempts=0, next_attempt_at=now, claimed_at=now if o.claimed else None,
                claimed_by=claim[1] if o.claimed and claim else None, sent_at=None, platform_message_id=None,
                error=None, created_at=now,
            ))
        # A plain INSERT ... RETURNING (one statement for all rows): no ORM objects to build and flush.
        ids = s.connection().execute(_OUTBOX, rows if len(rows) > 1 else rows[0]).scalars().all()
        for o, outbox_id in zip(outs, ids):
            o.outbox_id = outbox_id

    # ------------------------------------------------------------------ entry points

    def receive(self, msg: Inbound) -> list[Outbound]:
        """Handle one chat message; a redelivered platform event is handled once."""
        return self._handle(msg.platform, msg.event_id, msg.author, msg.chat, msg.chat_kind, msg.community,
                            msg.community_name, msg.reply_to, lambda ctx: self._on_message(ctx, msg),
                            location=msg.location, thread=msg.thread)

    def act(self, action: Action, *, claim_for: str | None = None) -> list[Outbound]:
        """Handle a button press or a submitted form. With ``claim_for`` (a delivery worker's name) the
        replies in the action's chat come back already claimed (``Outbound.claimed``) for the caller to
        send as the interaction's answer."""
        return self._handle(action.platform, action.event_id, action.author, action.chat, action.chat_kind,
                            action.community, None, None, lambda ctx: self._on_action(ctx, action),
                            claim_for=claim_for, thread=action.thread)

    def edit_form(self, action: Action) -> Form | Outbound:
        """Before a platform with forms opens one for an "Edit" button (``proposal:edit:<id>``): the form,
        prefilled with the proposal (``core.messages.Form``), or, when the presser may not edit it, the
        refusal to show them (an Outbound composed, not stored: it is the press's only answer). Read-only
        and quick (a Discord modal must answer the press within 3 s); the form's submission goes through
        ``act`` as ``Action(name=action.name, value=<JSON of the fields>)``, checked again there."""
        from core import intake

        return intake.edit_form(self, action)

    def run_command(self, author: Identity, name: str, args: str = "", *, platform: str, chat: str,
                    event_id: str, chat_kind: str = "private", community: str | None = None,
                    claim_for: str | None = None) -> list[Outbound]:
        """Run a command given in structured form (a Discord slash command); ``claim_for`` as in ``act``."""
        from core import commands

        return self._handle(platform, event_id, author, chat, chat_kind, community, None, None,
                            lambda ctx: commands.dispatch(ctx, name, args), claim_for=claim_for)

    def _handle(self, platform: str, event_id: str, author: Identity, chat: str, chat_kind: str,
                community_id: str | None, community_name: str | None, reply_to: str | None,
                body: Callable[[Ctx], None], location: tuple[float, float] | None = None,
                claim_for: str | None = None, thread: str | None = None) -> list[Outbound]:
        now = self.clock.now()
        if self._recogniser_version != self._catalog_version:
            _ = self.recogniser  # (re)built outside the event's transaction: it reads the catalogue
        with self.db.session() as s:
            if not self._first_time(s, platform, event_id, now):
                return []
            def arrive() -> Ctx:
                return self._arrive(s, now, platform, event_id, author, chat, chat_kind, community_id,
                                    community_name, reply_to, location, thread)

            ctx = arrive()
            try:
                body(ctx)
            except Refused as exc:
                # Undo everything the event did (no savepoint round trips on the way: a refusal is rare),
                # then record its arrival again and only answer with the refusal.
                kept = [o for o in ctx.out if o.kind in ("welcome", "privacy")]
                catalog_changed = ctx.catalog_changed
                s.rollback()
                if not self._first_time(s, platform, event_id, now):
                    return []  # handled meanwhile by another process
                ctx = arrive()
                ctx.out, ctx.catalog_changed = kept, catalog_changed
                ctx.reply(exc.template, exc.kind, **exc.context)
            self._persist(s, ctx.out, (chat, claim_for) if claim_for else None)
        if ctx.catalog_changed:
            self.refresh_catalog()
        return ctx.out

    def _arrive(self, s: Session, now: datetime, platform: str, event_id: str, author: Identity, chat: str,
                chat_kind: str, community_id: str | None, community_name: str | None, reply_to: str | None,
                location: tuple[float, float] | None, thread: str | None = None) -> Ctx:
        """The person and the community of an event (created when new), its chat unblocked if private."""
        found = s.execute(_ARRIVAL, {"platform": platform, "chat": chat, "community": community_id,
                                     "person_platform": author.platform, "pid": author.platform_id}).first()
        if found is not None:  # someone the hub knows: one statement
            person, community, blocked, dialogue_open = found
            self._touch(person, author, now)
        else:
            person = self._person(s, author, now)
            community, blocked, dialogue_open = None, True, None
        if chat_kind == "private" and blocked:
            # Writing to the bot again lifts a block left by an earlier permanent delivery error.
            s.connection().execute(_UNBLOCK, {"platform": platform, "chat": chat})
        if community_id and community is None:
            community = self._community(s, platform, community_id, community_name)
        lang = person.language or (community.language if community else self.settings.default_language)
        return Ctx(hub=self, s=s, now=now, person=person, platform=platform, chat=chat, chat_kind=chat_kind,
                   community=community, lang=lang, event_id=event_id, reply_to=reply_to, location=location,
                   dialogue_open=dialogue_open, thread=None if chat_kind == "private" else thread)

    def _first_time(self, s: Session, platform: str, event_id: str, now: datetime) -> bool:
        # One INSERT ... ON CONFLICT DO NOTHING (no savepoint round trips): no row inserted = seen before.
        # A concurrent insert of the same event waits for the other transaction, then does nothing.
        dialect = s.get_bind().dialect.name
        if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - Relais runs on SQLite and PostgreSQL
            try:
                with s.begin_nested():
                    s.add(SeenEvent(platform=platform, event_id=str(event_id)[:128], seen_at=now))
                    s.flush()
            except IntegrityError:
                return False
            return True
        return s.connection().execute(_seen_statement(dialect), {  # (rowcount is -1 with psycopg here)
            "platform": platform, "event_id": str(event_id)[:128], "seen_at": now}).first() is not None

    def _person(self, s: Session, who: Identity, now: datetime) -> Person:
        person = s.exec(_PERSON, params={"platform": who.platform, "pid": who.platform_id}).first()
        name = clean(who.display_name)[:100] or "?"
        if person is None:
            lang = who.language if who.language in ("fr", "en") else self.settings.default_language
            person = self._insert_once(s, Person(platform=who.platform, platform_id=who.platform_id,
                                                 display_name=name, language=lang, created_at=now,
                                                 last_seen_at=now),
                                       select(Person).where(Person.platform == who.platform,
                                                            Person.platform_id == who.platform_id))
        else:
            self._touch(person, who, now, name)
        return person

    @staticmethod
    def _touch(person: Person, who: Identity, now: datetime, name: str | None = None) -> None:
        """A known person wrote: keep their display name, and when they were last seen to the minute."""
        name = name or clean(who.display_name)[:100] or "?"
        if person.display_name != name:
            person.display_name = name
        seen = person.last_seen_at
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)  # SQLite gives naive UTC back
        if seen is None or abs(now - seen) >= timedelta(minutes=1):
            person.last_seen_at = now  # to the minute: not one more write per message

    def _community(self, s: Session, platform: str, platform_id: str, name: str | None) -> Community:
        community = s.exec(_COMMUNITY, params={"platform": platform, "pid": platform_id}).first()
        if community is None:
            community = Community(platform=platform, platform_id=platform_id, name=clean(name or "")[:100],
                                  language=self.settings.default_language,
                                  timezone=self.settings.default_timezone,
                                  briefing_time=self.settings.briefing_time,
                                  radius_km=self.settings.match_radius_km, created_at=self.clock.now())
            community = self._insert_once(s, community, select(Community).where(
                Community.platform == platform, Community.platform_id == platform_id))
        return community

    @staticmethod
    def _insert_once(s: Session, row, again):
        """Insert a row another process may be inserting at the same moment; on a collision, take theirs."""
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
            return row
        except IntegrityError:
            return s.exec(again).one()

    def grant_role(self, who: Identity, role: str, *, community: str | None = None,
                   community_name: str | None = None) -> None:
        """Give a person a role, e.g. a Discord member whom the server trusts to moderate."""
        with self.db.session() as s:
            person = self._person(s, who, self.clock.now())
            place = self._community(s, who.platform, community, community_name) if community else None
            permissions.grant(s, person, role, place)

    def migrate_chat(self, platform: str, old: str, new: str) -> dict[str, Any] | None:
        """A chat changed its id (a Telegram group that became a supergroup): its community, channels,
        pending outbox messages, blocked-chat row and everything written there move to ``new`` in one
        transaction, with an audit entry. Idempotent: None when nothing was left under ``old``. A
        community already under ``new`` is merged into the old chat's, which is kept (see
        ``core.chats.migrate_chat``)."""
        from core import chats

        with self.db.session() as s:
            return chats.migrate_chat(s, platform, old, new, self.clock.now())

    # ------------------------------------------------------------------ messages

    def _on_message(self, ctx: Ctx, msg: Inbound) -> None:
        from core import commands, dialogue, escalation, intake

        raw = msg.text or ""
        length = len(raw)
        if len(raw) > self.settings.max_text_length * 4:
            raw = raw[: self.settings.max_text_length * 4]
        text = clean(raw)
        addressed = ctx.private or msg.addressed
        if ctx.private and ctx.person.privacy_notice_at is None:
            ctx.person.privacy_notice_at = ctx.now
            ctx.reply("privacy", "privacy")
        if not self._within_rate(ctx):
            return
        if not text and msg.location is None:
            if addressed:
                raise BadInput("refused/empty")
            return
        if len(text) > self.settings.max_text_length:
            if addressed or text.startswith("/"):
                raise BadInput("refused/too_long", limit=self.settings.max_text_length, length=length)
            return
        match = COMMAND_RE.match(text)
        if match:
            commands.dispatch(ctx, match.group("name"), (match.group("args") or "").strip())
            return
        if text.startswith("/"):
            raise Refused("refused/unknown_command", command=text.split()[0][:40])
        replied = msg.in_reply_to or msg.reply_to
        if replied and escalation.answer_by_reply(ctx, replied, text):
            return  # a contact replied to a ticket's message: that is the answer
        if ctx.dialogue_open if ctx.dialogue_open is not None else dialogue.active(ctx):
            dialogue.step(ctx, text, msg.location)
            return
        intake.free_text(ctx, text, msg.sent_at, addressed=addressed)

    def _within_rate(self, ctx: Ctx) -> bool:
        """A per-person flood limit, answered once per minute rather than every time."""
        limit = self.settings.flood_limit_per_minute
        # One INSERT ... ON CONFLICT DO UPDATE ... RETURNING counts the message (see _count_statement).
        conn = ctx.s.connection()
        count, warned = conn.execute(_count_statement(conn.dialect.name), {
            "pid": ctx.person.id, "now": ctx.now, "cutoff": ctx.now - timedelta(minutes=1)}).one()
        if count <= limit:
            return True
        if not warned:
            ctx.s.connection().execute(update(RateCounter).where(RateCounter.person_id == ctx.person.id)
                                       .values(warned=True))
            ctx.reply("refused/flood", "refused", limit=limit)
        return False

    def _on_action(self, ctx: Ctx, action: Action) -> None:
        from core import commands

        commands.on_action(ctx, action.name, action.value)

    # ------------------------------------------------------------------ queries used by bots and jobs

    def pending_outbox(self, platform: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        with self.db.session() as s:
            q = select(OutboxMessage).where(OutboxMessage.status == "pending")
            if platform:
                q = q.where(OutboxMessage.platform == platform)
            return list(s.exec(q.order_by(OutboxMessage.priority, OutboxMessage.id).limit(limit)))

    def mark_delivered(self, outbox_ids: list[int]) -> None:
        """For a sender that delivered messages itself (the console, a direct interaction reply)."""
        if not outbox_ids:
            return
        with self.db.session() as s:
            for row in s.exec(select(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids))):
                row.status, row.sent_at, row.attempts = "sent", self.clock.now(), row.attempts + 1

    def needs_of(self, person_id: int) -> list[tuple[Need, list[NeedLine]]]:
        with self.db.session() as s:
            needs = list(s.exec(select(Need).where(Need.requester_id == person_id).order_by(Need.id)))
            return [(n, list(s.exec(select(NeedLine).where(NeedLine.need_id == n.id)))) for n in needs]


def need_ref(need_id: int) -> str:
    return f"N-{need_id}"


def offer_ref(offer_id: int) -> str:
    return f"O-{offer_id}"


def ticket_ref(ticket_id: int) -> str:
    return f"Q-{ticket_id}"


REF_RE = re.compile(r"^#?\s*(?P<prefix>[NnOoQqBb])?-?\s*(?P<num>\d{1,9})$")


def parse_ref(token: str, prefix: str) -> int | None:
    m = REF_RE.match(token.strip())
    if not m:
        return None
    p = (m.group("prefix") or prefix).upper()
    if p == "B":
        p = "N"
    return int(m.group("num")) if p == prefix else None


def local_date(now: datetime, tz: str) -> date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(tz)).date()


__all__ = ["Hub", "Ctx", "need_ref", "offer_ref", "ticket_ref", "parse_ref", "utcnow", "Dialogue", "Proposal"]
