"""The briefing's chart: open needs by department as a PNG attached to the briefing (rendered offline),
stored on its outbox row; none when nothing is open."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from core import briefing, charts, jobs
from core.models import Community, Need, NeedLine, OutboxMessage
from core.templates import Renderer

PNG = b"\x89PNG\r\n\x1a\n"
DAY_BEFORE = datetime(2020, 3, 22, 12, 0, tzinfo=UTC)


def community(hub, *, lang: str = "fr") -> int:
    with hub.db.session() as s:
        row = Community(platform="discord", platform_id="g-chart", name="Makers 37", language=lang,
                        timezone="Europe/Paris", briefing_channel="brief", created_at=DAY_BEFORE)
        s.add(row)
        s.flush()
        return row.id


def need(hub, department: str | None, *lines: tuple[str, int | None, int], status: str = "open",
         category: int = 2) -> None:
    with hub.db.session() as s:
        row = Need(platform="telegram", chat="1001", place_name="Tours", department=department, status=status,
                   category=category, deadline=date(2020, 3, 27), created_at=DAY_BEFORE, updated_at=DAY_BEFORE)
        s.add(row)
        s.flush()
        for item, quantity, committed in lines:
            s.add(NeedLine(need_id=row.id, item_id=item, quantity=quantity, committed=committed))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_a_briefing_with_open_needs_carries_a_png_chart(hub, clock):
    community(hub)
    need(hub, "37", ("face_shield", 200, 50), ("gown", 20, 30))  # over-committed line counts its quantity
    need(hub, "41", ("face_shield", 100, 0))
    need(hub, None, ("fabric_mask", None, 10))  # unknown quantity: only what was committed
    need(hub, "75", ("face_shield", 500, 0), status="delivered")  # not open
    need(hub, "13", ("ventilator", 5, 0), category=4)  # category 4 is never briefed as work
    clock.advance(hours=22)  # Tuesday 08:00 in Paris
    [out] = jobs.run_briefings(hub)
    assert out.attachment is not None and out.attachment.startswith(PNG)
    assert out.attachment_name == "briefing.png"
    width, height = png_size(out.attachment)
    assert width == 800 and 200 < height < 800
    assert out.context["open_by_department"] == [
        {"department": "37", "committed": 70, "uncovered": 150},
        {"department": "41", "committed": 0, "uncovered": 100},
        {"department": "?", "committed": 10, "uncovered": 0},
    ]
    with hub.db.session() as s:
        [row] = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "briefing")).all()
        assert bytes(row.attachment) == out.attachment and row.attachment_name == "briefing.png"
        assert row.text == out.text  # the text is unchanged: the chart comes on top of it
    assert out.as_json()["attachment"] == {"name": "briefing.png", "bytes": len(out.attachment)}


def test_a_briefing_with_nothing_open_carries_no_chart(hub, clock):
    community(hub)
    need(hub, "37", ("face_shield", 100, 100), status="delivered")
    need(hub, "13", ("ventilator", 5, 0), category=4)
    clock.advance(hours=22)
    [out] = jobs.run_briefings(hub)
    assert out.attachment is None and out.attachment_name is None
    with hub.db.session() as s:
        [row] = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "briefing")).all()
        assert row.attachment is None and row.attachment_name is None
    assert out.as_json()["attachment"] is None


def test_the_top_ten_departments_most_uncovered_first(hub, clock):
    community(hub)
    for i in range(12):
        need(hub, f"{i + 1:02d}", ("face_shield", 10 * (i + 1), i))
    with hub.db.session() as s:
        rows = briefing.open_by_department(s)
    assert [r["department"] for r in rows] == [f"{i:02d}" for i in range(12, 2, -1)]
    assert rows[0] == {"department": "12", "committed": 11, "uncovered": 109}


def labels(lang: str) -> tuple[dict[str, str], str | None]:
    rendered = Renderer().render("chart/briefing_labels", lang)
    return charts.parse_labels(rendered.text), rendered.title


ROWS = [{"department": "37", "committed": 120, "uncovered": 480}, {"department": "2A", "committed": 5,
                                                                    "uncovered": 50},
        {"department": "?", "committed": 10, "uncovered": 0}]


def test_the_chart_is_deterministic_and_labelled_in_the_community_language():
    fr_labels, fr_title = labels("fr")
    en_labels, en_title = labels("en")
    assert fr_title == "Besoins ouverts par département" and en_title == "Open needs by department"
    assert set(fr_labels) == set(en_labels) == {"committed", "uncovered", "axis", "unknown"}
    fr = charts.briefing_chart(ROWS, fr_labels, fr_title)
    assert fr.startswith(PNG) and fr == charts.briefing_chart(ROWS, fr_labels, fr_title)
    assert b"tEXtSoftware" not in fr  # no version stamp: same data, same bytes
    en = charts.briefing_chart(ROWS, en_labels, en_title)
    assert en.startswith(PNG) and en != fr


def test_nothing_worth_drawing_draws_nothing():
    fr_labels, fr_title = labels("fr")
    assert charts.briefing_chart([], fr_labels, fr_title) is None
    assert charts.briefing_chart([{"department": "37", "committed": 0, "uncovered": 0}], fr_labels) is None


def test_department_names_come_from_the_gazetteer():
    names = charts.department_names()
    assert names["37"] == "Indre-et-Loire" and names["2A"] == "Corse-du-Sud" and names["971"] == "Guadeloupe"


def test_preview_carries_the_chart_too(hub, clock):
    cid = community(hub, lang="en")
    need(hub, "37", ("face_shield", 200, 0))
    out = jobs.preview_briefing(hub, cid, clock.now() + timedelta(hours=22))
    assert out.attachment.startswith(PNG) and out.language == "en"
