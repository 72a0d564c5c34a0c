"""Escalation: questions for national contacts, from a command or from any message, and answers."""

import discord
from discord import app_commands
from discord.ext import commands

from bots.discord.strings import L


class Escalation(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name=L("escalate.name"), callback=self.escalate)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(name=L("ask.name"), description=L("ask.description"))
    @app_commands.rename(question=L("opt.question.name"))
    @app_commands.describe(question=L("opt.question.description"))
    async def ask(self, interaction: discord.Interaction,
                  question: app_commands.Range[str, 1, 1500]) -> None:
        await self.bot.run_command(interaction, "ask", question)

    async def escalate(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The context-menu command: one's own message becomes a question to confirm; someone else's is
        escalated on their behalf, which the core allows moderators only."""
        if message.author.id == interaction.user.id:
            await self.bot.run_command(interaction, "ask", message.content or "")
        else:
            await self.bot.run_command(interaction, "escalate", f"discord:{message.author.id} {message.content}",
                                       moderator=True)

    @app_commands.command(name=L("answer.name"), description=L("answer.description"))
    @app_commands.rename(ticket=L("opt.ticket.name"), text=L("opt.text.name"), private=L("opt.private.name"))
    @app_commands.describe(ticket=L("opt.ticket.description"), text=L("opt.text.description"),
                           private=L("opt.private.description"))
    async def answer(self, interaction: discord.Interaction, ticket: str,
                     text: app_commands.Range[str, 1, 1800], private: bool = False) -> None:
        flag = "--private " if private else ""
        await self.bot.run_command(interaction, "answer", f"{ticket} {flag}{text}")
