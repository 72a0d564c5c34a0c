"""Precautionary guidance per risk category, sent where it matters and not more often than needed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Iterable

from sqlmodel import select

from core.models import Design, GuidanceSent, Item, RiskCategory

URL_RE = re.compile(r"https?://[^\s<>\"']{4,400}", re.I)
DESIGN_SITES = ("thingiverse.com", "prusaprinters.org", "printables.com", "cults3d.com", "myminifactory.com",
                "grabcad.com", "github.com", "instructables.com", "youmagine.com", "thangs.com")


def category_context(ctx, category: int) -> dict[str, Any]:
    cat = ctx.s.get(RiskCategory, category)
    override = None
    if cat is not None:
        override = cat.guidance_fr if ctx.lang == "fr" else cat.guidance_en
    return {"category": category, "override": override,
            "official_channel_url": ctx.hub.settings.official_channel_url,
            "open_research_url": ctx.hub.settings.open_research_url}


def _categories(ctx, item_ids: Iterable[str]) -> dict[int, list[str]]:
    by_cat: dict[int, list[str]] = {}
    for item_id in dict.fromkeys(item_ids):
        item = ctx.s.get(Item, item_id)
        if item is not None and item.category:
            by_cat.setdefault(item.category, []).append(item.id)
    return by_cat


def confirmations(ctx, item_ids: Iterable[str]) -> None:
    """With every confirmation of a need, offer or commitment of category 2 and above: always in a
    direct conversation, once per cool-down in a public channel."""
    for category, items in sorted(_categories(ctx, item_ids).items()):
        if category >= 2 and (ctx.private or not _cooling_down(ctx, category)):
            ctx.reply(f"guidance/category_{category}", "guidance", items=items, **category_context(ctx, category))
            _remember(ctx, category)


def on_public_mention(ctx, rec: Any) -> None:
    """A public message that mentions a category 3 or 4 item gets the guidance, once per cool-down."""
    if ctx.private:
        return
    for category, items in sorted(_categories(ctx, [i.item for i in rec.items]).items()):
        if category >= 3 and not _cooling_down(ctx, category):
            ctx.reply(f"guidance/category_{category}", "guidance", items=items, **category_context(ctx, category))
            _remember(ctx, category)


def _cooling_down(ctx, category: int) -> bool:
    row = ctx.s.get(GuidanceSent, (ctx.platform, ctx.chat, category))
    hours = ctx.hub.settings.guidance_cooldown_hours
    return row is not None and ctx.now - row.at < timedelta(hours=hours)


def _remember(ctx, category: int) -> None:
    row = ctx.s.get(GuidanceSent, (ctx.platform, ctx.chat, category))
    if row is None:
        ctx.s.add(GuidanceSent(platform=ctx.platform, chat=ctx.chat, category=category, at=ctx.now))
    else:
        row.at = ctx.now


def design_links(ctx, text: str) -> bool:
    """Check shared links against the design catalogue; returns True when something was said."""
    said = False
    for url in URL_RE.findall(text)[:3]:
        url = url.rstrip(".,;)!?")
        design = ctx.s.exec(select(Design).where(Design.url == url)).first()
        if design is None:
            if not any(site in url.lower() for site in DESIGN_SITES):
                continue
            design = Design(url=url, status="unreviewed", created_at=ctx.now, updated_at=ctx.now)
            ctx.s.add(design)
            ctx.s.flush()
            ctx.audit("design.recorded", f"design:{design.id}", after={"url": url})
        category = design.category
        if category is None and design.item_id:
            item = ctx.s.get(Item, design.item_id)
            category = item.category if item else None
        ctx.reply(f"design/{design.status}", "design_check", url=url, name=design.name, item=design.item_id,
                  category=category)
        said = True
        if category and category >= 2 and not _cooling_down(ctx, category):
            ctx.reply(f"guidance/category_{category}", "guidance", items=[design.item_id] if design.item_id else [],
                      **category_context(ctx, category))
            _remember(ctx, category)
    return said
