"""Exports for authorities: CSV columns, valid GeoJSON, pseudonymous ids unless admin, on both databases."""

import csv
import io
import json

from sqlmodel import select

from core import export, permissions
from core.models import Person
from tests.helpers import Speaker, caregiver, maker, one


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


def test_export_command_for_allowed_roles_in_private_with_names_for_admins(hub):
    _, lea = setup_data(hub)
    assert one(lea.say("/export needs csv"), "refused").template == "refused/not_allowed"
    grant(hub, "2001", "moderator")
    outs = lea.say("/exporter besoins csv")  # in the public channel: the data goes privately
    data = one(outs, "export")
    assert data.direct and data.chat == "2001" and "p-" in data.text and "Marie" not in data.text
    assert one(outs, "info").template == "export_sent"
    assert one(lea.say("/export stock xml"), "refused").template == "refused/usage"
    boss = Speaker(hub, caregiver(hub, "Admin", "9000").identity)
    boss.say("/start")
    grant(hub, "9000", "admin")
    named = one(boss.say("/export needs geojson"), "export")
    feature = json.loads(named.text[named.text.index("{") :])["features"][0]
    assert feature["properties"]["requester_name"] == "Marie"
