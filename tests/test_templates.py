"""Every template renders in French and English from sample contexts; user text stays data."""

from datetime import date

import pytest

from core.templates import LANGUAGES, Renderer

NEED = {"ref": "N-7", "facility": "EHPAD Les Tilleuls", "place": "Tours", "department": "37",
        "deadline": date(2020, 3, 27), "status": "partly_covered", "category": 2, "km": 12.3,
        "lines": [{"item": "face_shield", "quantity": 200, "committed": 120, "delivered": 0, "remaining": 80}]}
OFFER = {"ref": "O-3", "capabilities": ["3d_printing", "laser_cutting"], "items": [{"item": "face_shield",
         "quantity": 50}], "place": "Joué-lès-Tours", "department": "37", "capacity": 50, "status": "active",
         "km": 6.0}
SAMPLE = {
    "name": "Marie", "roles": ["moderator", "contact"], "ref": "N-7", "need": NEED, "offer": OFFER,
    "needs": [NEED], "offers": [OFFER], "near": "Tours", "quantity": 120, "item": "face_shield",
    "maker": "Léa", "km": 6.2, "capabilities": ["3d_printing"], "reasons": ["distance:6km"],
    "candidates": [{"maker": "Léa", "km": 6.2, "place": "Joué-lès-Tours", "capabilities": ["3d_printing"],
                    "capacity": 50, "reasons": [], "score": 4.2}],
    "commitments": [{"ref": "N-7", "item": "face_shield", "quantity": 120, "delivered": 0}],
    "p": {"intent": "need", "items": [{"item": "face_shield", "quantity": 200}], "capabilities": ["3d_printing"],
          "place": {"name": "Tours", "lat": 47.39, "lon": 0.69, "department": "37"}, "deadline": "2020-03-27",
          "topic": "legal", "text": "A-t-on le droit ?", "facility": "CHU de Tours"},
    "proposal_id": 4, "author": "Marie", "max_category": 2, "items": ["face_shield"],
    "category": 2, "override": None, "official_channel_url": "https://example.org/officiel",
    "open_research_url": "https://example.org/recherche", "url": "https://www.printables.com/model/1",
    "answers": [{"ref": "Q-1", "question": "Peut-on vendre des visières ?", "answer": "Non."}],
    "topic": "legal", "routed": True, "region": "Centre-Val de Loire", "text": "Peut-on vendre ?",
    "asker": "#3", "question": "Peut-on vendre ?", "answer": "Non.", "contact": "Dr Martin", "hours": 5,
    "community": "Makers Touraine", "date": date(2020, 3, 24),
    "new_needs": [NEED], "stale_needs": [NEED], "offers_by_department": [{"department": "37", "count": 2}],
    "open_questions": [{"ref": "Q-2", "topic": "legal", "question": "Qui paie ?"}],
    "answered_questions": [{"ref": "Q-1", "topic": "legal", "question": "Vendre ?", "answer": "Non."}],
    "changes": [{"action": "item.classified", "subject": "item:valve_adapter", "ref": "valve_adapter",
                 "before": {"category": None}, "after": {"category": 3}},
                {"action": "design.reviewed", "subject": "D-3", "ref": "D-3", "before": {"status": "unreviewed"},
                 "after": {"status": "validated"}}],
    "figures": {"open_needs": 3, "active_offers": 5, "new_needs": 1, "commitments": 2, "committed_units": 200,
                "deliveries": 1, "open_questions": 1, "uncovered_48h": 1, "new_offers": 2},
    # outbox status
    "platform": None, "counts": {"telegram": {"pending": 2, "sending": 1, "sent": 40, "failed": 1}},
    "totals": {"pending": 2, "sending": 1, "sent": 40, "failed": 1}, "oldest_waiting_minutes": 3,
    "blocked_chats": 1, "failures": [{"id": 9, "platform": "telegram", "chat": "42", "kind": "match", "attempts": 1,
                                      "error": "Forbidden: bot was blocked by the user", "direct": True}],
    "retrying": [{"id": 11, "platform": "discord", "chat": "7", "kind": "briefing", "attempts": 2,
                  "error": "500 Internal Server Error", "direct": False}],
    "delta": {"open_needs": 1, "active_offers": -2},
    "national": {"open_needs": 120, "active_offers": 80}, "examples": ["Centre-Val de Loire", "PACA", "37"],
    "contacts": [{"topic": "legal", "region": None, "rank": 0, "name": "Dr Martin", "platform": "telegram"}],
    "before": 2, "after": 3, "who": "Léa", "role": "moderator", "retry": True,
    "length": 100000, "limit": 4000, "command": "/frobnicate", "maximum": 1000000, "remaining": 80,
    "usage": "/commit N-12 50", "status": "closed", "place": "Atlantis",
    "design": {"ref": "D-3", "url": "https://printables.com/model/25857", "name": "prusa face shield rc3",
               "item": "face_shield", "version": "RC3", "licence": "CC-BY-NC", "status": "validated",
               "category": 2, "note": "Version validée par l'ARS."},
    "designs": [{"ref": "D-3", "url": "https://printables.com/model/25857", "name": "", "item": None,
                 "version": None, "licence": None, "status": "unreviewed", "category": None, "note": None}],
    "alternatives": [{"ref": "D-4", "url": "https://printables.com/model/1", "name": "RC3", "version": "3"}],
    "created": True, "langs": ["fr", "en"], "reset": False, "week": "2020-W13", "more": 2,
    "categories": [{"id": 2, "items": ["face_shield"], "edited": True}, {"id": 4, "items": [], "edited": False}],
    "unclassified": ["face_shield"], "target": "https://example.org/x",
    "sources": [{"ref": 1, "url": "https://www.gouvernement.fr/info-coronavirus", "label": "Gouvernement"}],
    "claim": {"ref": 5, "pattern": "le vinaigre tue le virus", "note": "faux", "link": False},
    "claims": [{"ref": 5, "pattern": "https://example.org/fake", "note": "", "link": True}],
    # escalation
    "for_other": False, "named": False, "public": True, "posted": True, "reason": "Hors sujet", "sent": 3,
    "skipped": 1,
    "t": {"ref": "Q-1", "topic": "legal", "status": "answered", "question": "Peut-on vendre ?", "answer": "Non.",
          "region": "Centre-Val de Loire", "asked": date(2020, 3, 23), "answered": date(2020, 3, 23),
          "public": True, "contact": "Dr Martin", "answered_by": "Dr Martin", "asker": "#3"},
    "tickets": [{"ref": "Q-1", "topic": "legal", "status": "open", "question": "Peut-on vendre ?", "answer": ""}],
    "waiting": [{"ref": "Q-2", "topic": "sanitary", "status": "open", "question": "Qui paie ?", "answer": ""}],
    # matching, commitments, capacity, export
    "made": 80, "promised": 120, "days": 4, "delivered": 0, "on": True, "cap": 5, "scope": "region",
    "area": "Centre-Val de Loire", "what": "needs", "fmt": "csv", "count": 1,
    "filename": "relais-needs-2020-03-23.csv", "size": 3456, "service": "telegram",
    "rows": [{"department": "37", "name": "Indre-et-Loire", "region": "Centre-Val de Loire", "makers": 3,
              "offers": 4, "capabilities": {"3d_printing": 3}, "daily_capacity": 120, "open_units": 200,
              "committed_share": 0.238}],
    "settings": {"name": "Makers Touraine", "needs_channel": "123", "briefing_channel": None,
                 "briefing_thread": None, "intake_channels": ["456"], "briefing_time": "08:00", "language": "fr",
                 "timezone": "Europe/Paris", "radius_km": 50.0, "region": None, "reply_in_dm": False},
    "changed": True, "chat": "123", "key": "heure", "value": "25:00",
    "data": {"platform": "telegram", "platform_id": "1001", "display_name": "Marie", "language": "fr",
             "since": date(2020, 3, 20), "roles": ["moderator"], "needs": ["N-1"], "offers": [],
             "commitments": 0, "questions": ["Q-2"]},
}

renderer = Renderer()
renderer.set_names(items={"face_shield": {"fr": "visière", "en": "face shield"}},
                   capabilities={"3d_printing": {"fr": "impression 3D", "en": "3D printing"}},
                   categories={2: {"fr": "Protection non certifiée", "en": "Uncertified protection"}})
NAMES = renderer.templates("fr")


def test_both_languages_have_the_same_templates():
    assert len(NAMES) > 50
    assert renderer.templates("fr") == renderer.templates("en")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", NAMES)
def test_template_renders(name, lang):
    rendered = renderer.render(name, lang, **SAMPLE)
    assert rendered.text.strip(), name
    assert "{{" not in rendered.text and "{%" not in rendered.text
    assert "\n\n\n" not in rendered.text


def test_languages_differ():
    fr = renderer.render("need_recorded", "fr", **SAMPLE)
    en = renderer.render("need_recorded", "en", **SAMPLE)
    assert "enregistré" in fr.title and "recorded" in en.title
    assert "visière" in fr.text and "face shield" in en.text


def test_user_text_is_data_not_template():
    hostile = "{{ 7*7 }} {% for x in range(3) %}boom{% endfor %} <b>&amp;</b>"
    rendered = renderer.render("answer", "fr", **dict(SAMPLE, answer=hostile, question=hostile))
    assert "{{ 7*7 }}" in rendered.text and "49" not in rendered.text
    assert rendered.text.count("boom") == 2


def test_missing_context_fails_loudly():
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        renderer.render("need_recorded", "fr")
