"""`lgp-mailer followup` end to end: an imported Zoom report, the registration
export and the shipped invitation list; the thanks and the recording sent over
real sockets to the aiosmtpd server, the sent log checked row by row, and a
SIGKILL during the run (the shipped conference is in the past, so the
subprocess needs no frozen clock)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from attendance_files import write_teams, write_zoom
from test_remind_cli import (
    BALOGH,
    KISS,
    LATE,
    TOTH,
    at,
    bodies,
    ledger,
    received_by,
    remind_campaign,
    send,
    states,
)
from test_send_cli import Camp, one_error_line, parse, rcpts, runner
from test_send_crash import WAIT, GateHandler

from lgp_mailer.cli import app
from lgp_mailer.event import load_event
from lgp_mailer.quoting import quoted

from smtp_server import SmtpTestServer

RECORDING = "https://video.example.org/lgp/2020-06-18-innovaciok"
SLIDES = "https://lgp.example.org/eloadasok/2020-06-18.zip"
FOLLOWUP = f"""
[followup]
attendance_minutes = 30
recording_url = "{RECORDING}"
slides_url = "{SLIDES}"
recording_passcode = "Lgp#2020"
"""
THANKED = [
    "polgarmester@alsomocsolad.example",
    "referens@urom-proba.example",
    "polgarmester@ujfeherto-proba.example",
    "polgarmester@hernadszentandras.example",
]
MISSED = ["szervezo@egyesulet.example", "jegyzo@kozoshivatal-bikal.example"]  # 20 minutes; not at all
ENDS = "the conference ends at 2020-06-18 12:35 (Europe/Budapest): follow-ups are sent only after it"


@pytest.fixture
def server(smtp_server: SmtpTestServer) -> SmtpTestServer:
    return smtp_server


def followup_campaign(tmp_path, server, *, followup: str = FOLLOWUP, teams: bool = False) -> Camp:
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, TOTH, LATE])
    event = camp.root / "events" / "2020-06-18-innovaciok.toml"
    event.write_text(event.read_text(encoding="utf-8") + followup, encoding="utf-8")
    report = (write_teams if teams else write_zoom)(tmp_path / "participants.csv")
    imported = runner.invoke(app, ["attendance", "import", str(report), "--campaign", str(camp.root), "--quiet"])
    assert imported.exit_code == 0, imported.output
    return camp


def followup(camp: Camp, *args: str):
    return runner.invoke(app, ["followup", "--campaign", str(camp.root), *args], catch_exceptions=False)


def test_refused_before_the_conference_ends(server, tmp_path):
    camp = followup_campaign(tmp_path, server)
    with at(2020, 6, 18, 12, 34, 59):
        result = followup(camp, "--attended", "--yes")
        quiet = followup(camp, "--missed", "--yes", "--quiet")
    assert (result.exit_code, result.stdout, result.stderr) == (3, f"lgp-mailer: {ENDS}\n", "")
    assert (quiet.exit_code, quiet.output) == (3, "")
    assert server.received == []
    assert ledger(camp, "thanks") == {} and ledger(camp, "recording") == {}


@pytest.mark.parametrize("teams", [False, True])
def test_thanks_to_attendees_recording_to_the_absent_then_nothing(server, tmp_path, teams):
    camp = followup_campaign(tmp_path, server, teams=teams)
    with at(2020, 6, 18, 12, 35):
        thanked = followup(camp, "--attended", "--yes")
    assert thanked.exit_code == 0, thanked.output
    assert "Attended (at least 30 minutes): 4\n" in thanked.stdout
    assert "This run: sent 4\n" in thanked.stdout
    assert rcpts(server) == THANKED
    with at(2020, 6, 19, 9, 0):
        missed = followup(camp, "--missed", "--yes")
    assert missed.exit_code == 0, missed.output
    assert rcpts(server) == THANKED + MISSED
    got = received_by(server)

    for address in THANKED:
        message = got[address]
        assert (
            message["Subject"] == "Köszönjük a részvételt: Önkormányzati innovációk és jó gyakorlatok – "
            "felvétel és előadásanyagok"
        )
        assert message["Message-ID"] == ledger(camp, "thanks")[address].message_id
        assert message["Message-ID"].endswith(".thanks@lgp.example.org>")
    for address in MISSED:
        message = got[address]
        assert (
            message["Subject"] == "Elérhető a felvétel: Önkormányzati innovációk és jó gyakorlatok – "
            "2020. június 18. (csütörtök)"
        )
        assert message["Message-ID"] == ledger(camp, "recording")[address].message_id
    for message in got.values():
        assert [p.get_content_type() for p in message.walk() if p.get_content_type() == "text/calendar"] == []
        text, html = bodies(message)
        for part in (text, html):
            assert RECORDING in part and SLIDES in part and "Jelkód a felvételhez: Lgp#2020" in part
        assert f'href="{RECORDING}"' in html

    kiss, _ = bodies(got[THANKED[0]])
    assert kiss.startswith(
        "A Legjobb Önkormányzati Gyakorlatok Programja – 2020\n\nTisztelt Polgármester Úr!\n\n"
        "Köszönjük, hogy részt vett az „Önkormányzati innovációk és jó gyakorlatok” című online "
        "konferenciánkon 2020. június 18-án."
    )
    assert "mert nyilvántartásunk szerint részt vett a konferencián (Alsómocsolád)." in kiss
    assert got[THANKED[3]]["To"] == '"Dr. Szűcs Erzsébet" <polgarmester@hernadszentandras.example>'
    toth, _ = bodies(got[MISSED[0]])
    assert "\n\nTisztelt Uram!\n\nKöszönjük, hogy regisztrált az „Önkormányzati innovációk" in toth
    assert "Ha nem tudott részt venni rajta, vagy csak egy részét kísérhette figyelemmel, a felvételen" in toth
    assert "szervezo@egyesulet.example címmel regisztrált a konferenciára (Zöld Jövő Egyesület)." in toth

    assert states(camp, "thanks") == dict.fromkeys(THANKED, "sent")
    assert states(camp, "recording") == dict.fromkeys(MISSED, "sent")
    with at(2020, 6, 19, 10, 0):
        again = [followup(camp, "--attended", "--yes"), followup(camp, "--missed", "--yes", "--quiet")]
    assert [r.exit_code for r in again] == [3, 3]
    assert "Nothing is due" in again[0].stdout and again[1].output == ""
    assert len(server.received) == 6


def test_no_recording_link_and_no_report_are_one_line_each(server, tmp_path, monkeypatch):
    camp = followup_campaign(tmp_path, server, followup="\n[followup]\nattendance_minutes = 30\n")
    with at(2020, 6, 19, 9, 0):
        result = followup(camp, "--attended", "--yes")
    assert result.exit_code == 2
    event = camp.root / "events" / "2020-06-18-innovaciok.toml"
    assert one_error_line(result) == (
        f"lgp-mailer: error: {event}, key 'followup.recording_url': no recording link: "
        "add [followup] recording_url to the event file"
    )
    event.write_text(event.read_text(encoding="utf-8") + f'recording_url = "{RECORDING}"\n', encoding="utf-8")
    monkeypatch.setenv("LGP_MAILER_DB", str(tmp_path / "fresh.sqlite3"))  # a sent log without any report
    with at(2020, 6, 19, 9, 0):
        result = followup(camp, "--missed", "--yes")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"lgp-mailer: error: {tmp_path / 'fresh.sqlite3'}: campaign '{camp.campaign_id}' has no attendance report: "
        "run 'lgp-mailer attendance import FILE' first (the Zoom, Teams, Webex or Google Meet download)"
    )
    assert server.received == []


def test_a_threshold_outside_the_conference_is_refused(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS])
    event = camp.root / "events" / "2020-06-18-innovaciok.toml"
    event.write_text(event.read_text(encoding="utf-8") + "\n[followup]\nattendance_minutes = 200\n", encoding="utf-8")
    result = runner.invoke(app, ["check", "--campaign", str(camp.root)])
    assert result.exit_code == 2
    assert (
        f"{event}, key 'followup.attendance_minutes': must be between 0 and the conference's length "
        "(155 minutes), not 200"
    ) in result.output


# -- SIGKILL during the run ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL to a child is POSIX-only")
def test_killed_during_the_thanks_each_is_sent_once_or_unknown(smtp_server_factory, tmp_path):
    server = smtp_server_factory(handler=GateHandler())
    camp = followup_campaign(tmp_path, server)
    gate = server.handler.gate_rcpt(2)  # the second letter is claimed, nothing of it sent yet
    command = [sys.executable, "-m", "lgp_mailer", "followup", "--attended", "--yes", "--campaign", str(camp.root)]
    sender = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert gate.reached.wait(WAIT)
    sender.kill()
    sender.wait(WAIT)
    gate.release()
    assert states(camp, "thanks") == {
        THANKED[0]: "sent",
        THANKED[1]: "sending",
        THANKED[2]: "pending",
        THANKED[3]: "pending",
    }
    rerun = subprocess.run(
        command, env=dict(os.environ), capture_output=True, text=True, encoding="utf-8", timeout=WAIT
    )
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr  # done, but one outcome needs a decision
    assert "Traceback" not in rerun.stderr
    assert "1 message interrupted by a crash is now 'unknown'" in rerun.stdout
    assert states(camp, "thanks") == {**dict.fromkeys(THANKED, "sent"), THANKED[1]: "unknown"}
    got = Counter(rcpts(server))
    assert got == Counter([THANKED[0], THANKED[2], THANKED[3]])  # each once; the unknown one never twice
    rows = ledger(camp, "thanks")
    for message in server.received:
        assert parse(message.data)["Message-ID"] == rows[message.rcpt_tos[0]].message_id
    resend = subprocess.run(
        [*command, "--resend-unknown"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=WAIT,
    )
    assert resend.returncode == 0, resend.stdout + resend.stderr
    assert states(camp, "thanks") == dict.fromkeys(THANKED, "sent")
    assert Counter(rcpts(server))[THANKED[1]] == 1
    assert ledger(camp, "recording") == {}  # the other follow-up is its own kind: untouched


def test_another_conferences_event_file_is_refused_naming_both(server, tmp_path):
    # Last week's event file (its own title, date and recording): every attendee would be
    # thanked for a conference they did not attend, with the wrong recording.
    camp = followup_campaign(tmp_path, server)
    with at(2020, 6, 10, 9, 0):
        assert send(camp, "--yes", "--quiet").exit_code == 0
    invited = len(server.received)
    seed = camp.root / "events" / "2020-06-18-innovaciok.toml"
    other = camp.root / "events" / "2020-06-11-masik.toml"
    text = seed.read_text(encoding="utf-8").replace("date = 2020-06-18", "date = 2020-06-11")
    other.write_text(text.replace(RECORDING, "https://video.example.org/masik"), encoding="utf-8")
    title = load_event(seed).title
    with at(2020, 6, 18, 12, 35):
        wrong = followup(camp, "--attended", "--yes", "--event", str(other))
        missed = followup(camp, "--missed", "--yes", "--event", str(other))
        right = followup(camp, "--attended", "--yes", "--quiet")
    assert wrong.exit_code == 2, wrong.output
    assert one_error_line(wrong) == (
        f"lgp-mailer: error: {other}, key 'conference.date': the event file is of {quoted(title)} on 2020-06-11,"
        f" but this campaign's letters were about {quoted(title)} on 2020-06-18: check that this is the"
        " conference's event file ('event' in lgp-mailer.toml, or --event)"
    )
    assert missed.exit_code == 2 and "this campaign's letters were about" in missed.output
    assert right.exit_code == 0, right.output
    assert sorted(rcpts(server)[invited:]) == sorted(THANKED)
