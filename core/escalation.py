"""Questions only an authority can answer: tickets routed to the contact designated for their topic and
region, kept alive until answered (reminder, then hand-over to a backup), answers relayed to the asker
and to the chat where the question was asked, and kept to be offered again when a similar question comes.

A ticket's life: proposed (the asker confirms, or a moderator escalates someone's message) → open and
routed to a contact → reminded → handed over → answered (or closed). Every step is audited."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import func, update
from sqlmodel import Session, select

from core import permissions
from core.areas import canonical_region, fold, region_of_area, region_of_department, same_region
from core.commands import command, find_person
from core.errors import Refused
from core.hub import Hub, parse_ref, ticket_ref
from core.messages import Button, Identity, Outbound
from core.models import (
    AuditEntry,
    Community,
    DesignatedContact,
    Escalation,
    Item,
    OutboxMessage,
    Person,
    Proposal,
    Role,
    RoleGrant,
)
from core.text import clean, shorten

TOPICS = ("sanitary", "legal", "technical", "logistics")
TOPIC_NAMES = {
    "sanitary": "sanitary", "sanitaire": "sanitary", "sante": "sanitary", "health": "sanitary",
    "legal": "legal", "juridique": "legal", "droit": "legal", "law": "legal",
    "technical": "technical", "technique": "technical", "tech": "technical",
    "logistics": "logistics", "logistique": "logistics", "logistic": "logistics",
}
SIMILARITY = 0.55  # weighted overlap of the concepts of two questions, 0..1
PRIVATE_MARKS = ("--private", "--prive", "--privé", "[private]", "[privé]", "[prive]")
LABELS = {"fr": {"answer": "Répondre", "share_name": "Donner mon nom au contact"},
          "en": {"answer": "Answer", "share_name": "Share my name with the contact"}}
TICKET_MESSAGE_KINDS = ("ticket", "reminder")


def _label(lang: str, key: str) -> str:
    return LABELS.get(lang, LABELS["fr"])[key]


def place_in(ctx, text: str) -> dict[str, Any] | None:
    """The place a question names ("... à Tours ?"), for its region; None when it names none."""
    try:
        found = ctx.hub.places.find_in_text(text)
    except (OSError, ImportError):  # pragma: no cover - the gazetteer ships with the code
        return None
    return {"name": found.name, "department": found.department} if found is not None else None


def ticket_region(community: Community | None, place: dict[str, Any] | None) -> str | None:
    """The community's region first, else the region of the place the question names."""
    if community is not None and community.region:  # a region or a list of départements ("37,41")
        return region_of_area(community.region)
    if place:
        return region_of_department(place.get("department"))
    return None


# ---------------------------------------------------------------------------------------- similar questions

_STOP = set("""
le la les l un une des de du d au aux a t on il ils elle elles nous vous je j tu me m se s ce c ca cela ceci
qu que qui quoi quel quelle quels quelles est sont etre ete et ou en y dans pour par sur avec sans pas ne n
plus moins tres bien si son sa ses leur leurs notre nos votre vos mon ma mes ton ta tes cette ces ai as avons
avez ont avoir fait faire faut peut peuvent pouvons pouvez pouvoir puis doit doivent devons devez comment
pourquoi quand combien bonjour merci svp stp question questions chose choses aussi encore deja tout tous toute
toutes comme mais donc car ni alors ici la-bas quelqu quelque quelques autre autres meme
the an of to in at for by with without is are be been being was were do does did can could may might should
would will shall we you i it they he she them us our your their my this that these those what which who whom how
why when where there here and or not no yes any some if as from about please hi hello thanks thank get got
just also still anyone someone something our ok
pendant durant jusqu jusque avant apres during until before after away need needs besoin besoins
""".split())

# Concept → words (folded, singular); "word*" matches any word starting with it. French and English words
# of one concept meet on the concept, so a question asked in either language finds the other.
_BRIDGE: dict[str, tuple[str, ...]] = {
    "sell": ("vendre", "vend", "vendu", "vendue", "vente", "revendre", "revente", "commercialis*", "factur*",
             "sell", "sold", "selling", "sale", "resell", "charge", "payant"),
    "give": ("donner", "don", "donne", "gratuit*", "offrir", "distribu*", "give", "giving", "donat*", "free",
             "hand"),
    "print": ("imprim*", "impression", "3d", "print*"),
    "allowed": ("droit", "autoris*", "legal*", "interdi*", "permis", "allow*", "permit*", "forbid*", "banned",
                "lawful", "reglement*", "regulation*"),
    "liability": ("responsab*", "liab*", "assur*", "insur*", "accident*", "risque", "risk", "juridique*"),
    "hospital": ("hopital", "hopitaux", "chu", "chr", "clinique", "ehpad", "etablissement*", "hospital*",
                 "clinic*", "facility", "facilitie", "pharmac*"),
    "accept": ("accept*", "recevoir", "utiliser", "use", "using"),
    "travel": ("deplac*", "circul*", "attestation*", "trajet*", "travel*", "commut*", "journey"),
    "fablab": ("fablab*", "atelier*", "workshop*", "makerspace*", "hackerspace*", "lab"),
    "maker": ("maker*", "benevole*", "volunteer*", "bricoleur*"),
    "clean": ("steril*", "desinfect*", "nettoy*", "lav*", "clean*", "disinfect*", "autoclav*", "wash*",
              "decontamin*"),
    "certified": ("marquage", "marking", "norme", "certifi*", "homolog*", "afnor", "standard*", "conforme*",
                  "conformit*", "complian*", "approv*", "valid*", "ansm"),
    "item:valve_adapter": ("valve*", "adaptat*", "adapter*", "raccord*", "snorkel*", "plongee"),
    "mask": ("masque*", "mask*"),
    "material": ("matier*", "materiau*", "filament*", "pla", "petg", "material*", "tissu*", "fabric*"),
    "deliver": ("livr*", "transport*", "expedi*", "envoy*", "deliver*", "shipping", "ship", "colis", "parcel*",
                "poste"),
    "pay": ("pay*", "paie*", "rembours*", "cout*", "frais", "prix", "cost*", "price*", "fund*", "financ*",
            "reimburs*"),
    "tax": ("tva", "taxe*", "tax*", "vat"),
    "design": ("modele*", "fichier*", "design*", "stl", "file*", "patron*", "pattern*"),
    "label": ("etiquet*", "label*", "mention*"),
    "staff": ("soignant*", "infirmi*", "medecin*", "docteur*", "caregiver*", "nurse*", "doctor*", "staff"),
    "lockdown": ("confin*", "lockdown*", "quarantin*", "couvre-feu", "curfew"),
    "break": ("cass*", "break*", "broke*", "rupture", "defaut*", "defect*", "fault*"),
    "medical": ("medical*", "medicaux", "dispositif*", "device*"),
}
_WEIGHTS = {"allowed": 0.5, "accept": 0.5, "print": 0.75, "item:valve_adapter": 1.5}
_ITEM_WEIGHT = 1.5


def _stem(word: str) -> str:
    if len(word) > 3 and word[-1] in "sx" and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 4 and word.endswith("ee"):
        word = word[:-1]
    return word


@lru_cache(maxsize=1)
def _bridge() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    exact: dict[str, str] = {}
    prefixes: list[tuple[str, str]] = []
    for concept, words in _BRIDGE.items():
        for w in words:
            if w.endswith("*"):
                prefixes.append((fold(w[:-1]), concept))
            else:
                for part in re.findall(r"[a-z0-9]+", fold(w)):
                    exact[_stem(part)] = concept
    prefixes.sort(key=lambda p: -len(p[0]))
    return exact, tuple(prefixes)


@lru_cache(maxsize=20000)
def _concept_of(word: str) -> str | None:
    exact, prefixes = _bridge()
    if word in exact:
        return exact[word]
    for prefix, concept in prefixes:
        if word.startswith(prefix) and len(word) >= max(3, len(prefix)):
            return concept
    return None


Phrases = dict[str, tuple[tuple[tuple[str, ...], str], ...]]  # first word → (words, key), longest first


_PHRASES: dict[str, tuple[Phrases, int]] = {}  # the catalogue's names, as read → (phrases, version)
_CATALOGUE_NAMES = select(Item.id, Item.name_fr, Item.name_en, Item.synonyms).order_by(Item.id)  # built once


def _phrases_and_version(s: Session) -> tuple[Phrases, int]:
    """Every catalogue name and synonym, French and English, as word sequences → ``item:<id>``, built once per distinct catalogue content (read every time: another process may
    have changed it), with a version number for the per-ticket concept cache."""
    rows = [tuple(r) for r in s.exec(_CATALOGUE_NAMES)]
    key = repr(rows)
    cached = _PHRASES.get(key)
    if cached is None:
        if len(_PHRASES) > 8:
            _PHRASES.clear()
        phrases = _build_phrases(rows)
        cached = _PHRASES[key] = (phrases, hash(key))
    return cached


def _build_phrases(rows: list[tuple[Any, ...]]) -> Phrases:
    by_first: dict[str, set[tuple[tuple[str, ...], str]]] = {}
    for item_id, name_fr, name_en, synonyms in rows:
        names = [name_fr, name_en]
        for values in (synonyms or {}).values():
            names.extend(values if isinstance(values, list) else [values])
        for name in names:
            words = tuple(_stem(w) for w in re.findall(r"[a-z0-9]+", fold(str(name or ""))))
            if words:
                by_first.setdefault(words[0], set()).add((words, f"item:{item_id}"))
    return {first: tuple(sorted(found, key=lambda p: (-len(p[0]), p))) for first, found in by_first.items()}


def concepts(text: str, phrases: Phrases) -> dict[str, float]:
    """The weighted concepts of a question: catalogue items, bridged words, and its other content words."""
    words = [_stem(w) for w in re.findall(r"[a-z0-9]+", fold(text))]
    found: dict[str, float] = {}
    i = 0
    while i < len(words):
        word = words[i]
        match = next(((p, key) for p, key in phrases.get(word, ()) if tuple(words[i:i + len(p)]) == p), None)
        if match is not None:
            found[match[1]] = _ITEM_WEIGHT
            i += len(match[0])
            continue
        i += 1
        if word in _STOP or len(word) < 2:
            continue
        concept = _concept_of(word)
        if concept is not None:
            found[concept] = _WEIGHTS.get(concept, 1.0)
        elif len(word) >= 3 and not word.isdigit():
            found["w:" + word] = 1.0
    return found


_CONCEPTS: dict[tuple[int, int, int], dict[str, float]] = {}  # (ticket, its text, catalogue) → concepts


def _ticket_concepts(esc: Escalation, phrases: Phrases, version: int) -> dict[str, float]:
    """A ticket's question never changes: its concepts are worked out once per catalogue version."""
    key = (esc.id or 0, hash(esc.text), version)
    found = _CONCEPTS.get(key)
    if found is None:
        if len(_CONCEPTS) > 20000:
            _CONCEPTS.clear()
        found = _CONCEPTS[key] = concepts(esc.text, phrases)
    return found


def similarity(a: dict[str, float], b: dict[str, float]) -> float:
    """A weighted Dice overlap; plain words also meet when they are spelt nearly alike (typos)."""
    total = sum(a.values()) + sum(b.values())
    if not total:
        return 0.0
    shared = 0.0
    loose_b = [k for k in b if k.startswith("w:") and k not in a]
    for key, weight in a.items():
        if key in b:
            shared += min(weight, b[key])
        elif key.startswith("w:") and len(key) > 6 and any(fuzz.ratio(key, o) >= 85 for o in loose_b):
            shared += weight
    return 2 * shared / total


_ANSWERED_PUBLIC = (select(Escalation).where(Escalation.status == "answered", Escalation.public == True)  # noqa: E712
                    .order_by(Escalation.id.desc()).limit(500))  # built once: asked before every question


def similar_answered(s: Session, text: str, limit: int = 3, *, exclude: int | None = None) -> list[Escalation]:
    """Answered public questions that ask the same thing, in French or English, whatever the wording."""
    phrases, version = _phrases_and_version(s)
    mine = concepts(text, phrases)
    if not mine:
        return []
    scored = []
    for esc in s.exec(_ANSWERED_PUBLIC):
        if esc.id == exclude:
            continue
        score = similarity(mine, _ticket_concepts(esc, phrases, version))
        if score >= SIMILARITY:
            scored.append((score, esc))
    scored.sort(key=lambda t: (-t[0], -t[1].id))
    return [e for _, e in scored[:limit]]


def suggest_similar(ctx, data: dict[str, Any]) -> bool:
    """Before a question is proposed: offer the answers already given to similar ones (called by intake)."""
    similar = similar_answered(ctx.s, data.get("text") or "")
    if not similar:
        return False
    ctx.reply("similar_answers", "similar_answers",
              answers=[{"ref": ticket_ref(e.id), "question": shorten(e.text, 200), "answer": e.answer}
                       for e in similar])
    ctx.audit("ticket.similar_offered", "", after={"refs": [ticket_ref(e.id) for e in similar]})
    return True


# ---------------------------------------------------------------------------------------- contacts

def contacts_for(s: Session, topic: str, region: str | None) -> list[DesignatedContact]:
    """The contacts of a topic in routing order: the region's own (rank 0 first), then the national ones."""
    rows = list(s.exec(select(DesignatedContact).where(DesignatedContact.topic == topic)))
    regional = [c for c in rows if region and c.region and same_region(c.region, region)]
    national = [c for c in rows if c.region is None]
    return sorted(regional, key=lambda c: (c.rank, c.id)) + sorted(national, key=lambda c: (c.rank, c.id))


def designated_ids(s: Session, esc: Escalation) -> set[int]:
    ids = {c.person_id for c in contacts_for(s, esc.topic, esc.region)}
    if esc.contact_id:
        ids.add(esc.contact_id)
    return ids


def _is_moderator(ctx, esc: Escalation | None = None) -> bool:
    roles = permissions.roles_of(ctx.s, ctx.person, ctx.community)
    if esc is not None and esc.community_id and (ctx.community is None or ctx.community.id != esc.community_id):
        roles |= permissions.roles_of(ctx.s, ctx.person, ctx.s.get(Community, esc.community_id))
    return bool(roles & {Role.MODERATOR, Role.ADMIN})


def may_handle(ctx, esc: Escalation) -> bool:
    """Only the contacts designated for a ticket (and moderators) may answer or close it."""
    return ctx.person.id in designated_ids(ctx.s, esc) or _is_moderator(ctx, esc)


def may_view(ctx, esc: Escalation) -> bool:
    return ctx.person.id == esc.asker_id or may_handle(ctx, esc)


def _moderators(s: Session, community_id: int | None, limit: int = 5) -> list[Person]:
    q = select(RoleGrant).where(
        (RoleGrant.role == Role.ADMIN)
        | ((RoleGrant.role == Role.MODERATOR)
           & (RoleGrant.community_id.is_(None) | (RoleGrant.community_id == community_id)))
    ).order_by(RoleGrant.id)
    seen: dict[int, Person] = {}
    for grant in s.exec(q):
        if grant.person_id not in seen:
            person = s.get(Person, grant.person_id)
            if person is not None:
                seen[person.id] = person
        if len(seen) >= limit:
            break
    return list(seen.values())


def parse_topic(token: str | None) -> str | None:
    return TOPIC_NAMES.get(fold(token or "").strip())


# ---------------------------------------------------------------------------------------- messages

def _ticket_context(s: Session, esc: Escalation, now: datetime) -> dict[str, Any]:
    asker = s.get(Person, esc.asker_id) if esc.asker_id else None
    community = s.get(Community, esc.community_id) if esc.community_id else None
    named = bool(esc.asker_named and asker is not None)
    return {"ref": ticket_ref(esc.id), "topic": esc.topic, "region": esc.region, "text": esc.text,
            "asker": f"{asker.display_name} ({asker.platform})" if named else f"#{esc.asker_id or 0}",
            "named": named, "community": community.name if community and community.name else None,
            "hours": round((now - (esc.routed_at or esc.created_at)).total_seconds() / 3600)}


def _to_contact(hub: Hub, s: Session, esc: Escalation, contact: Person, template: str, now: datetime) -> Outbound:
    """The ticket (or its reminder, or its hand-over) to a contact, with an Answer button; the delivered
    message's platform id lets a plain reply to it answer the ticket."""
    kind = "ticket" if template == "ticket" else "reminder"
    return hub.compose_direct(contact, template, kind, _ticket_context(s, esc, now),
                              buttons=(Button(_label(contact.language, "answer"), f"ticket:answer:{esc.id}"),))


def _audit(s: Session, now: datetime, actor_id: int | None, action: str, esc: Escalation,
           after: dict | None = None, before: dict | None = None) -> None:
    s.add(AuditEntry(at=now, actor_id=actor_id, action=action, subject=ticket_ref(esc.id), before=before,
                     after=after))


# ---------------------------------------------------------------------------------------- opening

def propose_question(ctx, text: str, topic: str | None, place: dict[str, Any] | None = None) -> None:
    """Show what the hub understood and let the asker confirm (similar answers come first, from intake)."""
    from core import intake

    data = {"intent": "question", "text": text, "topic": topic if topic in TOPICS else "logistics",
            "items": [], "capabilities": [], "place": place, "deadline": None, "cues": [], "confidence": 1.0}
    intake.propose(ctx, data, "question")


def edit_question(ctx, data: dict[str, Any]) -> None:
    """"Edit" on a question proposal: how to ask it again, in other words or with another topic."""
    ctx.reply("question_edit", "info", text=data.get("text") or "", topic=data.get("topic") or "logistics")


def split_topic(text: str) -> tuple[str | None, str]:
    """``juridique: may we sell...`` chooses the topic of a question; otherwise the recogniser does."""
    head, sep, rest = text.partition(":")
    topic = parse_topic(head) if sep and len(head) <= 20 else None
    return (topic, rest.strip()) if topic else (None, text)


def open_from_proposal(ctx, data: dict[str, Any], proposal: Proposal | None = None) -> Escalation:
    """A confirmed question proposal becomes a ticket (the asker agreed, or the moderator who escalated).

    The ticket belongs to the chat of the escalated message, else to the chat where it is confirmed, in
    the topic the question was asked in when confirmed in the same chat (a ``/oui`` typed in another
    topic of the forum does not move it)."""
    asker = ctx.s.get(Person, data["asker_id"]) if data.get("asker_id") else None
    chat, thread = data.get("chat"), data.get("thread")
    if not chat and proposal is not None and (proposal.platform, proposal.chat) == (ctx.platform, ctx.chat):
        chat, thread = proposal.chat, proposal.thread
    return open_ticket(ctx, data.get("text") or "", data.get("topic"), place=data.get("place"),
                       asker=asker, chat=chat, thread=thread, platform=data.get("platform"),
                       community_id=data.get("community_id"))


def open_ticket(ctx, text: str, topic: str | None, *, force: bool = False, place: dict[str, Any] | None = None,
                asker: Person | None = None, chat: str | None = None, thread: str | None = None,
                platform: str | None = None, community_id: int | None = None) -> Escalation:
    """Open a ticket and send it to the first contact designated for its topic and region.

    ``asker`` defaults to the person acting; a moderator escalating someone's message passes its author
    (the moderator's agreement stands for the asker's; the asker is told and stays pseudonymous).
    ``chat`` and its topic ``thread`` (where the answer will be posted) default to the event's."""
    text = clean(text)[:4000]
    if not text:
        raise Refused("refused/empty")
    topic = topic if topic in TOPICS else "logistics"
    by_moderator = asker is not None and asker.id != ctx.person.id
    asker = asker or ctx.person
    community = ctx.s.get(Community, community_id) if community_id else ctx.community
    if place is None and not (community is not None and community.region):
        place = place_in(ctx, text)
    region = ticket_region(community, place)
    contacts = contacts_for(ctx.s, topic, region)
    contact = ctx.s.get(Person, contacts[0].person_id) if contacts else None
    esc = Escalation(topic=topic, region=region, text=text, asker_id=asker.id,
                     community_id=community.id if community else None, platform=platform or ctx.platform,
                     chat=chat or ctx.chat, thread=thread if chat else ctx.thread, created_at=ctx.now,
                     contact_id=contact.id if contact else None, routed_at=ctx.now if contact else None)
    ctx.s.add(esc)
    ctx.s.flush()
    ref = ticket_ref(esc.id)
    ctx.audit("ticket.opened", ref, after={"topic": topic, "region": region, "asker": asker.id,
                                           "by_moderator": ctx.person.id if by_moderator else None,
                                           "contact": contact.id if contact else None})
    share = (Button(_label(asker.language, "share_name"), f"ticket:share_name:{esc.id}", "secondary"),)
    if by_moderator:
        ctx.reply("escalated", "escalated", ref=ref, topic=topic, routed=contact is not None, for_other=True)
        ctx.tell(asker, "escalated_for_you", "escalated", buttons=share, ref=ref, topic=topic,
                 question=shorten(text, 300), routed=contact is not None)
    else:
        ctx.reply("escalated", "escalated", ref=ref, topic=topic, routed=contact is not None, for_other=False,
                  buttons=share)
    if contact is not None:
        ctx.out.append(_to_contact(ctx.hub, ctx.s, esc, contact, "ticket", ctx.now))
    else:
        for mod in _moderators(ctx.s, esc.community_id):
            ctx.tell(mod, "ticket_unrouted", "ticket", ref=ref, topic=topic, region=region,
                     question=shorten(text, 300))
    return esc


def escalate_message(ctx, author: Identity | Person, text: str, chat: str | None = None,
                     *, topic: str | None = None) -> Escalation | None:
    """A moderator escalates someone's message (Discord's "Escalate to a national contact" menu).

    When similar questions already have an answer, they are shown to the moderator with a proposal to
    confirm; otherwise the ticket is opened at once. Returns the ticket, or None when one is proposed."""
    from core import intake

    if not _is_moderator(ctx):
        raise Refused("refused/not_allowed", command="escalate")
    person = author if isinstance(author, Person) else ctx.hub._person(ctx.s, author, ctx.now)
    text = clean(text)[:4000]
    if not text:
        raise Refused("refused/empty")
    topic = topic or intake.recognise(ctx, text, ctx.now).topic
    place = place_in(ctx, text)
    ctx.audit("ticket.escalated_by_moderator", f"person:{person.id}", after={"chat": chat or ctx.chat})
    thread = ctx.thread if (chat or ctx.chat) == ctx.chat else None  # the topic the moderator acted in
    if similar_answered(ctx.s, text):
        data = {"intent": "question", "text": text, "topic": topic if topic in TOPICS else "logistics",
                "items": [], "capabilities": [], "place": place, "deadline": None, "cues": [], "confidence": 1.0,
                "asker_id": person.id, "chat": chat or ctx.chat, "thread": thread, "platform": ctx.platform,
                "community_id": ctx.community.id if ctx.community else None}
        intake.propose(ctx, data, "question")
        return None
    return open_ticket(ctx, text, topic, place=place, asker=person, chat=chat or ctx.chat, thread=thread)


def escalate(hub: Hub, moderator: Identity, author: Identity, text: str, *, platform: str, chat: str,
             event_id: str, chat_kind: str = "channel", community: str | None = None) -> list[Outbound]:
    """Entry point for a bot's "Escalate to a national contact" message menu: the moderator who used it,
    the message's author (with their display name) and text, where it was posted."""
    return hub._handle(platform, event_id, moderator, chat, chat_kind, community, None, None,
                       lambda ctx: escalate_message(ctx, author, text, chat))


def share_name(ctx, ticket_id: int) -> None:
    """The asker agrees that the contact sees their name (tickets are pseudonymous until then)."""
    esc = _ticket(ctx, ticket_id)
    if ctx.person.id != esc.asker_id:
        raise Refused("refused/not_yours")
    if not esc.asker_named:
        esc.asker_named = True
        ctx.audit("ticket.name_shared", ticket_ref(esc.id), before={"named": False}, after={"named": True})
    ctx.reply("name_shared", "info", ref=ticket_ref(esc.id))


# ---------------------------------------------------------------------------------------- answering

def _ticket(ctx, ticket_id: int | None) -> Escalation:
    esc = ctx.s.get(Escalation, ticket_id) if ticket_id else None
    if esc is None:
        raise Refused("refused/unknown_ticket", ref=ticket_ref(ticket_id) if ticket_id else "?")
    return esc


def split_private(text: str) -> tuple[str, bool]:
    """An answer starting with ``--private`` (``--prive``) stays out of public channels and of the base."""
    stripped = text.strip()
    for mark in PRIVATE_MARKS:
        if fold(stripped[:len(mark)]) == fold(mark):
            return stripped[len(mark):].strip(), False
    return stripped, True


def answer(ctx, ticket_id: int | None, text: str, *, public: bool = True) -> None:
    """Record a contact's answer and relay it: to the asker, and (when public) to the chat where the
    question was asked and into the base of answered questions."""
    esc = _ticket(ctx, ticket_id)
    if not may_handle(ctx, esc):
        raise Refused("refused/not_allowed", command="answer")
    if esc.status != "open":
        raise Refused("refused/ticket_closed", ref=ticket_ref(esc.id))
    text = clean(text)
    if not text:
        raise Refused("refused/empty")
    esc.status, esc.answer, esc.answered_by, esc.answered_at, esc.public = (
        "answered", text[:4000], ctx.person.id, ctx.now, public)
    ref = ticket_ref(esc.id)
    ctx.audit("ticket.answered", ref, before={"status": "open"}, after={"status": "answered", "public": public})
    community = ctx.s.get(Community, esc.community_id) if esc.community_id else None
    # Asked in a group, channel or thread, not in private (a forgotten asker's private chat is "").
    posted = public and community is not None and bool(esc.chat)
    ctx.reply("answer_recorded", "info", ref=ref, public=public, posted=posted)
    asker = ctx.s.get(Person, esc.asker_id) if esc.asker_id else None
    view = {"ref": ref, "question": esc.text, "answer": esc.answer, "contact": ctx.person.display_name,
            "topic": esc.topic}
    if asker is not None:
        ctx.tell(asker, "answer", "answer", **view)
    if posted:
        ctx.post(esc.platform, esc.chat, "answer", "answer", community.language, thread=esc.thread, **view)
        ctx.audit("ticket.answer_posted", ref, after={"platform": esc.platform, "chat": esc.chat,
                                                      "thread": esc.thread})


def ticket_of_reply(ctx, reply_to: str) -> int | None:
    """The ticket whose message (ticket, reminder or hand-over, sent to this person) is being replied to."""
    if not reply_to:
        return None
    row = ctx.s.exec(select(OutboxMessage).where(
        OutboxMessage.platform == ctx.platform, OutboxMessage.platform_message_id == str(reply_to)[:64],
        OutboxMessage.direct == True, OutboxMessage.chat == ctx.person.platform_id,  # noqa: E712
        OutboxMessage.kind.in_(TICKET_MESSAGE_KINDS))).first()
    if row is None:
        return None
    for button in row.buttons or []:
        parts = str(button.get("action", "")).split(":")
        if len(parts) == 3 and parts[:2] == ["ticket", "answer"] and parts[2].isdigit():
            return int(parts[2])
    return None


def answer_by_reply(ctx, reply_to: str | None, text: str) -> bool:
    """A contact replying to a ticket's message answers it; False when the reply is about something else."""
    if not reply_to:
        return False
    roles = permissions.roles_of(ctx.s, ctx.person, ctx.community)
    if not roles & {Role.CONTACT, Role.MODERATOR, Role.ADMIN}:
        return False
    ticket_id = ticket_of_reply(ctx, reply_to)
    if ticket_id is None:
        return False
    body, public = split_private(text)
    answer(ctx, ticket_id, body, public=public)
    return True


def close(ctx, ticket_id: int | None, reason: str = "") -> None:
    esc = _ticket(ctx, ticket_id)
    if not may_handle(ctx, esc):
        raise Refused("refused/not_allowed", command="closeticket")
    if esc.status != "open":
        raise Refused("refused/ticket_closed", ref=ticket_ref(esc.id))
    esc.status = "closed"
    ref = ticket_ref(esc.id)
    reason = shorten(clean(reason), 500)
    ctx.audit("ticket.closed", ref, before={"status": "open"}, after={"status": "closed", "reason": reason})
    ctx.reply("closed_ticket", "info", ref=ref)
    asker = ctx.s.get(Person, esc.asker_id) if esc.asker_id else None
    if asker is not None and asker.id != ctx.person.id:
        ctx.tell(asker, "closed_ticket_notice", "answer", ref=ref, question=shorten(esc.text, 300),
                 reason=reason or None)


def on_action(ctx, verb: str, ticket_id: int, value: str | None) -> None:
    """Buttons of tickets: ``ticket:answer:<id>`` (with the answer as value) and ``ticket:share_name:<id>``."""
    if verb == "answer":
        if not value:
            esc = _ticket(ctx, ticket_id)
            if not may_handle(ctx, esc):
                raise Refused("refused/not_allowed", command="answer")
            ctx.reply("answer_how", "info", ref=ticket_ref(ticket_id))
            return
        body, public = split_private(value)
        answer(ctx, ticket_id, body, public=public)
    elif verb == "share_name":
        share_name(ctx, ticket_id)
    else:
        raise Refused("refused/unknown_action")


# ---------------------------------------------------------------------------------------- views

def ticket_view(esc: Escalation) -> dict[str, Any]:
    return {"ref": ticket_ref(esc.id), "topic": esc.topic, "question": shorten(esc.text, 160),
            "answer": shorten(esc.answer or "", 300), "status": esc.status}


def show_ticket(ctx, ticket_id: int | None) -> None:
    """One ticket, only to its asker, its contacts and moderators."""
    esc = _ticket(ctx, ticket_id)
    if not may_view(ctx, esc):
        raise Refused("refused/ticket_private", ref=ticket_ref(esc.id))
    contact = ctx.s.get(Person, esc.contact_id) if esc.contact_id else None
    answered_by = ctx.s.get(Person, esc.answered_by) if esc.answered_by else None
    handler = ctx.person.id != esc.asker_id
    ctx.reply("ticket_view", "listing", t={
        **ticket_view(esc), "question": esc.text, "answer": esc.answer, "region": esc.region,
        "asked": esc.created_at, "answered": esc.answered_at, "public": esc.public,
        "contact": contact.display_name if contact and handler else None,
        "answered_by": answered_by.display_name if answered_by else None,
        "asker": _ticket_context(ctx.s, esc, ctx.now)["asker"] if handler else None})


def list_tickets(ctx) -> None:
    """The person's own tickets; a contact also sees the open tickets waiting for them."""
    mine = list(ctx.s.exec(select(Escalation).where(Escalation.asker_id == ctx.person.id)
                           .order_by(Escalation.id.desc()).limit(20)))
    waiting = list(ctx.s.exec(select(Escalation).where(Escalation.contact_id == ctx.person.id,
                                                       Escalation.status == "open")
                              .order_by(Escalation.id).limit(20)))
    ctx.reply("tickets", "listing", tickets=[ticket_view(e) for e in mine],
              waiting=[ticket_view(e) for e in waiting])


# ---------------------------------------------------------------------------------------- notices

def publish_notice(ctx, text: str) -> int:
    """A national contact's official notice, posted in every community's briefing (or needs) channel."""
    text = clean(text)
    if not text:
        raise Refused("refused/usage", usage="/avis <texte>")
    sent, skipped = 0, 0
    for community in ctx.s.exec(select(Community).order_by(Community.id)):
        chat = community.briefing_channel or community.needs_channel or (
            community.platform_id if community.platform == "telegram" else None)
        if chat is None:
            skipped += 1
            continue
        thread = community.briefing_thread if chat == community.briefing_channel else None
        ctx.post(community.platform, chat, "notice", "notice", community.language, priority=2, thread=thread,
                 text=text, contact=ctx.person.display_name, community=community.name or None)
        sent += 1
    ctx.audit("notice.published", "", after={"text": shorten(text, 500), "communities": sent, "skipped": skipped})
    ctx.reply("notice_sent", "info", sent=sent, skipped=skipped)
    return sent


# ---------------------------------------------------------------------------------------- service levels

def due_reminders(s: Session, now: datetime, reminder_hours: float, handover_hours: float
                  ) -> list[tuple[Escalation, str]]:
    """Open tickets needing something: "route" (no contact yet), "handover" or "reminder"."""
    out = []
    for esc in s.exec(select(Escalation).where(Escalation.status == "open").order_by(Escalation.id)):
        if esc.contact_id is None:
            out.append((esc, "route"))
            continue
        age = now - (esc.routed_at or esc.created_at)
        if esc.handed_over_at is None and age >= timedelta(hours=handover_hours):
            out.append((esc, "handover"))
        elif esc.reminded_at is None and age >= timedelta(hours=reminder_hours):
            out.append((esc, "reminder"))
    return out


def _claim(s: Session, esc: Escalation, where: Iterable, **values: Any) -> bool:
    """Set ``values`` only if ``where`` still holds: of several schedulers, one does each step."""
    result = s.exec(update(Escalation).where(Escalation.id == esc.id, Escalation.status == "open", *where)
                       .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    s.refresh(esc)
    return True


def run_reminders(hub: Hub, now: datetime) -> list[Outbound]:
    """Route waiting tickets, remind the contact after the reminder delay, hand over to the next contact
    (the backup) after the hand-over delay, telling the first contact (who may still answer). Idempotent;
    the outbound messages are persisted here."""
    settings = hub.settings
    outs: list[Outbound] = []
    with hub.db.session() as s:
        for esc, what in due_reminders(s, now, settings.escalation_reminder_hours,
                                       settings.escalation_handover_hours):
            contacts = contacts_for(s, esc.topic, esc.region)
            if what == "route":
                if not contacts or not _claim(s, esc, [Escalation.contact_id.is_(None)],
                                              contact_id=contacts[0].person_id, routed_at=now):
                    continue
                _audit(s, now, None, "ticket.routed", esc, after={"contact": esc.contact_id})
                outs.append(_to_contact(hub, s, esc, s.get(Person, esc.contact_id), "ticket", now))
            elif what == "reminder":
                if not _claim(s, esc, [Escalation.reminded_at.is_(None)], reminded_at=now):
                    continue
                _audit(s, now, None, "ticket.reminded", esc, after={"contact": esc.contact_id})
                contact = s.get(Person, esc.contact_id)
                if contact is not None:
                    outs.append(_to_contact(hub, s, esc, contact, "reminder", now))
            else:
                ids = [c.person_id for c in contacts]
                after = ids[ids.index(esc.contact_id) + 1:] if esc.contact_id in ids else ids
                backup = next((pid for pid in after if pid != esc.contact_id), None)
                previous = esc.contact_id
                if not _claim(s, esc, [Escalation.handed_over_at.is_(None)], handed_over_at=now,
                              reminded_at=func.coalesce(Escalation.reminded_at, now),
                              contact_id=backup or previous):
                    continue
                _audit(s, now, None, "ticket.handed_over" if backup else "ticket.no_backup", esc,
                       before={"contact": previous}, after={"contact": esc.contact_id})
                target = s.get(Person, esc.contact_id) if esc.contact_id else None
                if target is not None:
                    outs.append(_to_contact(hub, s, esc, target, "handover" if backup else "reminder", now))
                # The contact it was taken from is told, and may still answer while they stay designated
                # for the topic (may_handle); one who is no longer designated is not told.
                original = s.get(Person, previous) if backup and previous in ids else None
                if original is not None:
                    outs.append(_to_contact(hub, s, esc, original, "handover_notice", now))
                if not backup:
                    for mod in _moderators(s, esc.community_id):
                        outs.append(hub.compose_direct(mod, "ticket_unrouted", "ticket", {
                            "ref": ticket_ref(esc.id), "topic": esc.topic, "region": esc.region,
                            "question": shorten(esc.text, 300)}))
        hub._persist(s, outs)
    return outs


# ---------------------------------------------------------------------------------------- commands

def _split(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def _ref_and_rest(args: str, usage: str) -> tuple[int, str]:
    ref, _, rest = args.strip().partition(" ")
    ticket = parse_ref(ref, "Q") if ref else None
    if ticket is None:
        raise Refused("refused/usage", usage=usage)
    return ticket, rest.strip()


@command("ask", "question", "demander", "poser")
def cmd_ask(ctx, args: str) -> None:
    """``/question [topic:] <text>``: propose a question for the authorities (similar answers come first)."""
    from core import intake

    topic, text = split_topic(args.strip())
    if not text:
        raise Refused("refused/usage", usage="/question [thème:] <texte>")
    topic = topic or intake.recognise(ctx, text, ctx.now).topic
    propose_question(ctx, text, topic, place_in(ctx, text))


@command("answer", "reponse", "réponse", "repondre", "répondre")
def cmd_answer(ctx, args: str) -> None:
    """``/answer Q-12 [--private] <answer>``."""
    ticket, text = _ref_and_rest(args, "/reponse Q-12 [--prive] <réponse>")
    body, public = split_private(text)
    if not body:
        raise Refused("refused/usage", usage="/reponse Q-12 [--prive] <réponse>")
    answer(ctx, ticket, body, public=public)


@command("escalate", "escalader", "remonter", "transmettre")
def cmd_escalate(ctx, args: str) -> None:
    """``/escalate <person> <text>``: a moderator turns someone's message into a ticket (the person is
    ``platform:id``, an id on this platform, or an exact display name in quotes)."""
    usage = "/escalader <personne> <texte>"
    args = args.strip()
    if not args:
        raise Refused("refused/usage", usage=usage)
    if args[0] in "\"'":
        try:
            lexer = shlex.shlex(args, posix=True)
            lexer.whitespace_split = True
            who = next(iter(lexer))
            rest = args[args.index(args[0], 1) + 1:].strip()
        except (ValueError, StopIteration):
            raise Refused("refused/usage", usage=usage) from None
    else:
        who, _, rest = args.partition(" ")
    if not rest.strip():
        raise Refused("refused/usage", usage=usage)
    platform, _, pid = who.lstrip("@").partition(":")
    if pid and platform in ("telegram", "discord", "console"):
        author: Identity | Person = Identity(platform, pid, pid)
        known = ctx.s.exec(select(Person).where(Person.platform == platform, Person.platform_id == pid)).first()
        author = known or author
    else:
        author = find_person(ctx, who)
    escalate_message(ctx, author, rest.strip())


@command("questions", "mesquestions", "tickets")
def cmd_questions(ctx, args: str) -> None:
    list_tickets(ctx)


@command("ticket", "fiche")
def cmd_ticket(ctx, args: str) -> None:
    """``/ticket Q-3`` shows a ticket; ``/ticket Q-3 close [reason]`` closes it (contacts, moderators)."""
    ticket, rest = _ref_and_rest(args, "/ticket Q-3")
    verb, _, reason = rest.partition(" ")
    if fold(verb) in ("close", "fermer", "clore"):
        permissions.require(ctx.s, ctx.person, ctx.community, "closeticket")
        close(ctx, ticket, reason)
    else:
        show_ticket(ctx, ticket)


@command("closeticket", "clore")
def cmd_close_ticket(ctx, args: str) -> None:
    ticket, reason = _ref_and_rest(args, "/clore Q-3 [raison]")
    close(ctx, ticket, reason)


@command("notice", "avis")
def cmd_notice(ctx, args: str) -> None:
    publish_notice(ctx, args)


@command("contacts")
def cmd_contacts(ctx, args: str) -> None:
    """``/contacts`` lists; ``/contacts add WHO TOPIC [REGION] [--backup]``; ``/contacts remove WHO [TOPIC]
    [REGION]``. Topics in French or English; regions by name, alias or département."""
    usage = "/contacts add|remove <qui> sanitaire|juridique|technique|logistique [région] [--backup]"
    parts = _split(args)
    verb = fold(parts[0]) if parts else ""
    if verb in ("add", "ajouter", "remove", "retirer", "supprimer"):
        adding = verb in ("add", "ajouter")
        if len(parts) < 2 or (adding and len(parts) < 3):
            raise Refused("refused/usage", usage=usage)
        person = find_person(ctx, parts[1])
        rest = [p for p in parts[2:] if p not in ("--backup", "--suppleant", "--suppléant")]
        topic = parse_topic(rest[0]) if rest else None
        if rest and topic is None:
            raise Refused("refused/usage", usage=usage)
        region = canonical_region(" ".join(rest[1:])) if len(rest) > 1 else None
        rank = 1 if len(rest) < len(parts[2:]) else 0
        if adding:
            existing = ctx.s.exec(select(DesignatedContact).where(
                DesignatedContact.person_id == person.id, DesignatedContact.topic == topic,
                DesignatedContact.region == region if region else DesignatedContact.region.is_(None))).first()
            if existing is None:
                ctx.s.add(DesignatedContact(person_id=person.id, topic=topic, region=region, rank=rank))
            else:
                existing.rank = rank
            ctx.s.flush()
            ctx.audit("contact.designated", f"person:{person.id}",
                      after={"topic": topic, "region": region, "rank": rank})
            _route_waiting(ctx, topic)
        else:
            q = select(DesignatedContact).where(DesignatedContact.person_id == person.id)
            if topic:
                q = q.where(DesignatedContact.topic == topic)
            for row in ctx.s.exec(q):
                if region and not same_region(row.region, region):
                    continue
                ctx.s.delete(row)
                ctx.audit("contact.removed", f"person:{person.id}",
                          before={"topic": row.topic, "region": row.region, "rank": row.rank})
            ctx.s.flush()
    elif parts:
        raise Refused("refused/usage", usage=usage)
    rows = []
    for c in ctx.s.exec(select(DesignatedContact).order_by(DesignatedContact.topic, DesignatedContact.region,
                                                           DesignatedContact.rank, DesignatedContact.id)):
        p = ctx.s.get(Person, c.person_id)
        rows.append({"topic": c.topic, "region": c.region, "rank": c.rank,
                     "name": p.display_name if p else "?", "platform": p.platform if p else "?"})
    ctx.reply("contacts", "listing", contacts=rows)


def _route_waiting(ctx, topic: str) -> None:
    """A newly designated contact gets the open tickets of their topic that nobody had yet."""
    for esc in ctx.s.exec(select(Escalation).where(Escalation.status == "open", Escalation.topic == topic,
                                                   Escalation.contact_id.is_(None)).order_by(Escalation.id)):
        contacts = contacts_for(ctx.s, esc.topic, esc.region)
        if not contacts:
            continue
        esc.contact_id, esc.routed_at = contacts[0].person_id, ctx.now
        ctx.audit("ticket.routed", ticket_ref(esc.id), after={"contact": esc.contact_id})
        ctx.out.append(_to_contact(ctx.hub, ctx.s, esc, ctx.s.get(Person, esc.contact_id), "ticket", ctx.now))


__all__ = [
    "TOPICS",
    "answer",
    "answer_by_reply",
    "close",
    "concepts",
    "contacts_for",
    "escalate",
    "escalate_message",
    "open_from_proposal",
    "open_ticket",
    "publish_notice",
    "run_reminders",
    "similar_answered",
    "similarity",
    "suggest_similar",
]
