"""Telegram rendering: escaping and splitting within the message limit."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.telegram.render import MESSAGE_LIMIT, escape, render_parts, split_message, to_html
from tests.standins.telegram_api import parse_telegram_html


def test_markup_in_user_text_is_shown_literally() -> None:
    text = "<b>gras</b> & <script>alert('x')</script> &amp; 1 < 2 > 0"
    rendered = to_html(text)
    assert rendered == (
        "&lt;b&gt;gras&lt;/b&gt; &amp; &lt;script&gt;alert('x')&lt;/script&gt; &amp;amp; 1 &lt; 2 &gt; 0"
    )
    plain, entities = parse_telegram_html(rendered)
    assert plain == text
    assert entities == []


def test_title_is_bold_and_escaped() -> None:
    rendered = to_html("10 visières", title="Besoin <urgent> & co")
    assert rendered == "<b>Besoin &lt;urgent&gt; &amp; co</b>\n10 visières"
    plain, entities = parse_telegram_html(rendered)
    assert plain == "Besoin <urgent> & co\n10 visières"
    assert entities == [{"type": "bold", "offset": 0, "length": 20}]
    assert to_html("", title="Seul") == "<b>Seul</b>"


def test_long_text_is_split_on_line_boundaries() -> None:
    lines = [f"ligne {i:04d} " + "x" * 40 for i in range(200)]
    text = "\n".join(lines)
    assert len(text) > 10_000
    parts = split_message(text)
    assert len(parts) == 3
    assert all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert "".join(parts) == text
    assert all(p.endswith("\n") for p in parts[:-1])  # cuts only after a line break


def test_rendered_parts_fit_after_escaping() -> None:
    text = ("a&b " * 1000 + "\n") * 3  # escaping multiplies the length of "&" by five
    parts = render_parts(text, title="Titre")
    assert all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert parts[0].startswith("<b>Titre</b>\n")
    seen = "".join(parse_telegram_html(part)[0] for part in parts)  # Telegram accepts every part
    assert seen == "Titre\n" + text
    assert len(parts) == 6  # each 8,001-character escaped line takes two parts


def test_over_long_line_is_cut_at_a_space_or_hard_but_never_inside_an_entity() -> None:
    words = "mot " * 3000
    parts = split_message(words, 100)
    assert all(len(p) <= 100 and p.endswith(" ") for p in parts[:-1])
    assert "".join(parts) == words
    ampersands = "&" * 50
    parts = render_parts(ampersands, limit=12)
    assert parts == ["&amp;&amp;"] * 25  # 2 × 5 characters; a third would not fit
    parts = split_message("é" * 9, 4)
    assert parts == ["éééé", "éééé", "é"]


def test_whitespace_only_parts_are_dropped_but_text_is_kept() -> None:
    text = "x" * 10 + "\n" + "\n" * 30 + "y" * 10
    parts = render_parts(text, limit=12)
    assert all(p.strip() for p in parts)
    assert "".join(parts).replace("\n", "") == "x" * 10 + "y" * 10


def test_empty_text_and_too_long_title() -> None:
    assert render_parts("") == []
    assert render_parts("", title="Titre") == ["<b>Titre</b>"]
    assert split_message("") == []
    with pytest.raises(ValueError):
        render_parts("x", title="t" * 20, limit=20)


_text = st.text(
    alphabet=st.sampled_from(list("ab &<>\n\t é😀")) | st.characters(codec="utf-8"),
    max_size=600,
)


@settings(max_examples=200, deadline=None)
@given(text=_text, limit=st.integers(min_value=5, max_value=120))
def test_split_parts_fit_and_join_back(text: str, limit: int) -> None:
    parts = split_message(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert "".join(parts) == text


@settings(max_examples=200, deadline=None)
@given(text=_text, limit=st.integers(min_value=5, max_value=120), titled=st.booleans())
def test_rendered_parts_fit_unescape_and_join_back(text: str, limit: int, titled: bool) -> None:
    title = "Note & <i>" if titled and limit >= 40 else None
    parts = render_parts(text, title=title, limit=limit)
    assert all(len(p) <= limit for p in parts)
    if title is not None:
        assert parts[0].startswith("<b>Note &amp; &lt;i&gt;</b>")
        parts[0] = parts[0].removeprefix("<b>Note &amp; &lt;i&gt;</b>").removeprefix("\n")
    joined = "".join(html.unescape(p) for p in parts)
    # Only whitespace-only pieces may be left out (Telegram would refuse them as empty).
    kept = "".join(p for p in split_message(text, limit, measure=lambda s: len(escape(s))) if p.strip())
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", text)
    if title is None:
        assert joined == kept
    for part in parts:
        parse_telegram_html(part)
