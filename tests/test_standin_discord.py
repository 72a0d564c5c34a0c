"""The Discord stand-in, proven with the real discord.py talking to it over loopback."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.standins.discord_api import DiscordStandIn, Guild, Intent, Perm, RateLimits, User, new_snowflake

TIMEOUT = 5.0


def make_bot(*, message_content: bool = True) -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = message_content
    intents.members = True
    return commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)


@pytest.fixture
async def api():
    async with DiscordStandIn() as standin:
        yield standin


class FeedbackModal(discord.ui.Modal, title="Retour"):
    comment = discord.ui.TextInput(label="Commentaire", custom_id="feedback:comment")
    quantity = discord.ui.TextInput(label="Quantité", custom_id="feedback:quantity", required=False)

    def __init__(self, received: asyncio.Future) -> None:
        super().__init__(custom_id="feedback-modal", timeout=None)
        self.received = received

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.received.set_result((self.comment.value, self.quantity.value))
        await interaction.response.send_message("Merci !", ephemeral=True)


class ClaimView(discord.ui.View):
    def __init__(self, pressed: asyncio.Future) -> None:
        super().__init__(timeout=None)
        self.pressed = pressed

    @discord.ui.button(label="Je prends", custom_id="need:claim", style=discord.ButtonStyle.primary)
    async def claim(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.pressed.set_result(interaction.user.id)
        await interaction.response.edit_message(content="Pris en charge", view=None)


def add_commands(bot: commands.Bot, modal_result: asyncio.Future) -> None:
    @bot.tree.command(name="besoin", description="Déclarer un besoin")
    @app_commands.describe(article="Ce qu'il faut", quantite="Combien")
    async def besoin(interaction: discord.Interaction, article: str, quantite: int = 1) -> None:
        await interaction.response.send_message(f"{quantite} × {article}", ephemeral=True)

    @bot.tree.command(name="bilan", description="Bilan lent")
    async def bilan(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("Bilan prêt")
        await interaction.followup.send("Détail")

    @bot.tree.command(name="retour", description="Donner un retour")
    async def retour(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal(modal_result))

    @bot.tree.context_menu(name="Signaler")
    async def signaler(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"signalé: {message.content}", ephemeral=True)


async def test_login_ready_and_guild_model(api: DiscordStandIn) -> None:
    bot = make_bot()
    async with api.running(bot):
        guild = bot.get_guild(api.guild.id)
        assert guild is not None and guild.name == "Relais Test"
        assert guild.default_role.id == guild.id
        assert {c.name for c in guild.text_channels} >= {"général", "besoins", "offres", "annonces"}
        assert [t.name for t in guild.threads] == ["suivi"]
        assert guild.get_member(api.user("bob").id).get_role(api.role("Makers").id) is not None
        assert guild.me.id == bot.user.id == api.bot_user.id
        annonces = guild.get_channel(api.channel("annonces").id)
        assert not annonces.permissions_for(guild.get_member(api.user("alice").id)).send_messages
        assert annonces.permissions_for(guild.get_member(api.user("claire").id)).send_messages  # owner
        assert api.identify_payloads[-1]["intents"] & Intent.MESSAGE_CONTENT
        assert bot.application_id == api.application_id


async def test_on_message_reply_is_recorded(api: DiscordStandIn) -> None:
    bot = make_bot()
    seen: list[int] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            return
        seen.append(message.id)
        await message.reply(f"reçu: {message.content}", mention_author=False)

    async with api.running(bot):
        pushed = await api.push_message("besoins", "alice", "20 visières svp", message_id=4242)
        await api.push_message("besoins", "alice", "20 visières svp", message_id=4242)
        replies = await api.wait_for(channel_id=api.channel("besoins").id, count=2)
    assert seen == [4242, 4242]
    assert replies[0].content == "reçu: 20 visières svp"
    assert replies[0].reply_to == int(pushed["id"])
    assert replies[0].referenced_message["author"]["id"] == str(api.user("alice").id)
    assert not replies[0].pings_anyone


async def test_without_message_content_intent_content_is_empty(api: DiscordStandIn) -> None:
    bot = make_bot(message_content=False)
    contents: asyncio.Queue[str] = asyncio.Queue()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        contents.put_nowait(message.content)

    async with api.running(bot):
        await api.push_message("besoins", "alice", "secret")
        await api.push_message("besoins", "alice", f"<@{api.bot_user.id}> bonjour")
        first = await asyncio.wait_for(contents.get(), TIMEOUT)
        second = await asyncio.wait_for(contents.get(), TIMEOUT)
    assert first == ""
    assert second.endswith("bonjour")


async def test_slash_command_immediate_response(api: DiscordStandIn) -> None:
    bot = make_bot()
    add_commands(bot, asyncio.get_running_loop().create_future())
    async with api.running(bot):
        synced = await bot.tree.sync()
        assert {c.name for c in synced} == {"besoin", "bilan", "retour", "Signaler"}
        assert next(c for c in synced if c.name == "besoin").id == api.command_id("besoin")
        options = {"article": "visières", "quantite": 30}
        interaction = await api.push_slash_command("besoin", options, "alice")
        response = await api.wait_for_response(interaction)
    assert interaction["data"]["id"] == str(api.command_id("besoin"))
    assert interaction["data"]["options"][1] == {"name": "quantite", "type": 4, "value": 30}
    assert response.type == 4
    assert response.message.content == "30 × visières"
    assert response.message.ephemeral
    assert api.messages_in(int(interaction["channel_id"]), include_ephemeral=False) == []


async def test_guild_synced_command_carries_guild_id(api: DiscordStandIn) -> None:
    bot = make_bot()
    add_commands(bot, asyncio.get_running_loop().create_future())
    async with api.running(bot):
        guild = discord.Object(api.guild.id)
        bot.tree.copy_global_to(guild=guild)
        await bot.tree.sync(guild=guild)
        interaction = await api.push_slash_command(
            "besoin", {"article": "masques"}, "bob", channel_id="offres"
        )
        response = await api.wait_for_response(interaction)
    assert interaction["data"]["guild_id"] == str(api.guild.id)
    assert interaction["data"]["id"] == str(api.command_id("besoin", guild_id=api.guild.id))
    assert response.message.content == "1 × masques"
    assert response.message.channel_id == api.channel("offres").id


async def test_deferred_response_and_followups(api: DiscordStandIn) -> None:
    bot = make_bot()
    add_commands(bot, asyncio.get_running_loop().create_future())
    async with api.running(bot):
        await bot.tree.sync()
        interaction = await api.push_slash_command("bilan", user="claire")
        messages = await api.wait_for(
            lambda: len(api.messages_for(interaction)) >= 2 and api.messages_for(interaction)
        )
    assert [r.type for r in api.responses_to(interaction)] == [5]
    assert [m.content for m in messages] == ["Bilan prêt", "Détail"]
    assert [m.source for m in messages] == ["interaction", "followup"]
    assert messages[0].id == api.responses_to(interaction)[0].message.id


async def test_persistent_button_reaches_callback(api: DiscordStandIn) -> None:
    bot = make_bot()
    pressed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    channel_id = api.channel("besoins").id

    async with api.running(bot):
        bot.add_view(ClaimView(pressed))
        await bot.get_channel(channel_id).send("Besoin: 20 visières", view=ClaimView(pressed))
        [posted] = await api.wait_for(channel_id=channel_id)
        assert posted.custom_ids() == ["need:claim"]
        interaction = await api.push_component("need:claim", posted, "bob")
        assert await asyncio.wait_for(pressed, TIMEOUT) == api.user("bob").id
        response = await api.wait_for_response(interaction)
    assert response.type == 7
    assert posted.content == "Pris en charge"
    assert posted.components == []


async def test_modal_submit_reaches_on_submit(api: DiscordStandIn) -> None:
    bot = make_bot()
    received: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
    add_commands(bot, received)
    async with api.running(bot):
        await bot.tree.sync()
        opened = await api.push_slash_command("retour", user="alice")
        modal = await api.wait_for_response(opened)
        assert modal.type == 9 and modal.data["custom_id"] == "feedback-modal"
        submit = await api.push_modal_submit(
            "feedback-modal", {"feedback:comment": "Très bien", "feedback:quantity": "12"}, "alice"
        )
        assert await asyncio.wait_for(received, TIMEOUT) == ("Très bien", "12")
        thanks = await api.wait_for_response(submit)
    assert thanks.message.content == "Merci !"


async def test_message_context_menu(api: DiscordStandIn) -> None:
    bot = make_bot()
    add_commands(bot, asyncio.get_running_loop().create_future())
    async with api.running(bot):
        await bot.tree.sync()
        target = await api.push_message("offres", "bob", "je vends des masques")
        interaction = await api.push_context_menu("Signaler", target, "claire")
        response = await api.wait_for_response(interaction)
    assert interaction["data"]["type"] == 3
    assert response.message.content == "signalé: je vends des masques"


async def test_injected_429_is_waited_for_and_message_delivered(api: DiscordStandIn) -> None:
    bot = make_bot()
    channel_id = api.channel("annonces").id
    async with api.running(bot):
        api.inject_rate_limit(channel_id=channel_id, retry_after=0.1)
        await bot.get_channel(channel_id).send("briefing du matin")
    assert api.rate_limited_count == 1
    assert [m.content for m in api.messages_in(channel_id)] == ["briefing du matin"]
    assert [s for m, p, s in api.requests if p == f"channels/{channel_id}/messages"] == [429, 200]


async def test_bucket_headers_keep_discord_py_below_the_limit() -> None:
    limits = RateLimits(message_limit=2, message_period=0.3)
    async with DiscordStandIn(rate_limits=limits) as api:
        bot = make_bot()
        channel_id = api.channel("général").id
        async with api.running(bot):
            channel = bot.get_channel(channel_id)
            await asyncio.gather(*(channel.send(f"message {i}") for i in range(5)))
        assert sorted(m.content for m in api.messages_in(channel_id)) == [f"message {i}" for i in range(5)]
        assert api.rate_limited_count == 0


async def test_allowed_mentions_are_recorded(api: DiscordStandIn) -> None:
    bot = make_bot()
    channel_id = api.channel("général").id
    alice = api.user("alice").id
    async with api.running(bot):
        channel = bot.get_channel(channel_id)
        await channel.send(f"@everyone <@{alice}>", allowed_mentions=discord.AllowedMentions.none())
        await channel.send(f"@everyone <@{alice}>")
        quiet, loud = await api.wait_for(channel_id=channel_id, count=2)
    assert quiet.allowed_mentions == {"parse": []}
    assert not quiet.pings_anyone
    assert loud.allowed_mentions is None
    assert loud.pinged_everyone and loud.pinged_user_ids == {alice}


async def test_server_error_is_retried_and_permanent_errors_raise(api: DiscordStandIn) -> None:
    bot = make_bot()
    async with api.running(bot):
        general = bot.get_channel(api.channel("général").id)
        api.fail_next_messages(1, channel_id=general.id)
        await general.send("après une erreur 500")
        api.forbid_channel(api.channel("offres").id)
        with pytest.raises(discord.Forbidden) as forbidden:
            await bot.get_channel(api.channel("offres").id).send("x")
        api.remove_channel(api.channel("besoins").id)
        with pytest.raises(discord.NotFound) as missing:
            await bot.get_channel(api.channel("besoins").id).send("x")
    assert [m.content for m in api.messages_in(general.id)] == ["après une erreur 500"]
    assert api.server_error_count == 1
    assert forbidden.value.code == 50001
    assert missing.value.code == 10003


async def test_custom_guild_and_missing_permissions() -> None:
    guild = Guild("Atelier", everyone_permissions=Perm.VIEW_CHANNEL)
    lecture = guild.add_text_channel("lecture")
    guild.add_member(User(new_snowflake(), "dora"))
    async with DiscordStandIn([guild], bot_permissions=Perm.VIEW_CHANNEL) as api:
        bot = make_bot()
        async with api.running(bot):
            assert [c.name for c in bot.get_guild(guild.id).text_channels] == ["lecture"]
            with pytest.raises(discord.Forbidden) as excinfo:
                await bot.get_channel(lecture.id).send("x")
    assert excinfo.value.code == 50013
    assert api.messages_in(lecture) == []


async def test_threads_reactions_and_direct_messages(api: DiscordStandIn) -> None:
    bot = make_bot()
    created: asyncio.Future[discord.Thread] = asyncio.get_running_loop().create_future()

    @bot.event
    async def on_thread_create(thread: discord.Thread) -> None:
        created.set_result(thread)

    async with api.running(bot):
        channel = bot.get_channel(api.channel("besoins").id)
        message = await channel.send("Besoin #12")
        await message.add_reaction("✅")
        thread = await message.create_thread(name="Besoin 12")
        await thread.send("suivi ici")
        assert (await asyncio.wait_for(created, TIMEOUT)).id == thread.id
        alice = bot.get_guild(api.guild.id).get_member(api.user("alice").id)
        await alice.send("message privé")
        api.block_dms("bob")
        with pytest.raises(discord.Forbidden) as blocked:
            await bot.get_guild(api.guild.id).get_member(api.user("bob").id).send("x")
    assert thread.id == message.id
    assert [t.name for t in api.threads_created] == ["Besoin 12"]
    assert [m.content for m in api.messages_in(thread.id)] == ["suivi ici"]
    assert [(r.message_id, r.emoji) for r in api.reactions] == [(message.id, "✅")]
    assert [m.content for m in api.messages_in(api.dm_channel("alice"))] == ["message privé"]
    assert blocked.value.code == 50007


async def test_reconnect_resumes_the_session(api: DiscordStandIn) -> None:
    bot = make_bot()
    resumed = asyncio.Event()

    @bot.event
    async def on_resumed() -> None:
        resumed.set()

    async with api.running(bot):
        await api.send_reconnect()
        await asyncio.wait_for(resumed.wait(), TIMEOUT)
        await api.push_message("général", "alice", "toujours là ?")
        got = await bot.wait_for("message", timeout=TIMEOUT)
    assert got.content == "toujours là ?"
    assert len(api.identify_payloads) == 1


async def test_raw_http_contract(api: DiscordStandIn) -> None:
    headers = {"Authorization": f"Bot {api.token}", "Content-Type": "application/json"}
    channel_id = api.channel("général").id
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{api.api_base}/users/@me") as resp:
            assert resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["id"] == str(api.bot_user.id)
        async with http.post(f"{api.api_base}/channels/{channel_id}/messages", json={"content": "a"}) as resp:
            assert resp.headers["X-RateLimit-Limit"] == "5"
            assert resp.headers["X-RateLimit-Remaining"] == "4"
            message_id = (await resp.json())["id"]
        async with http.put(
            f"{api.api_base}/channels/{channel_id}/messages/{message_id}/reactions/%F0%9F%91%8D/@me"
        ) as resp:
            assert resp.status == 204
            assert "Content-Type" not in resp.headers
        for _ in range(4):
            async with http.post(
                f"{api.api_base}/channels/{channel_id}/messages", json={"content": "b"}
            ) as resp:
                assert resp.status == 200
        async with http.post(f"{api.api_base}/channels/{channel_id}/messages", json={"content": "c"}) as resp:
            assert resp.status == 429
            assert resp.headers["Via"] == "1.1 google"
            body = await resp.json()
            assert body["global"] is False and body["retry_after"] > 0
        async with http.post(
            f"{api.api_base}/channels/{channel_id}/messages", json={"content": "x" * 2001}
        ) as resp:
            assert resp.status in (400, 429)
        async with http.get(f"{api.api_base}/users/@me", headers={"Authorization": "Bot wrong"}) as resp:
            assert resp.status == 401
    assert api.rate_limited_count >= 1
    assert api.reactions[0].emoji == "👍"


async def test_global_limit_answers_global_429() -> None:
    async with DiscordStandIn(rate_limits=RateLimits(global_limit=3, global_period=60.0)) as api:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bot {api.token}"}) as http:
            statuses = []
            for _ in range(4):
                async with http.get(f"{api.api_base}/channels/{api.channel('général').id}") as resp:
                    statuses.append(resp.status)
                    body = await resp.json()
        assert statuses == [200, 200, 200, 429]
        assert body["global"] is True
        assert api.global_rate_limited_count == 1


async def test_rate_limits_can_be_switched_off() -> None:
    async with DiscordStandIn(rate_limits=RateLimits(enabled=False)) as api:
        channel_id = api.channel("général").id
        async with aiohttp.ClientSession(headers={"Authorization": f"Bot {api.token}"}) as http:
            for i in range(8):
                async with http.post(
                    f"{api.api_base}/channels/{channel_id}/messages", json={"content": str(i)}
                ) as resp:
                    assert resp.status == 200
        assert len(api.messages_in(channel_id)) == 8
        assert api.rate_limited_count == 0


async def test_library_urls_are_restored() -> None:
    before = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordStandIn() as api:
        assert discord.http.Route.BASE == api.api_base
    assert (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == before


async def test_files_edits_deletes_and_autocomplete(api: DiscordStandIn) -> None:
    bot = make_bot()

    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in ("visière", "masque") if n.startswith(current)]

    @bot.tree.command(name="offre", description="Proposer")
    @app_commands.autocomplete(article=complete)
    async def offre(interaction: discord.Interaction, article: str) -> None:
        await interaction.response.send_message(article)

    channel_id = api.channel("offres").id
    async with api.running(bot):
        await bot.tree.sync()
        channel = bot.get_channel(channel_id)
        message = await channel.send("plan", file=discord.File(io.BytesIO(b"STL"), filename="visiere.stl"))
        await message.edit(content="plan v2")
        doomed = await channel.send("à supprimer")
        await doomed.delete()
        interaction = await api.push_autocomplete("offre", {"article": "vi"}, "article", "bob")
        response = await api.wait_for_response(interaction)
    [kept] = api.messages_in(channel_id)
    assert kept.content == "plan v2"
    assert [e["content"] for e in kept.edits] == ["plan v2"]
    assert [(a["filename"], a["content"]) for a in kept.attachments] == [("visiere.stl", b"STL")]
    assert [m.content for m in api.messages_in(channel_id, include_deleted=True)] == [
        "plan v2",
        "à supprimer",
    ]
    assert response.type == 8
    assert response.data == {"choices": [{"name": "visière", "value": "visière"}]}


async def test_late_interaction_answer_is_refused() -> None:
    async with DiscordStandIn(interaction_deadline=0.0) as api:
        bot = make_bot()
        errors: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

        @bot.tree.command(name="lent", description="Trop lent")
        async def lent(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("trop tard")

        @bot.tree.error
        async def on_error(interaction: discord.Interaction, error: Exception) -> None:
            errors.set_result(error)

        async with api.running(bot):
            await bot.tree.sync()
            await api.push_slash_command("lent")
            error = await asyncio.wait_for(errors, TIMEOUT)
    assert isinstance(error.__cause__ or error.original, discord.NotFound)
    assert api.interaction_responses == []


async def test_fail_fraction_injects_server_errors(api: DiscordStandIn) -> None:
    channel_id = api.channel("général").id
    api.fail_fraction(1.0)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {api.token}"}) as http:
        async with http.post(f"{api.api_base}/channels/{channel_id}/messages", json={"content": "a"}) as resp:
            assert resp.status == 500
        api.fail_fraction(0.0)
        async with http.post(f"{api.api_base}/channels/{channel_id}/messages", json={"content": "b"}) as resp:
            assert resp.status == 200
    assert [m.content for m in api.messages_in(channel_id)] == ["b"]
    assert api.server_error_count == 1
