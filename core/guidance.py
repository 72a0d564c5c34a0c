"""Precautionary guidance per risk category, carried into the conversations where it matters without
drowning them: with confirmations, on mentions of dangerous items, on shared design links and on reposts of
flagged claims; at most once per public chat and category within the cool-down. Also the design catalogue
look-ups and the weekly review sent to the authority. The authority's commands live in core/authority.py."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from core.db import upsert_insert
from core.messages import Outbound
from core.models import (
    CatalogReview,
    Design,
    DesignatedContact,
    FlaggedClaim,
    GuidanceSent,
    Item,
    NoticeSent,
    Person,
    RiskCategory,
    TrustedSource,
)

log = logging.getLogger(__name__)

URL_RE = re.compile(r"https?://[^\s<>\"'`]{4,400}", re.IGNORECASE)
DESIGN_SITES = ("thingiverse.com", "prusaprinters.org", "printables.com", "cults3d.com", "myminifactory.com",
                "grabcad.com", "github.com", "gitlab.com", "instructables.com", "youmagine.com", "thangs.com",
                "makerworld.com", "onshape.com", "tinkercad.com")
# Query parameters that only track who clicked; they never tell two designs apart.
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|igshid$|mc_|ref$|ref_src$|si$|s$|source$|lang$)", re.IGNORECASE)
# Sites whose design pages carry a stable numeric id followed by a slug that may change.
_STABLE_IDS = (
    (re.compile(r"^(?:printables\.com|prusaprinters\.org)$"), re.compile(r"^/(?:[a-z]{2}/)?(?:model|prints)/(\d+)"),
     "printables.com/model/{}"),
    (re.compile(r"^thingiverse\.com$"), re.compile(r"^/thing:(\d+)"), "thingiverse.com/thing:{}"),
    (re.compile(r"^myminifactory\.com$"), re.compile(r"^/object/(?:[^/]*-)?(\d+)"), "myminifactory.com/object/{}"),
)
GUIDANCE_MAX_CHARS = 2000
NOTE_MAX_CHARS = 300
LIST_LIMIT = 30
WARNING_REPEAT = timedelta(hours=1)  # a warning about the same design or claim, in the same public chat
PHRASE_SIMILARITY = 90
STATUSES = ("unreviewed", "validated", "withdrawn")


# ---------------------------------------------------------------------------------------------- lookups

def fold(text: str) -> str:
    """Lower case without accents and with single spaces, to compare what people type with names."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[’'`\"«»]", " ", text).split())


def normalise_url(url: str) -> str:
    """One spelling per design: https, no www, no fragment, no tracking parameters, no trailing slash, and
    the numeric id of the big design sites without the slug that follows it."""
    url = url.strip().rstrip(".,;:!?)]}>»")
    try:
        parts = urlsplit(url if "://" in url else "https://" + url)
    except ValueError:
        return url[:500]
    host = (parts.hostname or "").lower()
    host = host.removeprefix("www.")
    path = re.sub(r"/{2,}", "/", parts.path or "").rstrip("/")
    for host_re, path_re, fmt in _STABLE_IDS:
        m = path_re.match(path) if host_re.match(host) else None
        if m:
            return "https://" + fmt.format(m.group(1))
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    return ("https://" + host + path + ("?" + query if query else ""))[:500]


def urls_in(text: str, limit: int = 3) -> list[str]:
    """The distinct normalised links of a message, in order."""
    return list(links_in(text, limit))


def links_in(text: str, limit: int = 3) -> dict[str, str]:
    """The distinct links of a message, normalised, each with its first spelling (which may carry a slug)."""
    found: dict[str, str] = {}
    for raw in URL_RE.findall(text or ""):
        found.setdefault(normalise_url(raw), raw.rstrip(".,;:!?)]}>»"))
    return dict(list(found.items())[:limit])


def is_design_site(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if not any(host == site or host.endswith("." + site) for site in DESIGN_SITES):
        return False
    if host in ("github.com", "gitlab.com"):  # a repository, not the site or a search page
        segments = [p for p in urlsplit(url).path.split("/") if p]
        return len(segments) >= 2 and segments[0] not in ("search", "topics", "explore")
    return bool(urlsplit(url).path.strip("/"))


def design_ref(design_id: int) -> str:
    return f"D-{design_id}"


_DESIGN_REF_RE = re.compile(r"^#?\s*[Dd]-?\s*(\d{1,9})$|^(\d{1,9})$")


def find_design(s: Session, token: str) -> Design | None:
    """A design named by its reference (D-3, 3) or its link."""
    token = (token or "").strip()
    m = _DESIGN_REF_RE.match(token)
    if m:
        return s.get(Design, int(m.group(1) or m.group(2)))
    if "." in token and " " not in token:
        return s.exec(select(Design).where(Design.url == normalise_url(token))).first()
    return None


def find_item(s: Session, token: str) -> Item | None:
    """An item named by its id, its French or English name or one of its synonyms."""
    token = (token or "").strip()
    if not token:
        return None
    item = s.get(Item, token)
    if item is not None:
        return item
    wanted = fold(token)
    wanted_id = wanted.replace(" ", "_").replace("-", "_")
    for item in s.exec(select(Item).order_by(Item.id)):
        names = [item.name_fr, item.name_en]
        for words in (item.synonyms or {}).values():
            names.extend(words or [])
        if item.id == wanted_id or any(fold(n) == wanted for n in names):
            return item
    return None


def design_category(s: Session, design: Design) -> int | None:
    """A design's own classification, else its item's."""
    if design.category is not None:
        return design.category
    item = s.get(Item, design.item_id) if design.item_id else None
    return item.category if item else None


def design_view(s: Session, design: Design) -> dict[str, Any]:
    return {"ref": design_ref(design.id), "url": design.url, "name": design.name or None, "item": design.item_id,
            "version": design.version, "licence": design.licence, "status": design.status,
            "category": design_category(s, design), "note": design.note}


def trusted_sources(ctx_or_hub: Any, s: Session) -> list[dict[str, Any]]:
    """The sources moderators added, then those configured for the deployment (without duplicates)."""
    hub = getattr(ctx_or_hub, "hub", ctx_or_hub)
    rows = [{"ref": t.id, "url": t.url, "label": t.label or None}
            for t in s.exec(select(TrustedSource).order_by(TrustedSource.id))]
    known = {r["url"] for r in rows}
    for url in hub.settings.trusted_sources:
        if normalise_url(url) not in known and url not in known:
            rows.append({"ref": None, "url": url, "label": None})
    return rows


# ---------------------------------------------------------------------------------------------- guidance

def category_context(ctx, category: int, lang: str | None = None) -> dict[str, Any]:
    """What a guidance template needs: the authority's override in the reader's language, and the links."""
    lang = lang or ctx.lang
    cat = ctx.s.get(RiskCategory, category)
    override = None
    if cat is not None:
        override = cat.guidance_fr if lang == "fr" else cat.guidance_en
    return {"category": category, "override": override,
            "official_channel_url": ctx.hub.settings.official_channel_url,
            "open_research_url": ctx.hub.settings.open_research_url}


_ITEM_CATEGORIES = select(Item.id, Item.category).where(Item.id.in_(bindparam("ids", expanding=True)))


def item_categories(s: Session, item_ids: Iterable[str]) -> dict[str, int | None]:
    """The risk category of each known item among ``item_ids``, in one query."""
    ids = list(dict.fromkeys(i for i in item_ids if i))
    if not ids:
        return {}
    return {item_id: category for item_id, category in s.execute(_ITEM_CATEGORIES, {"ids": ids})}


def _categories(ctx, item_ids: Iterable[str]) -> dict[int, list[str]]:
    by_cat: dict[int, list[str]] = {}
    ids = list(dict.fromkeys(i for i in item_ids if i))
    categories = item_categories(ctx.s, ids)
    for item_id in ids:
        category = categories.get(item_id)
        if category:
            by_cat.setdefault(category, []).append(item_id)
    return by_cat


def _say_guidance(ctx, category: int, items: list[str]) -> None:
    """Say it here (the caller has claimed the chat's cool-down with ``_may_say``)."""
    ctx.reply(f"guidance/category_{category}", "guidance", items=items, **category_context(ctx, category))
    if not ctx.private:  # who it answered, so their own confirmation does not repeat it in private
        _notice_due(ctx, f"guidance:{category}:{ctx.person.id}", timedelta(0))


def _tell_guidance(ctx, person: Person, category: int, items: list[str]) -> None:
    ctx.tell(person, f"guidance/category_{category}", "guidance", priority=0, items=items,
             **category_context(ctx, category, person.language))


def confirmations(ctx, item_ids: Iterable[str]) -> None:
    """With every confirmation of a need, offer or commitment of category 2 and above: always in a direct
    conversation, once per cool-down in a public chat. Category 4 always reaches its author: directly
    when the chat has just seen it."""
    for category, items in sorted(_categories(ctx, item_ids).items()):
        if category < 2:
            continue
        if _may_say(ctx, category):
            _say_guidance(ctx, category, items)
        elif category >= 4 and not _answered_recently(ctx, category):
            _tell_guidance(ctx, ctx.person, category, items)


def mentioned_items(ctx, text: str, rec: Any = None) -> list[str]:
    """Every catalogue item a message names, whatever its intent (the recogniser keeps items only for
    needs and offers): a longest-match scan with the recogniser's own lexicon and tokens."""
    found = [i.item for i in rec.items] if rec is not None else []
    try:
        from core.recognise._lexicon import ITEM, STOPWORDS
        from core.recognise._text import prepare, stem

        lexicon = ctx.hub.recogniser.lexicon
        toks = [stem(t) for t in prepare(text).toks if t not in STOPWORDS and t.isalnum()]
    except Exception:  # the recogniser is optional here: fall back on what it recognised
        log.exception("item mention scan failed")
        return list(dict.fromkeys(found))
    i = 0
    while i < len(toks):
        step = 1
        for key, kind, ident in lexicon.index.get(toks[i], ()):
            if kind == ITEM and tuple(toks[i:i + len(key)]) == key:
                found.append(ident)
                step = len(key)
                break
        i += step
    return list(dict.fromkeys(found))


def on_mention(ctx, rec: Any, *, confident: bool = False, text: str | None = None) -> bool:
    """A message that mentions a category 3 or 4 item gets that guidance: in a public chat once per
    cool-down, even without a need or an offer; in a direct chat when nothing else answers it."""
    if ctx.private and confident and rec.intent in ("need", "offer"):
        return False  # the confirmation that follows carries the guidance
    said = False
    named = mentioned_items(ctx, text, rec) if text is not None else [i.item for i in rec.items]
    for category, items in sorted(_categories(ctx, named).items()):
        if category >= 3 and _may_say(ctx, category):
            _say_guidance(ctx, category, items)
            said = True
    return said


def on_public_mention(ctx, rec: Any) -> None:
    if not ctx.private:
        on_mention(ctx, rec)


def _answered_recently(ctx, category: int) -> bool:
    """Whether this chat's guidance of that category was said in reply to this person within the cool-down."""
    row = ctx.s.get(NoticeSent, (ctx.platform, ctx.chat, f"guidance:{category}:{ctx.person.id}"))
    hours = ctx.hub.settings.guidance_cooldown_hours
    return row is not None and ctx.now - row.at < timedelta(hours=hours)




def _upsert(s: Session, model: Any, key: dict[str, Any], at: datetime, due_before: datetime | None = None) -> bool:
    """Set ``model``'s row ``key`` to ``at`` in one INSERT ... ON CONFLICT DO UPDATE (another process may insert
    the same row at the same moment: no duplicate-key error). With ``due_before``, an existing row is only
    moved when its time is at or before it. Returns whether the row was written; a copy of it loaded in the
    session follows."""
    s.flush()
    table = model.__table__
    stmt = upsert_insert(s.get_bind().dialect.name)(table).values(**key, at=at).on_conflict_do_update(
        index_elements=list(key), set_={"at": at},
        where=(table.c.at <= due_before) if due_before is not None else None,
    ).returning(table.c.at)
    written = s.connection().execute(stmt).first() is not None
    loaded = s.identity_map.get(s.identity_key(model, tuple(key.values())))
    if written and loaded is not None:
        set_committed_value(loaded, "at", at)
    return written


def _may_say(ctx, category: int) -> bool:
    """Whether this chat may hear that category's guidance now (always in private; in public once per
    cool-down), remembering that it does. One statement decides and remembers, so of two processes
    handling messages of the same chat at once only one says it."""
    key = {"platform": ctx.platform, "chat": ctx.chat, "category": category}
    if ctx.private:
        _upsert(ctx.s, GuidanceSent, key, ctx.now)
        return True
    hours = ctx.hub.settings.guidance_cooldown_hours
    return _upsert(ctx.s, GuidanceSent, key, ctx.now, due_before=ctx.now - timedelta(hours=hours))


def _notice_due(ctx, key: str, window: timedelta) -> bool:
    """Whether a notice about ``key`` may be said here now; remembers it when it may. Always in private.
    One statement decides and remembers, so of two processes seeing the same chat only one says it."""
    if ctx.private:
        return True
    return _upsert(ctx.s, NoticeSent, {"platform": ctx.platform, "chat": ctx.chat, "key": key}, ctx.now,
                   due_before=ctx.now - window)


# ---------------------------------------------------------------------------------------------- designs

def design_links(ctx, text: str) -> bool:
    """Check the links of a message against the design catalogue; returns True when something was said.
    A known design gets its status, category and guidance; an unknown link to a design site is recorded as
    unreviewed and answered with a "not yet evaluated" notice; a withdrawn design gets a warning."""
    said = False
    links = links_in(text)
    if not links:
        return False
    cooldown = timedelta(hours=ctx.hub.settings.guidance_cooldown_hours)
    not_designs = _not_design_urls(ctx)
    for url, raw in links.items():
        if url in not_designs or _flag_for_url(ctx.s, url) is not None:
            continue
        design = ctx.s.exec(select(Design).where(Design.url == url)).first()
        if design is None:
            if not is_design_site(url):
                continue
            design = Design(url=url, name=name_from_url(raw), status="unreviewed", created_at=ctx.now,
                            updated_at=ctx.now)
            ctx.s.add(design)
            ctx.s.flush()
            ctx.audit("design.recorded", design_ref(design.id), after={"url": url, "status": "unreviewed",
                                                                     "shared_in": f"{ctx.platform}:{ctx.chat}"})
        view = design_view(ctx.s, design)
        key = f"design:{design.id}:{design.status}"
        if design.status == "withdrawn":
            if _notice_due(ctx, key, WARNING_REPEAT):
                ctx.reply("design/withdrawn", "warning", design=view, alternatives=alternatives(ctx.s, design))
                said = True
            continue
        if not _notice_due(ctx, key, cooldown):
            continue
        ctx.reply(f"design/{design.status}", "design_check", design=view)
        said = True
        category = view["category"]
        if category and _may_say(ctx, category):
            _say_guidance(ctx, category, [design.item_id] if design.item_id else [])
    return said


def _not_design_urls(ctx) -> set[str]:
    settings = ctx.hub.settings
    urls = {settings.official_channel_url, settings.open_research_url, *settings.trusted_sources}
    urls.update(t.url for t in ctx.s.exec(select(TrustedSource)))
    return {normalise_url(u) for u in urls if u}


def alternatives(s: Session, design: Design) -> list[dict[str, Any]]:
    """Validated designs of the same item, to point to when a withdrawn one is shared."""
    if not design.item_id:
        return []
    rows = s.exec(select(Design).where(Design.item_id == design.item_id, Design.status == "validated",
                                       Design.id != design.id).order_by(Design.updated_at.desc()).limit(3))
    return [design_view(s, d) for d in rows]


def name_from_url(url: str) -> str:
    """A readable name from a link's last segment ("25857-prusa-face-shield-rc3" → "prusa face shield rc3")."""
    segments = [p for p in urlsplit(url).path.split("/") if p]
    if not segments:
        return ""
    last = re.sub(r"^\d+-", "", segments[-1])
    if last.isdigit() or last.startswith("thing:"):
        return ""
    return " ".join(re.split(r"[-_]+", last))[:200].strip()


# ---------------------------------------------------------------------------------------------- flagged claims

def _flag_for_url(s: Session, url: str) -> FlaggedClaim | None:
    for claim in s.exec(select(FlaggedClaim).where(FlaggedClaim.pattern.like("https://%"))):
        flagged = claim.pattern
        if url == flagged:
            return claim
        if not urlsplit(flagged).path.strip("/") and urlsplit(url).hostname == urlsplit(flagged).hostname:
            return claim  # a whole site was flagged
    return None


def _phrase_matches(pattern: str, folded_text: str) -> bool:
    """The claim itself, a close spelling of it, or its words close together in any order."""
    words = pattern.split()
    if re.search(r"(?<!\w)" + re.escape(pattern) + r"(?!\w)", folded_text):
        return True
    if len(words) <= 2 or len(pattern) < 12:
        return False
    if fuzz.partial_ratio(pattern, folded_text) >= PHRASE_SIMILARITY:
        return True
    content = {w for w in words if len(w) > 2}
    toks = re.findall(r"\w+", folded_text)
    where = [i for i, t in enumerate(toks) if t in content]
    if len(content) < 2 or {toks[i] for i in where} != content:
        return False
    window = 2 * len(words)
    return any(len({toks[j] for j in where if i <= j < i + window}) == len(content) for i in where)


_CLAIMS = select(FlaggedClaim.id, FlaggedClaim.pattern, FlaggedClaim.note).order_by(FlaggedClaim.id)


@lru_cache(maxsize=1024)
def _folded_pattern(pattern: str) -> str:
    return fold(pattern)


def flagged_claims(ctx, text: str) -> bool:
    """Reposts of a link or claim the authority flagged as dubious get a warning with the trusted sources."""
    claims = ctx.s.execute(_CLAIMS).all()  # read on every message (another process may flag one): plain rows
    if not claims:
        return False
    hits: list[FlaggedClaim] = []
    urls = urls_in(text, limit=5)
    for url in urls:
        claim = _flag_for_url(ctx.s, url)
        if claim is not None and claim not in hits:
            hits.append(claim)
    folded = fold(URL_RE.sub(" ", text))
    for claim in claims:
        if claim in hits or claim.pattern.startswith("https://"):
            continue
        if _phrase_matches(_folded_pattern(claim.pattern), folded):
            hits.append(claim)
    said = False
    for claim in hits[:2]:
        if _notice_due(ctx, f"flag:{claim.id}", WARNING_REPEAT):
            ctx.reply("flag/warning", "warning", claim=claim_view(claim), sources=trusted_sources(ctx, ctx.s))
            said = True
    return said


def claim_view(claim: FlaggedClaim) -> dict[str, Any]:
    return {"ref": claim.id, "pattern": claim.pattern, "note": claim.note or None,
            "link": claim.pattern.startswith("https://")}


# ---------------------------------------------------------------------------------------------- weekly review

def review_week(now: datetime, tz: str) -> str:
    year, week, _ = now.astimezone(ZoneInfo(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def _claim_review(s: Session, week: str, now: datetime) -> CatalogReview | None:
    try:
        with s.begin_nested():
            row = CatalogReview(week=week, claimed_at=now)
            s.add(row)
            s.flush()
            return row
    except IntegrityError:
        row = s.get(CatalogReview, week)
        return row if row is not None and row.status != "sent" else None


def review_recipients(s: Session) -> list[Person]:
    """The designated contacts for sanitary questions (the health authority), else every designated contact."""
    rows = list(s.exec(select(DesignatedContact).where(DesignatedContact.topic == "sanitary")
                       .order_by(DesignatedContact.rank, DesignatedContact.id)))
    if not rows:
        rows = list(s.exec(select(DesignatedContact).order_by(DesignatedContact.rank, DesignatedContact.id)))
    people: dict[int, Person] = {}
    for c in rows:
        person = s.get(Person, c.person_id)
        if person is not None:
            people.setdefault(person.id, person)
    return list(people.values())


def weekly_review(hub, now: datetime | None = None) -> list[Outbound]:
    """Once per ISO week: unreviewed designs and unclassified items, sent to the authority's contacts and
    persisted to the outbox. Idempotent: several schedulers may call it; the week is claimed first."""
    now = now or hub.clock.now()
    week = review_week(now, hub.settings.default_timezone)
    with hub.db.session() as s:
        row = _claim_review(s, week, now)
        if row is None:
            return []
        designs = list(s.exec(select(Design).where(Design.status == "unreviewed")
                              .order_by(Design.created_at, Design.id).limit(LIST_LIMIT + 1)))
        unreviewed_total = len(designs)
        if len(designs) > LIST_LIMIT:
            from sqlmodel import func

            unreviewed_total = int(s.exec(select(func.count()).select_from(Design)
                                          .where(Design.status == "unreviewed")).one())
        items = list(s.exec(select(Item).where(Item.category.is_(None), Item.active == True)
                            .order_by(Item.id)))
        recipients = review_recipients(s) if designs or items else []
        context = {"week": week, "designs": [design_view(s, d) for d in designs[:LIST_LIMIT]],
                   "more": max(unreviewed_total - LIST_LIMIT, 0), "unclassified": [i.id for i in items]}
        outs = [hub.compose_direct(p, "guidance/weekly_review", "listing", context, priority=2)
                for p in recipients]
        if (designs or items) and not recipients:
            log.warning("weekly review %s: %d designs and %d items to review but no designated contact",
                        week, unreviewed_total, len(items))
        hub._persist(s, outs)
        row.status, row.sent_at = "sent", now
        row.figures = {"unreviewed_designs": unreviewed_total, "unclassified_items": len(items),
                       "recipients": len(recipients)}
    return outs


__all__ = [
    "category_context",
    "confirmations",
    "design_category",
    "design_links",
    "find_design",
    "find_item",
    "flagged_claims",
    "normalise_url",
    "on_mention",
    "on_public_mention",
    "trusted_sources",
    "weekly_review",
]
