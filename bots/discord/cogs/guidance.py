"""Guidance: the precautions of a risk category, or of an item's category."""

from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bots.discord.cogs import complete
from bots.discord.strings import L


class Guidance(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name=L("guidance.name"), description=L("guidance.description"))
    @app_commands.rename(category=L("opt.category.name"), item=L("opt.item.name"))
    @app_commands.describe(category=L("opt.category.description"), item=L("opt.item.description"))
    async def guidance(self, interaction: discord.Interaction,
                       category: Optional[app_commands.Range[int, 1, 4]] = None,
                       item: Optional[str] = None) -> None:
        await self.bot.run_command(interaction, "guidance", item or (str(category) if category else ""))

    @guidance.autocomplete("item")
    async def _complete_item(self, interaction: discord.Interaction, current: str):
        return await complete.items(self.bot, interaction, current)
