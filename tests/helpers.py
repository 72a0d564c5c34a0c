"""Driving the hub in tests the way a platform would: identities, messages, button presses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from core.messages import Action, Identity, Inbound, Outbound

_events = itertools.count(1)


@dataclass
class Speaker:
    hub: object
    identity: Identity
    chat: str | None = None  # None: private chat with the bot
    community: str | None = None

    def say(self, text: str, *, event_id: str | None = None, addressed: bool = False,
            location: tuple[float, float] | None = None) -> list[Outbound]:
        chat = self.chat or self.identity.platform_id
        msg = Inbound(platform=self.identity.platform, event_id=event_id or f"e{next(_events)}", chat=chat,
                      chat_kind="private" if self.chat is None else "channel", community=self.community,
                      author=self.identity, text=text, sent_at=self.hub.clock.now(), addressed=addressed,
                      location=location)
        return self.hub.receive(msg)

    def press(self, action: str, value: str | None = None) -> list[Outbound]:
        chat = self.chat or self.identity.platform_id
        return self.hub.act(Action(platform=self.identity.platform, event_id=f"a{next(_events)}", chat=chat,
                                   author=self.identity, name=action, value=value,
                                   sent_at=self.hub.clock.now(),
                                   chat_kind="private" if self.chat is None else "channel",
                                   community=self.community))

    def confirm(self, outs: list[Outbound]) -> list[Outbound]:
        proposal = next(o for o in outs if o.kind == "proposal")
        return self.press(proposal.buttons[0].action)


def caregiver(hub, name: str = "Marie", pid: str = "1001") -> Speaker:
    return Speaker(hub, Identity("telegram", pid, name, "fr"))


def maker(hub, name: str = "Léa", pid: str = "2001", channel: str = "fabrication",
          guild: str = "g1") -> Speaker:
    return Speaker(hub, Identity("discord", pid, name, "fr"), chat=channel, community=guild)


def kinds(outs: list[Outbound]) -> list[str]:
    return [o.kind for o in outs]


def one(outs: list[Outbound], kind: str) -> Outbound:
    found = [o for o in outs if o.kind == kind]
    assert len(found) == 1, f"expected one {kind!r}, got {kinds(outs)}"
    return found[0]


def replies(outs: list[Outbound]) -> list[Outbound]:
    """What was said back in the chat of the event (not direct messages to others)."""
    return [o for o in outs if o.priority == 0]
