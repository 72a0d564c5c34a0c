"""The life of a question for the authorities, through the real core, on SQLite and PostgreSQL: suggestions
of answers already given, routing by topic and region, reminder and hand-over, answers relayed and
reused, permissions, official notices, moderators escalating someone's message, the audit trail."""

from __future__ import annotations

import itertools

from sqlmodel import func, select

from core import delivery, escalation, jobs
from core.messages import Identity, Inbound
from core.models import AuditEntry, Community, Escalation, OutboxMessage, Person, Proposal, Role
from core.permissions import grant
from tests.helpers import Speaker, caregiver, kinds, maker, one

_events = itertools.count(1)
REGION = "Centre-Val de Loire"

Q_SELL_FR = "A-t-on le droit de vendre les visières qu'on imprime ?"
Q_SELL_FR_REWORDED = "Est-ce qu'on peut vendre des visieres imprimees en 3D ?"
Q_SELL_EN = "Are we allowed to sell 3D-printed face shields?"
A_SELL = "Non : la vente suppose un marquage CE. Le don reste possible avec la mention « non EPI »."


# ------------------------------------------------------------------------------------------ helpers

def person(hub, pid: str, name: str, platform: str = "telegram", lang: str = "fr") -> Speaker:
    who = Speaker(hub, Identity(platform, pid, name, lang))
    who.say("/start")
    return who


def admin(hub) -> Speaker:
    boss = person(hub, "7000", "Admin")
    with hub.db.session() as s:
        grant(s, s.exec(select(Person).where(Person.platform_id == "7000")).one(), Role.ADMIN)
    return boss


def designate(hub, boss: Speaker, who: Speaker, topic: str, *extra: str) -> None:
    args = " ".join([f"{who.identity.platform}:{who.identity.platform_id}", topic, *extra])
    one(boss.say(f"/contacts add {args}"), "listing")


def ask(who: Speaker, text: str) -> list:
    """A question in the asker's words, confirmed: returns what the confirmation produced."""
    outs = who.say(text)
    assert one(outs, "proposal").template == "proposal/question", kinds(outs)
    return who.confirm(outs)


def ticket_to(outs: list, contact: Speaker):
    found = [o for o in outs if o.kind == "ticket" and o.direct and o.chat == contact.identity.platform_id]
    assert len(found) == 1, [(o.kind, o.chat) for o in outs]
    return found[0]


def reply(hub, who: Speaker, replied: str, text: str, *, field: str = "reply_to") -> list:
    """A plain reply to a message the bot sent, whose platform id is ``replied`` (in ``reply_to`` as the
    issue describes it, or in ``in_reply_to`` when the bot keeps ``reply_to`` for quoting)."""
    return hub.receive(Inbound(platform=who.identity.platform, event_id=f"r{next(_events)}",
                               chat=who.identity.platform_id, author=who.identity, text=text,
                               sent_at=hub.clock.now(), **{field: replied}))


def delivered(hub, out, platform_message_id: str) -> None:
    """What the delivery worker does once a platform took the message."""
    delivery.mark_sent(hub.db, out.outbox_id, platform_message_id, hub.clock.now())


def ticket(hub, ticket_id: int = 1) -> Escalation:
    with hub.db.session() as s:
        esc = s.get(Escalation, ticket_id)
        s.expunge(esc)
        return esc


def set_region(hub, platform_id: str, region: str) -> None:
    with hub.db.session() as s:
        community = s.exec(select(Community).where(Community.platform_id == platform_id)).one()
        community.region = region


def audit_actions(hub) -> list[str]:
    with hub.db.session() as s:
        return [a.action for a in s.exec(select(AuditEntry).order_by(AuditEntry.id))]


# ------------------------------------------------------------------------------------------ tests

def test_answered_question_is_offered_again_in_french_and_english(hub):
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    designate(hub, boss, contact, "juridique")
    marie = caregiver(hub)
    first = marie.say(Q_SELL_FR)
    assert "similar_answers" not in kinds(first), "nothing is answered yet"
    done = marie.confirm(first)
    one(done, "escalated")
    one(contact.say(f"/reponse Q-1 {A_SELL}"), "info")

    paul = caregiver(hub, "Paul", "1002")
    reworded = paul.say(f"/question {Q_SELL_FR_REWORDED}")
    similar = one(reworded, "similar_answers")
    assert "Q-1" in similar.text and "marquage CE" in similar.text
    assert kinds(reworded).index("similar_answers") < kinds(reworded).index("proposal"), "answers come first"

    lea = Speaker(hub, Identity("discord", "2001", "Lea", "en"), chat="fabrication", community="g1")
    english = lea.say(Q_SELL_EN)  # free text in a public channel, in English
    assert "Q-1" in one(english, "similar_answers").text
    assert one(english, "proposal").template == "proposal/question"

    # The asker may still escalate: confirming the proposal opens a new ticket for the contact.
    again = paul.confirm(reworded)
    one(again, "escalated")
    assert "Q-2" in ticket_to(again, contact).title

    unrelated = paul.say("/question Les makers peuvent-ils se déplacer jusqu'au fablab pendant le confinement ?")
    assert "similar_answers" not in kinds(unrelated)
    with hub.db.session() as s:
        assert s.exec(select(func.count()).select_from(Escalation)).one() == 2


def test_private_answers_are_not_offered_again(hub):
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    designate(hub, boss, contact, "legal")
    marie = caregiver(hub)
    ask(marie, Q_SELL_FR)
    answered = contact.say(f"/answer Q-1 --private {A_SELL}")
    assert one(answered, "answer").chat == "1001"
    assert ticket(hub).public is False and ticket(hub).answer.startswith("Non")
    assert "similar_answers" not in kinds(caregiver(hub, "Paul", "1002").say(Q_SELL_FR_REWORDED))


def test_routing_prefers_the_regional_contact_then_the_national_one(hub):
    boss = admin(hub)
    national = person(hub, "9001", "Dr National")
    regional = person(hub, "9002", "Dr Centre")
    sanitary = person(hub, "9003", "Dr Hygiène")
    designate(hub, boss, national, "legal")
    designate(hub, boss, regional, "legal", '"centre val de loire"')  # any case, no accents
    designate(hub, boss, sanitary, "sanitaire")

    # A question asked in a community of the region goes to the regional contact.
    lea = maker(hub)
    lea.say("bonjour")
    set_region(hub, "g1", REGION)
    done = ask(lea, "A-t-on le droit de vendre des visières ?")
    ticket_to(done, regional)
    assert ticket(hub, 1).region == REGION and ticket(hub, 1).chat == "fabrication"

    # In a private chat the place the question names gives the region...
    marie = caregiver(hub)
    ticket_to(ask(marie, "A-t-on le droit de vendre des visières à Tours ?"), regional)
    assert ticket(hub, 2).region == REGION
    # ...and a region without its own contact falls back on the national one.
    ticket_to(ask(marie, "A-t-on le droit de vendre des visières à Lyon ?"), national)
    assert ticket(hub, 3).region == "Auvergne-Rhône-Alpes"
    # The topic chooses the contact.
    ticket_to(ask(marie, "Comment stériliser les visières avant de les livrer à l'hôpital ?"), sanitary)
    assert ticket(hub, 4).topic == "sanitary"

    listing = one(boss.say("/contacts"), "listing")
    assert "Dr Centre" in listing.text and REGION in listing.text and "sanitaire" in listing.text


def test_reminder_after_4h_hand_over_after_24h_then_the_backup_answers_by_replying(hub, clock):
    boss = admin(hub)
    first = person(hub, "9001", "Dr Martin")
    backup = person(hub, "9002", "Dr Suppléante")
    designate(hub, boss, first, "legal")
    designate(hub, boss, backup, "legal", "--backup")
    marie = caregiver(hub)
    done = ask(marie, Q_SELL_FR)
    sent = ticket_to(done, first)
    assert "Marie" not in sent.text and "#" in sent.text, "the asker is pseudonymous to the contact"
    assert sent.buttons[0].action == "ticket:answer:1"

    clock.advance(hours=3, minutes=59)
    assert jobs.run_ticket_reminders(hub) == []
    clock.advance(minutes=2)
    reminders = jobs.run_ticket_reminders(hub)
    assert [(o.kind, o.template, o.chat) for o in reminders] == [("reminder", "reminder", "9001")]
    assert "4 h" in reminders[0].title and all(o.outbox_id for o in reminders)
    assert jobs.run_ticket_reminders(hub) == [], "one reminder, however often the job runs"

    clock.advance(hours=20)
    handover = [o for o in jobs.run_ticket_reminders(hub) if o.template == "handover"]
    assert [(o.template, o.chat) for o in handover] == [("handover", "9002")]
    assert ticket(hub).contact_id != ticket(hub).asker_id
    assert jobs.run_ticket_reminders(hub) == []
    clock.advance(hours=30)
    assert jobs.run_ticket_reminders(hub) == [], "handed over once"

    # The backup answers with a plain reply to the hand-over message, once it was delivered.
    delivered(hub, handover[0], "tg-555")
    answered = reply(hub, backup, "tg-555", "Non, la vente suppose un marquage CE.")
    assert one(answered, "answer").chat == "1001"
    assert one(answered, "info").template == "answer_recorded"
    esc = ticket(hub)
    assert esc.status == "answered" and esc.answer.startswith("Non, la vente")
    assert [a for a in audit_actions(hub) if a.startswith("ticket.")] == [
        "ticket.opened", "ticket.reminded", "ticket.handed_over", "ticket.answered"]
    assert jobs.run_ticket_reminders(hub) == [], "an answered ticket is left alone"


def notices_to(hub, platform_id: str) -> list[OutboxMessage]:
    """The ticket messages (ticket, reminder, hand-over notice) stored for a person."""
    with hub.db.session() as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.chat == platform_id,
                                                       OutboxMessage.direct == True,
                                                       OutboxMessage.kind.in_(("ticket", "reminder")))
                           .order_by(OutboxMessage.id)))


def test_the_first_contact_is_told_of_the_hand_over_once_in_their_language_and_may_still_answer(hub, clock):
    boss = admin(hub)
    first = person(hub, "9001", "Dr Martin", lang="en")
    backup = person(hub, "9002", "Dr Suppléante")
    designate(hub, boss, first, "legal")
    designate(hub, boss, backup, "legal", "--backup")
    marie = caregiver(hub)
    ticket_to(ask(marie, Q_SELL_FR), first)
    clock.advance(hours=24, minutes=1)
    outs = jobs.run_ticket_reminders(hub)
    assert sorted((o.template, o.chat) for o in outs) == [("handover", "9002"), ("handover_notice", "9001")]
    [notice] = [o for o in outs if o.chat == "9001"]
    assert notice.direct and notice.kind == "reminder" and notice.language == "en" and notice.outbox_id
    assert notice.title == "Question Q-1 handed over to the backup contact"
    assert "After 24 h without an answer" in notice.text and Q_SELL_FR in notice.text
    assert "You may still answer" in notice.text and "/answer Q-1" in notice.text
    assert "Marie" not in notice.text and "Suppléante" not in notice.text
    assert [b.action for b in notice.buttons] == ["ticket:answer:1"]
    for hours in (1, 30):  # the job runs again and again: one notice
        clock.advance(hours=hours)
        assert jobs.run_ticket_reminders(hub) == []
    assert [m.id for m in notices_to(hub, "9001")][1:] == [notice.outbox_id], "the ticket, then one notice"
    with hub.db.session() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "ticket.handed_over")).one()
        assert entry.before["contact"] != entry.after["contact"]

    # The first contact answers after all, by replying to the notice: it is their answer, relayed.
    delivered(hub, notice, "tg-901")
    answered = reply(hub, first, "tg-901", "No: selling needs the CE marking.")
    assert one(answered, "answer").chat == "1001"
    assert one(answered, "info").template == "answer_recorded" and one(answered, "info").language == "en"
    esc = ticket(hub)
    assert esc.status == "answered" and esc.answer.startswith("No: selling")
    with hub.db.session() as s:
        martin = s.exec(select(Person).where(Person.platform_id == "9001")).one()
        assert esc.answered_by == martin.id and esc.contact_id != martin.id
    # The backup, later, finds it settled.
    assert one(backup.say(f"/reponse Q-1 {A_SELL}"), "refused").template == "refused/ticket_closed"


def test_no_notice_without_a_backup_nor_to_a_contact_no_longer_designated(hub, clock):
    boss = admin(hub)
    alone = person(hub, "9001", "Dr Martin")
    designate(hub, boss, alone, "legal")
    ask(caregiver(hub), Q_SELL_FR)
    clock.advance(hours=25)
    to_alone = [o for o in jobs.run_ticket_reminders(hub) if o.chat == "9001"]
    assert [o.template for o in to_alone] == ["reminder"], "still theirs: a reminder, no hand-over notice"

    # A contact removed from the list before the hand-over is not told, and may no longer answer.
    former = person(hub, "9003", "Dr Ancien")
    backup = person(hub, "9002", "Dr Suppléante")
    designate(hub, boss, former, "technical")
    designate(hub, boss, backup, "technical", "--backup")
    ticket_to(ask(caregiver(hub, "Paul", "1002"), "/question technique: quel plastique passe l'autoclave ?"), former)
    one(boss.say("/contacts remove telegram:9003 technical"), "listing")
    clock.advance(hours=25)
    outs = jobs.run_ticket_reminders(hub)
    assert [(o.template, o.chat) for o in outs if o.template.startswith("handover")] == [("handover", "9002")]
    assert not [o for o in outs if o.chat == "9003"]
    assert one(former.say("/answer Q-2 Du PETG plutôt."), "refused").template == "refused/not_allowed"


def test_a_reply_to_something_else_is_ordinary_text(hub):
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    designate(hub, boss, contact, "legal")
    marie = caregiver(hub)
    done = ask(marie, Q_SELL_FR)
    delivered(hub, ticket_to(done, contact), "tg-100")
    # Marie replying to her own messages does not answer anything, nor does a reply to an unknown message.
    assert "answer" not in kinds(reply(hub, marie, "tg-100", "oui bien sûr"))
    assert "answer" not in kinds(reply(hub, contact, "tg-999", "oui bien sûr"))
    assert ticket(hub).status == "open"
    # A bot that keeps reply_to for quoting passes the replied message in in_reply_to.
    ask(marie, "Qui est responsable si une visière casse ?")
    with hub.db.session() as s:
        row = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "ticket")
                     .order_by(OutboxMessage.id.desc())).first()
    delivery.mark_sent(hub.db, row.id, "tg-200", hub.clock.now())
    outs = hub.receive(Inbound(platform="telegram", event_id="r-quoted", chat="9001", author=contact.identity,
                               text="--prive À l'eau savonneuse.", sent_at=hub.clock.now(), reply_to="tg-201",
                               in_reply_to="tg-200"))
    assert one(outs, "answer").chat == "1001"
    assert ticket(hub, 2).status == "answered" and ticket(hub, 2).public is False
    # The Answer button of a Discord modal carries the answer as its value; without one, how to answer.
    assert one(contact.press("ticket:answer:1"), "info").template == "answer_how"
    assert "answer" in kinds(contact.press("ticket:answer:1", "--prive Non."))
    assert ticket(hub).public is False


def test_answer_goes_to_the_asker_and_to_the_public_channel_where_it_was_asked(hub):
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    designate(hub, boss, contact, "legal")
    lea = maker(hub)  # asks in the #fabrication channel of a Discord server
    done = ask(lea, Q_SELL_FR)
    assert one(done, "escalated").chat == "fabrication"
    answered = contact.say(f"/reponse Q-1 {A_SELL}")
    answers = [o for o in answered if o.kind == "answer"]
    assert sorted((o.platform, o.chat, o.direct) for o in answers) == [
        ("discord", "2001", True), ("discord", "fabrication", False)]
    assert all("marquage CE" in o.text and o.outbox_id for o in answers)
    with hub.db.session() as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "answer")).all()
        assert {r.chat for r in rows} == {"2001", "fabrication"}
    assert "ticket.answer_posted" in audit_actions(hub)


def test_only_designated_contacts_and_moderators_answer_and_askers_see_only_their_own(hub):
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    other_topic = person(hub, "9002", "Dr Hygiène")
    other_region = person(hub, "9003", "Dr Bretagne")
    designate(hub, boss, contact, "legal")
    designate(hub, boss, other_topic, "sanitary")
    designate(hub, boss, other_region, "legal", "Bretagne")
    marie = caregiver(hub)
    ask(marie, "A-t-on le droit de vendre des visières à Tours ?")
    stranger = caregiver(hub, "Intrus", "666")

    assert one(stranger.say("/answer Q-1 oui bien sûr"), "refused").template == "refused/not_allowed"
    assert one(other_topic.say("/answer Q-1 oui"), "refused").template == "refused/not_allowed"
    assert one(other_region.say("/answer Q-1 oui"), "refused").template == "refused/not_allowed"
    assert one(stranger.press("ticket:answer:1", "oui"), "refused").template == "refused/not_allowed"
    assert one(stranger.say("/clore Q-1"), "refused").template == "refused/not_allowed"
    assert one(other_topic.say("/clore Q-1"), "refused").template == "refused/not_allowed"
    assert ticket(hub).status == "open"

    # Viewing: the asker, the ticket's contacts and moderators; nobody else.
    assert one(stranger.say("/ticket Q-1"), "refused").template == "refused/ticket_private"
    assert one(other_topic.say("/ticket Q-1"), "refused").template == "refused/ticket_private"
    mine = one(marie.say("/ticket Q-1"), "listing")
    assert "vendre" in mine.text and "Dr Martin" not in mine.text
    assert "#" in one(contact.say("/ticket Q-1"), "listing").text
    assert one(boss.say("/ticket Q-1"), "listing").template == "ticket_view"
    assert one(stranger.say("/ticket Q-99"), "refused").template == "refused/unknown_ticket"

    # /questions lists one's own tickets only; a contact also sees those waiting for them.
    assert "Q-1" in one(marie.say("/mesquestions"), "listing").text
    assert "Q-1" not in one(stranger.say("/questions"), "listing").text
    assert "Q-1" in one(contact.say("/questions"), "listing").text

    # The asker cannot close it; the contact can, and the asker is told.
    assert one(marie.say("/clore Q-1"), "refused").template == "refused/not_allowed"
    closed = contact.say("/ticket Q-1 fermer hors de notre champ")
    assert one(closed, "info").template == "closed_ticket"
    notice = one(closed, "answer")
    assert notice.chat == "1001" and "hors de notre champ" in notice.text
    assert one(contact.say("/answer Q-1 trop tard"), "refused").template == "refused/ticket_closed"


def test_asker_may_share_their_name_with_the_contact(hub, clock):
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    designate(hub, boss, contact, "legal")
    marie = caregiver(hub)
    done = ask(marie, Q_SELL_FR)
    share = one(done, "escalated").buttons[0]
    assert share.action == "ticket:share_name:1"
    assert one(caregiver(hub, "Intrus", "666").press(share.action), "refused").template == "refused/not_yours"
    one(marie.press(share.action), "info")
    clock.advance(hours=5)
    assert "Marie" in one(jobs.run_ticket_reminders(hub), "reminder").text


def test_a_moderator_escalates_someone_elses_message(hub):
    lea = maker(hub)
    lea.say("On peut vendre les visières qu'on fabrique au fablab ?")
    mod = Speaker(hub, Identity("discord", "3001", "Modo", "fr"), chat="fabrication", community="g1")
    mod.say("salut")
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    designate(hub, boss, contact, "legal")
    with hub.db.session() as s:
        community = s.exec(select(Community).where(Community.platform_id == "g1")).one()
        grant(s, s.exec(select(Person).where(Person.platform_id == "3001")).one(), Role.MODERATOR, community)

    assert one(lea.say("/escalate discord:2001 vendre ?"), "refused").template == "refused/not_allowed"
    outs = mod.say("/escalader discord:2001 On peut vendre les visières qu'on fabrique au fablab ?")
    assert [o.chat for o in outs if o.kind == "escalated" and not o.direct] == ["fabrication"]
    told = [o for o in outs if o.kind == "escalated" and o.direct]
    assert len(told) == 1 and told[0].chat == "2001" and told[0].buttons[0].action == "ticket:share_name:1"
    ticket_to(outs, contact)
    esc = ticket(hub)
    with hub.db.session() as s:
        assert s.get(Person, esc.asker_id).platform_id == "2001"
    assert (esc.platform, esc.chat, esc.topic) == ("discord", "fabrication", "legal")
    assert "ticket.escalated_by_moderator" in audit_actions(hub)

    # The Discord message menu runs the same command for an author the hub has never seen.
    outs = hub.run_command(mod.identity, "escalate", "discord:2099 Qui est responsable si une visière casse ?",
                           platform="discord", chat="fabrication", event_id="i-1", chat_kind="channel",
                           community="g1")
    assert sorted(o.chat for o in outs if o.kind == "escalated") == ["2099", "fabrication"]
    with hub.db.session() as s:
        assert s.get(Person, ticket(hub, 2).asker_id).platform_id == "2099"

    # A bot's message menu may call the core function with the author's identity and name.
    outs = escalation.escalate(hub, mod.identity, Identity("discord", "2098", "Nadia", "fr"),
                               "Les makers peuvent-ils se déplacer jusqu'au fablab pendant le confinement ?",
                               platform="discord", chat="thread-7", event_id="i-2", chat_kind="thread",
                               community="g1")
    assert sorted(o.chat for o in outs if o.kind == "escalated") == ["2098", "thread-7"]
    with hub.db.session() as s:
        assert s.get(Person, ticket(hub, 3).asker_id).display_name == "Nadia"
    assert ticket(hub, 3).chat == "thread-7"
    refused = escalation.escalate(hub, lea.identity, Identity("discord", "2098", "Nadia"), "Vendre ?",
                                  platform="discord", chat="fabrication", event_id="i-3", community="g1")
    assert one(refused, "refused").template == "refused/not_allowed"


def test_question_without_contact_waits_and_goes_out_when_one_is_designated(hub, clock):
    boss = admin(hub)
    marie = caregiver(hub)
    done = ask(marie, Q_SELL_FR)
    assert "modérateurs" in one(done, "escalated").text
    told = [o for o in done if o.kind == "ticket"]
    assert [o.chat for o in told] == ["7000"] and told[0].template == "ticket_unrouted"
    clock.advance(hours=30)
    assert jobs.run_ticket_reminders(hub) == [], "nobody to remind"
    contact = person(hub, "9001", "Dr Martin")
    outs = boss.say("/contacts add telegram:9001 juridique")
    ticket_to(outs, contact)
    assert ticket(hub).routed_at == clock.now()
    clock.advance(hours=3)
    assert jobs.run_ticket_reminders(hub) == [], "the service-level clock starts when the contact gets it"
    clock.advance(hours=2)
    assert one(jobs.run_ticket_reminders(hub), "reminder").chat == "9001"
    boss.say("/contacts remove telegram:9001")
    assert "Dr Martin" not in one(boss.say("/contacts"), "listing").text


def test_notice_goes_to_every_community_through_the_outbox(hub):
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    designate(hub, boss, contact, "sanitary")
    maker(hub).say("bonjour")  # a Discord server
    Speaker(hub, Identity("telegram", "1001", "Marie", "fr"), chat="-100", community="-100").say("bonjour")
    maker(hub, "Bob", "2002", "general", "g2").say("hello")  # a server without any channel set
    with hub.db.session() as s:
        for c in s.exec(select(Community)):
            if c.platform_id == "g1":
                c.briefing_channel = "coordination"
    assert one(marie_like(hub).say("/avis Lavez les visières"), "refused").template == "refused/not_allowed"

    outs = contact.say("/avis Les visières se nettoient à l'eau savonneuse puis à l'alcool à 70 %.")
    notices = [o for o in outs if o.kind == "notice"]
    assert sorted((o.platform, o.chat) for o in notices) == [("discord", "coordination"), ("telegram", "-100")]
    assert all(o.outbox_id and "alcool à 70" in o.text and not o.direct for o in notices)
    assert "1" in one(outs, "info").text, "the contact learns a community has no channel for it"
    with hub.db.session() as s:
        assert s.exec(select(func.count()).select_from(OutboxMessage)
                      .where(OutboxMessage.kind == "notice")).one() == 2
    assert "notice.published" in audit_actions(hub)


def marie_like(hub) -> Speaker:
    return caregiver(hub, "Marie", "1001")


def test_open_and_newly_answered_questions_are_in_the_morning_briefing(hub, clock):
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    designate(hub, boss, contact, "legal")
    lea = maker(hub)
    lea.say("bonjour")
    with hub.db.session() as s:
        community = s.exec(select(Community).where(Community.platform_id == "g1")).one()
        community.briefing_channel = "coordination"
        community.created_at = clock.now().replace(year=2019)
    marie = caregiver(hub)
    ask(marie, Q_SELL_FR)
    ask(marie, "Comment stériliser les visières avant de les livrer à l'hôpital ?")
    contact.say(f"/reponse Q-1 {A_SELL}")
    clock.advance(hours=22)  # Tuesday 08:00 in Paris
    briefing = one(jobs.run_briefings(hub), "briefing")
    assert "Q-1" in briefing.text and "marquage CE" in briefing.text
    assert "Q-2" in briefing.text


def test_every_step_is_audited(hub, clock):
    boss = admin(hub)
    contact = person(hub, "9001", "Dr Martin")
    backup = person(hub, "9002", "Dr Suppléante")
    designate(hub, boss, contact, "legal")
    designate(hub, boss, backup, "legal", "--backup")
    marie = caregiver(hub)
    done = ask(marie, Q_SELL_FR)
    marie.press(one(done, "escalated").buttons[0].action)
    clock.advance(hours=25)
    jobs.run_ticket_reminders(hub)
    backup.say(f"/reponse Q-1 {A_SELL}")
    caregiver(hub, "Paul", "1002").say(f"/question {Q_SELL_FR_REWORDED}")
    contact.say("/avis Avis de test")
    actions = audit_actions(hub)
    for expected in ("contact.designated", "ticket.opened", "ticket.name_shared", "ticket.handed_over",
                     "ticket.answered", "ticket.similar_offered", "notice.published"):
        assert expected in actions, expected
    with hub.db.session() as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "ticket.answered")).one()
        assert entry.subject == "Q-1" and entry.after["public"] is True
        assert s.exec(select(func.count()).select_from(Proposal)).one() >= 2


def test_edit_on_a_question_explains_how_to_reword_it_or_choose_its_topic(hub):
    boss = admin(hub)
    hygiene = person(hub, "9003", "Dr Hygiène")
    designate(hub, boss, hygiene, "sanitary")
    marie = caregiver(hub)
    outs = marie.say(Q_SELL_FR)
    edit = one(marie.press(one(outs, "proposal").buttons[1].action), "info")
    assert edit.template == "question_edit" and "/question juridique:" in edit.text
    with hub.db.session() as s:
        assert s.exec(select(Proposal)).one().status == "dismissed"
    chosen = marie.say("/question sanitaire: Peut-on vendre des visières désinfectées ?")
    assert "sanitaire" in one(chosen, "proposal").text
    ticket_to(marie.confirm(chosen), hygiene)
    assert ticket(hub).topic == "sanitary" and ticket(hub).text == "Peut-on vendre des visières désinfectées ?"
