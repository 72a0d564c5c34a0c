"""The Relais bot for Discord: holds the hub and translates between Discord and the core."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.exc import IntegrityError

from bots.discord.render import NO_MENTIONS
from bots.discord.sender import DiscordSender, message_parts
from bots.discord.strings import RelaisTranslator, language_of, strings
from bots.discord.views import ActionButton, FormModal
from core.delivery import DeliveryWorker, mark_sent, release
from core.inbox import Command, Inbox, Submitted, unavailable
from core.messages import Action, Form, Identity, Inbound, Outbound
from core.models import Role

__all__ = ["RelaisBot", "ShardedRelaisBot", "Where", "intents"]

log = logging.getLogger(__name__)

_THREADS = (discord.ChannelType.public_thread, discord.ChannelType.private_thread,
            discord.ChannelType.news_thread)


def intents() -> discord.Intents:
    """Guild messages with their content, DMs and reactions; no privileged member list."""
    wanted = discord.Intents.default()
    wanted.message_content = True
    return wanted


class Where(SimpleNamespace):
    """Where an event happened, in the core's terms."""

    chat: str
    chat_kind: str
    community: str | None
    community_name: str | None


class RelaisMixin:
    """Everything the Relais bot adds to ``commands.Bot`` (plain or auto-sharded)."""

    def __init__(self, hub: Any, settings: Any, *, sync_commands: bool = True, poll_seconds: float = 0.5,
                 worker_options: dict[str, Any] | None = None, inbox_spool: str | None = None,
                 inbox_options: dict[str, Any] | None = None, **options: Any) -> None:
        options.setdefault("intents", intents())
        options.setdefault("allowed_mentions", NO_MENTIONS)
        options.setdefault("max_ratelimit_timeout", 30.0)  # longer waits go back to the outbox
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, **options)
        self.hub = hub
        self.settings = settings
        self.sync_commands = sync_commands
        self.sender = DiscordSender(self)
        self.worker = DeliveryWorker(hub.db, self.sender, clock=hub.clock, poll_seconds=poll_seconds,
                                             **(worker_options or {}))
        self._worker_task: asyncio.Task | None = None
        # Gateway events are never sent again: while the database is unreachable the inbox keeps them.
        self.inbox = Inbox(hub, spool=inbox_spool, claim_for=self.worker.worker, on_processed=self._after_kept,
                           **(inbox_options or {}))
        self._inbox_task: asyncio.Task | None = None
        self._told_kept: set[str] = set()  # chats told during this outage that their messages are kept
        self.synced: list[app_commands.AppCommand] = []

    # ------------------------------------------------------------------ life cycle

    async def setup_hook(self) -> None:
        from bots.discord.cogs import COGS

        self.add_dynamic_items(ActionButton)
        await self.tree.set_translator(RelaisTranslator())
        for cog in COGS:
            await self.add_cog(cog(self))
        self.tree.on_error = self.on_app_command_error
        await asyncio.to_thread(lambda: self.hub.places)  # load the gazetteer before the first autocomplete
        if self.sync_commands:
            self.synced = await self.tree.sync()
        self._worker_task = asyncio.create_task(self.worker.run(), name="relais-discord-delivery")
        self._inbox_task = asyncio.create_task(self.inbox.run(), name="relais-discord-inbox")

    async def close(self) -> None:
        self.inbox.stop()
        if self._inbox_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._inbox_task, timeout=10)
            self._inbox_task = None
        self.worker.stop()
        if self._worker_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._worker_task, timeout=10)
            self._worker_task = None
        await super().close()

    async def on_message(self, message: discord.Message) -> None:
        """Messages are read by the intake cog; there are no prefix commands."""

    # ------------------------------------------------------------------ translation helpers

    def identity(self, user: discord.abc.User, locale: discord.Locale | None = None) -> Identity:
        language = language_of(locale, default="") if locale is not None else ""
        return Identity("discord", str(user.id), user.display_name, language or None)

    def where(self, channel: Any, guild: discord.Guild | None) -> Where:
        kind = getattr(channel, "type", None)
        if guild is None:
            chat_kind = "private"
        elif kind in _THREADS:
            chat_kind = "thread"
        else:
            chat_kind = "channel"
        return Where(chat=str(channel.id), chat_kind=chat_kind, community=str(guild.id) if guild else None,
                     community_name=guild.name if guild else None)

    def interaction_where(self, interaction: discord.Interaction) -> Where:
        channel = interaction.channel or self.get_partial_messageable(interaction.channel_id or 0)
        return self.where(channel, interaction.guild)

    @staticmethod
    def ui_language(interaction: discord.Interaction) -> str:
        return language_of(interaction.locale, default="fr")

    async def core(self, call: Callable[..., list[Outbound]], *args: Any, **kwargs: Any) -> list[Outbound]:
        """Run a (synchronous, database-bound) core call off the event loop.

        Two first events of one server or person at once can both try to create its row; the loser's
        whole transaction is rolled back (its event included), so running it again is safe."""
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except IntegrityError:
            log.info("concurrent first contact; running %s again", getattr(call, "__name__", call))
            return await asyncio.to_thread(call, *args, **kwargs)

    # ------------------------------------------------------------------ interactions

    async def run_command(self, interaction: discord.Interaction, name: str, args: str = "", *,
                          moderator: bool = False) -> None:
        """Acknowledge at once, run a core command, answer with what the core said here."""
        await self._defer(interaction)
        where = self.interaction_where(interaction)
        author = self.identity(interaction.user, interaction.locale)
        if moderator:
            try:
                await asyncio.to_thread(self._grant_moderator_if_manager, interaction, author, where)
            except Exception as exc:
                if not unavailable(exc):
                    raise
                log.warning("moderator role not checked, the database is unreachable: %s", exc)
        await self.answer(interaction, where, Command(
            platform="discord", event_id=f"interaction:{interaction.id}", chat=where.chat, author=author,
            name=name, args=args.strip(), chat_kind=where.chat_kind, community=where.community))

    async def act(self, interaction: discord.Interaction, action: str, value: str | None = None) -> list[Outbound]:
        """A button press or a submitted form, as a core action; returns what the core said."""
        await self._defer(interaction)
        where = self.interaction_where(interaction)
        return await self.answer(interaction, where, Action(
            platform="discord", event_id=f"interaction:{interaction.id}", chat=where.chat,
            author=self.identity(interaction.user, interaction.locale), name=action,
            sent_at=self.hub.clock.now(), value=value, chat_kind=where.chat_kind, community=where.community))

    async def _defer(self, interaction: discord.Interaction) -> None:
        if not interaction.response.is_done():
            if interaction.type == discord.InteractionType.component:
                await interaction.response.defer()  # the answer comes as a follow-up
            else:
                await interaction.response.defer(thinking=True, ephemeral=interaction.guild is not None)

    def _grant_moderator_if_manager(self, interaction: discord.Interaction, author: Identity,
                                    where: Where) -> None:
        """Discord's Manage Server permission makes a member a moderator of the community in the core."""
        if where.community is None or not interaction.permissions.manage_guild:
            return
        self.hub.grant_role(author, Role.MODERATOR, community=where.community,
                            community_name=where.community_name)

    async def answer(self, interaction: discord.Interaction, where: Where, event: Action | Command) -> list[Outbound]:
        """Run a core call for an interaction and send the core's replies as its follow-ups (claimed
        in the outbox first, then recorded as sent); DMs and channel posts are left to the worker.
        While the database is unreachable the interaction is kept and its author told so; the core
        handles it later and its replies then go through the outbox."""
        # The core stores the replies already claimed by this bot's worker, so the worker never posts
        # them as channel messages; if this process dies, the worker takes them back at its restart.
        result = await self.inbox.submit(event, claim=True)
        if isinstance(result, Submitted):
            await self._say_kept(interaction, result)
            return []
        outs = result
        mine = [o for o in outs if o.claimed]
        claimed = {o.outbox_id for o in mine}
        ephemeral = interaction.guild is not None
        answered = False
        for out in mine:
            if out.outbox_id not in claimed:
                continue
            buttons = [{"label": b.label, "action": b.action, "style": b.style} for b in out.buttons]
            try:
                first = None
                for content, view in message_parts(out.text, out.title, buttons):
                    sent = await interaction.followup.send(content, view=view or discord.utils.MISSING,
                                                           ephemeral=ephemeral, allowed_mentions=NO_MENTIONS,
                                                           wait=True)
                    first = first or sent
                    answered = True
            except (discord.HTTPException, discord.RateLimited) as exc:
                # The interaction failed (its token expired...), not the chat: the worker sends it instead.
                log.warning("interaction follow-up failed, leaving message %s to the outbox: %s", out.outbox_id, exc)
                await asyncio.to_thread(release, self.hub.db, [out.outbox_id], at=self.hub.clock.now())
                claimed.discard(out.outbox_id)
                continue
            await asyncio.to_thread(mark_sent, self.hub.db, out.outbox_id, str(first.id) if first else None,
                                    self.hub.clock.now())
        thinking = interaction.response.type == discord.InteractionResponseType.deferred_channel_message
        if not answered and thinking:
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()  # nothing to say: no "thinking…" left behind
        if any(o.outbox_id not in claimed for o in outs):
            self.worker.wake()
        return outs

    # ------------------------------------------------------------------ database outages

    async def _say_kept(self, interaction: discord.Interaction, result: Submitted) -> None:
        template = "error/kept" if result is Submitted.KEPT else "error/not_kept"
        rendered = self.hub.renderer.render(template, self.ui_language(interaction))
        content = message_parts(rendered.text, rendered.title, [])[0][0]
        with contextlib.suppress(discord.HTTPException):
            await interaction.followup.send(content, ephemeral=interaction.guild is not None,
                                            allowed_mentions=NO_MENTIONS)

    async def message_kept(self, message: discord.Message, inbound: Inbound, result: Submitted) -> None:
        """A message the core could not take now: its author is told once per chat and outage when the
        message was meant for the bot (a DM, a mention); chatter in channels is kept silently."""
        if result is Submitted.KEPT and (not inbound.addressed or inbound.chat in self._told_kept):
            return
        self._told_kept.add(inbound.chat)
        lang = language_of(getattr(message.author, "locale", None), default="") or self.settings.default_language
        rendered = self.hub.renderer.render("error/kept" if result is Submitted.KEPT else "error/not_kept", lang)
        content = message_parts(rendered.text, rendered.title, [])[0][0]
        try:
            await message.reply(content, mention_author=False, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.info("could not tell %s its message is kept: %s", inbound.chat, exc)

    async def _after_kept(self, event: Any, context: dict[str, Any], outs: list[Outbound]) -> None:
        """A kept event the core has now handled: what a live one would have done next."""
        if not self.inbox.outage:
            self._told_kept.clear()
        if outs:
            self.worker.wake()
        if isinstance(event, Inbound):
            if any(o.kind == "proposal" for o in outs) and context.get("channel") and context.get("message"):
                from bots.discord.cogs.intake import PROPOSAL_REACTION

                partial = self.get_partial_messageable(int(context["channel"])).get_partial_message(
                    int(context["message"]))
                with contextlib.suppress(discord.HTTPException):
                    await partial.add_reaction(PROPOSAL_REACTION)
            self.dispatch("relais_handled", event.event_id, outs)

    async def on_action_pressed(self, interaction: discord.Interaction, action: str) -> None:
        """A core button: some open a form first (how many to make, the answer to a question)."""
        domain, verb, ident = action.split(":")
        lang = self.ui_language(interaction)
        if (domain, verb) == ("proposal", "edit"):
            await self._open_edit_form(interaction, action)
            return
        if (domain, verb) == ("need", "commit"):
            await interaction.response.send_modal(FormModal(
                custom_id=f"relais:{action}:{interaction.id}", title_key="form.commit.title", language=lang,
                fields=[("quantity", "form.commit.quantity", None, True, False, None)],
                on_values=lambda i, v: self._submitted_action(i, action, v["quantity"])))
            return
        if (domain, verb) == ("ticket", "answer"):
            await interaction.response.send_modal(FormModal(
                custom_id=f"relais:{action}:{interaction.id}", title_key="form.answer.title", language=lang,
                fields=[("text", "form.answer.text", None, True, True, None)],
                on_values=lambda i, v: self._submitted_action(i, action, v["text"])))
            return
        outs = await self.act(interaction, action)
        if domain == "proposal" and not any(o.kind in ("refused", "error") for o in outs):
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(view=None)  # settled: its buttons go

    async def _submitted_action(self, interaction: discord.Interaction, action: str, value: str) -> None:
        await self.act(interaction, action, value or None)

    async def _open_edit_form(self, interaction: discord.Interaction, action: str) -> None:
        """"Edit" under a proposal: the core says whether the presser may edit it (its author only) and
        gives the form prefilled with the proposal, opened as a modal (the press's first answer, so the
        core call is a quick read); anyone else is told why not, privately."""
        where = self.interaction_where(interaction)
        press = Action(platform="discord", event_id=f"interaction:{interaction.id}", chat=where.chat,
                       author=self.identity(interaction.user, interaction.locale), name=action,
                       sent_at=self.hub.clock.now(), chat_kind=where.chat_kind, community=where.community)
        ephemeral = interaction.guild is not None
        try:
            form = await asyncio.to_thread(self.hub.edit_form, press)
        except Exception as exc:
            if not unavailable(exc):
                raise
            log.warning("no edit form, the database is unreachable: %s", exc)
            rendered = self.hub.renderer.render("error/not_kept", self.ui_language(interaction))
            await interaction.response.send_message(message_parts(rendered.text, rendered.title, [])[0][0],
                                                    ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)
            return
        if not isinstance(form, Form):  # the core's refusal: nothing stored, this is the whole answer
            await interaction.response.send_message(message_parts(form.text, form.title, [])[0][0],
                                                    ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)
            return
        known = strings("en")
        fields = []
        for field in form.fields:
            key = f"form.edit.{form.kind}.{field.name}"
            fields.append((field.name, key, f"{key}_hint" if f"{key}_hint" in known else None, field.required,
                           field.long, field.value))
        await interaction.response.send_modal(FormModal(
            custom_id=f"relais:{action}:{interaction.id}", title_key=f"form.edit.{form.kind}.title",
            language=form.language, fields=fields, on_values=lambda i, v: self._edit_submitted(i, action, v)))

    async def _edit_submitted(self, interaction: discord.Interaction, action: str,
                              values: dict[str, str]) -> None:
        """The corrected fields go to the core, which dismisses the proposal and shows the new one (as the
        /need form's proposal is shown); the old proposal's buttons go. The submission updates the message
        the form was opened from, so an ephemeral proposal can lose its buttons too."""
        await interaction.response.defer()  # a deferred update of the proposal's message
        outs = await self.act(interaction, action, json.dumps(values, ensure_ascii=False))
        if any(o.kind == "proposal" for o in outs) and not any(o.kind in ("refused", "error") for o in outs):
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(view=None)

    async def on_form_error(self, interaction: discord.Interaction, error: Exception) -> None:
        log.error("form failed", exc_info=error)
        await self._say_internal_error(interaction)

    async def on_app_command_error(self, interaction: discord.Interaction,
                                   error: app_commands.AppCommandError) -> None:
        log.error("slash command %s failed", interaction.command and interaction.command.qualified_name,
                  exc_info=error)
        await self._say_internal_error(interaction)

    async def _say_internal_error(self, interaction: discord.Interaction) -> None:
        rendered = self.hub.renderer.render("error/internal", self.ui_language(interaction))
        content = message_parts(rendered.text, rendered.title, [])[0][0]
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(content, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(content, ephemeral=True, allowed_mentions=NO_MENTIONS)

    def form_text(self, template: str, language: str, values: dict[str, str]) -> str:
        """The sentence a form becomes (a template per language), read by the core's recogniser."""
        return self.hub.renderer.render(f"bot/discord/{template}", language, form=values).text


class RelaisBot(RelaisMixin, commands.Bot):
    """One gateway connection."""


class ShardedRelaisBot(RelaisMixin, commands.AutoShardedBot):
    """Several shards in one process, for many servers."""
