"""Exports for authorities: CSV columns, valid GeoJSON, pseudonymous ids unless admin, on both databases."""

import csv
import io
import json

from sqlmodel import select

from core import export, permissions
from core.hub import Hub
from core.messages import Identity
from core.models import AuditEntry, OutboxMessage, Person
from core.privacy import pseudonym
from tests.helpers import Speaker, caregiver, kinds, maker, one


def setup_data(hub):
    marie = caregiver(hub)
    marie.confirm(marie.say("il nous faut 200 visières pour l'EHPAD Les Tilleuls à Tours"))
    lea = maker(hub)
    lea.confirm(lea.say("j'ai 2 imprimantes 3D à Joué-lès-Tours, je peux faire des visières"))
    lea.say("/commit N-1 50")
    return marie, lea


def grant(hub, pid, role):
    with hub.db.session() as s:
        p = s.exec(select(Person).where(Person.platform_id == pid)).one()
        permissions.grant(s, p, role)


def rows_of(text: str) -> tuple[list[str], list[dict]]:
    body = text[text.index("ref,") if "ref," in text else text.index("department,") :]
    reader = csv.DictReader(io.StringIO(body))
    return reader.fieldnames, list(reader)


def test_csv_exports_have_the_documented_columns_and_no_names(hub):
    setup_data(hub)
    with hub.db.session() as s:
        text, n = export.export(s, "needs", "csv")
        header, rows = rows_of(text)
        assert header == export.NEED_COLUMNS and n == 1
        assert rows[0]["ref"] == "N-1" and rows[0]["item"] == "face_shield" and rows[0]["quantity"] == "200"
        assert (
            rows[0]["committed"] == "50" and rows[0]["remaining"] == "150" and rows[0]["department"] == "37"
        )
        assert rows[0]["region"] == "Centre-Val de Loire" and rows[0]["requester"].startswith("p-")
        offers_text, _ = export.export(s, "offers", "csv")
        header, rows = rows_of(offers_text)
        assert header == export.OFFER_COLUMNS and "3d_printing" in rows[0]["capabilities"]
        capacity_text, _ = export.export(s, "capacity", "csv")
        header, rows = rows_of(capacity_text)
        assert (
            header[: len(export.CAPACITY_COLUMNS)] == export.CAPACITY_COLUMNS and "cap_3d_printing" in header
        )
        assert (
            rows[0]["department"] == "37" and rows[0]["makers"] == "1" and rows[0]["cap_3d_printing"] == "1"
        )
        for payload in (text, offers_text, capacity_text):
            assert "Marie" not in payload and "Léa" not in payload and "1001" not in payload
            assert "2001" not in payload


def test_geojson_is_a_valid_feature_collection_with_pseudonymous_ids(hub):
    setup_data(hub)
    with hub.db.session() as s:
        for what in export.KINDS:
            data = json.loads(export.export(s, what, "geojson")[0])
            assert data["type"] == "FeatureCollection" and data["features"]
            for f in data["features"]:
                assert f["type"] == "Feature" and set(f) == {"type", "geometry", "properties"}
                lon, lat = f["geometry"]["coordinates"]
                assert f["geometry"]["type"] == "Point" and 41 < lat < 52 and -5 < lon < 10
                assert "lat" not in f["properties"] and "lon" not in f["properties"]
        needs = json.loads(export.export(s, "needs", "geojson")[0])["features"]
        offers = json.loads(export.export(s, "offers", "geojson")[0])["features"]
        assert needs[0]["properties"]["requester"] == export.pseudonym(1)
        assert offers[0]["properties"]["maker"] == export.pseudonym(2)
        assert needs[0]["properties"]["requester"] != offers[0]["properties"]["maker"]
        assert "Marie" not in json.dumps(needs) and "requester_name" not in needs[0]["properties"]
        assert needs[0]["geometry"]["coordinates"][1] == round(needs[0]["geometry"]["coordinates"][1], 2)


def csv_file(out) -> list[dict]:
    """The rows of an export's attached CSV (UTF-8 with a byte order mark, for spreadsheets)."""
    assert out.attachment.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(out.attachment.decode("utf-8-sig"))))


def test_export_command_for_allowed_roles_in_private_with_names_for_admins(hub):
    _, lea = setup_data(hub)
    assert one(lea.say("/export needs csv"), "refused").template == "refused/not_allowed"
    grant(hub, "2001", "moderator")
    outs = lea.say("/exporter besoins csv")  # in the public channel: the data goes privately
    data = one(outs, "export")
    assert data.direct and data.chat == "2001" and "Marie" not in data.text
    assert csv_file(data)[0]["requester"].startswith("p-")
    note = one(outs, "info")
    assert note.template == "export_sent" and not note.direct and note.attachment is None
    assert one(lea.say("/export stock xml"), "refused").template == "refused/usage"
    boss = Speaker(hub, caregiver(hub, "Admin", "9000").identity)
    boss.say("/start")
    grant(hub, "9000", "admin")
    named = one(boss.say("/export needs geojson"), "export")
    feature = json.loads(named.attachment)["features"][0]
    assert feature["properties"]["requester_name"] == "Marie"
    assert "noms" in named.text and "pseudonyme" not in named.text


def test_a_moderator_asking_in_a_channel_gets_the_csv_file_in_private_with_a_short_message(hub):
    _, lea = setup_data(hub)
    grant(hub, "2001", "moderator")
    outs = lea.say("/export needs csv")
    assert sorted(kinds(outs)) == ["export", "info"]
    data = one(outs, "export")
    assert data.direct and data.chat == "2001" and data.platform == "discord"
    assert data.attachment_name == "relais-needs-2020-03-23.csv"
    rows = csv_file(data)
    assert [r["ref"] for r in rows] == ["N-1"] and rows[0]["item"] == "face_shield"
    assert rows[0]["quantity"] == "200" and rows[0]["committed"] == "50" and rows[0]["requester"] == pseudonym(1)
    assert list(rows[0]) == export.NEED_COLUMNS
    content = data.attachment.decode("utf-8-sig").lower()
    for secret in ("marie", "léa", "1001", "2001"):  # no names, no platform ids
        assert secret not in content
    # The message is the template, not the data: what the file holds, how many rows, pseudonymous ids.
    assert data.template == "export_ready" and data.language == "fr"
    assert data.title == "Export des besoins (CSV) : 1 ligne"
    assert "relais-needs-2020-03-23.csv" in data.text and "pseudonyme" in data.text
    assert "N-1" not in data.text and "face_shield" not in data.text and "200" not in data.text
    expected = hub.renderer.render("export_ready", "fr", what="needs", fmt="csv", count=1,
                                   filename=data.attachment_name, size=len(data.attachment), named=False)
    assert (data.title, data.text) == (expected.title, expected.text)
    # The channel hears only that the file went privately.
    note = one(outs, "info")
    assert note.chat == "fabrication" and note.template == "export_sent" and note.attachment is None
    assert "N-1" not in note.text and "p-" not in note.text
    # The outbox keeps the file for the delivery worker.
    with hub.db.session() as s:
        row = s.get(OutboxMessage, data.outbox_id)
        assert bytes(row.attachment) == data.attachment and row.attachment_name == data.attachment_name
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "data.exported")).one()
        assert entry.after == {"format": "csv", "rows": 1, "names": False, "bytes": len(data.attachment)}


def test_geojson_files_for_offers_and_capacity_in_the_askers_language(hub):
    setup_data(hub)
    contact = Speaker(hub, Identity("telegram", "9001", "Dr Martin", "en"))
    contact.say("/start")
    grant(hub, "9001", "contact")
    offers = one(contact.say("/export offers geojson"), "export")  # in private: the file, nothing else
    assert offers.direct and offers.chat == "9001" and offers.language == "en"
    assert offers.attachment_name == "relais-offers-2020-03-23.geojson"
    assert offers.title == "Export of offers (GeoJSON): 1 feature"
    assert "pseudonymous" in offers.text and "relais-offers-2020-03-23.geojson" in offers.text
    data = json.loads(offers.attachment.decode("utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 1
    props = data["features"][0]["properties"]
    assert props["ref"] == "O-1" and props["maker"] == pseudonym(2) and "maker_name" not in props
    assert b"L\xc3\xa9a" not in offers.attachment and b"2001" not in offers.attachment
    capacity = contact.say("/exporter capacite geojson")
    assert kinds(capacity) == ["export"]
    [feature] = json.loads(capacity[0].attachment)["features"]
    assert feature["properties"]["department"] == "37" and feature["properties"]["makers"] == 1
    assert capacity[0].attachment_name == "relais-capacity-2020-03-23.geojson"
    assert "no person appears" in capacity[0].text


def test_an_export_too_big_for_the_platform_is_refused_and_nothing_is_sent(hub):
    setup_data(hub)
    grant(hub, "2001", "moderator")
    assert export.file_limit("telegram") == 50_000_000 and export.file_limit("discord") == 8_000_000
    assert export.file_limit("console") == 8_000_000 and export.file_limit("telegram", 1000) == 1000
    small = Hub(hub.db, settings=hub.settings.model_copy(update={"export_max_bytes": 100}), clock=hub.clock)
    lea = maker(small)
    lea.say("/start")
    outs = lea.say("/export needs geojson")
    refusal = one(outs, "refused")
    assert refusal.template == "refused/export_too_big" and refusal.attachment is None
    assert kinds(outs) == ["refused"], "no file, no note that one was sent"
    assert "100 octets" in refusal.text and "Discord" in refusal.text and "CSV" in refusal.text
    with hub.db.session() as s:
        assert not s.exec(select(OutboxMessage).where(OutboxMessage.attachment.is_not(None))).all()
        assert not s.exec(select(AuditEntry).where(AuditEntry.action == "data.exported")).all()
    assert one(maker(hub).say("/export needs csv"), "export").attachment, "within the usual limit it goes"


def test_the_console_shows_the_export_as_a_file(hub):
    from relais.console import Console, attachment_line

    out = io.StringIO()
    console = Console(hub, out, echo=False)
    console.switch("moderator", "Modo", None)
    console.handle_line("/export needs csv")
    shown = out.getvalue()
    assert "[file: relais-needs-2020-03-23.csv, " in shown and " B]" in shown
    assert attachment_line(b"x" * 3000, "relais-needs-2020-03-23.csv") == (
        "[file: relais-needs-2020-03-23.csv, 3 KB]")
    assert attachment_line(b"\x89PNG" + b"x" * 20000, "briefing.png") == "[image: briefing.png, 20 KB]"
