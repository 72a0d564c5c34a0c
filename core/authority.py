"""The health authority's controls, for moderators and designated contacts: risk classification of items
and designs, the guidance text of each category, design reviews, trusted sources and flagged claims.
Reading them is open to everyone; every change is checked, audited (before and after) and takes effect at
once. The behaviour these rules drive lives in core/guidance.py."""

from __future__ import annotations

import shlex
from typing import Any

from sqlmodel import func, select

from core import permissions
from core.commands import command
from core.errors import Refused
from core.guidance import (
    GUIDANCE_MAX_CHARS,
    LIST_LIMIT,
    NOTE_MAX_CHARS,
    URL_RE,
    alternatives,
    category_context,
    claim_view,
    design_category,
    design_links,
    design_ref,
    design_view,
    find_design,
    find_item,
    fold,
    name_from_url,
    normalise_url,
    trusted_sources,
)
from core.models import (
    Design,
    FlaggedClaim,
    Item,
    Need,
    NeedLine,
    NeedStatus,
    Offer,
    RiskCategory,
    TrustedSource,
)
from core.text import clean, shorten


def _split(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def _require(ctx, permission: str, shown: str) -> None:
    if not permissions.allowed(ctx.s, ctx.person, ctx.community, permission):
        raise Refused("refused/not_allowed", command=shown)


def _category_arg(ctx, token: str, usage: str) -> int:
    if not token.isdigit() or ctx.s.get(RiskCategory, int(token)) is None:
        raise Refused("refused/usage", usage=usage)
    return int(token)


@command("classify", "classer", "classifier")
def cmd_classify(ctx, args: str) -> None:
    """``/classify <item|design> <1-4>``: the authority moves an item or a design to a risk category."""
    usage = "/classify <objet|D-3|lien> <1-4>"
    parts = args.split()
    if len(parts) < 2:
        raise Refused("refused/usage", usage=usage)
    category = _category_arg(ctx, parts[-1], usage)
    target = " ".join(parts[:-1]).strip("\"'«» ")
    design = find_design(ctx.s, target)
    if design is not None:
        before = design_category(ctx.s, design)
        design.category, design.updated_at = category, ctx.now
        ctx.audit("design.classified", design_ref(design.id), before={"category": before},
                  after={"category": category})
        ctx.s.flush()
        ctx.reply("design/classified", "info", design=design_view(ctx.s, design), before=before, after=category)
        return
    if target.startswith(("http://", "https://")):
        raise Refused("refused/unknown_design", target=shorten(target, 80))
    item = find_item(ctx.s, target)
    if item is None:
        raise Refused("refused/unknown_item", item=shorten(target, 40))
    before = item.category
    item.category = category
    ctx.s.flush()
    _recompute_categories(ctx, item.id)
    ctx.audit("item.classified", f"item:{item.id}", before={"category": before}, after={"category": category})
    ctx.catalog_changed = True
    ctx.reply("classified", "info", item=item.id, before=before, after=category)


def _recompute_categories(ctx, item_id: str) -> None:
    """Open needs and active offers of an item take its new category at once (category 4 stops matching)."""
    need_ids = select(NeedLine.need_id).where(NeedLine.item_id == item_id)
    for need in ctx.s.exec(select(Need).where(Need.id.in_(need_ids), Need.status.in_(NeedStatus.ACTIVE))):
        cats = [ctx.s.get(Item, ln.item_id).category or 0
                for ln in ctx.s.exec(select(NeedLine).where(NeedLine.need_id == need.id))]
        need.category = max(cats, default=0) or None
    for offer in ctx.s.exec(select(Offer).where(Offer.status == "active")):
        ids = [i.get("item") for i in offer.items or []]
        if item_id in ids:
            cats = [(ctx.s.get(Item, i).category or 0) if ctx.s.get(Item, i) else 0 for i in ids]
            offer.category = max(cats, default=0) or None


@command("guidance", "consignes")
def cmd_guidance(ctx, args: str) -> None:
    """``/guidance`` overview, ``/guidance 3`` or ``/guidance <item>``; the authority edits a category's text
    with ``/guidance edit 2 fr <text>`` and goes back to the default one with ``/guidance reset 2 [fr|en]``."""
    parts = args.split(maxsplit=3)
    verb = fold(parts[0]) if parts else ""
    if verb in ("edit", "modifier", "set", "reset", "reinitialiser", "defaut"):
        _edit_guidance(ctx, verb, parts[1:])
        return
    arg = args.strip()
    if not arg:
        ctx.reply("guidance/overview", "guidance", categories=_overview(ctx))
        return
    if arg.isdigit():
        category = _category_arg(ctx, arg, "/guidance [1-4|objet]")
        ctx.reply(f"guidance/category_{category}", "guidance", items=[], **category_context(ctx, category))
        return
    item = find_item(ctx.s, arg.strip("\"'«» "))
    if item is None:
        raise Refused("refused/unknown_item", item=shorten(arg, 40))
    if not item.category:
        ctx.reply("guidance/unclassified", "guidance", item=item.id)
        return
    ctx.reply(f"guidance/category_{item.category}", "guidance", items=[item.id],
              **category_context(ctx, item.category))


def _overview(ctx) -> list[dict[str, Any]]:
    out = []
    for cat in ctx.s.exec(select(RiskCategory).order_by(RiskCategory.id)):
        items = [i.id for i in ctx.s.exec(select(Item).where(Item.category == cat.id, Item.active == True)
                                          .order_by(Item.id))]
        out.append({"id": cat.id, "items": items, "edited": bool(cat.guidance_fr or cat.guidance_en)})
    return out


def _edit_guidance(ctx, verb: str, parts: list[str]) -> None:
    _require(ctx, "guidance_edit", "guidance edit")
    resetting = verb in ("reset", "reinitialiser", "defaut")
    usage = "/guidance edit <1-4> fr|en <texte>" if not resetting else "/guidance reset <1-4> [fr|en]"
    if not parts:
        raise Refused("refused/usage", usage=usage)
    category = _category_arg(ctx, parts[0], usage)
    langs = [parts[1].lower()] if len(parts) > 1 else ([] if not resetting else ["fr", "en"])
    if not langs or any(lang not in ("fr", "en") for lang in langs):
        raise Refused("refused/usage", usage=usage)
    text = None
    if not resetting:
        text = clean(parts[2] if len(parts) > 2 else "")
        if not text:
            raise Refused("refused/usage", usage=usage)
        if len(text) > GUIDANCE_MAX_CHARS:
            raise Refused("refused/too_long", limit=GUIDANCE_MAX_CHARS, length=len(text))
    cat = ctx.s.get(RiskCategory, category)
    for lang in langs:
        field = f"guidance_{lang}"
        before = getattr(cat, field)
        if before == text:
            continue
        setattr(cat, field, text)
        ctx.audit("guidance.edited", f"category:{category}", before={"lang": lang, "text": before},
                  after={"lang": lang, "text": text})
    ctx.s.flush()
    ctx.reply("guidance/edited", "info", category=category, langs=langs, reset=resetting)
    shown = ctx.lang if ctx.lang in langs or not langs else langs[0]
    ctx.out.append(ctx.hub.compose(
        platform=ctx.platform, chat=ctx.chat, kind="guidance", template=f"guidance/category_{category}",
        language=shown, context={"items": [], **category_context(ctx, category, shown)}, reply_to=ctx.reply_to,
        priority=0, public=not ctx.private, label=ctx.label_here()))


@command("design", "modele", "modèle")
def cmd_design(ctx, args: str) -> None:
    """``/design list [status|item]`` and ``/design <link|D-3>`` for everyone; ``/design add <url> <item>
    [version] [licence]``, ``/design validate <url|D-3> [note]``, ``/design withdraw <url|D-3> [reason]``
    for the authority."""
    parts = _split(args)
    verb = fold(parts[0]) if parts else "list"
    rest = parts[1:]
    if verb in ("list", "liste", "lister"):
        _list_designs(ctx, " ".join(rest))
    elif verb in ("add", "ajouter"):
        _require(ctx, "design_edit", "design add")
        _add_design(ctx, rest)
    elif verb in ("validate", "valider", "withdraw", "retirer", "unreview", "areexaminer"):
        _require(ctx, "design_edit", f"design {parts[0]}")
        status = {"validate": "validated", "valider": "validated", "withdraw": "withdrawn",
                  "retirer": "withdrawn"}.get(verb, "unreviewed")
        _review_design(ctx, rest, status)
    else:
        design = find_design(ctx.s, parts[0]) if len(parts) == 1 else None
        if design is None and len(parts) == 1 and parts[0].startswith(("http://", "https://")):
            if not design_links(ctx, parts[0]):
                raise Refused("refused/unknown_design", target=shorten(parts[0], 80))
            return
        if design is None:
            raise Refused("refused/usage", usage="/design list | add | validate | withdraw | <lien|D-3>")
        view = design_view(ctx.s, design)
        if design.status == "withdrawn":
            ctx.reply("design/withdrawn", "warning", design=view, alternatives=alternatives(ctx.s, design))
        else:
            ctx.reply(f"design/{design.status}", "design_check", design=view)


def _list_designs(ctx, arg: str) -> None:
    q = select(Design)
    status = {"unreviewed": "unreviewed", "nonevalues": "unreviewed", "aevaluer": "unreviewed",
              "validated": "validated", "valides": "validated", "withdrawn": "withdrawn",
              "retires": "withdrawn"}.get(fold(arg).replace(" ", "").replace("-", ""))
    item = None
    if arg and status is None:
        item = find_item(ctx.s, arg)
        if item is None:
            raise Refused("refused/unknown_item", item=shorten(arg, 40))
        q = q.where(Design.item_id == item.id)
    if status:
        q = q.where(Design.status == status)
    total = ctx.s.exec(select(func.count()).select_from(q.subquery())).one()
    rows = list(ctx.s.exec(q.order_by(Design.status.desc(), Design.item_id, Design.id).limit(LIST_LIMIT)))
    ctx.reply("design/listing", "listing", designs=[design_view(ctx.s, d) for d in rows],
              more=max(int(total) - len(rows), 0), status=status, item=item.id if item else None)


def _add_design(ctx, parts: list[str]) -> None:
    usage = "/design add <lien> <objet> [version] [licence]"
    if len(parts) < 2 or not URL_RE.match(parts[0]):
        raise Refused("refused/usage", usage=usage)
    url = normalise_url(parts[0])
    item = find_item(ctx.s, parts[1])
    if item is None:
        raise Refused("refused/unknown_item", item=shorten(parts[1], 40))
    version = shorten(parts[2], 40) if len(parts) > 2 else None
    licence = shorten(" ".join(parts[3:]), 60) if len(parts) > 3 else None
    design = ctx.s.exec(select(Design).where(Design.url == url)).first()
    before = None
    if design is None:
        design = Design(url=url, name=name_from_url(parts[0]), status="unreviewed", created_at=ctx.now)
        ctx.s.add(design)
    else:
        before = {"item": design.item_id, "version": design.version, "licence": design.licence}
    design.item_id = item.id
    design.name = design.name or name_from_url(parts[0])
    design.version = version or design.version
    design.licence = licence or design.licence
    design.updated_at = ctx.now
    ctx.s.flush()
    ctx.audit("design.recorded", design_ref(design.id), before=before,
              after={"url": url, "item": item.id, "version": design.version, "licence": design.licence,
                     "status": design.status})
    ctx.reply("design/recorded", "info", design=design_view(ctx.s, design), created=before is None)


def _review_design(ctx, parts: list[str], status: str) -> None:
    usage = {"validated": "/design validate <lien|D-3> [note]", "withdrawn": "/design withdraw <lien|D-3> [motif]",
             "unreviewed": "/design unreview <lien|D-3>"}[status]
    if not parts:
        raise Refused("refused/usage", usage=usage)
    design = find_design(ctx.s, parts[0])
    if design is None:
        if not URL_RE.match(parts[0]):
            raise Refused("refused/unknown_design", target=shorten(parts[0], 80))
        url = normalise_url(parts[0])
        design = Design(url=url, name=name_from_url(parts[0]), status="unreviewed", created_at=ctx.now)
        ctx.s.add(design)
        ctx.s.flush()
    note = shorten(clean(" ".join(parts[1:])), NOTE_MAX_CHARS) or None
    before = {"status": design.status, "note": design.note}
    design.status, design.updated_at = status, ctx.now
    if note or status != before["status"]:
        design.note = note
    ctx.s.flush()
    ctx.audit("design.reviewed", design_ref(design.id), before=before,
              after={"status": status, "note": design.note})
    ctx.reply("design/reviewed", "info", design=design_view(ctx.s, design), before=before["status"])


@command("sources", "sourcesfiables")
def cmd_sources(ctx, args: str) -> None:
    """``/sources`` lists the trusted sources; the authority adds ``/sources add <url> [label]`` or removes
    ``/sources remove <url|number>``."""
    parts = args.split(maxsplit=2)
    verb = fold(parts[0]) if parts else ""
    if verb in ("add", "ajouter"):
        _require(ctx, "sources_edit", "sources add")
        if len(parts) < 2 or not URL_RE.match(parts[1]):
            raise Refused("refused/usage", usage="/sources add <lien> [nom]")
        url = normalise_url(parts[1])
        label = shorten(clean(parts[2]), 200) if len(parts) > 2 else ""
        row = ctx.s.exec(select(TrustedSource).where(TrustedSource.url == url)).first()
        before = {"url": row.url, "label": row.label} if row else None
        if row is None:
            row = TrustedSource(url=url, label=label)
            ctx.s.add(row)
        elif label:
            row.label = label
        ctx.s.flush()
        ctx.audit("source.added", f"source:{row.id}", before=before, after={"url": url, "label": row.label})
    elif verb in ("remove", "retirer", "supprimer", "delete"):
        _require(ctx, "sources_edit", "sources remove")
        token = parts[1] if len(parts) > 1 else ""
        row = ctx.s.get(TrustedSource, int(token)) if token.isdigit() else \
            ctx.s.exec(select(TrustedSource).where(TrustedSource.url == normalise_url(token))).first()
        if row is None:
            raise Refused("refused/usage", usage="/sources remove <lien|numéro>")
        ctx.audit("source.removed", f"source:{row.id}", before={"url": row.url, "label": row.label})
        ctx.s.delete(row)
        ctx.s.flush()
    elif parts:
        raise Refused("refused/usage", usage="/sources [add <lien> [nom] | remove <lien|numéro>]")
    ctx.reply("sources/listing", "listing", sources=trusted_sources(ctx, ctx.s))


@command("flag", "signaler")
def cmd_flag(ctx, args: str) -> None:
    """``/flag <link or "phrase"> [note]`` marks a dubious link or claim; ``/flag list``; ``/flag remove <n>``."""
    usage = "/flag <lien | \"phrase\"> [note]"
    text = clean(args)
    verb = fold(text.split(maxsplit=1)[0]) if text else ""
    if not text:
        raise Refused("refused/usage", usage=usage)
    if verb in ("list", "liste"):
        claims = list(ctx.s.exec(select(FlaggedClaim).order_by(FlaggedClaim.id.desc()).limit(LIST_LIMIT)))
        ctx.reply("flag/listing", "listing", claims=[claim_view(c) for c in claims])
        return
    if verb in ("remove", "retirer", "supprimer", "delete"):
        token = text.split(maxsplit=1)[1].strip() if " " in text else ""
        claim = ctx.s.get(FlaggedClaim, int(token)) if token.isdigit() else None
        if claim is None:
            raise Refused("refused/usage", usage="/flag remove <numéro>")
        ctx.audit("claim.unflagged", f"claim:{claim.id}", before={"pattern": claim.pattern, "note": claim.note})
        ctx.s.delete(claim)
        ctx.s.flush()
        ctx.reply("flag/removed", "info", claim=claim_view(claim))
        return
    pattern, note = _flag_parts(text)
    if len(fold(pattern)) < 4:
        raise Refused("refused/usage", usage=usage)
    claim = ctx.s.exec(select(FlaggedClaim).where(FlaggedClaim.pattern == pattern)).first()
    before = {"pattern": claim.pattern, "note": claim.note} if claim else None
    if claim is None:
        claim = FlaggedClaim(pattern=pattern, note=note, flagged_by=ctx.person.id, created_at=ctx.now)
        ctx.s.add(claim)
    else:
        claim.note = note or claim.note
    ctx.s.flush()
    ctx.audit("claim.flagged", f"claim:{claim.id}", before=before, after={"pattern": pattern, "note": claim.note})
    ctx.reply("flag/recorded", "info", claim=claim_view(claim))


def _flag_parts(text: str) -> tuple[str, str]:
    """A link and a note, a quoted phrase and a note, or a phrase and ``-- note``."""
    first, _, rest = text.partition(" ")
    if URL_RE.match(first):
        return normalise_url(first), shorten(rest.strip(), 500)
    if text[0] in "\"«“'":
        closing = {"\"": "\"", "«": "»", "“": "”", "'": "'"}[text[0]]
        end = text.find(closing, 1)
        if end > 1:
            return shorten(text[1:end].strip(), 500), shorten(text[end + 1:].strip(), 500)
    phrase, _, note = text.partition(" -- ")
    return shorten(phrase.strip(), 500), shorten(note.strip(), 500)
