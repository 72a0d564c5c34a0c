"""Chat with the hub in a terminal: speakers switch with ``/as ROLE NAME [PLATFORM]``."""

from __future__ import annotations

import json
import mimetypes
import re
import shlex
import sys
import unicodedata
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TextIO

from sqlmodel import select

from core import jobs, permissions
from core.hub import Hub
from core.messages import Action, Identity, Inbound, Outbound
from core.models import Community, DesignatedContact, Person, Role

DEFAULT_PLATFORM = {Role.CAREGIVER: "telegram", Role.MAKER: "discord", Role.MODERATOR: "discord",
                    Role.CONTACT: "telegram", Role.ADMIN: "discord"}
DISCORD_GUILD = "console-guild"
MAKERS_CHANNEL = "fabrication"
NEEDS_CHANNEL = "besoins"
BRIEFING_CHANNEL = "coordination"
TELEGRAM_GROUP = "-1001"
DURATION_RE = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?:in)?)?$")
TOPICS = ("sanitary", "legal", "technical", "logistics")


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:40] or "anon"


def attachment_line(data: bytes, name: str | None) -> str:
    """``[image: briefing.png, 14 KB]`` for a picture, ``[file: relais-needs-2020-03-23.csv, 412 B]`` otherwise."""
    what = "image" if (mimetypes.guess_type(name or "")[0] or "").startswith("image/") else "file"
    size = len(data)
    shown = f"{size} B" if size < 1024 else (f"{round(size / 1024)} KB" if size < 1024 * 1024
                                             else f"{size / (1024 * 1024):.1f} MB")
    return f"[{what}: {name or 'attachment'}, {shown}]"


class Console:
    """A terminal front end: it plays the platforms, so the whole hub can be tried without tokens."""

    def __init__(self, hub: Hub, out: TextIO = sys.stdout, *, as_json: bool = False, echo: bool = True):
        self.hub = hub
        self.out = out
        self.as_json = as_json
        self.echo = echo
        self.speaker: Identity | None = None
        self.role = Role.CAREGIVER
        self.counter = 0
        self.session_id = uuid.uuid4().hex[:8]
        self.last_buttons: dict[str, list] = {}
        self._setup_communities()
        self.switch(Role.CAREGIVER, "Invité", None)

    # -------------------------------------------------------------- set-up

    def _setup_communities(self) -> None:
        with self.hub.db.session() as s:
            for platform, pid, name, needs, briefing, intake in (
                ("discord", DISCORD_GUILD, "Makers (console)", NEEDS_CHANNEL, BRIEFING_CHANNEL, [MAKERS_CHANNEL]),
                ("telegram", TELEGRAM_GROUP, "Coordination soignants (console)", None, TELEGRAM_GROUP, []),
            ):
                row = s.exec(select(Community).where(Community.platform == platform,
                                                     Community.platform_id == pid)).first()
                if row is None:
                    s.add(Community(platform=platform, platform_id=pid, name=name, needs_channel=needs,
                                    briefing_channel=briefing, intake_channels=intake,
                                    language=self.hub.settings.default_language,
                                    timezone=self.hub.settings.default_timezone,
                                    briefing_time=self.hub.settings.briefing_time,
                                    radius_km=self.hub.settings.match_radius_km,
                                    created_at=self.hub.clock.now()))

    def switch(self, role: str, name: str, platform: str | None) -> None:
        """Speak as someone else; console roles are granted for real so permissions apply."""
        if role not in Role.ALL:
            raise ValueError(role)
        platform = platform or DEFAULT_PLATFORM[role]
        self.role = role
        lang = self.hub.settings.default_language
        self.speaker = Identity(platform=platform, platform_id=slug(name), display_name=name, language=lang)
        with self.hub.db.session() as s:
            person = s.exec(select(Person).where(Person.platform == platform,
                                                 Person.platform_id == self.speaker.platform_id)).first()
            if person is None:
                person = Person(platform=platform, platform_id=self.speaker.platform_id, display_name=name,
                                language=lang, created_at=self.hub.clock.now(), last_seen_at=self.hub.clock.now())
                s.add(person)
                s.flush()
            community = s.exec(select(Community).where(Community.platform_id == DISCORD_GUILD)).first()
            if role in (Role.MODERATOR, Role.ADMIN):
                permissions.grant(s, person, role, community if role == Role.MODERATOR else None)
            if role == Role.CONTACT and not s.exec(select(DesignatedContact)
                                                   .where(DesignatedContact.person_id == person.id)).first():
                for topic in TOPICS:
                    s.add(DesignatedContact(person_id=person.id, topic=topic))

    # -------------------------------------------------------------- input

    def where(self) -> tuple[str, str, str | None]:
        """The chat the current speaker writes in: makers talk in the server's channel, others privately."""
        assert self.speaker is not None
        if self.speaker.platform == "discord" and self.role == Role.MAKER:
            return MAKERS_CHANNEL, "channel", DISCORD_GUILD
        return self.speaker.platform_id, "private", None

    def handle_line(self, line: str) -> list[Outbound]:
        line = line.rstrip("\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return []
        if stripped.startswith("/as "):
            return self._as(stripped[4:])
        if stripped.startswith("/wait"):
            return self._wait(stripped[5:].strip())
        if stripped.startswith("/click"):
            return self._click(stripped[6:].strip())
        return self.say(line)

    def say(self, text: str) -> list[Outbound]:
        assert self.speaker is not None
        chat, kind, community = self.where()
        self.counter += 1
        if self.echo and not self.as_json:
            self.out.write(f"\n[{self.speaker.display_name} · {self.speaker.platform}"
                           f"{'' if kind == 'private' else ' #' + chat}] {text}\n")
        msg = Inbound(platform=self.speaker.platform, event_id=f"console-{self.session_id}-{self.counter}",
                      chat=chat, chat_kind=kind, community=community, author=self.speaker, text=text,
                      sent_at=self.hub.clock.now(), addressed=kind == "private")
        return self.show(self.hub.receive(msg))

    def _as(self, args: str) -> list[Outbound]:
        try:
            parts = shlex.split(args)
        except ValueError:
            parts = args.split()
        if len(parts) < 2 or parts[0] not in Role.ALL or (len(parts) > 2 and parts[-1] not in ("telegram", "discord")):
            return self._local_error("usage: /as caregiver|maker|moderator|contact|admin NAME [telegram|discord]")
        platform = parts[-1] if len(parts) > 2 else None
        name = " ".join(parts[1:-1] if platform else parts[1:])
        self.switch(parts[0], name, platform)
        return []

    def _wait(self, arg: str) -> list[Outbound]:
        m = DURATION_RE.match(arg.replace(" ", ""))
        if not arg or not m or not any(m.groupdict().values()):
            return self._local_error("usage: /wait 1d2h30m")
        delta = timedelta(days=int(m["d"] or 0), hours=int(m["h"] or 0), minutes=int(m["m"] or 0))
        advance: Callable | None = getattr(self.hub.clock, "advance", None)
        if advance is None:
            return self._local_error("/wait needs the console's adjustable clock")
        advance(seconds=delta.total_seconds())
        if self.echo and not self.as_json:
            self.out.write(f"\n… {self.hub.clock.now().isoformat(timespec='minutes')}\n")
        outs = jobs.run_ticket_reminders(self.hub) + jobs.run_briefings(self.hub)
        return self.show(outs)

    def _click(self, arg: str) -> list[Outbound]:
        assert self.speaker is not None
        buttons = self.last_buttons.get(self.speaker.platform_id) or self.last_buttons.get("*", [])
        chosen = None
        if arg.isdigit() and 0 < int(arg) <= len(buttons):
            chosen = buttons[int(arg) - 1]
        else:
            chosen = next((b for b in buttons if b.label.lower() == arg.lower()), None)
        if chosen is None:
            return self._local_error("no such button: " + arg)
        chat, kind, community = self.where()
        self.counter += 1
        if self.echo and not self.as_json:
            self.out.write(f"\n[{self.speaker.display_name} clicks «{chosen.label}»]\n")
        action = Action(platform=self.speaker.platform, event_id=f"console-{self.session_id}-{self.counter}",
                        chat=chat, author=self.speaker, name=chosen.action, sent_at=self.hub.clock.now(),
                        chat_kind=kind, community=community)
        return self.show(self.hub.act(action))

    def _local_error(self, text: str) -> list[Outbound]:
        out = Outbound(platform="console", chat="console", kind="error", text=text, language="en",
                       label="console")
        return self.show([out], mark=False)

    # -------------------------------------------------------------- output

    def show(self, outs: list[Outbound], mark: bool = True) -> list[Outbound]:
        for o in outs:
            if o.buttons:
                # Replies to one's own action belong to the speaker, direct messages to their
                # recipient, and buttons of a public post to whoever reads it.
                owner = self.speaker.platform_id if o.priority == 0 and self.speaker else (
                    o.chat if o.direct else "*")
                self.last_buttons[owner] = list(o.buttons)
            if self.as_json:
                self.out.write(json.dumps(o.as_json(), ensure_ascii=False) + "\n")
                continue
            self.out.write(f"  → {o.label or o.platform + ':' + o.chat} · {o.kind}\n")
            if o.title:
                self.out.write(f"    ┃ {o.title}\n")
            for text_line in o.text.splitlines():
                self.out.write(f"    ┃ {text_line}\n")
            if o.buttons:
                self.out.write("    ┃ " + " ".join(f"[{b.label}]" for b in o.buttons) + "\n")
            if o.attachment:
                self.out.write(f"    ┃ {attachment_line(o.attachment, o.attachment_name)}\n")
        self.out.flush()
        if mark:
            self.hub.mark_delivered([o.outbox_id for o in outs if o.outbox_id])
        return outs

    def run(self, lines) -> int:
        interactive = hasattr(lines, "isatty") and lines.isatty()
        if interactive:
            self.out.write("Relais console – /as ROLE NAME [PLATFORM], /click N, /wait 1d, Ctrl-D to quit.\n")
        for line in lines:
            if line.strip() in ("/quit", "/exit"):
                break
            self.handle_line(line)
        return 0
