"""Place look-ups for what people type: the offline gazetteer first, then, only when configured, an
online geocoder (Nominatim through geopy, rate-limited) whose answers are cached in the database."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from sqlmodel import Session, select

from core.models import GeocodeCache
from core.places import Place
from core.places.geocoding import CachedGeocoder, OfflineGeocoder


class DatabaseCache(MutableMapping):
    """The geocoder's cache as rows of ``GeocodeCache``, read and written in the caller's transaction."""

    def __init__(self, session: Session):
        self.s = session

    def __getitem__(self, query: str) -> tuple:
        row = self.s.get(GeocodeCache, query[:200])
        if row is None:
            raise KeyError(query)
        return () if row.lat is None else (row.name, row.lat, row.lon)

    def __setitem__(self, query: str, value: tuple) -> None:
        row = self.s.get(GeocodeCache, query[:200]) or GeocodeCache(query=query[:200])
        row.name, row.lat, row.lon = (value[0][:200], value[1], value[2]) if value else (None, None, None)
        self.s.add(row)

    def __delitem__(self, query: str) -> None:
        row = self.s.get(GeocodeCache, query[:200])
        if row is None:
            raise KeyError(query)
        self.s.delete(row)

    def __iter__(self) -> Iterator[str]:
        return iter(self.s.exec(select(GeocodeCache.query)).all())

    def __len__(self) -> int:
        return len(self.s.exec(select(GeocodeCache.query)).all())


class Locator:
    """Turns a typed place into a ``Place``; one per hub, so the online rate limit spans every call."""

    def __init__(self, gazetteer: Any, *, online: bool, user_agent: str, online_geocoder: Any = None,
                 min_delay_seconds: float = 1.0):
        self.gazetteer = gazetteer
        self.offline = OfflineGeocoder(gazetteer)
        self.online = None
        if online:
            from geopy.extra.rate_limiter import RateLimiter

            if online_geocoder is None:
                from geopy.geocoders import Nominatim

                online_geocoder = Nominatim(user_agent=user_agent, timeout=10)
            self.online = RateLimiter(online_geocoder.geocode, min_delay_seconds=min_delay_seconds,
                                      max_retries=1, swallow_exceptions=False)

    def locate(self, session: Session, query: str) -> Place | None:
        place = self.gazetteer.lookup(query)
        if place is not None or self.online is None:
            return place
        found = CachedGeocoder(self.offline, self.online, DatabaseCache(session)).geocode(query)
        if found is None:
            return None
        raw = found.raw or {}
        return Place(name=raw.get("commune") or str(found.address)[:120], lat=found.latitude,
                     lon=found.longitude, department=raw.get("department"))
