"""Moderators set their community up and look at or post its briefing."""

from sqlmodel import select

from core.messages import Identity
from core.models import AuditEntry, Community, Role
from tests.helpers import caregiver, maker, one, replies


def moderator(hub, name="Claire", pid="3001"):
    mod = maker(hub, name, pid, channel="moderation")
    hub.grant_role(mod.identity, Role.MODERATOR, community="g1", community_name="Makers 37")
    return mod


def test_moderator_changes_settings_and_members_cannot(hub):
    mod = moderator(hub)
    out = one(mod.say("/reglages salon_besoins 111 heure 7h30 rayon 80 langue en fuseau America/Martinique"),
              "settings")
    assert "111" in out.text
    with hub.db.session() as s:
        community = s.exec(select(Community).where(Community.platform_id == "g1")).one()
        assert (community.needs_channel, community.briefing_time, community.radius_km, community.language,
                community.timezone) == ("111", "07:30", 80.0, "en", "America/Martinique")
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "community.settings")).one()
        assert audit.before["briefing_time"] == "08:00" and audit.after["briefing_time"] == "07:30"
    lea = maker(hub)
    assert one(lea.say("/settings radius 5"), "refused").template == "refused/not_allowed"
    with hub.db.session() as s:
        assert s.exec(select(Community).where(Community.platform_id == "g1")).one().radius_km == 80.0


def test_invalid_settings_change_nothing(hub):
    mod = moderator(hub)
    for bad in ("heure 25:00", "fuseau Mars/Olympus", "rayon -3", "langue de", "couleur bleu", "heure"):
        refused = one(mod.say("/reglages " + bad), "refused")
        assert refused.template in ("refused/bad_setting", "refused/usage")
    with hub.db.session() as s:
        community = s.exec(select(Community).where(Community.platform_id == "g1")).one()
        assert (community.briefing_time, community.timezone, community.radius_km) == ("08:00", "Europe/Paris", 50.0)


def test_settings_need_a_community(hub):
    mod = moderator(hub)
    private = caregiver(hub, mod.identity.display_name, mod.identity.platform_id)
    private.identity = Identity("discord", "3001", "Claire", "fr")
    assert one(private.say("/settings"), "refused").template == "refused/no_community"


def test_briefing_preview_and_now(hub):
    marie = caregiver(hub)
    marie.confirm(marie.say("il nous faut 100 visières à Tours pour vendredi"))
    mod = moderator(hub)
    mod.say("/reglages salon_point coordination")
    preview = one(mod.say("/briefing preview"), "briefing")
    assert preview.chat == "moderation" and "N-1" in preview.text
    posted = mod.say("/point maintenant")
    post = [o for o in posted if o.kind == "briefing"]
    assert len(post) == 1 and post[0].chat == "coordination" and not post[0].direct
    assert one(replies(posted), "info").template == "briefing_posted"
