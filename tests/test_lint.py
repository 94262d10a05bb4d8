"""`preview --lint`: the shipped letters pass, a deliberately bad one is flagged."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgp_mailer.campaign.preview import lint_campaign
from lgp_mailer.cli import app
from lgp_mailer.config import load_campaign
from lgp_mailer.mail.lint import lint_message, parse_spamassassin

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(REPO / "lgp-mailer.toml")


def test_shipped_kinds_have_no_problems(campaign):
    reports = lint_campaign(campaign, spamassassin=False)
    assert [r.kind for r in reports] == ["invitation", "reminder", "nudge", "change", "cancellation"]
    for report in reports:
        assert [f for f in report.findings if f.severity == "problem"] == [], report.kind
    warnings = [f.message for f in reports[0].findings if f.severity == "warning"]
    assert warnings == ["not https: http://legjobbonkormanyzatigyakorlatok.hu/aktualis-palyazati-felhivas/"]


def test_a_bad_template_is_flagged(tmp_path, campaign):
    bad = tmp_path / "templates"
    shutil.copytree(REPO / "templates", bad)
    (bad / "invitation.html.j2").write_text(
        '<html><body><img src="https://lgp.example.org/banner.png">'
        '<a href="https://evil.example.net/login">https://lgp.example.org/regisztracio</a>'
        "<p>{{ event.date|hu_date }} 11.00</p></body></html>",
        encoding="utf-8",
    )
    broken = dataclasses.replace(campaign, template_dirs=(bad,))
    report = lint_campaign(broken, kinds=("invitation",), spamassassin=False)[0]
    problems = {(f.check, f.message) for f in report.findings if f.severity == "problem"}
    assert ("image-only", "the HTML is mostly images: filters and readers without images see nothing") in problems
    assert ("links", "link text names lgp.example.org but goes to evil.example.net") in problems
    assert ("links", "only the HTML part links to https://evil.example.net/login") in problems
    assert any(check == "facts" and "11.00" in message for check, message in problems)
    assert any(
        check == "links" and message.startswith("only the text part links to https://docs.google.com/")
        for check, message in problems
    )


def test_missing_headers_are_problems():
    raw = (
        b"From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nszoveg\r\n"
    )
    report = lint_message(raw, "invitation", spamassassin=False)
    messages = [f.message for f in report.findings if f.severity == "problem"]
    assert "missing Date header" in messages and "missing List-Unsubscribe header" in messages
    assert "the message needs both a text and an HTML part" in messages


def test_parse_spamassassin_report():
    sample = """Content analysis details:   (-1.0 points, 5.0 required)

 pts rule name              description
---- ---------------------- --------------------------------------------------
-0.0 NO_RECEIVED            Informational: message has no Received headers
 0.0 HTML_MESSAGE           BODY: HTML included in message
-1.0 MAILING_LIST_MULTI     Multiple indicators imply a widely-seen list
                            manager
"""
    assert parse_spamassassin(sample) == (
        -1.0,
        [(-0.0, "NO_RECEIVED"), (0.0, "HTML_MESSAGE"), (-1.0, "MAILING_LIST_MULTI")],
    )
    assert parse_spamassassin("no report") == (None, [])


@pytest.mark.needs_tool("spamassassin")
def test_spamassassin_scores_the_shipped_letters_at_or_below_zero(campaign):
    for report in lint_campaign(campaign):
        assert report.spam_score is not None, report.kind
        assert report.spam_score <= 0.0, (report.kind, report.spam_rules)
        assert all(score <= 0.5 for score, _ in report.spam_rules), (report.kind, report.spam_rules)


def test_lint_cli_exit_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no spamassassin: the CLI says so and still lints
    result = CliRunner().invoke(app, ["preview", "--lint"])
    assert result.exit_code == 0, result.output
    assert "== invitation" in result.output and "== nudge" in result.output
    assert "0 problems in 5 kinds." in result.output
    assert "spamassassin is not installed" in result.output
