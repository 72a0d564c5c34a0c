"""Autocomplete from the core's data: catalogue items, places, open needs."""

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from sqlmodel import select

from core.models import Item, Need, NeedLine, NeedStatus

log = logging.getLogger(__name__)

LIMIT = 25


def _fold(value: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", value.casefold()) if not unicodedata.combining(c))


def _items(hub: Any, current: str, lang: str) -> list[app_commands.Choice[str]]:
    wanted = _fold(current.strip())
    with hub.db.session() as s:
        rows = list(s.exec(select(Item).where(Item.active == True).order_by(Item.id)))  # noqa: E712
    choices = []
    for item in rows:
        name = item.name_fr if lang == "fr" else item.name_en
        if not wanted or wanted in _fold(name) or wanted in _fold(item.id) or wanted in _fold(item.name_en):
            choices.append(app_commands.Choice(name=name[:100], value=item.id))
    return choices[:LIMIT]


async def items(bot: Any, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Catalogue items (active ones) whose name or id contains what was typed; the value is the id."""
    return await asyncio.to_thread(_items, bot.hub, current, bot.ui_language(interaction))


def _places(hub: Any, current: str) -> list[app_commands.Choice[str]]:
    current = current.strip()
    if len(current) < 2:
        return []
    places = hub.places
    complete = getattr(places, "complete", None)
    found = list(complete(current, LIMIT)) if complete else []
    if not found:
        place = places.lookup(current)
        found = [place] if place is not None else []
    choices = []
    for place in found[:LIMIT]:
        label = f"{place.name} ({place.department})" if place.department else place.name
        choices.append(app_commands.Choice(name=label[:100], value=place.name[:100]))
    return choices


async def places(bot: Any, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Places from the offline gazetteer (a prefix search when it offers one, else its best match)."""
    try:
        return await asyncio.to_thread(_places, bot.hub, current)
    except Exception:  # an autocomplete must answer, even with nothing
        log.exception("place autocomplete failed for %r", current)
        return []


def _needs(hub: Any, current: str, lang: str) -> list[app_commands.Choice[str]]:
    from core.hub import need_ref
    from core.needs import need_view

    wanted = _fold(current.strip().lstrip("#"))
    choices = []
    with hub.db.session() as s:
        rows = list(s.exec(select(Need).where(Need.status.in_(NeedStatus.ACTIVE)).order_by(Need.id.desc())
                           .limit(200)))
        for need in rows:
            ref = need_ref(need.id)
            if wanted and wanted not in _fold(ref) and wanted != str(need.id):
                continue
            lines = list(s.exec(select(NeedLine).where(NeedLine.need_id == need.id).order_by(NeedLine.id)))
            label = hub.renderer.render("bot/discord/need_choice", lang, need=need_view(need, lines)).text
            choices.append(app_commands.Choice(name=" ".join(label.split())[:100], value=ref))
            if len(choices) >= LIMIT:
                break
    return choices


async def needs(bot: Any, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Open needs, newest first, by reference."""
    return await asyncio.to_thread(_needs, bot.hub, current, bot.ui_language(interaction))
