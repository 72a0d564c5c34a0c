"""Telegram updates as core inputs: who wrote, where, what, and whether the bot was addressed.

Pure translation, no I/O: only the ids and display names of people reach the core (no usernames,
phone numbers or profile data)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from telegram import Chat, Message, MessageEntity, Update, User

from core.messages import Action, Identity, Inbound

__all__ = ["PLATFORM", "action_of", "chat_kind", "event_id", "identity", "inbound_of", "migration_of", "topic_of"]

PLATFORM = "telegram"
LANGUAGES = ("fr", "en")


def event_id(update: Update) -> str:
    """The core's de-duplication key: Telegram redelivers an update with the same id."""
    return f"update:{update.update_id}"


def identity(user: User) -> Identity:
    """The person as the core knows them: id and display name; the language when Relais speaks it."""
    lang = (user.language_code or "")[:2].lower()
    return Identity(PLATFORM, str(user.id), user.full_name, lang if lang in LANGUAGES else None)


def chat_kind(chat: Chat) -> str:
    if chat.type == Chat.PRIVATE:
        return "private"
    if chat.type in (Chat.GROUP, Chat.SUPERGROUP):
        return "group"
    return "channel"


def topic_of(message: Any) -> str | None:
    """The forum topic a message was written in, or None. Only a topic message has one: a message in
    a forum's General topic has no ``message_thread_id``, and outside forums the field can name a reply
    thread, which is not a place to send to."""
    if getattr(message, "is_topic_message", None) and getattr(message, "message_thread_id", None) is not None:
        return str(message.message_thread_id)
    return None


def migration_of(update: Update) -> tuple[str, str] | None:
    """``(old chat id, new chat id)`` when the update says a group became a supergroup: the old group
    gets a message with ``migrate_to_chat_id``, the new supergroup one with ``migrate_from_chat_id``."""
    message = update.message
    if message is None:
        return None
    if message.migrate_to_chat_id:
        return str(message.chat.id), str(message.migrate_to_chat_id)
    if message.migrate_from_chat_id:
        return str(message.migrate_from_chat_id), str(message.chat.id)
    return None


def _command_target(message: Message) -> str | None:
    """The ``@bot`` suffix of a leading command (``/need@relais_bot``), lower-cased, or ``""``."""
    entity = next((e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0), None)
    if entity is None:
        return None
    name = message.parse_entity(entity)
    return name.partition("@")[2].lower()


def _mentions_bot(message: Message, bot: User) -> bool:
    username = (bot.username or "").lower()
    entities = {**message.parse_entities(), **message.parse_caption_entities()}
    for entity, text in entities.items():
        if entity.type == MessageEntity.MENTION and username and text[1:].lower() == username:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            return True
    return False


def _replied(message: Message) -> Message | None:
    """The message this one answers; in a forum topic, Telegram gives every message the topic's first
    (service) message as ``reply_to_message``: that one is not a reply."""
    replied = message.reply_to_message
    if replied is not None and replied.forum_topic_created is not None:
        return None
    return replied


def _replies_to_bot(message: Message, bot: User) -> bool:
    replied = _replied(message)
    return bool(replied and replied.from_user and replied.from_user.id == bot.id)


def _without_mention(text: str, bot: User) -> str:
    if not bot.username:
        return text
    return re.sub(rf"@{re.escape(bot.username)}\b", "", text, flags=re.IGNORECASE).strip()


def inbound_of(update: Update, bot: User) -> Inbound | None:
    """A message for the core, or None when it is not for Relais (another bot's command, a service
    message in a group, a channel post, a message from a bot)."""
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    chat = message.chat
    kind = chat_kind(chat)
    if kind == "channel":
        return None
    text = message.text or message.caption or ""
    location = (message.location.latitude, message.location.longitude) if message.location else None
    target = _command_target(message)
    if target and target != (bot.username or "").lower():
        return None  # "/start@other_bot" in a group is for another bot
    private = kind == "private"
    if not private and not text and location is None:
        return None  # members joining, pinned messages, stickers...
    addressed = private or target is not None or _mentions_bot(message, bot) or _replies_to_bot(message, bot)
    return Inbound(
        platform=PLATFORM,
        event_id=event_id(update),
        chat=str(chat.id),
        author=identity(message.from_user),
        text=_without_mention(text, bot),
        sent_at=message.date or datetime.now(UTC),
        chat_kind=kind,
        community=None if private else str(chat.id),
        community_name=None if private else chat.title,
        addressed=addressed,
        reply_to=None if private else str(message.message_id),
        in_reply_to=str(_replied(message).message_id) if _replied(message) else None,
        location=location,
        thread=None if private else topic_of(message),
    )


def action_of(update: Update, sent_at: datetime) -> Action | None:
    """A pressed inline button for the core; its callback data is the action id the core gave."""
    query = update.callback_query
    if query is None or not query.data or query.message is None:
        return None
    chat = query.message.chat
    kind = chat_kind(chat)
    return Action(
        platform=PLATFORM,
        event_id=event_id(update),
        chat=str(chat.id),
        author=identity(query.from_user),
        name=query.data,
        sent_at=sent_at,
        chat_kind=kind,
        community=None if kind == "private" else str(chat.id),
        thread=None if kind == "private" else topic_of(query.message),
    )
