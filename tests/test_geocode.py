"""Typed places: offline first; an online geocoder only when configured, cached in the database."""

from geopy.exc import GeocoderUnavailable
from geopy.location import Location
from sqlmodel import select

from core.db import Database
from core.hub import Hub
from core.models import GeocodeCache
from tests.helpers import maker, one


class FakeNominatim:
    def __init__(self, fail: bool = False):
        self.calls = []
        self.fail = fail

    def geocode(self, query, exactly_one=True, **kwargs):
        self.calls.append(query)
        if self.fail:
            raise GeocoderUnavailable("down")
        if "moulin" in query.lower():
            return Location("Le Moulin, Chinon, Indre-et-Loire", (47.17, 0.24), {})
        return None


def _hub(settings, clock, online: bool, fake: FakeNominatim) -> Hub:
    return Hub(Database(settings.database_url), settings=settings.model_copy(update={"geocoder_online": online}),
               clock=clock, online_geocoder=fake)


def test_online_geocoder_is_used_after_the_gazetteer_and_cached(settings, clock):
    fake = FakeNominatim()
    hub = _hub(settings, clock, True, fake)
    lea = maker(hub)
    listing = one(lea.say("/needs Tours"), "listing")
    assert "Tours" in listing.title and fake.calls == []  # found offline
    listing = one(lea.say("/needs lieu-dit le Moulin"), "listing")
    assert fake.calls == ["lieu-dit le Moulin"]
    assert "Chinon" in listing.title or "Moulin" in listing.title
    lea.say("/needs lieu-dit le Moulin")
    assert fake.calls == ["lieu-dit le Moulin"], "the second look-up comes from the database cache"
    with hub.db.session() as s:
        row = s.exec(select(GeocodeCache)).one()
        assert round(row.lat, 2) == 47.17
    hub.db.dispose()


def test_offline_by_default_and_a_failing_geocoder_gets_a_clear_answer(settings, clock):
    fake = FakeNominatim()
    hub = _hub(settings, clock, False, fake)
    refused = one(maker(hub).say("/needs lieu-dit le Moulin"), "refused")
    assert refused.template == "refused/unknown_place" and fake.calls == []
    hub.db.dispose()
    down = FakeNominatim(fail=True)
    hub = _hub(settings, clock, True, down)
    refused = one(maker(hub, "Bob", "2002").say("/needs lieu-dit le Moulin"), "refused")
    assert refused.template == "refused/unknown_place" and down.calls
    with hub.db.session() as s:
        assert s.exec(select(GeocodeCache)).all() == [], "a failure is not cached"
    hub.db.dispose()
