"""Needs and offers: forms to log them, listings, commitments and deliveries."""

import logging
from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bots.discord.cogs import complete
from bots.discord.strings import L
from bots.discord.views import FormModal

log = logging.getLogger(__name__)


class NeedsAndOffers(commands.Cog):
    """/need and /offer open a form whose answers become a sentence for the core; the rest maps 1:1."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    def _item_name(self, item: Optional[str], lang: str) -> Optional[str]:
        if not item:
            return None
        return self.bot.hub.renderer.item_names.get(item, {}).get(lang, item)

    @app_commands.command(name=L("need.name"), description=L("need.description"))
    @app_commands.rename(item=L("opt.item.name"), place=L("opt.place.name"))
    @app_commands.describe(item=L("opt.item.description"), place=L("opt.place.description"))
    async def need(self, interaction: discord.Interaction, item: Optional[str] = None,
                   place: Optional[str] = None) -> None:
        lang = self.bot.ui_language(interaction)
        await interaction.response.send_modal(FormModal(
            custom_id=f"relais:need:{interaction.id}", title_key="form.need.title", language=lang,
            fields=[("items", "form.need.items", "form.need.items_hint", True, False, self._item_name(item, lang)),
                    ("quantity", "form.need.quantity", None, True, False, None),
                    ("place", "form.need.place", None, True, False, place),
                    ("deadline", "form.need.deadline", "form.need.deadline_hint", False, False, None),
                    ("facility", "form.need.facility", "form.need.facility_hint", False, False, None)],
            on_values=self._need_submitted))

    async def _need_submitted(self, interaction: discord.Interaction, values: dict[str, str]) -> None:
        sentence = self.bot.form_text("need_text", self.bot.ui_language(interaction), values)
        await self.bot.run_command(interaction, "need", sentence)

    @app_commands.command(name=L("offer.name"), description=L("offer.description"))
    @app_commands.rename(item=L("opt.item.name"), place=L("opt.place.name"))
    @app_commands.describe(item=L("opt.item.description"), place=L("opt.place.description"))
    async def offer(self, interaction: discord.Interaction, item: Optional[str] = None,
                    place: Optional[str] = None) -> None:
        lang = self.bot.ui_language(interaction)
        await interaction.response.send_modal(FormModal(
            custom_id=f"relais:offer:{interaction.id}", title_key="form.offer.title", language=lang,
            fields=[("items", "form.offer.items", "form.offer.items_hint", True, False,
                     self._item_name(item, lang)),
                    ("quantity", "form.offer.quantity", None, False, False, None),
                    ("place", "form.offer.place", None, True, False, place)],
            on_values=self._offer_submitted))

    async def _offer_submitted(self, interaction: discord.Interaction, values: dict[str, str]) -> None:
        sentence = self.bot.form_text("offer_text", self.bot.ui_language(interaction), values)
        await self.bot.run_command(interaction, "offer", sentence)

    @app_commands.command(name=L("needs.name"), description=L("needs.description"))
    @app_commands.rename(near=L("opt.near.name"), item=L("opt.item.name"))
    @app_commands.describe(near=L("opt.near.description"), item=L("opt.item.description"))
    async def needs(self, interaction: discord.Interaction, near: Optional[str] = None,
                    item: Optional[str] = None) -> None:
        await self.bot.run_command(interaction, "needs", " ".join(p for p in (item, near) if p))

    @app_commands.command(name=L("offers.name"), description=L("offers.description"))
    @app_commands.rename(near=L("opt.near.name"))
    @app_commands.describe(near=L("opt.near.description"))
    async def offers(self, interaction: discord.Interaction, near: Optional[str] = None) -> None:
        await self.bot.run_command(interaction, "offers", near or "")

    @app_commands.command(name=L("commit.name"), description=L("commit.description"))
    @app_commands.rename(need=L("opt.need.name"), quantity=L("opt.quantity.name"))
    @app_commands.describe(need=L("opt.need.description"), quantity=L("opt.quantity.description"))
    async def commit(self, interaction: discord.Interaction, need: str,
                     quantity: app_commands.Range[int, 1, 1_000_000]) -> None:
        await self.bot.run_command(interaction, "commit", f"{need} {quantity}")

    @app_commands.command(name=L("deliver.name"), description=L("deliver.description"))
    @app_commands.rename(need=L("opt.need.name"), quantity=L("opt.quantity.name"))
    @app_commands.describe(need=L("opt.need.description"), quantity=L("opt.quantity.description"))
    async def deliver(self, interaction: discord.Interaction, need: str,
                      quantity: Optional[app_commands.Range[int, 1, 1_000_000]] = None) -> None:
        await self.bot.run_command(interaction, "deliver", f"{need} {quantity or ''}")

    @app_commands.command(name=L("status.name"), description=L("status.description"))
    async def status(self, interaction: discord.Interaction) -> None:
        await self.bot.run_command(interaction, "status")

    @need.autocomplete("item")
    @offer.autocomplete("item")
    @needs.autocomplete("item")
    async def _complete_item(self, interaction: discord.Interaction, current: str):
        return await complete.items(self.bot, interaction, current)

    @need.autocomplete("place")
    @offer.autocomplete("place")
    @needs.autocomplete("near")
    @offers.autocomplete("near")
    async def _complete_place(self, interaction: discord.Interaction, current: str):
        return await complete.places(self.bot, interaction, current)

    @commit.autocomplete("need")
    @deliver.autocomplete("need")
    async def _complete_need(self, interaction: discord.Interaction, current: str):
        return await complete.needs(self.bot, interaction, current)
