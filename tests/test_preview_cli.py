"""`lgp-mailer preview` and `init` through the CLI, in a temporary folder."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgp_mailer.cli import app

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_preview_outside_a_campaign_uses_the_shipped_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("preview")
    assert result.exit_code == 0, result.output
    assert "using the shipped example campaign" in result.output
    assert "From:" in result.output and "Message-ID:" in result.output
    assert "Tisztelt Polgármester Úr!" in result.output  # first row: Kiss Ödön, a man's name
    emls = sorted((tmp_path / "preview").glob("*.eml"))
    htmls = sorted((tmp_path / "preview").glob("[0-9]*.html"))
    assert len(emls) == len(htmls) == 7  # 8 rows, the joint office's two rows merge
    assert f"{len(emls)} messages rendered, 0 with problems" in result.output
    index = (tmp_path / "preview" / "index.html").read_text(encoding="utf-8")
    # The gallery's rows travel as JSON inside the page (gallery.js draws the table): one per letter.
    data = json.loads(re.search(r'<script id="lgp-data" type="application/json">(.*?)</script>', index)[1])
    assert [row[0] for row in data["rows"]] == [1, 2, 3, 4, 5, 6, 7]
    assert "Bikal, Mágocs" in index and "Tisztelt Jegyző Asszony!" in index
    first = BytesParser(policy=policy.default).parsebytes(emls[0].read_bytes())
    assert str(first["To"]) == "Kiss Ödön <polgarmester@alsomocsolad.example>"


def test_preview_limit_email_and_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("preview", "--limit", "2", "--out", "p2").exit_code == 0
    assert len(list((tmp_path / "p2").glob("*.eml"))) == 2
    result = run("preview", "--email", "JEGYZO@kozoshivatal-bikal.example", "--out", "p2")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "p2").glob("*.eml")] == ["0001-jegyzo_kozoshivatal-bikal.example.eml"]
    result = run("preview", "--email", "nobody@example.org")
    assert result.exit_code == 2
    assert "no recipient with address 'nobody@example.org'" in result.output


def test_preview_second_conference_via_event_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("preview", "--event", str(REPO / "events" / "2027-03-11-klima.toml"), "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "13.40–14.20 Szőke Győző, polgármester" in result.output
    assert "Zongor" not in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--event", "missing.toml"], "missing.toml: event file not found"),
        (["--recipients", "missing.xlsx"], "missing.xlsx"),
        (["--campaign", "nowhere"], "no campaign file here"),
    ],
)
def test_preview_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    result = run("preview", *args)
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("lgp-mailer: error:")]
    assert len(errors) == 1 and expected in errors[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "preview").exists() or not list((tmp_path / "preview").glob("*.eml"))


def test_broken_template_in_a_campaign_is_one_line_and_exit_2(tmp_path, monkeypatch):
    # Issue 14: a template error is the template's fault, not one problem per message.
    camp = tmp_path / "camp"
    assert run("init", str(camp), "--example").exit_code == 0
    subject = camp / "templates" / "invitation.subject.j2"
    subject.write_text("{{ recipient.nincs }}", encoding="utf-8")
    monkeypatch.chdir(camp)
    result = run("preview")
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("lgp-mailer: error:")]
    assert errors == [
        (
            f"lgp-mailer: error: {subject}, line 1: cannot render: undefined name 'recipient.nincs' "
            "(the message to polgarmester@alsomocsolad.example)"
        )
    ]


def test_init_writes_a_fresh_campaign_and_refuses_to_overwrite(tmp_path, monkeypatch):
    camp = tmp_path / "uj"
    result = run("init", str(camp), "--example")
    assert result.exit_code == 0, result.output
    text = (camp / "lgp-mailer.toml").read_text(encoding="utf-8")
    campaign_id = re.search(r'(?m)^campaign_id = "(.+)"$', text)[1]
    assert campaign_id.startswith("lgp-uj-") and campaign_id != "lgp-2020-06-18-innovaciok"
    for folder in ("templates", "events", "recipients", "registrations"):
        assert any((camp / folder).iterdir())
    again = run("init", str(camp), "--example")
    assert again.exit_code == 2 and "already holds a campaign" in again.output
    other = tmp_path / "masik"
    run("init", str(other), "--example")
    assert (
        re.search(r'(?m)^campaign_id = "(.+)"$', (other / "lgp-mailer.toml").read_text(encoding="utf-8"))[1]
        != campaign_id
    )
    monkeypatch.chdir(camp)
    result = run("preview", "--limit", "1")
    assert result.exit_code == 0 and "shipped example" not in result.output
    assert (camp / "preview" / "index.html").is_file()


def test_every_command_has_help():
    result = run("--help")
    assert result.exit_code == 0
    commands = re.findall(r"(?m)^\s{2}([a-z-]+)\s{2,}", result.output.split("Commands:")[1])
    assert {"preview", "init"} <= set(commands)
    for command in commands:
        sub = run(command, "--help")
        assert sub.exit_code == 0 and "Usage:" in sub.output


@pytest.mark.slow
def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from lgp_mailer.cli import app; "
        "heavy = [m for m in ('pandas', 'openpyxl', 'jinja2', 'css_inline', 'icalendar', 'flufl', 'babel',"
        " 'lgp_mailer.sheets.recipients') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("kind", "key", "message"),
    [
        ("thanks", "followup.recording_url", "no recording link: add [followup] recording_url to the event file"),
        ("recording", "followup.recording_url", "no recording link: add [followup] recording_url to the event file"),
        ("reminder", "online.join_url", "no join link: add [online] join_url to the event file"),
    ],
)
def test_preview_refuses_a_kind_the_event_cannot_send(tmp_path, monkeypatch, kind, key, message):
    # The Klíma event has neither [followup] nor, here, [online]: followup and remind refuse to
    # send these, so a preview would only show a letter with an empty line where the link goes.
    monkeypatch.chdir(tmp_path)
    event = tmp_path / "klima.toml"
    text = (REPO / "events" / "2027-03-11-klima.toml").read_text(encoding="utf-8")
    event.write_text(text.split("[online]")[0] + "[calendar]\n", encoding="utf-8")
    result = runner.invoke(app, ["preview", "--event", str(event), "--kind", kind, "--limit", "1"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"lgp-mailer: error: {event}, key {key!r}: {message}"
    assert not (tmp_path / "preview").exists()
