"""The command line: demo, console (scripted, JSON), analyse, run without configuration."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RELAIS = [sys.executable, "-m", "relais.cli"]


def run(args, *, stdin="", env=None, timeout=240):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RELAIS_")}
    full_env.update(env or {})
    return subprocess.run(RELAIS + args, input=stdin, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=full_env)


@pytest.mark.parametrize("lang,briefing_word", [("fr", "Point du matin"), ("en", "Morning briefing")])
def test_demo_plays_the_whole_scenario_and_ends_with_the_briefing(lang, briefing_word):
    result = run(["demo", "--lang", lang])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for kind in ("need_recorded", "offer_recorded", "match", "guidance", "design_check", "escalated",
                 "ticket", "answer", "briefing"):
        assert f"· {kind}" in out, kind
    last_block = out.rsplit("━━", 1)[-1]
    assert briefing_word in last_block


def test_console_json_prints_one_object_per_outbound_message(tmp_path):
    script = "\n".join([
        "/as caregiver Marie telegram",
        "Il nous faut 200 visières à Tours avant vendredi",
        "/click 1",
        "/as maker Léa discord",
        "bonjour à tous",
        "/unknowncommand",
        "",
    ])
    result = run(["console", "--json"], stdin=script,
                 env={"RELAIS_DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}"})
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]
    assert len(objects) == len(lines)
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "privacy" and "proposal" in kinds and "need_recorded" in kinds
    assert kinds[-1] == "refused"
    assert all({"to", "kind", "text"} <= set(o) for o in objects)
    recorded = next(o for o in objects if o["kind"] == "need_recorded")
    assert recorded["to"] == "telegram:@Marie" and "N-1" in recorded["title"]


def test_console_bad_input_gets_refused_or_error(tmp_path):
    script = "/as caregiver Marie telegram\n" + ("x" * 100_000) + "\n\x01\x02\x03\n/as nobody X\n"
    result = run(["console", "--json"], stdin=script,
                 env={"RELAIS_DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}"})
    assert result.returncode == 0, result.stderr
    kinds = [json.loads(line)["kind"] for line in result.stdout.splitlines() if line.strip()]
    assert kinds.count("error") == 3, kinds  # too long, empty after cleaning, bad /as


def test_run_without_tokens_says_what_is_missing(tmp_path):
    result = run(["run"], env={"RELAIS_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}, timeout=60)
    assert result.returncode == 2
    assert "RELAIS_TELEGRAM_TOKEN" in result.stderr and "RELAIS_DISCORD_TOKEN" in result.stderr


def test_db_upgrade_seeds_the_catalogue(tmp_path):
    url = f"sqlite:///{tmp_path / 'up.db'}"
    first = run(["db", "upgrade"], env={"RELAIS_DATABASE_URL": url}, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "catalogue rows added" in first.stdout and " 0 default" not in first.stdout
    again = run(["db", "upgrade"], env={"RELAIS_DATABASE_URL": url}, timeout=60)
    assert "; 0 default catalogue rows added" in again.stdout


def test_analyse_reads_corpus_lines():
    line = json.dumps({"id": "x1", "channel": "telegram", "sent_at": "2020-03-23T10:00:00+01:00",
                       "text": "Il nous faut 50 surblouses à Lyon pour demain"})
    result = run(["analyse"], stdin=line + "\n")
    assert result.returncode == 0, result.stderr
    prediction = json.loads(result.stdout)
    assert prediction["id"] == "x1" and prediction["intent"] == "need"
    assert prediction["items"] == [{"item": "gown", "quantity": 50}]
    assert prediction["deadline"] == "2020-03-24"


def test_python_dash_m_relais_is_the_relais_command():
    result = subprocess.run([sys.executable, "-m", "relais", "--help"], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout and "analyse" in result.stdout
