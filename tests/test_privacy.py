"""What Relais holds, forgetting a person, and the retention purge, on SQLite and PostgreSQL."""

import json
from datetime import timedelta

from sqlalchemy import inspect, text
from sqlmodel import select

from core.messages import Identity
from core.models import DesignatedContact, Need, NeedLine, Person
from core.privacy import purge
from tests.helpers import Speaker, caregiver, maker, one, replies


def _dump_all_tables(hub) -> str:
    """Every row of every table as text, to look for a person's traces."""
    chunks = []
    with hub.db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                chunks.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(chunks)


def legal_contact(hub) -> Speaker:
    """Dr Martin, the designated contact for legal questions."""
    contact = Speaker(hub, Identity("telegram", "9001", "Dr Martin", "fr"))
    contact.say("/start")
    with hub.db.session() as s:
        person = s.exec(select(Person).where(Person.platform_id == "9001")).one()
        s.add(DesignatedContact(person_id=person.id, topic="legal"))
    return contact


def test_mydata_goes_to_a_private_conversation(hub):
    lea = maker(hub, "Léa Dupont", "2001")
    lea.confirm(lea.say("j'ai 2 imprimantes 3D à Tours, dispo pour des visières"))
    outs = lea.say("/mydata")
    data = one(outs, "mydata")
    assert data.direct and data.chat == "2001"
    assert "O-1" in data.text and "Léa Dupont" in data.text
    public = [o for o in outs if not o.direct]
    assert public and all("Léa Dupont" not in o.text for o in public)


def test_forgetme_erases_the_person_and_keeps_anonymous_figures(hub, clock):
    marie = caregiver(hub, "Marie Curieuse", "777001")
    marie.confirm(marie.say("il nous faut 100 visières à Tours pour vendredi, Marie Curieuse 06 12 34 56 78"))
    lea = maker(hub, "Léa Dupont", "2001")
    lea.say("/commit N-1 40")
    contact = legal_contact(hub)
    marie.confirm(marie.say("/question a-t-on le droit de vendre des visières ?"))
    contact.say("/answer Q-1 Non.")
    assert "777001" in _dump_all_tables(hub)

    ask = replies(marie.say("/forgetme"))
    button = ask[0].buttons[0]
    assert button.style == "danger"
    confirmation = one(marie.press(button.action), "forgotten")
    hub.mark_delivered([confirmation.outbox_id])
    with hub.db.session() as s:
        purge(s, clock.now(), retention_days=90)

    dump = _dump_all_tables(hub)
    leftovers = [line for line in dump.splitlines() if "777001" in line or "Marie Curieuse" in line]
    assert leftovers == []
    with hub.db.session() as s:
        need = s.exec(select(Need)).one()
        assert need.requester_id is None and need.text == ""
        assert s.exec(select(NeedLine)).one().committed == 40, "figures stay right"
    assert "Léa Dupont" in dump, "other people are untouched"


def test_purge_removes_closed_needs_after_retention(hub, clock):
    marie = caregiver(hub)
    marie.confirm(marie.say("il nous faut 100 visières à Tours pour vendredi"))
    marie.confirm(marie.say("il nous faut 30 surblouses à Tours pour demain"))
    marie.say("/close N-1")
    with hub.db.session() as s:
        counts = purge(s, clock.now() + timedelta(days=10), retention_days=90)
    assert counts["needs"] == 0
    with hub.db.session() as s:
        counts = purge(s, clock.now() + timedelta(days=91), retention_days=90)
    assert counts["needs"] == 1
    with hub.db.session() as s:
        assert [n.id for n in s.exec(select(Need))] == [2]


def test_a_forgotten_askers_questions_are_still_answered_where_they_were_asked(hub):
    """Forgetting a person keeps their questions (answers are reused): one asked in a group is still
    answered in the group; one asked in their private chat is answered to nobody, and no message goes to
    an empty chat."""
    from core.models import Escalation, OutboxMessage

    lea = maker(hub, "Léa Dupont", "2001")
    lea_private = Speaker(hub, lea.identity)
    contact = legal_contact(hub)
    lea.confirm(lea.say("/question a-t-on le droit de vendre des visières imprimées ?"))
    lea_private.confirm(lea_private.say("/question faut-il une assurance pour livrer des visières ?"))
    with hub.db.session() as s:
        chats = {e.id: e.chat for e in s.exec(select(Escalation))}
    assert chats == {1: "fabrication", 2: "2001"}

    one(lea_private.press(replies(lea_private.say("/forgetme"))[0].buttons[0].action), "forgotten")
    with hub.db.session() as s:
        chats = {e.id: (e.chat, e.asker_id) for e in s.exec(select(Escalation))}
    assert chats == {1: ("fabrication", None), 2: ("", None)}

    posted = [o for o in contact.say("/answer Q-1 Non, seulement les donner.") if o.kind == "answer"]
    assert [(o.chat, o.direct) for o in posted] == [("fabrication", False)]
    posted = [o for o in contact.say("/answer Q-2 Oui, celle du véhicule suffit.") if o.kind == "answer"]
    assert posted == []
    with hub.db.session() as s:
        assert not s.exec(select(OutboxMessage).where(OutboxMessage.chat == "")).all()
