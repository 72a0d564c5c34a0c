"""The real discord.py bot against the local Discord stand-in, with the hub's real database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from bots.discord.app import build_bot
from core.models import Commitment, Community, Item, Need, Offer, OutboxMessage, Person, Proposal
from tests.standins.discord_api import DiscordStandIn, SentMessage

TIMEOUT = 5.0
OFFER_TEXT = "J'ai une imprimante 3D à Tours, je peux faire 50 visières par jour"


@pytest.fixture
async def api():
    async with DiscordStandIn() as standin:
        yield standin


@pytest.fixture
async def bot(hub, settings, api):
    relais = build_bot(hub, settings, guild_ready_timeout=0.05, poll_seconds=0.1)
    async with api.running(relais):
        yield relais


def rows(hub, model, *where):
    with hub.db.session() as s:
        return list(s.exec(select(model).where(*where)))


def person_of(hub, user) -> Person:
    [person] = rows(hub, Person, Person.platform == "discord", Person.platform_id == str(user.id))
    return person


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
    [recorded] = await followups(api, press)
    assert recorded.ephemeral and "O-" in recorded.content
    [offer] = rows(hub, Offer)
    assert offer.maker_id == person_of(hub, bob).id and offer.place_name == "Tours"
    await api.wait_for(lambda: proposal.components == [])  # settled: its buttons are gone
    [row] = rows(hub, OutboxMessage, OutboxMessage.kind == "proposal")
    assert row.status == "sent" and row.platform_message_id == str(proposal.id)
