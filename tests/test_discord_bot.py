"""The real discord.py bot against the local Discord stand-in, with the hub's real database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import pytest
from sqlmodel import select

from bots.discord.app import build_bot
from core.models import Commitment, Community, Escalation, Item, Need, Offer, OutboxMessage, Person, Proposal
from tests.standins.discord_api import DiscordStandIn, SentMessage

TIMEOUT = 5.0
OFFER_TEXT = "J'ai une imprimante 3D à Tours, je peux faire 50 visières par jour"


@pytest.fixture
async def api():
    async with DiscordStandIn() as standin:
        yield standin


class Monotonic:
    """The delivery worker's pacing clock, moved forward with the hub's fake clock."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
async def bot(hub, settings, api, monotonic):
    relais = build_bot(hub, settings, guild_ready_timeout=0.05, poll_seconds=0.1,
                       worker_options={"monotonic": monotonic})
    async with api.running(relais):
        yield relais


def rows(hub, model, *where):
    with hub.db.session() as s:
        return list(s.exec(select(model).where(*where)))


def person_of(hub, user) -> Person:
    [person] = rows(hub, Person, Person.platform == "discord", Person.platform_id == str(user.id))
    return person


async def eventually(predicate, timeout: float = TIMEOUT):
    """Poll a database condition (the stand-in only wakes its waiters on Discord traffic)."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)
    return result


async def handled(bot, message_id: int | str, push):
    """Push a message and wait until the bot has handed it to the core and acted on the answer."""
    waiter = asyncio.create_task(bot.wait_for("relais_handled", timeout=TIMEOUT,
                                              check=lambda eid, outs: eid == f"message:{message_id}"))
    await asyncio.sleep(0)
    await push()
    return (await waiter)[1]


async def followups(api: DiscordStandIn, interaction: dict, count: int = 1) -> list[SentMessage]:
    return await api.wait_for(lambda: (m := api.messages_for(interaction)) and len(m) >= count and m)


# ----------------------------------------------------------------------------- 1. offer in a channel


async def test_offer_message_confirmed_with_the_button_is_recorded(api, bot, hub):
    channel = api.channel("offres")
    bob = api.user("bob")
    pushed = await api.push_message(channel, bob, OFFER_TEXT)
    [proposal] = await api.wait_for(channel_id=channel.id)
    assert proposal.reply_to == int(pushed["id"])
    assert not proposal.pings_anyone and proposal.allowed_mentions["parse"] == []
    [pid] = [p.id for p in rows(hub, Proposal)]
    assert proposal.custom_ids() == [f"proposal:confirm:{pid}", f"proposal:edit:{pid}", f"proposal:dismiss:{pid}"]
    await api.wait_for(lambda: [r for r in api.reactions if r.message_id == int(pushed["id"])])
    assert [r.emoji for r in api.reactions] == ["\N{MEMO}"]

    press = await api.push_component(f"proposal:confirm:{pid}", proposal, bob)
    recorded, *_ = await followups(api, press)
    assert recorded.ephemeral and "O-" in recorded.content
    [offer] = rows(hub, Offer)
    assert offer.maker_id == person_of(hub, bob).id and offer.place_name == "Tours"
    await api.wait_for(lambda: proposal.components == [])  # settled: its buttons are gone
    # The worker records the send after Discord has answered: wait for that write too.
    await eventually(lambda: rows(hub, OutboxMessage, OutboxMessage.kind == "proposal")[0].status == "sent")
    [row] = rows(hub, OutboxMessage, OutboxMessage.kind == "proposal")
    assert row.platform_message_id == str(proposal.id)


# ----------------------------------------------------------------------------- 2. chit-chat


async def test_chit_chat_is_left_alone(api, bot, hub):
    channel = api.channel("général")
    outs = await handled(bot, 9001, lambda: api.push_message(channel, "alice", "Bonjour à tous, il fait beau",
                                                               message_id=9001))
    assert outs == []
    assert api.sent == [] and api.reactions == []
    assert rows(hub, OutboxMessage) == [] and rows(hub, Proposal) == []


# ----------------------------------------------------------------------------- 3. /need through the form


async def test_need_through_the_modal_then_confirmed(api, bot, hub):
    synced = {c["name"]: c for c in api.commands[None]}
    assert synced["need"]["name_localizations"]["fr"] == "besoin"
    assert synced["need"]["description_localizations"]["fr"].startswith("Signaler un besoin")
    assert {o["name"] for o in synced["need"]["options"]} == {"item", "place"}

    channel = api.channel("général")
    command = await api.push_slash_command("need", {"item": "face_shield"}, "alice", channel_id=channel)
    form = await api.wait_for_response(command)
    assert form.type == 9  # a modal
    fields = [row["components"][0] for row in form.data["components"]]
    assert [f["custom_id"] for f in fields] == ["field:items", "field:quantity", "field:place", "field:deadline",
                                                "field:facility"]
    assert fields[0]["value"] == "visière de protection"  # prefilled from the option, in French

    submit = await api.push_modal_submit(form.data["custom_id"], {
        "field:items": "visières de protection", "field:quantity": "200", "field:place": "Tours",
        "field:deadline": "30/03", "field:facility": "EHPAD Les Tilleuls"}, "alice", channel_id=channel)
    [proposal] = await followups(api, submit)
    assert proposal.ephemeral and "200" in proposal.content and "Tours" in proposal.content
    [pid] = [p.id for p in rows(hub, Proposal)]
    assert proposal.custom_ids()[0] == f"proposal:confirm:{pid}"

    press = await api.push_component(f"proposal:confirm:{pid}", proposal, "alice")
    recorded, *_ = await followups(api, press)
    assert "N-1" in recorded.content
    [need] = rows(hub, Need)
    assert need.requester_id == person_of(hub, api.user("alice")).id
    assert need.place_name == "Tours" and need.facility == "EHPAD Les Tilleuls"
    assert str(need.deadline) == "2020-03-30"


# ----------------------------------------------------------------------------- 4. the thread button


def needs_channel_for(hub, api) -> None:
    with hub.db.session() as s:
        s.add(Community(platform="discord", platform_id=str(api.guild.id), name=api.guild.name,
                        needs_channel=str(api.channel("besoins").id)))


async def test_commitment_through_the_need_thread_button_survives_a_restart(api, bot, hub, settings):
    needs_channel_for(hub, api)
    general = api.channel("général")
    await api.push_message(general, "alice", "Il nous faut 200 visières à Tours pour l'EHPAD Les Tilleuls")
    [proposal] = await api.wait_for(channel_id=general.id)
    press = await api.push_component(proposal.custom_ids()[0], proposal, "alice")
    await followups(api, press)
    [need] = rows(hub, Need)

    [post] = await api.wait_for(channel_id=api.channel("besoins").id)
    assert post.custom_ids() == [f"need:commit:{need.id}"]
    [thread] = await api.wait_for(lambda: api.threads_created)
    assert thread.id == post.id and thread.name.startswith(f"Besoin N-{need.id}")

    # The button keeps working with a new bot process (a persistent, dynamic item).
    await bot.close()
    again = build_bot(hub, settings, guild_ready_timeout=0.05, poll_seconds=0.1, sync_commands=False)
    async with api.running(again):
        press = await api.push_component(f"need:commit:{need.id}", post, "bob")
        form = await api.wait_for_response(press)
        assert form.type == 9
        submit = await api.push_modal_submit(form.data["custom_id"], {"field:quantity": "50"}, "bob",
                                             message=post)
        committed, *_ = await followups(api, submit)
        assert committed.ephemeral and f"N-{need.id}" in committed.content
        # The requester hears of it in a direct message, through the outbox.
        [notice] = await api.wait_for(channel_id=api.dm_channel("alice").id)
        assert "Bob Maker" in notice.content and not notice.pings_anyone
    [commitment] = rows(hub, Commitment)
    assert commitment.need_id == need.id and commitment.quantity == 50
    assert commitment.maker_id == person_of(hub, api.user("bob")).id


# ----------------------------------------------------------------------------- 5. moderators only


async def test_moderator_command_refused_without_manage_server(api, bot, hub):
    classify = next(c for c in api.commands[None] if c["name"] == "classify")
    assert int(classify["default_member_permissions"]) == 1 << 5  # Manage Server
    assert classify["name_localizations"]["fr"] == "classer"

    [before] = rows(hub, Item, Item.id == "face_shield")
    refused = await api.push_slash_command("classify", {"item": "face_shield", "category": 4}, "bob")
    [answer] = await followups(api, refused)
    assert answer.ephemeral and "rôle nécessaire" in answer.content
    [after] = rows(hub, Item, Item.id == "face_shield")
    assert after.category == before.category != 4

    # Claire has Manage Server through her role: the core makes her a moderator and agrees.
    allowed = await api.push_slash_command("classify", {"item": "face_shield", "category": 4}, "claire")
    await followups(api, allowed)
    [after] = rows(hub, Item, Item.id == "face_shield")
    assert after.category == 4


# ----------------------------------------------------------------------------- 6. no pings from user text


async def test_everyone_in_user_text_pings_nobody(api, bot, hub):
    general = api.channel("général")
    coordination = api.role("Coordination")
    await api.push_message(general, "alice", "@everyone est-ce qu'on a le droit de vendre des visières "
                                             f"imprimées en 3D ? <@&{coordination.id}>")
    [proposal] = await api.wait_for(channel_id=general.id)
    assert "@\u200beveryone" in proposal.content
    assert proposal.allowed_mentions == {"parse": [], "replied_user": False}
    assert not proposal.pings_anyone

    asked = await api.push_slash_command("ask", {"question": f"@here **vraiment** <@&{coordination.id}> ?"},
                                         "bob")
    [reply] = await followups(api, asked)
    assert "@\u200bhere" in reply.content and "\\*\\*vraiment\\*\\*" in reply.content
    assert reply.allowed_mentions["parse"] == [] and not reply.pings_anyone


# ----------------------------------------------------------------------------- 7. redelivered events


async def test_the_same_message_event_twice_is_recorded_once(api, bot, hub):
    channel = api.channel("offres")
    first = await handled(bot, 4242, lambda: api.push_message(channel, "bob", OFFER_TEXT, message_id=4242))
    second = await handled(bot, 4242, lambda: api.push_message(channel, "bob", OFFER_TEXT, message_id=4242))
    assert [o.kind for o in first] == ["proposal"] and second == []
    await api.wait_for(channel_id=channel.id)
    await api.wait_for(lambda: api.reactions)
    assert len(api.messages_in(channel)) == 1 and len(api.reactions) == 1
    assert len(rows(hub, Proposal)) == 1 and len(rows(hub, OutboxMessage)) == 1


# ----------------------------------------------------------------------------- 8. rate limits


async def test_a_short_429_is_waited_for_and_the_message_delivered(api, bot, hub):
    channel = api.channel("offres")
    api.inject_rate_limit(channel_id=channel.id, retry_after=0.3)
    await api.push_message(channel, "bob", OFFER_TEXT)
    [reply] = await api.wait_for(channel_id=channel.id)
    assert api.rate_limited_count == 1
    await eventually(lambda: rows(hub, OutboxMessage, OutboxMessage.status == "sent"))
    [row] = rows(hub, OutboxMessage)
    assert row.platform_message_id == str(reply.id)


async def test_a_long_429_goes_back_to_the_outbox_and_is_retried_when_due(api, bot, hub, clock, monotonic):
    channel = api.channel("offres")
    api.inject_rate_limit(channel_id=channel.id, retry_after=60)
    await api.push_message(channel, "bob", OFFER_TEXT)
    [row] = await eventually(lambda: rows(hub, OutboxMessage, OutboxMessage.attempts == 1))
    assert row.status == "pending" and "rate limited" in row.error
    assert (row.next_attempt_at - clock.now()).total_seconds() == pytest.approx(60, abs=1)
    assert api.messages_in(channel) == []
    clock.advance(seconds=61)
    monotonic.offset += 61
    bot.worker.wake()
    [reply] = await api.wait_for(channel_id=channel.id)
    [row] = await eventually(lambda: rows(hub, OutboxMessage, OutboxMessage.status == "sent"))
    assert row.platform_message_id == str(reply.id) and row.attempts == 2


# ----------------------------------------------------------------------------- 9. relais run


async def test_relais_run_starts_the_discord_bot_and_stops_on_sigterm(tmp_path):
    async with DiscordStandIn(patch_library=False) as api:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAIS_")}
        env.update(RELAIS_DISCORD_TOKEN=api.token, RELAIS_DISCORD_REST_BASE_URL=api.api_base,
                   RELAIS_DISCORD_GATEWAY_URL=api.gateway_url,
                   RELAIS_DATABASE_URL=f"sqlite:///{tmp_path / 'relais.db'}")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "relais.cli", "run", "--only", "discord", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await api.wait_for(lambda: api.connected and api.command_syncs, timeout=60)
            assert api.identify_payloads[-1]["token"] == api.token
            assert {c["name"] for c in api.command_syncs[-1][1]} >= {"need", "offer", "classify"}
            # It is really serving: a message in a channel is read and answered through the outbox.
            channel = api.channel("offres")
            await api.push_message(channel, "bob", OFFER_TEXT)
            [reply] = await api.wait_for(channel_id=channel.id, timeout=20)
            assert reply.custom_ids()[0].startswith("proposal:confirm:")
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        _, stderr = await process.communicate()
        assert code == 0, stderr.decode()[-2000:]
        assert not api.connected


# ----------------------------------------------------------------------------- more paths


async def test_escalate_a_message_from_its_context_menu(api, bot, hub):
    menu = next(c for c in api.commands[None] if c["type"] == 3)
    assert menu["name"] == "Escalate to a national contact"
    assert menu["name_localizations"]["fr"] == "Transmettre au contact national"
    question = await api.push_message("général", "alice", "Peut-on vendre des visières imprimées en 3D ?")
    # One's own message: a question proposal to confirm.
    invoked = await api.push_context_menu(menu["name"], question, "alice")
    [proposal] = await followups(api, invoked)
    assert "Peut-on vendre des visières" in proposal.content and proposal.custom_ids()
    row = rows(hub, Proposal, Proposal.person_id == person_of(hub, api.user("alice")).id)[-1]
    assert row.kind == "question" and row.data["text"].startswith("Peut-on vendre")
    # Someone else's message: only a moderator may escalate it on the author's behalf.
    refused = await api.push_context_menu(menu["name"], question, "bob")
    answers = await followups(api, refused)
    assert any("/escalate" in a.content for a in answers), [a.content for a in answers]
    assert rows(hub, Escalation) == []
    escalated = await api.push_context_menu(menu["name"], question, "claire")
    await followups(api, escalated)
    [ticket] = rows(hub, Escalation)
    assert ticket.asker_id == person_of(hub, api.user("alice")).id
    assert ticket.text.startswith("Peut-on vendre")


async def test_autocomplete_items_places_and_needs(api, bot, hub):
    items = await api.push_autocomplete("needs", {"item": "visi"}, "item", "alice")
    answer = await api.wait_for_response(items)
    assert answer.type == 8
    assert {"name": "visière de protection", "value": "face_shield"} in [
        {k: c[k] for k in ("name", "value")} for c in answer.data["choices"]]
    places = await api.push_autocomplete("needs", {"near": "Tours"}, "near", "alice", locale="en-US")
    answer = await api.wait_for_response(places)
    assert answer.data["choices"][0]["value"] == "Tours"


async def test_sharded_when_a_shard_count_is_set(api, hub, settings):
    sharded = build_bot(hub, settings.model_copy(update={"discord_shard_count": 2}), guild_ready_timeout=0.05,
                        sync_commands=False)
    async with api.running(sharded):
        await api.wait_for(lambda: len(api.identify_payloads) == 2)
    assert sorted(p["shard"] for p in api.identify_payloads) == [[0, 2], [1, 2]]


def test_discord_failures_map_onto_delivery_rules():
    import discord

    from bots.discord.sender import delivery_error

    class Response:
        def __init__(self, status, headers=None):
            self.status, self.reason, self.headers = status, "x", headers or {}

    def http(status, headers=None):
        return discord.HTTPException(Response(status, headers), {"message": "m", "code": 0})

    assert delivery_error(discord.RateLimited(42.0)).retry_after == 42.0
    assert delivery_error(http(429, {"Retry-After": "7"})).retry_after == 7.0
    assert delivery_error(http(403)).permanent and delivery_error(http(404)).permanent
    for error in (http(500), http(503), OSError("reset")):
        mapped = delivery_error(error)
        assert not mapped.permanent and mapped.retry_after is None


# ----------------------------------------------------------------------------- 10. the briefing's chart


async def test_the_briefing_goes_out_with_its_chart_as_a_file(api, bot, hub, clock):
    from datetime import timedelta

    from core import jobs
    from core.models import NeedLine

    channel = api.channel("général")
    with hub.db.session() as s:
        s.add(Community(platform="discord", platform_id=str(api.guild.id), name="Makers 37", language="fr",
                        briefing_channel=str(channel.id), created_at=clock.now() - timedelta(days=2)))
        need = Need(platform="telegram", chat="1001", place_name="Tours", department="37", category=2,
                    created_at=clock.now())
        s.add(need)
        s.flush()
        s.add(NeedLine(need_id=need.id, item_id="face_shield", quantity=200, committed=50))
    clock.advance(hours=22)  # Tuesday 08:00 in Paris
    [out] = jobs.run_briefings(hub)
    assert out.attachment.startswith(b"\x89PNG")
    bot.worker.wake()
    [posted] = await api.wait_for(channel_id=channel.id)
    assert "N-1" in posted.content and "Point du matin" in posted.content
    [file] = posted.attachments
    assert file["filename"] == "briefing.png" and file["content"] == out.attachment
    [row] = await eventually(lambda: rows(hub, OutboxMessage, OutboxMessage.kind == "briefing",
                                          OutboxMessage.status == "sent"))
    assert row.platform_message_id == str(posted.id) and row.attachment is None  # not kept once delivered


# ----------------------------------------------------------------------------- 11. an export as a file


async def test_an_export_goes_to_the_moderator_as_a_file_in_a_direct_message(api, bot, hub, clock):
    import csv
    import io

    from core.models import NeedLine

    with hub.db.session() as s:
        marie = Person(platform="telegram", platform_id="1001", display_name="Marie", language="fr",
                       created_at=clock.now())
        s.add(marie)
        s.flush()
        need = Need(platform="telegram", chat="1001", requester_id=marie.id, place_name="Tours", department="37",
                    category=2, created_at=clock.now())
        s.add(need)
        s.flush()
        s.add(NeedLine(need_id=need.id, item_id="face_shield", quantity=200, committed=50))
    asked = await api.push_slash_command("export", {"what": "needs", "format": "csv"}, "claire")
    [note] = await followups(api, asked)
    assert note.ephemeral and not note.attachments and "N-1" not in note.content  # the channel sees nothing
    [dm] = await api.wait_for(channel_id=api.dm_channel("claire").id)
    assert "Export des besoins (CSV) : 1 ligne" in dm.content and "pseudonyme" in dm.content
    [file] = dm.attachments
    assert file["filename"] == "relais-needs-2020-03-23.csv"
    content = file["content"].decode("utf-8-sig")
    [row] = csv.DictReader(io.StringIO(content))
    assert row["ref"] == "N-1" and row["remaining"] == "150" and row["requester"].startswith("p-")
    assert "Marie" not in content and "1001" not in content and str(api.user("claire").id) not in content
    [sent] = await eventually(lambda: rows(hub, OutboxMessage, OutboxMessage.kind == "export",
                                           OutboxMessage.status == "sent"))
    assert sent.direct and sent.platform_message_id == str(dm.id)


async def test_settings_area_option_sets_the_briefing_area(api, bot, hub):
    settings_cmd = next(c for c in api.commands[None] if c["name"] == "settings")
    area = next(o for o in settings_cmd["options"] if o["name"] == "area")
    assert area["name_localizations"]["fr"] == "zone" and area["max_length"] == 64

    asked = await api.push_slash_command("settings", {"radius": 30, "area": "centre val de loire"}, "claire")
    [answer] = await followups(api, asked)
    assert "Centre-Val de Loire" in answer.content
    [community] = rows(hub, Community, Community.platform_id == str(api.guild.id))
    assert community.region == "Centre-Val de Loire" and community.radius_km == 30

    refused = await api.push_slash_command("settings", {"area": "Atlantide"}, "claire")
    [answer] = await followups(api, refused)
    assert answer.ephemeral and "Atlantide" in answer.content
    [community] = rows(hub, Community, Community.platform_id == str(api.guild.id))
    assert community.region == "Centre-Val de Loire"


# ----------------------------------------------------------------------------- Edit opens a prefilled form


def modal_fields(form) -> dict[str, dict]:
    return {row["components"][0]["custom_id"]: row["components"][0] for row in form.data["components"]}


async def test_edit_opens_a_prefilled_form_whose_submission_replaces_the_proposal(api, bot, hub):
    channel = api.channel("offres")
    await api.push_message(channel, "bob", OFFER_TEXT)
    [proposal] = await api.wait_for(channel_id=channel.id)
    [old] = rows(hub, Proposal)

    # Someone else: the core refuses, privately, and no form opens.
    stored = len(rows(hub, OutboxMessage))
    press = await api.push_component(f"proposal:edit:{old.id}", proposal, "alice")
    [refusal] = await api.wait_for(lambda: api.responses_to(press))
    assert refusal.type == 4 and refusal.message.ephemeral
    assert "Seule la personne qui l'a créé" in refusal.message.content
    assert len(rows(hub, OutboxMessage)) == stored and proposal.components != []
    [still] = rows(hub, Proposal)
    assert still.status == "pending"

    # Its author: a modal holding what the proposal holds.
    press = await api.push_component(f"proposal:edit:{old.id}", proposal, "bob")
    form = await api.wait_for_response(press)
    assert form.type == 9 and form.data["title"] == "Modifier l'offre"
    fields = modal_fields(form)
    assert list(fields) == ["field:items", "field:place"]
    assert fields["field:items"]["value"] == "50 visière de protection, impression 3D"
    assert fields["field:items"]["required"] is True and fields["field:items"]["label"].startswith("Ce que vous")
    assert fields["field:place"]["value"] == "Tours"
    assert api.messages_for(press) == []  # the modal is the whole answer to the press

    submit = await api.push_modal_submit(form.data["custom_id"], {
        "field:items": "80 visière de protection, 30 attache-masque, impression 3D", "field:place": "Lyon"},
        "bob", message=proposal)
    [corrected] = await followups(api, submit)
    assert corrected.ephemeral and "80" in corrected.content and "Lyon" in corrected.content
    dismissed, new = rows(hub, Proposal)
    assert dismissed.id == old.id and dismissed.status == "dismissed" and new.status == "pending"
    assert corrected.custom_ids() == [f"proposal:confirm:{new.id}", f"proposal:edit:{new.id}",
                                      f"proposal:dismiss:{new.id}"]
    await api.wait_for(lambda: proposal.components == [])  # the old proposal's buttons are gone

    press = await api.push_component(f"proposal:confirm:{new.id}", corrected, "bob")
    recorded, *_ = await followups(api, press)
    assert "O-" in recorded.content
    [offer] = rows(hub, Offer)
    assert offer.place_name == "Lyon" and offer.items == [{"item": "face_shield", "quantity": 80},
                                                          {"item": "ear_saver", "quantity": 30}]


async def test_edit_of_a_need_from_the_form_and_a_wrong_date(api, bot, hub):
    channel = api.channel("général")
    command = await api.push_slash_command("need", {}, "alice", channel_id=channel)
    form = await api.wait_for_response(command)
    submit = await api.push_modal_submit(form.data["custom_id"], {
        "field:items": "visières", "field:quantity": "200", "field:place": "Tours", "field:deadline": "30/03",
        "field:facility": "EHPAD Les Tilleuls"}, "alice", channel_id=channel)
    [proposal] = await followups(api, submit)
    [old] = rows(hub, Proposal)

    press = await api.push_component(f"proposal:edit:{old.id}", proposal, "alice")
    edit = await api.wait_for_response(press)
    assert edit.type == 9 and edit.data["title"] == "Modifier le besoin"
    values = {k: f["value"] for k, f in modal_fields(edit).items()}
    assert values == {"field:items": "200 visière de protection", "field:place": "Tours",
                      "field:deadline": "lundi 30 mars", "field:facility": "EHPAD Les Tilleuls"}

    # A date the core cannot read: refused, the proposal and its buttons stay.
    wrong = await api.push_modal_submit(edit.data["custom_id"], dict(values, **{"field:deadline": "bientôt"}),
                                        "alice", message=proposal)
    [refused] = await followups(api, wrong)
    assert refused.ephemeral and "bientôt" in refused.content
    assert [p.status for p in rows(hub, Proposal)] == ["pending"] and proposal.components != []

    again = await api.push_component(f"proposal:edit:{old.id}", proposal, "alice")
    edit = await api.wait_for_response(again)
    submit = await api.push_modal_submit(edit.data["custom_id"], dict(values, **{"field:items": "300 visières"}),
                                         "alice", message=proposal)
    [corrected] = await followups(api, submit)
    assert "300" in corrected.content
    await api.wait_for(lambda: proposal.components == [])  # an ephemeral proposal loses its buttons too
    assert [p.status for p in rows(hub, Proposal)] == ["dismissed", "pending"]


async def test_edit_of_a_question_opens_its_text_and_topic(api, bot, hub):
    general = api.channel("général")
    await api.push_message(general, "bob", "Est-ce qu'on a le droit de vendre des visières imprimées en 3D ?")
    [proposal] = await api.wait_for(channel_id=general.id)
    [old] = rows(hub, Proposal)
    press = await api.push_component(f"proposal:edit:{old.id}", proposal, "bob")
    form = await api.wait_for_response(press)
    fields = modal_fields(form)
    assert form.type == 9 and form.data["title"] == "Modifier la question"
    assert fields["field:text"]["value"] == "Est-ce qu'on a le droit de vendre des visières imprimées en 3D ?"
    assert fields["field:text"]["style"] == 2 and fields["field:topic"]["value"] == "juridique"
