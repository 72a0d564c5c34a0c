"""Offline French places: communes, postcodes, départements, geocoding and distances.

The geocoding half (geopy) is imported on first use, so that a process that only
reads places in messages starts faster.
"""

from core.places.gazetteer import Gazetteer, Place

__all__ = ["Gazetteer", "OfflineGeocoder", "Place", "department_of", "distance_km", "make_geocoder"]

_GEOCODING = {"OfflineGeocoder", "CachedGeocoder", "department_of", "distance_km", "make_geocoder"}


def __getattr__(name: str):
    if name in _GEOCODING:
        from core.places import geocoding

        return getattr(geocoding, name)
    raise AttributeError(f"module 'core.places' has no attribute {name!r}")
