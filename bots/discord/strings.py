"""The Discord bot's own words (command names, descriptions, form labels), read from templates.

``prompts/<lang>/bot/discord/strings.j2`` holds one ``key = text`` per line. English is the base
Discord shows by default; French is given as a localisation through ``app_commands.Translator``.
"""

from __future__ import annotations

import functools
from typing import Any

import discord
from discord import app_commands

from core.templates import Renderer

__all__ = ["LANGUAGES", "L", "RelaisTranslator", "language_of", "strings", "text"]

LANGUAGES = ("fr", "en")
_LOCALES = {discord.Locale.french: "fr", discord.Locale.american_english: "en",
            discord.Locale.british_english: "en"}


@functools.cache
def strings(language: str) -> dict[str, str]:
    """All ``key = text`` pairs of one language."""
    rendered = Renderer().render("bot/discord/strings", language).text
    pairs: dict[str, str] = {}
    for line in rendered.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            pairs[key.strip()] = value.strip()
    return pairs


def text(key: str, language: str) -> str:
    """One string in ``language`` (English when the language lacks it)."""
    lang = language if language in LANGUAGES else "en"
    return strings(lang).get(key) or strings("en")[key]


def L(key: str) -> app_commands.locale_str:  # noqa: N802 - reads like the gettext ``_``
    """A translatable command string: English text, with its key for the translator."""
    return app_commands.locale_str(strings("en")[key], key=key)


def language_of(locale: discord.Locale | str | None, default: str = "fr") -> str:
    """The Relais language for a Discord locale ("fr", "en-US"...)."""
    if locale is None:
        return default
    value = locale.value if isinstance(locale, discord.Locale) else str(locale)
    head = value.split("-", 1)[0].lower()
    return head if head in LANGUAGES else default


class RelaisTranslator(app_commands.Translator):
    """Gives Discord the French (and English) names and descriptions of every command."""

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        lang = _LOCALES.get(locale)
        key: Any = string.extras.get("key")
        if lang is None or not key:
            return None
        return strings(lang).get(key)
