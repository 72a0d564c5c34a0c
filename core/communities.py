"""Community settings and briefings on demand, for moderators."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import areas, briefing, chats
from core.commands import command
from core.errors import Refused
from core.models import Community

TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:h]([0-5]\d)$")
ON = {"on", "oui", "yes", "1", "true", "vrai"}
OFF = {"off", "non", "no", "0", "false", "faux"}
HERE = {"ici", "here"}  # a channel setting's value meaning "the chat (and topic) this command is said in"

# Setting names (French aliases first) -> the Community field they change.
KEYS = {
    "salon_besoins": "needs_channel", "needs_channel": "needs_channel",
    "salon_point": "briefing_channel", "briefing_channel": "briefing_channel",
    "salon_lecture": "intake_channel", "intake_channel": "intake_channel",
    "heure": "briefing_time", "heure_point": "briefing_time", "briefing_time": "briefing_time",
    "langue": "language", "language": "language", "lang": "language",
    "fuseau": "timezone", "timezone": "timezone",
    "rayon": "radius_km", "radius": "radius_km", "radius_km": "radius_km",
    "region": "region", "région": "region",
    "reponse_privee": "reply_in_dm", "reply_in_dm": "reply_in_dm", "dm": "reply_in_dm",
}


def view(community: Community) -> dict[str, Any]:
    return {"name": community.name, "needs_channel": community.needs_channel,
            "briefing_channel": community.briefing_channel, "briefing_thread": community.briefing_thread,
            "intake_channels": list(community.intake_channels or []),
            "briefing_time": community.briefing_time, "language": community.language,
            "timezone": community.timezone, "radius_km": community.radius_km, "region": community.region,
            "reply_in_dm": community.reply_in_dm}


def _channel(value: str) -> str | None:
    value = value.strip().lstrip("#")
    if value in ("-", "none", "aucun"):
        return None
    value = re.sub(r"^<#(\d+)>$", r"\1", value)
    if not re.fullmatch(r"-?[\w.-]{1,64}", value):
        raise Refused("refused/bad_setting", key="channel", value=value[:40])
    return value


def _place(value: str, here: tuple[str, str | None] | None) -> tuple[str | None, str | None]:
    """A channel setting's chat and topic: ``ici``/``here`` is where the command was said (a Telegram
    forum topic included), anything else a channel id (no topic) or ``-`` for none."""
    if here is not None and value.strip().lower() in HERE:
        return here
    return _channel(value), None


def apply(community: Community, key: str, value: str, here: tuple[str, str | None] | None = None) -> None:
    """Change one setting; ``here`` = (chat, topic) of the command, for a channel given as ``ici``.
    Only the briefing keeps a topic: needs posts and the channels read are whole chats."""
    field = KEYS.get(key.lower())
    if field is None:
        raise Refused("refused/bad_setting", key=key[:40], value=value[:40])
    if field in ("needs_channel", "briefing_channel"):
        chat, thread = _place(value, here)
        setattr(community, field, chat)
        if field == "briefing_channel":
            community.briefing_thread = thread if chat is not None else None
    elif field == "intake_channel":
        channel = _place(value, here)[0]
        channels = list(community.intake_channels or [])
        if channel is None:
            channels = []
        elif channel in channels:
            channels.remove(channel)
        else:
            channels.append(channel)
        community.intake_channels = channels
    elif field == "briefing_time":
        m = TIME_RE.match(value.strip())
        if not m:
            raise Refused("refused/bad_setting", key=key, value=value[:40])
        community.briefing_time = f"{int(m.group(1)):02d}:{m.group(2)}"
    elif field == "language":
        if value.lower()[:2] not in ("fr", "en"):
            raise Refused("refused/bad_setting", key=key, value=value[:40])
        community.language = value.lower()[:2]
    elif field == "timezone":
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise Refused("refused/bad_setting", key=key, value=value[:40]) from None
        community.timezone = value.strip()
    elif field == "radius_km":
        try:
            radius = float(value.replace(",", "."))
        except ValueError:
            raise Refused("refused/bad_setting", key=key, value=value[:40]) from None
        if not 1 <= radius <= 1000:
            raise Refused("refused/bad_setting", key=key, value=value[:40])
        community.radius_km = radius
    elif field == "region":
        try:
            community.region = areas.parse_area(value)
        except ValueError:
            raise Refused("refused/bad_region", value=value[:40], examples=list(areas.EXAMPLES)) from None
    elif field == "reply_in_dm":
        if value.lower() not in ON | OFF:
            raise Refused("refused/bad_setting", key=key, value=value[:40])
        community.reply_in_dm = value.lower() in ON


def _community(ctx) -> Community:
    if ctx.community is None:
        raise Refused("refused/no_community")
    return ctx.community


def _pairs(args: str) -> list[tuple[str, str]]:
    """``key value`` pairs; a region's value runs to the next setting name, so it may have spaces
    (``region Pays de la Loire heure 07:30``)."""
    parts = args.split()
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(parts):
        end = i + 2
        if KEYS.get(parts[i].lower()) == "region":
            while end < len(parts) and parts[end].lower() not in KEYS:
                end += 1
        if end > len(parts):
            raise Refused("refused/usage", usage="/reglages <clé> <valeur> [<clé> <valeur> ...]")
        pairs.append((parts[i], " ".join(parts[i + 1:end])))
        i = end
    return pairs


@command("settings", "reglages", "réglages", "parametres", "paramètres")
def cmd_settings(ctx, args: str) -> None:
    """``/settings`` shows; ``/settings key value [key value ...]`` changes, e.g. ``heure 08:30 rayon 80``."""
    community = _community(ctx)
    before = view(community)
    for key, value in _pairs(args):
        apply(community, key, value, here=(ctx.chat, ctx.thread))
    after = view(community)
    if after != before:
        ctx.audit("community.settings", f"community:{community.id}", before=before, after=after)
    ctx.reply("settings", "settings", settings=after, changed=after != before)


@command("briefing", "point")
def cmd_briefing(ctx, args: str) -> None:
    """``/briefing preview`` shows tomorrow's briefing as it stands; ``/briefing now`` posts one now."""
    community = _community(ctx)
    verb = (args.split() or ["preview"])[0].lower()
    data = briefing.compose(ctx.s, community, ctx.now)
    if verb in ("preview", "apercu", "aperçu"):
        ctx.reply("briefing", "briefing", **data)
    elif verb in ("now", "maintenant"):
        chat, thread = chats.briefing_place(community)
        ctx.post(community.platform, chat, "briefing", "briefing", community.language, priority=1,
                 thread=thread, **data)
        ctx.audit("briefing.posted", f"community:{community.id}")
        if (chat, thread) != (ctx.chat, ctx.thread):
            ctx.reply("briefing_posted", "info", chat=chat)
    else:
        raise Refused("refused/usage", usage="/briefing preview|now")
