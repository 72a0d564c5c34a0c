"""Rendering text for Discord: escaping, neutralised mentions, splitting."""

from __future__ import annotations

import re

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.discord.render import MESSAGE_LIMIT, NO_MENTIONS, render, split_message

ZWSP = "\u200b"
DANGEROUS = [
    "**bold**",
    "@everyone",
    "@here",
    "<@&1>",
    "<@123456789012345678>",
    "<@!42>",
    "<#42>",
    "__underline__",
    "~~strike~~",
    "||spoiler||",
    "`code`",
    "```block```",
    "> quote",
    "# title",
    "- item",
    "\\",
    "\n",
    "[lien](https://example.org)",
]
texts = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(DANGEROUS)), max_size=30).map("".join)


def test_markdown_is_escaped_and_links_keep_working() -> None:
    out = render("**20 visières** pour _demain_, voir https://example.org/a_b*c")
    assert out == "\\*\\*20 visières\\*\\* pour \\_demain\\_, voir https://example.org/a_b*c"


def test_mentions_are_neutralised() -> None:
    out = render("@everyone @here <@123456789012345678> <@!1> <@&2> <#3>")
    assert (
        out == f"@{ZWSP}everyone @{ZWSP}here <{ZWSP}@123456789012345678> <{ZWSP}@!1> <{ZWSP}@&2> <{ZWSP}#3>"
    )


def test_title_is_bold_and_escaped() -> None:
    assert render("texte", title="Besoin *urgent*") == "**Besoin \\*urgent\\***\ntexte"
    assert render("", title="Seul") == "**Seul**"
    assert render("a", title="sur\ndeux lignes") == "**sur deux lignes**\na"
    assert render("a", title="  ") == "a"


def test_line_start_markup_is_escaped() -> None:
    assert render("# titre\n> citation\n- liste") == "\\# titre\n\\> citation\n\\- liste"


def test_no_mentions_allows_nothing() -> None:
    assert isinstance(NO_MENTIONS, discord.AllowedMentions)
    assert NO_MENTIONS.to_dict() == {"parse": []}


def test_split_keeps_short_text_whole_and_splits_on_lines() -> None:
    assert split_message("a\nb") == ["a\nb"]
    assert split_message("") == []
    lines = [f"ligne {i:04d}" for i in range(400)]
    parts = split_message("\n".join(lines))
    assert all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert "\n".join(parts).split("\n") == lines


def test_split_hard_cuts_a_long_line_outside_escapes() -> None:
    parts = split_message("x" * 9 + "\\*" + "y" * 5, limit=10)
    assert parts == ["x" * 9, "\\*" + "y" * 5]


def test_split_prefers_spaces_and_keeps_markup_literal() -> None:
    assert split_message("aaaa bbbb # cc", limit=10) == ["aaaa bbbb ", "\\# cc"]


def test_split_rejects_tiny_limits() -> None:
    with pytest.raises(ValueError):
        split_message("abc", limit=1)


def _odd_backslashes_before(text: str, index: int) -> bool:
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


@settings(max_examples=200, deadline=None)
@given(texts, st.one_of(st.none(), texts))
def test_rendered_text_never_passes_dangerous_markup(text: str, title: str | None) -> None:
    out = render(text, title)
    body = render(text)
    if title and title.split():
        heading = f"**{render(' '.join(title.split()))}**"
        assert out == (f"{heading}\n{body}" if body else heading)
    else:
        assert out == body
    assert "**bold**" not in body
    assert "@everyone" not in out and "@here" not in out
    assert not re.search(r"<[@#][!&]?\d+>", out)
    if "://" not in text:
        for i, ch in enumerate(body):
            if ch in "*_~|`":
                assert _odd_backslashes_before(body, i), (body, i)


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(min_value=8, max_value=MESSAGE_LIMIT))
def test_split_parts_fit_and_lose_nothing(text: str, limit: int) -> None:
    rendered = render(text)
    parts = split_message(rendered, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert all(p.strip() for p in parts)
    assert all(not _odd_backslashes_before(p, len(p)) for p in parts)
    squash = lambda s: re.sub(r"[\s\\]", "", s)  # noqa: E731
    assert squash("".join(parts)) == squash(rendered)


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=2001, max_size=6000))
def test_long_text_fits_discord_limit(text: str) -> None:
    assert all(len(p) <= 2000 for p in split_message(render(text)))


def test_user_text_cannot_make_a_masked_link() -> None:
    assert render("[cliquez ici](https://evil.example)") == "\\[cliquez ici\\](https://evil.example)"
    assert render("[**gras**](0)") == "\\[\\*\\*gras\\*\\*\\](0)"
    assert render("http://**gras**") == "http://\\*\\*gras\\*\\*"
