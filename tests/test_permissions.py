"""The permission walk: every privileged command, run by every role, is allowed exactly when the
permission table says so. The counts of refusals are printed (run with ``-s`` to see them)."""

from collections import Counter

from sqlmodel import select

from core.commands import HANDLERS
from core.messages import Identity
from core.models import DesignatedContact, Person, Role
from core.permissions import PERMISSIONS, grant
from tests.helpers import Speaker

# Each privileged action, as a command line that reaches its permission check.
PRIVILEGED = {
    "contacts": "/contacts add discord:2001 legal",
    "classify": "/classify face_shield 3",
    "design_edit": "/design add https://www.printables.com/model/123-shield face_shield",
    "guidance_edit": "/guidance edit 2 fr Texte de l'autorité",
    "sources_edit": "/sources add https://example.org/officiel",
    "flag": "/flag https://bad.example.org/faux",
    "briefing": "/briefing preview",
    "settings": "/settings rayon 40",
    "export": "/export needs csv",
    "capacity": "/capacity",
    "outbox": "/outbox",
    "answer": "/answer Q-1 Non.",
    "notice": "/notice Avis officiel",
    "escalate": "/escalate discord:2001 Peut-on vendre ?",
    "closeticket": "/clore Q-1",
    "grant": "/grant discord:2001 moderator",
}
ROLES = ("member", Role.MODERATOR, Role.CONTACT, Role.ADMIN)


def test_every_permission_has_a_walk_entry():
    assert set(PRIVILEGED) == set(PERMISSIONS)
    for line in PRIVILEGED.values():
        from core.commands import ALIASES

        assert ALIASES.get(line.split()[0][1:]) in HANDLERS


def _speaker(hub, role: str, index: int) -> Speaker:
    who = Speaker(hub, Identity("discord", f"90{index}", f"{role}-{index}", "fr"), chat="moderation",
                  community="g1")
    who.say("/start")
    with hub.db.session() as s:
        person = s.exec(select(Person).where(Person.platform_id == f"90{index}")).one()
        if role == Role.CONTACT:
            s.add(DesignatedContact(person_id=person.id, topic="legal"))
        elif role in (Role.MODERATOR, Role.ADMIN):
            from core.models import Community

            community = s.exec(select(Community).where(Community.platform_id == "g1")).one()
            grant(s, person, role, community)
    return who


def test_permission_walk(hub, clock):
    asker = Speaker(hub, Identity("discord", "2001", "Léa", "fr"), chat="fabrication", community="g1")
    asker.confirm(asker.say("/question a-t-on le droit de vendre des visières ?"))
    refusals: Counter = Counter()
    allowed: Counter = Counter()
    wrong = []
    index = 0
    for permission, line in PRIVILEGED.items():
        for role in ROLES:
            index += 1
            who = _speaker(hub, role, index)
            clock.advance(seconds=5)
            outs = who.say(line)
            refused = any(o.template == "refused/not_allowed" for o in outs)
            expected_refusal = role not in PERMISSIONS[permission]
            (refusals if refused else allowed)[role] += 1
            if refused != expected_refusal:
                wrong.append((permission, role, [o.template for o in outs]))
    total = sum(refusals.values())
    print(f"\npermission walk: {len(PRIVILEGED)} privileged actions × {len(ROLES)} roles")
    for role in ROLES:
        print(f"  {role:10s} refused {refusals[role]:2d}, allowed {allowed[role]:2d}")
    print(f"  refusals in all: {total}")
    assert wrong == []
    assert refusals["member"] == len(PRIVILEGED)
    assert total == sum(1 for p in PERMISSIONS for r in ROLES if r not in PERMISSIONS[p])
