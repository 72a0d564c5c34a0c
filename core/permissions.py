"""Who may do what: one table, checked in the core whatever the platform says."""

from __future__ import annotations

from sqlmodel import Session, select

from core.errors import Refused
from core.models import Community, DesignatedContact, Person, Role, RoleGrant

MOD = Role.MODERATOR
CONTACT = Role.CONTACT
ADMIN = Role.ADMIN

# Privileged commands and the roles that may run them. Anything not listed is open to everyone.
PERMISSIONS: dict[str, frozenset[str]] = {
    "contacts": frozenset({MOD, ADMIN}),
    "classify": frozenset({MOD, CONTACT, ADMIN}),
    # /design, /guidance and /sources are open for reading; changing them needs the *_edit permission.
    "design_edit": frozenset({MOD, CONTACT, ADMIN}),
    "guidance_edit": frozenset({MOD, CONTACT, ADMIN}),
    "sources_edit": frozenset({MOD, CONTACT, ADMIN}),
    "flag": frozenset({MOD, CONTACT, ADMIN}),
    "briefing": frozenset({MOD, ADMIN}),
    "settings": frozenset({MOD, ADMIN}),
    "export": frozenset({MOD, CONTACT, ADMIN}),
    "capacity": frozenset({MOD, CONTACT, ADMIN}),
    "outbox": frozenset({MOD, ADMIN}),
    "answer": frozenset({MOD, CONTACT, ADMIN}),
    "notice": frozenset({CONTACT, ADMIN}),
    "escalate": frozenset({MOD, ADMIN}),
    "closeticket": frozenset({MOD, CONTACT, ADMIN}),
    "grant": frozenset({ADMIN}),
}


def roles_of(session: Session, person: Person, community: Community | None) -> set[str]:
    roles: set[str] = set()
    for grant in session.exec(select(RoleGrant).where(RoleGrant.person_id == person.id)):
        if grant.role in (ADMIN, CONTACT) or grant.community_id is None:
            roles.add(grant.role)
        elif community is None or grant.community_id == community.id:
            # In a private chat a community's moderator keeps the role: what can be done there
            # (the catalogue, designs, contacts) is not tied to one community.
            roles.add(grant.role)
    if session.exec(select(DesignatedContact.id).where(DesignatedContact.person_id == person.id)).first():
        roles.add(CONTACT)
    return roles


def allowed(session: Session, person: Person, community: Community | None, command: str) -> bool:
    needed = PERMISSIONS.get(command)
    if needed is None:
        return True
    return bool(roles_of(session, person, community) & needed)


def require(session: Session, person: Person, community: Community | None, command: str) -> None:
    if not allowed(session, person, community, command):
        raise Refused("refused/not_allowed", command=command)


def grant(session: Session, person: Person, role: str, community: Community | None = None) -> None:
    community_id = community.id if community is not None and role not in (ADMIN, CONTACT) else None
    exists = session.exec(select(RoleGrant).where(
        RoleGrant.person_id == person.id, RoleGrant.role == role, RoleGrant.community_id == community_id
    )).first()
    if not exists:
        session.add(RoleGrant(person_id=person.id, role=role, community_id=community_id))
