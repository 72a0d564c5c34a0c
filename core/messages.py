"""The neutral vocabulary every platform translates to and from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PLATFORMS = ("telegram", "discord", "console")

# Kinds of outbound message (documented in README): what a message is for.
KINDS = (
    "welcome", "help", "privacy",
    "proposal", "need_recorded", "offer_recorded",
    "match", "maker_found", "need_nearby", "need_post",
    "commitment", "commitment_notice", "progress", "progress_notice", "delivery", "delivery_notice",
    "receipt_notice", "need_cancelled_notice", "need_closed_notice", "stale", "status",
    "guidance", "design_check", "warning",
    "escalated", "escalated_for_you", "ticket", "ticket_unrouted", "reminder", "answer", "similar_answers",
    "closed_ticket_notice", "notice",
    "briefing", "listing", "settings", "export", "export_ready",
    "mydata", "forgotten", "info",
    "refused", "error",
)


@dataclass(frozen=True)
class Identity:
    """Who wrote: a platform and the person's id there, with the display name they chose."""

    platform: str
    platform_id: str
    display_name: str
    language: str | None = None


@dataclass(frozen=True)
class Inbound:
    """A chat message as the core sees it, whatever the platform."""

    platform: str
    event_id: str  # unique per platform event: Telegram update_id, Discord message or interaction id
    chat: str  # where it was written
    author: Identity
    text: str
    sent_at: datetime
    chat_kind: str = "private"  # private | group | channel | thread
    community: str | None = None  # Discord guild id or Telegram group id; None in private chats
    community_name: str | None = None
    addressed: bool = False  # the bot was mentioned or replied to (always true in private chats)
    reply_to: str | None = None
    location: tuple[float, float] | None = None
    in_reply_to: str | None = None  # platform id of the message this one replies to (e.g. a ticket)
    thread: str | None = None  # a topic inside ``chat`` (a Telegram forum topic); None: the chat itself

    @property
    def private(self) -> bool:
        return self.chat_kind == "private"


@dataclass(frozen=True)
class Action:
    """A button pressed or a form submitted: ``name`` is the stable action id the core gave the button."""

    platform: str
    event_id: str
    chat: str
    author: Identity
    name: str
    sent_at: datetime
    value: str | None = None
    chat_kind: str = "private"
    community: str | None = None
    thread: str | None = None  # the topic of the message the button was under (see Inbound.thread)


@dataclass(frozen=True)
class Button:
    label: str
    action: str
    style: str = "primary"  # primary | secondary | danger


@dataclass(frozen=True)
class FormField:
    name: str  # the key of its value in the submission
    value: str = ""  # prefilled text
    required: bool = False
    long: bool = False  # several lines (a question's text)


@dataclass(frozen=True)
class Form:
    """Fields to fill in at once, for a platform with forms (Discord modals), where others hold a
    step-by-step dialogue. Submitted, it goes back as ``Action(name=action, value=<JSON object of the
    fields' text by name>)``; ``kind`` says what it edits (need | offer | question), for the form's labels."""

    action: str
    kind: str
    language: str
    fields: tuple[FormField, ...]


@dataclass
class Outbound:
    """A message the core wants sent; ``text`` is plain text that each bot escapes for its platform."""

    platform: str
    chat: str
    kind: str
    text: str
    language: str
    template: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    buttons: tuple[Button, ...] = ()
    direct: bool = False  # ``chat`` is a person's id: send in a direct conversation
    reply_to: str | None = None
    priority: int = 1
    outbox_id: int | None = None
    claimed: bool = False  # stored already claimed by the caller (an interaction answered directly)
    label: str = ""  # a human-readable recipient for logs and the console
    attachment: bytes | None = None  # a file sent with the text (the briefing's PNG chart)
    attachment_name: str | None = None  # its file name, e.g. "briefing.png"
    thread: str | None = None  # a topic inside ``chat`` (Telegram forum topic); platforms without one ignore it

    def as_json(self) -> dict[str, Any]:
        return {
            "to": self.label or f"{self.platform}:{self.chat}",
            "kind": self.kind,
            "text": self.text,
            "title": self.title,
            "language": self.language,
            "template": self.template,
            "platform": self.platform,
            "chat": self.chat,
            "thread": self.thread,
            "direct": self.direct,
            "buttons": [{"label": b.label, "action": b.action} for b in self.buttons],
            "outbox_id": self.outbox_id,
            "attachment": ({"name": self.attachment_name, "bytes": len(self.attachment)}
                           if self.attachment else None),
        }
