"""Buttons and forms: every button's ``custom_id`` is the core's action id, so a button keeps
working after a restart (``DynamicItem``); forms collect what a slash command or a button needs."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import discord

from bots.discord.strings import text

__all__ = ["ACTION_TEMPLATE", "ActionButton", "FormModal", "build_view"]

# The core's button actions are ``domain:verb:id`` ("proposal:confirm:12", "need:commit:7").
ACTION_TEMPLATE = r"(?P<domain>[a-z_]{1,30}):(?P<verb>[a-z_]{1,30}):(?P<ident>\d{1,18})"
_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "danger": discord.ButtonStyle.danger,
    "success": discord.ButtonStyle.success,
}


class ActionButton(discord.ui.DynamicItem[discord.ui.Button], template=ACTION_TEMPLATE):
    """A button carrying a core action; pressed, it goes back to the core through the bot."""

    def __init__(self, action: str, label: str = "…", style: str | discord.ButtonStyle = "primary") -> None:
        if isinstance(style, str):
            style = _STYLES.get(style, discord.ButtonStyle.primary)
        super().__init__(discord.ui.Button(label=label[:80] or "…", style=style, custom_id=action))
        self.action = action

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> ActionButton:
        button = item if isinstance(item, discord.ui.Button) else None
        return cls(match.group(0), label=button.label if button and button.label else "…",
                   style=button.style if button else discord.ButtonStyle.primary)

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.on_action_pressed(interaction, self.action)  # type: ignore[attr-defined]


def build_view(buttons: Iterable[dict[str, Any]]) -> discord.ui.View | None:
    """A persistent view (no timeout) of the core's buttons, or None when there are none."""
    items = [b for b in buttons if b.get("action") and re.fullmatch(ACTION_TEMPLATE, b["action"])]
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for b in items[:25]:
        view.add_item(ActionButton(b["action"], b.get("label") or "…", b.get("style") or "primary"))
    return view


Submit = Callable[[discord.Interaction, dict[str, str]], Awaitable[None]]


class FormModal(discord.ui.Modal):
    """A form of text fields; the values go to ``on_values`` keyed by field name.

    ``fields`` are ``(name, label_key, hint_key or None, required, long, default)``; labels come
    from the bot's string templates in ``language``. The ``custom_id`` is unique per invocation
    (several people may open the same form at once)."""

    def __init__(self, *, custom_id: str, title_key: str, language: str,
                 fields: list[tuple[str, str, str | None, bool, bool, str | None]], on_values: Submit) -> None:
        super().__init__(title=text(title_key, language)[:45], custom_id=custom_id[:100], timeout=900)
        self._on_values = on_values
        self._inputs: dict[str, discord.ui.TextInput] = {}
        for name, label_key, hint_key, required, long, default in fields[:5]:
            field = discord.ui.TextInput(
                label=text(label_key, language)[:45],
                placeholder=text(hint_key, language)[:100] if hint_key else None,
                required=required,
                style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
                # A prefilled value is never cut (Discord allows 4000 characters in a field).
                max_length=min(4000, max(1000 if long else 200, len(default or ""))),
                default=(default[:4000] if default else None),
                custom_id=f"field:{name}",
            )
            self._inputs[name] = field
            self.add_item(field)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._on_values(interaction, {k: (v.value or "").strip() for k, v in self._inputs.items()})

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await interaction.client.on_form_error(interaction, error)  # type: ignore[attr-defined]
