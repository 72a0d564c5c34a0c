"""Whatever people type, the core answers without crashing, records nothing it should refuse, and what it
says stays inert once each bot renders it for its platform."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from bots.discord.render import render as discord_render
from bots.telegram.render import render_parts
from core.models import Commitment, Escalation, Need, Offer
from tests.helpers import caregiver, maker
from tests.standins.telegram_api import parse_telegram_html

BLOCKS = [
    "il nous faut 200 visières à Tours avant vendredi", "j'ai 3 imprimantes 3D à Lyon dispo",
    "a-t-on le droit de vendre des visières ?", "@everyone", "@here", "<@123456789>", "<@&987654321>",
    "<#555>", "**gras** __souligné__ ~~barré~~ `code` ||spoiler||", "<b>gras</b>", "<script>alert(1)</script>",
    "&amp; & &lt; <", "{{ 7*7 }}", "{% for x in range(9) %}x{% endfor %}", "'; DROP TABLE need; --",
    "\u202eevil\u202c", "\u200b\u200d\ufeff", "\x00\x01\x07\x1b[31m", "\ud800", "\udfff", "🧑‍⚕️🛡️",
    "9" * 40, "-5", "1e308", "0", "31/02/2999", "le 01/01/1900", "/commit N-1 -5", "/commit N-1 999999999999",
    "/commit N-1 0", "/deliver N-1 -3", "/answer Q-1 {{ secret }}", "/classify face_shield 9", "/lang xx",
    "/need", "/cancel", "/oui", "/besoin 200 visières @everyone", "/frobnicate", "/", "//", "/ ",
    "> quoted line\n", "\n" * 5, "ـ" * 30, "ﷺ" * 10,
]
hostile_text = st.one_of(
    st.lists(st.sampled_from(BLOCKS) | st.text(max_size=40), min_size=1, max_size=6).map(" ".join),
    st.text(max_size=300),
    st.builds(lambda n, s: s * n, st.integers(1, 3000), st.sampled_from(["visière ", "@", "<", "9", "é"])),
)

MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>")


def _check_rendering(outs):
    for o in outs:
        for part in render_parts(o.text, o.title):
            parse_telegram_html(part)  # raises on anything unescaped
        assert not MENTION.search(discord_render(o.text, o.title))


def _counts(hub) -> tuple[int, ...]:
    with hub.db.session() as s:
        return tuple(s.exec(select(func.count()).select_from(model)).one()
                     for model in (Need, Offer, Commitment, Escalation))


def test_ten_thousand_hostile_inputs_on_sqlite(request, tmp_path):
    from core.db import Database
    from core.hub import Hub
    from core.ports import FakeClock
    from core.settings import Settings
    from tests.conftest import START, fresh_url

    url = fresh_url("sqlite", request, tmp_path)
    clock = FakeClock(START)
    hub = Hub(Database(url), settings=Settings(database_url=url, _env_file=None), clock=clock)
    people = [caregiver(hub, "Marie", "1001"), maker(hub, "Léa", "2001"), caregiver(hub, "Zoé", "1003")]
    people[0].confirm(people[0].say("il nous faut 100 visières à Tours pour vendredi"))
    seen = {"examples": 0}

    @settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=True)
    @given(who=st.integers(0, 2), text=hostile_text)
    def feed(who, text):
        seen["examples"] += 1
        clock.advance(seconds=4)
        before = _counts(hub)
        outs = people[who].say(text)
        _check_rendering(outs)
        kinds = {o.kind for o in outs}
        if kinds and kinds <= {"refused", "error", "privacy"}:
            assert _counts(hub) == before, f"refused input changed records: {text!r}"
        if re.match(r"^/(commit|engager)\s+N-1\s+(-\d+|0+|\d{10,})\s*$", text.strip()):
            assert kinds & {"refused", "error"} and _counts(hub) == before

    feed()
    assert seen["examples"] >= 10_000
    hub.db.dispose()
