"""The kinds registry is the one list of message kinds: a kind registered at
run time, with nothing but its entry and its templates, is a choice of the
CLI, renders with its own calendar rule, and has its label in the export and
in ``status --json``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from lgp_mailer import kinds
from lgp_mailer.cli import app
from lgp_mailer.errors import ConfigError
from lgp_mailer.event import load_event
from lgp_mailer.ledger.export import HEADERS
from lgp_mailer.ledger.store import Entry, open_ledger

C = "lgp-2026-11-30-proba"
runner = CliRunner()

DUMMY = kinds.Kind(
    "dummy",
    "próbalevél",
    "lgp-mailer send --dummy",
    template="proba",
    calendar_method="CANCEL",
    sequence_offset=2,
)
TEMPLATES = {
    "proba.subject.j2": "Próbalevél: {{ event.title }}",
    "proba.txt.j2": "{{ recipient.salutation }}\n\nEz {{ event.title|article }} „{{ event.title }}” próbalevele.\n",
    "proba.html.j2": "<html><body><p>{{ recipient.salutation }}</p><p>Próbalevél: {{ event.title }}</p></body></html>\n",
}


@pytest.fixture
def dummy() -> Iterator[kinds.Kind]:
    kinds.register(DUMMY)
    yield DUMMY
    kinds.unregister(DUMMY.name)


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    """A campaign folder from ``init`` with the dummy kind's templates beside the shipped ones."""
    camp = tmp_path / "camp"
    assert runner.invoke(app, ["init", str(camp), "--example"]).exit_code == 0
    for name, text in TEMPLATES.items():
        (camp / "templates" / name).write_text(text, encoding="utf-8")
    return camp


def test_the_shipped_kinds_in_declaration_order() -> None:
    assert kinds.names() == ("invitation", "reminder", "nudge", "thanks", "recording", "change", "cancellation")
    assert [
        (k.label, k.command, k.audience, k.sequence_offset, k.join_link, k.needs_join_url) for k in kinds.KINDS.values()
    ] == [
        ("meghívó", "lgp-mailer send", "sheet", 0, False, False),
        ("emlékeztető", "lgp-mailer remind --day-before", "registrants", 1, True, True),
        ("regisztrációs felhívás", "lgp-mailer remind --not-registered", "invited_not_registered", 0, False, False),
        ("köszönőlevél", "lgp-mailer followup --attended", "attendees", 0, False, False),
        ("felvétel", "lgp-mailer followup --missed", "absent_registrants", 0, False, False),
        ("módosítás", "lgp-mailer notify --change", "notified", 0, False, False),
        ("lemondás", "lgp-mailer notify --cancel", "notified", 0, False, False),
    ]
    assert [k.name for k in kinds.KINDS.values() if k.revisioned] == ["change", "cancellation"]
    assert kinds.CANCELLATION.calendar_status == "CANCELLED"
    assert [k.name for k in kinds.KINDS.values() if k.calendar_method is None] == ["thanks", "recording"]
    assert kinds.NUDGE.templates == ("nudge.subject.j2", "nudge.txt.j2", "nudge.html.j2")


def test_an_unknown_kind_is_one_clear_error() -> None:
    with pytest.raises(ConfigError) as caught:
        kinds.get("invitaton")
    assert (
        str(caught.value) == "key 'kind': unknown message kind 'invitaton' "
        "(expected one of: invitation, reminder, nudge, thanks, recording, change, cancellation)"
    )
    with pytest.raises(
        ConfigError, match="audience 'everyone' is not one of: sheet, registrants, invited_not_registered"
    ):
        kinds.Kind("x", "x", "x", audience="everyone")
    with pytest.raises(ConfigError, match="must be ASCII letters"):
        kinds.Kind("két szó", "x", "x")
    assert kinds.label("gone") == "gone"  # a kind in an old sent log that this version dropped


def test_a_kind_registered_at_run_time_is_a_choice_of_the_cli(
    dummy: kinds.Kind, campaign: Path, tmp_path: Path
) -> None:
    shown = runner.invoke(app, ["preview", "--help"])
    # Five kinds and the dummy no longer fit on one help line: compare with the wrapping undone.
    assert "--kind KIND invitation, reminder, nudge, thanks, recording, change, cancellation or dummy." in " ".join(
        shown.stdout.split()
    )
    bad = runner.invoke(app, ["preview", "--campaign", str(campaign), "--kind", "dumy"])
    assert bad.exit_code == 2
    assert (
        "Invalid value for '--kind': unknown message kind 'dumy' "
        "(expected one of: invitation, reminder, nudge, thanks, recording, change, cancellation, dummy)"
    ) in bad.output
    out = tmp_path / "p"
    result = runner.invoke(
        app, ["preview", "--campaign", str(campaign), "--kind", "dummy", "--limit", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    event = load_event(campaign / "events" / "2020-06-18-innovaciok.toml")
    (eml,) = out.glob("*.eml")
    msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert str(msg["Subject"]) == f"Próbalevél: {event.title}"
    assert re.fullmatch(r"<[0-9a-f]+\.dummy@[a-z0-9.-]+>", msg["Message-ID"]), msg["Message-ID"]
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    cal = Calendar.from_ical(part.get_content())
    assert part.get_param("method") == str(cal["METHOD"]) == "CANCEL"
    (entry,) = cal.walk("VEVENT")
    assert int(str(entry["SEQUENCE"])) == 2  # no revision yet: the kind's offset (SEQUENCE comes from the sent log)
    gallery = (out / "index.html").read_text(encoding="utf-8")
    # The gallery speaks the interface language (en in tests); a kind without a title shows its name.
    assert "Message kind: dummy" in gallery
    checked = runner.invoke(app, ["check", "--campaign", str(campaign), "--kind", "dummy"])
    assert checked.exit_code == 0, checked.output  # every row of the shipped sheet renders as a dummy too


def test_a_kind_registered_at_run_time_has_its_label_in_export_and_status(
    dummy: kinds.Kind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = open_ledger(tmp_path / "log.sqlite3")
    ledger.sync(C, "invitation", [Entry("jegyzo@pecs.example", 0, ("Pécs",), "Baranya", "<i@lgp.example>")])
    ledger.sync(C, "dummy", [Entry("jegyzo@pecs.example", 0, ("Pécs",), "Baranya", "<d@lgp.example>")])
    assert ledger.claim(C, "dummy", "jegyzo@pecs.example", ["pending"])
    ledger.record(C, "dummy", "jegyzo@pecs.example", "sent", 250, "2.0.0", "250 2.0.0 OK")
    ledger.close()
    monkeypatch.setenv("LGP_MAILER_DB", str(tmp_path / "log.sqlite3"))
    monkeypatch.chdir(tmp_path)

    exported = runner.invoke(app, ["log", "export", "ki.xlsx", "--kind", "dummy"])
    assert exported.exit_code == 0, exported.output
    rows = list(openpyxl.load_workbook(tmp_path / "ki.xlsx").active.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    assert [(r[3], r[4], r[5]) for r in rows[1:]] == [("jegyzo@pecs.example", "próbalevél", "elküldve")]

    status = runner.invoke(app, ["status", "--json"])
    assert status.exit_code == 0, status.output
    figures = json.loads(status.stdout)
    assert [(c["kind"], c["label"], c["command"], c["counts"]["sent"]) for c in figures["campaigns"]] == [
        ("dummy", "próbalevél", "lgp-mailer send --dummy", 1),
        ("invitation", "meghívó", "lgp-mailer send", 0),
    ]
    shown = runner.invoke(app, ["status", "--help"])
    assert "Only this kind: invitation, reminder, nudge, thanks, recording, change, cancellation or dummy." in " ".join(
        shown.stdout.split()
    )

    kinds.unregister("dummy")  # an old sent log's kind this version no longer declares: shown as it is
    figures = json.loads(runner.invoke(app, ["status", "--json", "--kind", "dummy"]).stdout)
    assert [(c["kind"], c["label"], c["command"]) for c in figures["campaigns"]] == [
        ("dummy", "dummy", "lgp-mailer send  (kind dummy)")
    ]
