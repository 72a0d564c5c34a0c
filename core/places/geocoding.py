"""Geocoding behind geopy's interface: the offline gazetteer first, Nominatim only when configured."""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from typing import Any

from geopy.distance import geodesic
from geopy.exc import GeopyError
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from core.places._text import key
from core.places.gazetteer import Gazetteer, Place

_DEPT_CODE_RE = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2[ab]|97[1-6])$", re.IGNORECASE)


def distance_km(a: tuple[float, float] | Place, b: tuple[float, float] | Place) -> float:
    """Geodesic distance in kilometres between two (lat, lon) points or places."""
    pa = (a.lat, a.lon) if isinstance(a, Place) else a
    pb = (b.lat, b.lon) if isinstance(b, Place) else b
    return geodesic(pa, pb).km


def department_of(place_or_postcode: Place | str | None, gazetteer: Gazetteer | None = None) -> str | None:
    """Département code ("37", "2A", "974") of a place, a postcode, a département code or a place name."""
    if place_or_postcode is None:
        return None
    if isinstance(place_or_postcode, Place):
        return place_or_postcode.department
    value = str(place_or_postcode).strip()
    if not value:
        return None
    gaz = gazetteer or Gazetteer.default()
    compact = value.replace(" ", "")
    if compact.isdigit() and len(compact) == 5:
        place = gaz.by_postcode(compact)
        if place is not None:
            return place.department
        if compact.startswith("97"):
            return compact[:3]
        if compact.startswith("20"):
            return "2A" if int(compact) < 20200 else "2B"
        return compact[:2] if compact[:2] != "00" else None
    if _DEPT_CODE_RE.match(compact):
        return compact.upper()
    place = gaz.lookup(value)
    return place.department if place is not None else None


def _location(place: Place) -> Location:
    raw = {
        "name": place.name,
        "lat": place.lat,
        "lon": place.lon,
        "department": place.department,
        "postcode": place.postcode,
        "insee": place.insee,
        "source": "offline",
    }
    address = (
        f"{place.name}, {place.postcode} {place.department}, France"
        if place.postcode
        else f"{place.name}, France"
    )
    return Location(address, (place.lat, place.lon), raw)


class OfflineGeocoder(Geocoder):
    """geopy geocoder answering from the shipped gazetteer, without any network access."""

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        super().__init__(user_agent="relais-offline")
        self._gazetteer = gazetteer

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            self._gazetteer = Gazetteer.default()
        return self._gazetteer

    def geocode(
        self, query: Any, *, exactly_one: bool = True, **_ignored: Any
    ) -> Location | list[Location] | None:
        if isinstance(query, dict):
            query = " ".join(str(v) for v in query.values())
        place = self.gazetteer.lookup(str(query))
        if place is None:
            return None
        location = _location(place)
        return location if exactly_one else [location]

    def reverse(
        self, query: Any, *, exactly_one: bool = True, **_ignored: Any
    ) -> Location | list[Location] | None:
        """The commune whose town hall is nearest to a (lat, lon) point."""
        if isinstance(query, str):
            lat, lon = (float(x) for x in query.split(","))
        elif hasattr(query, "latitude"):
            lat, lon = query.latitude, query.longitude
        else:
            lat, lon = (float(x) for x in query)
        place = self.gazetteer.nearest(lat, lon)
        if place is None:
            return None
        location = _location(place)
        return location if exactly_one else [location]


class CachedGeocoder:
    """Offline first, then (when configured) an online geocoder whose answers are cached.

    Call it, or its ``geocode`` method, with a query; it returns a geopy ``Location``
    or None. The cache maps a normalised query to ``(address, lat, lon)``, or to ``()``
    when the online geocoder found nothing, so that a query is sent at most once.
    """

    def __init__(
        self,
        offline: OfflineGeocoder,
        online: Callable[..., Any] | None,
        cache: MutableMapping[str, tuple],
    ) -> None:
        self.offline = offline
        self.online = online
        self.cache = cache

    def __call__(self, query: str) -> Location | None:
        return self.geocode(query)

    def geocode(self, query: str, exactly_one: bool = True) -> Location | None:
        found = self.offline.geocode(query)
        if found is not None or self.online is None:
            return found
        cache_key = key(str(query))
        if not cache_key:
            return None
        if cache_key in self.cache:
            cached = tuple(self.cache[cache_key])
            if not cached:
                return None
            address, lat, lon = cached[:3]
            return self._located(address, lat, lon, "cache")
        try:
            result = self.online(str(query), exactly_one=True, country_codes="fr")
        except GeopyError:
            return None  # not cached: try again later
        if result is None:
            self.cache[cache_key] = ()
            return None
        self.cache[cache_key] = (result.address, result.latitude, result.longitude)
        return self._located(result.address, result.latitude, result.longitude, "online")

    def _located(self, address: str, lat: float, lon: float, source: str) -> Location:
        """A Location whose raw dict names the département, from the nearest commune."""
        nearest = self.offline.gazetteer.nearest(lat, lon)
        raw = {"name": address, "lat": lat, "lon": lon, "source": source, "department": None, "insee": None}
        if nearest is not None and distance_km((lat, lon), nearest.coords) < 30:
            raw.update(department=nearest.department, insee=nearest.insee, commune=nearest.name)
        return Location(address, (lat, lon), raw)


def make_geocoder(
    *,
    online: bool,
    user_agent: str,
    cache: MutableMapping[str, tuple] | None = None,
    gazetteer: Gazetteer | None = None,
    online_geocoder: Any | None = None,
    min_delay_seconds: float = 1.0,
) -> CachedGeocoder:
    """A geocoder for the hub: the offline gazetteer, plus Nominatim when ``online`` is set.

    Nothing touches the network unless ``online`` is true. Nominatim's policy of at most
    one request a second is kept by geopy's RateLimiter. ``online_geocoder`` replaces
    Nominatim (tests pass a fake object with a ``geocode`` method).
    """
    offline = OfflineGeocoder(gazetteer)
    fallback = None
    if online:
        from geopy.extra.rate_limiter import RateLimiter

        if online_geocoder is None:
            from geopy.geocoders import Nominatim

            online_geocoder = Nominatim(user_agent=user_agent, timeout=10)
        fallback = RateLimiter(
            online_geocoder.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=1,
            error_wait_seconds=min(5.0, max(min_delay_seconds, 0.0) * 2),
            swallow_exceptions=False,
        )
    return CachedGeocoder(offline, fallback, {} if cache is None else cache)
