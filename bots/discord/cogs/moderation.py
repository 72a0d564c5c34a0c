"""Moderation: commands for members with Discord's Manage Server permission, checked again in the core.

Discord hides them from other members (``default_permissions``); the core refuses them to anyone
without its moderator role, which the bot grants to members who have Manage Server."""

from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bots.discord.cogs import complete
from bots.discord.strings import L

_TOPICS = [app_commands.Choice(name=L(f"choice.{t}"), value=t)
           for t in ("sanitary", "legal", "technical", "logistics")]


def _choices(*values: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=L(f"choice.{v}"), value=v) for v in values]


def _choice(value: Optional[app_commands.Choice[str]]) -> str:
    return value.value if value is not None else ""


def _privileged(command):
    """Shown only to members with Manage Server, in servers (the core checks again)."""
    return app_commands.guild_only()(app_commands.default_permissions(manage_guild=True)(command))


class Moderation(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def _run(self, interaction: discord.Interaction, name: str, *parts: object) -> None:
        args = " ".join(str(p) for p in parts if p not in (None, ""))
        await self.bot.run_command(interaction, name, args, moderator=True)

    @_privileged
    @app_commands.command(name=L("classify.name"), description=L("classify.description"))
    @app_commands.rename(item=L("opt.item.name"), category=L("opt.category.name"))
    @app_commands.describe(item=L("opt.item.description"), category=L("opt.category.description"))
    async def classify(self, interaction: discord.Interaction, item: str,
                       category: app_commands.Range[int, 1, 4]) -> None:
        await self._run(interaction, "classify", item, category)

    @_privileged
    @app_commands.command(name=L("design.name"), description=L("design.description"))
    @app_commands.rename(action=L("opt.action.name"), url=L("opt.url.name"), item=L("opt.item.name"))
    @app_commands.describe(action=L("opt.action.description"), url=L("opt.url.description"),
                           item=L("opt.item.description"))
    @app_commands.choices(action=_choices("list", "add", "validate", "withdraw"))
    async def design(self, interaction: discord.Interaction, action: app_commands.Choice[str],
                     url: Optional[str] = None, item: Optional[str] = None) -> None:
        """``/design list [item]``, ``add <url> <item>``, ``validate <url>``, ``withdraw <url>``."""
        await self._run(interaction, "design", action.value, url, item)

    @_privileged
    @app_commands.command(name=L("contacts.name"), description=L("contacts.description"))
    @app_commands.rename(action=L("opt.action.name"), who=L("opt.who.name"), topic=L("opt.topic.name"),
                         region=L("opt.region.name"), backup=L("opt.backup.name"))
    @app_commands.describe(action=L("opt.action.description"), who=L("opt.who.description"),
                           topic=L("opt.topic.description"), region=L("opt.region.description"),
                           backup=L("opt.backup.description"))
    @app_commands.choices(action=_choices("list", "add", "remove"), topic=_TOPICS)
    async def contacts(self, interaction: discord.Interaction,
                       action: Optional[app_commands.Choice[str]] = None,
                       who: Optional[discord.User] = None,
                       topic: Optional[app_commands.Choice[str]] = None,
                       region: Optional[str] = None, backup: bool = False) -> None:
        verb = _choice(action)
        if verb in ("", "list"):
            await self._run(interaction, "contacts")
            return
        await self._run(interaction, "contacts", verb, f"discord:{who.id}" if who else "", _choice(topic),
                        region, "--backup" if backup else "")

    @_privileged
    @app_commands.command(name=L("sources.name"), description=L("sources.description"))
    @app_commands.rename(action=L("opt.action.name"), url=L("opt.url.name"))
    @app_commands.describe(action=L("opt.action.description"), url=L("opt.url.description"))
    @app_commands.choices(action=_choices("list", "add", "remove"))
    async def sources(self, interaction: discord.Interaction,
                      action: Optional[app_commands.Choice[str]] = None, url: Optional[str] = None) -> None:
        verb = _choice(action)
        await self._run(interaction, "sources", "" if verb == "list" else verb, url)

    @_privileged
    @app_commands.command(name=L("briefing.name"), description=L("briefing.description"))
    @app_commands.rename(action=L("opt.action.name"))
    @app_commands.describe(action=L("opt.action.description"))
    @app_commands.choices(action=_choices("preview", "now"))
    async def briefing(self, interaction: discord.Interaction, action: app_commands.Choice[str]) -> None:
        await self._run(interaction, "briefing", action.value)

    @_privileged
    @app_commands.command(name=L("settings.name"), description=L("settings.description"))
    @app_commands.rename(needs_channel=L("opt.needs_channel.name"),
                         briefing_channel=L("opt.briefing_channel.name"),
                         intake_channel=L("opt.intake_channel.name"), briefing_time=L("opt.briefing_time.name"),
                         language=L("opt.language.name"), radius=L("opt.radius.name"),
                         area=L("opt.area.name"))
    @app_commands.describe(needs_channel=L("opt.needs_channel.description"),
                           briefing_channel=L("opt.briefing_channel.description"),
                           intake_channel=L("opt.intake_channel.description"),
                           briefing_time=L("opt.briefing_time.description"),
                           language=L("opt.language.description"), radius=L("opt.radius.description"),
                           area=L("opt.area.description"))
    @app_commands.choices(language=_choices("fr", "en"))
    async def settings(self, interaction: discord.Interaction,
                       needs_channel: Optional[discord.TextChannel] = None,
                       briefing_channel: Optional[discord.TextChannel] = None,
                       intake_channel: Optional[discord.TextChannel] = None,
                       briefing_time: Optional[app_commands.Range[str, 4, 5]] = None,
                       language: Optional[app_commands.Choice[str]] = None,
                       radius: Optional[app_commands.Range[float, 1, 400]] = None,
                       area: Optional[app_commands.Range[str, 1, 64]] = None) -> None:
        """Each option given becomes ``key value`` for the core: ``needs_channel 123 language fr``; the area
        (a region of several words, or départements) goes last."""
        pairs = [("needs_channel", needs_channel.id if needs_channel else None),
                 ("briefing_channel", briefing_channel.id if briefing_channel else None),
                 ("intake_channel", intake_channel.id if intake_channel else None),
                 ("briefing_time", briefing_time), ("language", _choice(language) or None),
                 ("radius", f"{radius:g}" if radius is not None else None), ("region", area)]
        await self._run(interaction, "settings", *(f"{k} {v}" for k, v in pairs if v is not None))

    @_privileged
    @app_commands.command(name=L("export.name"), description=L("export.description"))
    @app_commands.rename(what=L("opt.what.name"), format=L("opt.format.name"))
    @app_commands.describe(what=L("opt.what.description"), format=L("opt.format.description"))
    @app_commands.choices(what=_choices("needs", "offers", "capacity"), format=_choices("csv", "geojson"))
    async def export(self, interaction: discord.Interaction, what: app_commands.Choice[str],
                     format: Optional[app_commands.Choice[str]] = None) -> None:
        await self._run(interaction, "export", what.value, _choice(format))

    @classify.autocomplete("item")
    @design.autocomplete("item")
    async def _complete_item(self, interaction: discord.Interaction, current: str):
        return await complete.items(self.bot, interaction, current)
