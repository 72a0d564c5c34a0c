"""One root error for the core; business errors carry the template of their reply."""

from __future__ import annotations

from typing import Any


class RelaisError(Exception):
    """Root of every error the core raises on purpose."""


class Refused(RelaisError):
    """A request the hub will not carry out; the reply says why."""

    kind = "refused"

    def __init__(self, template: str, **context: Any):
        super().__init__(template)
        self.template = template
        self.context = context


class BadInput(Refused):
    """Input the hub cannot use (empty, too long, malformed)."""

    kind = "error"


class DeliveryError(RelaisError):
    """A platform did not take a message. ``permanent`` means never retry this chat."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
