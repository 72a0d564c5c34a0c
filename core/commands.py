"""Commands, in French and English, and button actions; every permission is checked here."""

from __future__ import annotations

import shlex
from collections.abc import Callable

from sqlmodel import select

from core.errors import Refused

# The command registry: canonical name -> handler, and every alias (French first) -> canonical name.
# Domain modules register their own commands with ``@command("canonical", "alias", ...)``.
HANDLERS: dict[str, Callable] = {}
ALIASES: dict[str, str] = {}


def command(canonical: str, *aliases: str) -> Callable[[Callable], Callable]:
    def register(handler: Callable) -> Callable:
        HANDLERS[canonical] = handler
        for name in (canonical, *aliases):
            ALIASES[name] = canonical
        return handler

    return register


# Defined before the domain modules are imported: they register their commands while being imported.
from core import intake, needs, permissions  # noqa: E402
from core.hub import parse_ref  # noqa: E402
from core.models import Person, Role  # noqa: E402


def dispatch(ctx, name: str, args: str) -> None:
    canonical = ALIASES.get(name.lower())
    if canonical is None:
        raise Refused("refused/unknown_command", command="/" + name[:40])
    permissions.require(ctx.s, ctx.person, ctx.community, canonical)
    HANDLERS[canonical](ctx, args)


def on_action(ctx, name: str, value: str | None) -> None:
    """Buttons carry ``domain:verb:id`` action ids the core gave them."""
    parts = (name or "").split(":")
    if len(parts) != 3 or not parts[2].isdigit():
        raise Refused("refused/unknown_action")
    domain, verb, ident = parts[0], parts[1], int(parts[2])
    if domain == "proposal" and verb in ("confirm", "edit", "dismiss"):
        intake.settle(ctx, ident, verb, value if verb == "edit" else None)
    elif domain == "need" and verb == "commit":
        needs.commit(ctx, ident, _int(value) if value else None)
    elif domain == "need" and verb == "received":
        needs.received(ctx, ident)
    elif domain == "need" and verb == "deliver":
        needs.deliver(ctx, ident, _int(value) if value else None)
    elif domain == "need" and verb == "progress":
        needs.progress(ctx, ident, _int(value) if value else None)
    elif domain == "privacy" and verb == "forget" and ident == ctx.person.id:
        from core import privacy

        privacy.forget(ctx)
    elif domain == "ticket":
        from core import escalation

        escalation.on_action(ctx, verb, ident, value)
    else:
        raise Refused("refused/unknown_action")


def _int(token: str | None) -> int | None:
    if token is None:
        return None
    token = token.strip().replace("\u202f", "").replace(" ", "")
    if not token.lstrip("-").isdigit() or len(token) > 9:
        raise Refused("refused/bad_quantity", quantity=token[:12], maximum=needs.MAX_QUANTITY)
    return int(token)


def _split(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


@command("start", "demarrer")
def cmd_start(ctx, args: str) -> None:
    ctx.reply("welcome", "welcome", name=ctx.person.display_name)


@command("help", "aide")
def cmd_help(ctx, args: str) -> None:
    ctx.reply("help", "help", roles=sorted(permissions.roles_of(ctx.s, ctx.person, ctx.community)))


@command("need", "besoin")
def cmd_need(ctx, args: str) -> None:
    from core import dialogue

    if not args:
        dialogue.start(ctx, "need")
        return
    _propose_from_text(ctx, args, "need")


@command("offer", "offre", "propose")
def cmd_offer(ctx, args: str) -> None:
    from core import dialogue

    if not args:
        dialogue.start(ctx, "offer")
        return
    _propose_from_text(ctx, args, "offer")


def _propose_from_text(ctx, text: str, intent: str) -> None:
    rec = intake.recognise(ctx, text, ctx.now)
    data = intake.recognition_data(rec, text)
    data["intent"] = intent
    if intent == "need" and not data["items"]:
        raise Refused("refused/need_without_item")
    if intent == "offer" and not data["items"] and not data["capabilities"]:
        raise Refused("refused/offer_without_capacity")
    if intent == "need" and not data.get("facility"):
        data["facility"] = intake.facility_in(text)
    intake.propose(ctx, data, intent)


@command("status", "suivi")
def cmd_status(ctx, args: str) -> None:
    needs.status(ctx)


@command("commit", "engager", "jenfabrique")
def cmd_commit(ctx, args: str) -> None:
    parts = _split(args)
    needs.commit(ctx, _need_arg(ctx, args, "/commit N-12 50"), _int(parts[1]) if len(parts) > 1 else None)


@command("deliver", "livre", "livraison")
def cmd_deliver(ctx, args: str) -> None:
    parts = _split(args)
    needs.deliver(ctx, _need_arg(ctx, args, "/deliver N-12 [50]"), _int(parts[1]) if len(parts) > 1 else None)


def _need_arg(ctx, args: str, usage: str) -> int:
    parts = _split(args)
    if not parts:
        raise Refused("refused/usage", usage=usage)
    need_id = parse_ref(parts[0], "N")
    if need_id is None:
        raise Refused("refused/unknown_need", ref=parts[0][:20])
    return need_id


@command("received", "recu", "reçu")
def cmd_received(ctx, args: str) -> None:
    needs.received(ctx, _need_arg(ctx, args, "/received N-12"))


@command("cancel", "annuler")
def cmd_cancel(ctx, args: str) -> None:
    from core import dialogue

    if not args:
        if dialogue.cancel(ctx):
            return
        pending = intake.latest_pending(ctx)
        if pending is not None:
            intake.settle(ctx, pending.id, "dismiss")
            return
        raise Refused("refused/usage", usage="/cancel N-12")
    needs.cancel(ctx, _need_arg(ctx, args, "/cancel N-12"))


@command("close", "fermer")
def cmd_close(ctx, args: str) -> None:
    needs.close(ctx, _need_arg(ctx, args, "/close N-12"))


@command("lang", "langue", "language")
def cmd_lang(ctx, args: str) -> None:
    lang = args.strip().lower()[:2]
    if lang not in ("fr", "en"):
        raise Refused("refused/usage", usage="/lang fr|en")
    ctx.person.language = lang
    ctx.lang = lang
    ctx.reply("lang_set", "info")


@command("needs", "besoins")
def cmd_needs(ctx, args: str) -> None:
    needs.query_needs(ctx, args)


@command("offers", "offres")
def cmd_offers(ctx, args: str) -> None:
    needs.listing_offers(ctx, args.strip() or None)


@command("yes", "oui", "ok", "confirmer", "confirm")
def cmd_yes(ctx, args: str) -> None:
    intake.settle(ctx, _int(args) if args.strip() else None, "confirm")


@command("no", "non")
def cmd_no(ctx, args: str) -> None:
    intake.settle(ctx, _int(args) if args.strip() else None, "dismiss")


def find_person(ctx, token: str) -> Person:
    """A person named by ``platform:id``, by id on this platform, or by exact display name."""
    token = token.strip().lstrip("@")
    platform, _, pid = token.partition(":")
    q = None
    if pid and platform in ("telegram", "discord", "console"):
        q = select(Person).where(Person.platform == platform, Person.platform_id == pid)
    found = ctx.s.exec(q).first() if q is not None else None
    if found is None:
        found = ctx.s.exec(select(Person).where(Person.platform == ctx.platform, Person.platform_id == token)).first()
    if found is None:
        matches = list(ctx.s.exec(select(Person).where(Person.display_name == token)))
        found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise Refused("refused/unknown_person", who=token[:60])
    return found


@command("grant", "role")
def cmd_grant(ctx, args: str) -> None:
    parts = _split(args)
    if len(parts) != 2 or parts[1] not in Role.ALL:
        raise Refused("refused/usage", usage="/grant <who> moderator|admin")
    person = find_person(ctx, parts[0])
    permissions.grant(ctx.s, person, parts[1], ctx.community)
    ctx.audit("role.granted", f"person:{person.id}", after={"role": parts[1]})
    ctx.reply("granted", "info", who=person.display_name, role=parts[1])


# Domain modules register their own commands with ``@command``; importing them here fills the registry.
from core import authority as _authority  # noqa: E402,F401
from core import communities as _communities  # noqa: E402,F401
from core import escalation as _escalation  # noqa: E402,F401
from core import export as _export  # noqa: E402,F401
from core import jobs as _jobs  # noqa: E402,F401
from core import privacy as _privacy  # noqa: E402,F401
