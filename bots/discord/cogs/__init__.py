"""Cogs: each translates one area of Relais between Discord and the core."""

from bots.discord.cogs.escalation import Escalation
from bots.discord.cogs.guidance import Guidance
from bots.discord.cogs.intake import Intake
from bots.discord.cogs.moderation import Moderation
from bots.discord.cogs.needs import NeedsAndOffers

COGS = (Intake, NeedsAndOffers, Guidance, Escalation, Moderation)

__all__ = ["COGS", "Escalation", "Guidance", "Intake", "Moderation", "NeedsAndOffers"]
