"""Intake: messages in channels, threads and DMs go to the core, which decides whether to answer."""

import logging
import re

import discord
from discord.ext import commands

from core.inbox import Submitted
from core.messages import Inbound

log = logging.getLogger(__name__)

PROPOSAL_REACTION = "\N{MEMO}"
_READ_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def core_text(message: discord.Message, bot_id: int) -> str:
    """The message as people read it: the bot's own mention dropped, other mentions by name."""
    content = re.sub(rf"<@!?{bot_id}>", "", message.content or "")
    for user in message.mentions:
        content = re.sub(rf"<@!?{user.id}>", f"@{user.display_name}", content)
    for role in message.role_mentions:
        content = content.replace(f"<@&{role.id}>", f"@{role.name}")
    for channel in message.channel_mentions:
        content = content.replace(f"<#{channel.id}>", f"#{channel.name}")
    return " ".join(content.split(" ")).strip()


class Intake(commands.Cog):
    """Reads what people write; a confident proposal gets a reaction and a reply with buttons."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    def _addressed(self, message: discord.Message) -> bool:
        me = self.bot.user
        if me is None:
            return False
        if any(u.id == me.id for u in message.mentions):
            return True
        ref = message.reference
        resolved = ref.resolved if ref is not None else None
        return isinstance(resolved, discord.Message) and resolved.author.id == me.id

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None or message.type not in _READ_TYPES:
            return
        bot = self.bot
        where = bot.where(message.channel, message.guild)
        inbound = Inbound(
            platform="discord", event_id=f"message:{message.id}", chat=where.chat,
            author=bot.identity(message.author), text=core_text(message, bot.user.id),
            sent_at=message.created_at, chat_kind=where.chat_kind, community=where.community,
            community_name=where.community_name, addressed=self._addressed(message) or where.chat_kind == "private",
            reply_to=str(message.id))
        try:
            result = await bot.inbox.submit(inbound, {"channel": str(message.channel.id),
                                                      "message": str(message.id)})
        except Exception:
            log.exception("could not handle %s", inbound.event_id)
            result = []
        if isinstance(result, Submitted):  # the database is unreachable: handled when it is back
            await bot.message_kept(message, inbound, result)
            bot.dispatch("relais_kept", inbound.event_id, result)
            return
        outs = result
        if any(o.kind == "proposal" for o in outs):
            try:
                await message.add_reaction(PROPOSAL_REACTION)
            except discord.HTTPException as exc:
                log.info("no reaction on %s: %s", message.id, exc)
        if outs:
            bot.worker.wake()
        bot.dispatch("relais_handled", inbound.event_id, outs)
