"""What the core needs from the outside world, as Protocols; bots and tests provide them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        from datetime import timedelta

        self.current = self.current + timedelta(**delta)
        return self.current


class Place(Protocol):
    name: str
    lat: float
    lon: float
    department: str | None


class PlaceFinder(Protocol):
    """Offline gazetteer: finds the commune a message or a typed query is about."""

    def find_in_text(self, text: str) -> Place | None: ...

    def lookup(self, query: str) -> Place | None: ...


class Sender(Protocol):
    """Sends one rendered outbound message on a platform; raises a ``DeliveryError`` on failure."""

    async def send(self, message) -> str | None: ...
