"""One Jinja2 environment for every sentence Relais says; user text is passed as data, never compiled."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

import prompts

LANGUAGES = ("fr", "en")
PROMPTS_DIR = Path(prompts.__file__).resolve().parent

_WEEKDAYS = {
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
_MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
}


_TRAILING = re.compile(r"[ \t]+\n")
_BLANKS = re.compile(r"\n{3,}")


class Rendered:
    __slots__ = ("title", "text")

    def __init__(self, title: str | None, text: str):
        self.title = title
        self.text = text


class Renderer:
    """Renders ``prompts/<lang>/<name>.j2``; a template may ``{% set title %}`` for a heading."""

    def __init__(self, directory: Path = PROMPTS_DIR):
        self.directory = directory
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=False,  # output is plain text; each bot escapes it for its platform
            trim_blocks=False,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.item_names: dict[str, dict[str, str]] = {}
        self.capability_names: dict[str, dict[str, str]] = {}
        self.category_names: dict[int, dict[str, str]] = {}
        self.env.filters["item"] = self._item
        self.env.filters["capability"] = self._capability
        self.env.filters["category"] = self._category
        self.env.filters["day"] = self._day
        self.env.filters["qty"] = self._qty
        self.env.filters["count"] = self._count
        self.env.filters["km"] = lambda v: f"{v:.0f}" if v is not None else "?"

    def set_names(self, *, items=None, capabilities=None, categories=None) -> None:
        if items is not None:
            self.item_names = items
        if capabilities is not None:
            self.capability_names = capabilities
        if categories is not None:
            self.category_names = categories

    def exists(self, name: str, language: str = "fr") -> bool:
        return (self.directory / language / f"{name}.j2").is_file()

    def templates(self, language: str) -> list[str]:
        root = self.directory / language
        return sorted(str(p.relative_to(root))[:-3] for p in root.rglob("*.j2") if not p.name.startswith("_"))

    def render(self, name: str, language: str, /, **context: Any) -> Rendered:
        language = language if language in LANGUAGES else "fr"
        template = self.env.get_template(f"{language}/{name}.j2")
        module = template.make_module({"lang": language, **context})
        text = _BLANKS.sub("\n\n", _TRAILING.sub("\n", str(module))).strip()
        title = getattr(module, "title", None)
        return Rendered(str(title).strip() if title else None, text)

    @pass_context
    def _item(self, ctx, item_id: str) -> str:
        return self.item_names.get(item_id, {}).get(ctx.get("lang", "fr"), item_id)

    @pass_context
    def _capability(self, ctx, cap_id: str) -> str:
        return self.capability_names.get(cap_id, {}).get(ctx.get("lang", "fr"), cap_id)

    @pass_context
    def _category(self, ctx, cat: int | None) -> str:
        if cat is None:
            return "?"
        return self.category_names.get(int(cat), {}).get(ctx.get("lang", "fr"), str(cat))

    @pass_context
    def _day(self, ctx, value: date | datetime | str | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        lang = ctx.get("lang", "fr")
        if lang == "fr":
            return f"{_WEEKDAYS['fr'][value.weekday()]} {value.day} {_MONTHS['fr'][value.month - 1]}"
        return f"{_WEEKDAYS['en'][value.weekday()]} {value.day} {_MONTHS['en'][value.month - 1]}"

    @pass_context
    def _count(self, ctx, value: int | None, singular: str, plural: str) -> str:
        """``{{ n|count("besoin ouvert", "besoins ouverts") }}``: the number with the right noun form
        (in French 0 and 1 take the singular, in English only 1 does)."""
        n = int(value or 0)
        one = n in (0, 1) if ctx.get("lang", "fr") == "fr" else n == 1
        return f"{self._qty(ctx, n)} {singular if one else plural}"

    @pass_context
    def _qty(self, ctx, value: int | None) -> str:
        if value is None:
            return "?"
        sep = "\u202f" if ctx.get("lang", "fr") == "fr" else ","
        return f"{int(value):,}".replace(",", sep)
