"""Issue 14: a template or event-file fault is one plain line, exit 2, before anything is sent."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from test_remind_cli import KISS, at, remind, remind_campaign
from test_send_cli import (
    counts,
    make_campaign,
    one_error_line,
    runner,
    send,
    server_untouched,
)

from lgp_mailer.cli import app

from sheets_factory import report_lines
from smtp_server import SmtpTestServer

# (the line put first in invitation.txt.j2, the sentence, whose message fails first)
FAULTS = [
    ("{{ event.venue }}", "undefined name 'event.venue'", "polgarmester@alsomocsolad.example"),
    ("{{ helyszin }}", "undefined name 'helyszin'", "polgarmester@alsomocsolad.example"),
    (
        "{% include '_nincs.txt.j2' %}",
        "included template '_nincs.txt.j2' not found",
        "polgarmester@alsomocsolad.example",
    ),
    # The shipped sheet's Üröm row has no name: only its letter fails.
    (
        "{{ recipient.name }}",
        "empty value: 'recipient.name' is empty where text was expected",
        "hivatal@urom-proba.example",
    ),
]


def _break(root: Path, kind: str, first_line: str) -> Path:
    template = root / "templates" / f"{kind}.txt.j2"
    template.write_text(first_line + "\n" + template.read_text(encoding="utf-8"), encoding="utf-8")
    return template


def _no_python_names(line: str) -> None:
    for word in ("object", "jinja2", "Error", "NoneType", "dict", "str "):
        assert word not in line, line


@pytest.mark.parametrize(("fault", "sentence", "address"), FAULTS)
def test_check_names_the_template_line_and_exits_2(tmp_path: Path, fault: str, sentence: str, address: str) -> None:
    camp = make_campaign(tmp_path, None)
    template = _break(camp.root, "invitation", fault)
    result = runner.invoke(app, ["check", "--campaign", str(camp.root)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    line = one_error_line(result)
    assert line == f"lgp-mailer: error: {template}, line 1: cannot render: {sentence} (the message to {address})"
    _no_python_names(line)


@pytest.mark.usefixtures("before_the_example_conference")  # send refuses a conference that has started
@pytest.mark.parametrize(("fault", "sentence", "address"), FAULTS[::3])
def test_send_renders_everyone_first_and_sends_nothing(
    smtp_server: SmtpTestServer,
    tmp_path: Path,
    fault: str,
    sentence: str,
    address: str,
) -> None:
    camp = make_campaign(tmp_path, smtp_server)
    template = _break(camp.root, "invitation", fault)
    result = send(camp, "--yes")
    assert result.exit_code == 2, result.output
    assert one_error_line(result) == (
        f"lgp-mailer: error: {template}, line 1: cannot render: {sentence} (the message to {address}; nothing was sent)"
    )
    assert server_untouched(smtp_server)
    assert camp.counts() == counts(pending=7)


def test_remind_renders_everyone_first_and_sends_nothing(smtp_server: SmtpTestServer, tmp_path: Path) -> None:
    camp = remind_campaign(tmp_path, smtp_server, [KISS])
    template = _break(camp.root, "reminder", "{{ event.venue }}")
    with at(2020, 6, 17, 9, 0):
        result = remind(camp, "--day-before", "--yes")
    assert result.exit_code == 2, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("lgp-mailer: error:")]
    assert error == [
        (
            f"lgp-mailer: error: {template}, line 1: cannot render: undefined name 'event.venue' "
            "(the message to polgarmester@alsomocsolad.example; nothing was sent)"
        )
    ]
    assert server_untouched(smtp_server)


def test_an_event_file_with_a_bom_is_accepted(tmp_path: Path) -> None:
    camp = make_campaign(tmp_path, None)
    for event in (camp.root / "events").glob("*.toml"):  # as Windows Notepad saves them
        event.write_bytes(codecs.BOM_UTF8 + event.read_bytes())
    config = camp.root / "lgp-mailer.toml"
    config.write_bytes(codecs.BOM_UTF8 + config.read_bytes())
    result = runner.invoke(app, ["check", "--campaign", str(camp.root)])
    assert result.exit_code == 0, result.output
    assert report_lines(result.stdout)[-1] == "Result: 0 problem(s), 5 warning(s)."
