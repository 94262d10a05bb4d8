"""Issue 12: a new conference, safely: init, the guards on dates, the block naming the inputs,
and what changed since the last send."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
from typer.testing import CliRunner

from lgp_mailer.cli import app
from lgp_mailer.config import load_campaign
from lgp_mailer.event import load_event
from lgp_mailer.ledger.events import record_calendar_uid
from lgp_mailer.ledger.store import open_ledger
from lgp_mailer.mail.build import MessageFactory

from sheets_factory import HEADER, write_xlsx
from smtp_server import SmtpTestServer

runner = CliRunner()
BUDAPEST = ZoneInfo("Europe/Budapest")
NEW = [
    "--title",
    "Klímaalkalmazkodás és vízmegtartás",
    "--date",
    "2027-03-11",
    "--start",
    "13.30",
    "--end",
    "15.45",
    "--platform",
    "Microsoft Teams",
    "--registration-url",
    "https://forms.example.org/klima",
]
EVENT_NAME = "2027-03-11-klimaalkalmazkodas-es-vizmegtartas.toml"


def at(*when: int):
    return time_machine.travel(datetime(*when, tzinfo=BUDAPEST), tick=True)


def invoke(*args: str):
    return runner.invoke(app, [*args])


def new_campaign(tmp_path: Path, name: str = "klima") -> Path:
    folder = tmp_path / name
    result = invoke("init", str(folder), *NEW)
    assert result.exit_code == 0, result.output
    return folder


def example_campaign(tmp_path: Path, server: SmtpTestServer | None = None) -> Path:
    folder = tmp_path / "pelda"
    assert invoke("init", str(folder), "--example").exit_code == 0
    if server is not None:
        config = folder / "lgp-mailer.toml"
        config.write_text(
            config.read_text(encoding="utf-8").replace(
                '# host = "smtp.example.org"', f'host = "127.0.0.1"\nport = {server.port}\nsecurity = "none"'
            ),
            encoding="utf-8",
        )
    return folder


# -- init --------------------------------------------------------------------------------------------------


def test_init_writes_an_event_that_parses_and_a_toml_naming_only_the_new_files(tmp_path):
    folder = new_campaign(tmp_path)
    campaign = load_campaign(folder / "lgp-mailer.toml")
    assert campaign.event_path == folder / "events" / EVENT_NAME
    assert campaign.recipients_path == folder / "recipients" / "cimlista.xlsx"
    assert campaign.registrations_path is None
    text = (folder / "lgp-mailer.toml").read_text(encoding="utf-8")
    assert "pelda" not in text and "2020" not in text
    event = load_event(campaign.event_path)
    assert (event.title, event.date.isoformat(), f"{event.start:%H:%M}", f"{event.end:%H:%M}") == (
        "Klímaalkalmazkodás és vízmegtartás",
        "2027-03-11",
        "13:30",
        "15:45",
    )
    assert (event.platform_name, event.registration_url, event.calendar_uid) == (
        "Microsoft Teams",
        "https://forms.example.org/klima",
        None,
    )
    assert [s.title for s in event.agenda] == ["KITÖLTENDŐ: a program pontjai (előadók, címek, időpontok)"]
    assert sorted(p.name for p in (folder / "events").iterdir()) == [EVENT_NAME]
    for sub in ("recipients", "registrations"):
        assert [p.name for p in (folder / sub).iterdir()] == ["README.txt"]
    assert (folder / "recipients" / "README.txt").read_text(encoding="utf-8") == (
        "Put the contact sheet (the municipalities' addresses) here as cimlista.xlsx, "
        "or set 'recipients' in lgp-mailer.toml to its name.\n"
    )


def test_inits_campaign_file_shows_how_to_map_the_registration_forms_headers(tmp_path):
    # An open form's own questions are the usual reason a registration export is not read;
    # the campaign file a user edits shows the table, commented out, and it works as shown.
    folder = new_campaign(tmp_path)
    config = folder / "lgp-mailer.toml"
    assert load_campaign(config).registration_columns == {}
    text = config.read_text(encoding="utf-8")
    block = text[text.index("# [registration_columns]") :].split("\n\n")[0]
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines() if line.startswith(("# [", '# "')))
    config.write_text(text.replace(block, uncommented), encoding="utf-8")
    assert load_campaign(config).registration_columns == {"Elérhetőség": "email"}


def test_each_campaign_has_its_own_calendar_uid(tmp_path):
    uids = set()
    for folder in (new_campaign(tmp_path, "egyik"), new_campaign(tmp_path, "masik"), example_campaign(tmp_path)):
        campaign = load_campaign(folder / "lgp-mailer.toml")
        uids.add(MessageFactory(campaign, load_event(campaign.event_path)).calendar_uid)
    assert len(uids) == 3
    assert "lgp-2020-06-18-innovaciok@lgp.example.org" not in uids  # the example event's old UID


def test_init_refuses_a_non_empty_folder_and_without_a_terminal_names_the_missing_flags(tmp_path):
    (tmp_path / "tele").mkdir()
    (tmp_path / "tele" / "valami.txt").write_text("x", encoding="utf-8")
    result = invoke("init", str(tmp_path / "tele"), *NEW)
    assert (result.exit_code, result.stderr) == (
        2,
        f"lgp-mailer: error: {tmp_path / 'tele'}: is not empty; choose a new or empty folder (nothing was changed)\n",
    )
    result = invoke("init", str(tmp_path / "ures"), "--title", "Valami")
    assert (result.exit_code, result.stderr) == (
        2,
        "lgp-mailer: error: key 'init': a new conference needs --date, --start, --end, --platform, "
        "--registration-url (no terminal to ask on); or use --example\n",
    )
    assert not (tmp_path / "ures").exists()


def test_init_refuses_a_web_address_as_the_platform_name(tmp_path):
    # The letters say "a {name} alkalmazással": an address there reads as nonsense.
    args = [*NEW[:-4], "--platform", "https://bbb.example.org/b/lgp", *NEW[-2:]]
    result = invoke("init", str(tmp_path / "bbb"), *args)
    assert (result.exit_code, result.stderr) == (
        2,
        "lgp-mailer: error: key '--platform': is a web address ('https://bbb.example.org/b/lgp'): give the "
        "platform's name (Zoom, Microsoft Teams, Webex …); its address goes in the event file's platform.url\n",
    )
    assert not (tmp_path / "bbb").exists()


def test_an_agenda_outside_the_conference_times_is_a_warning(tmp_path):
    folder = example_campaign(tmp_path)
    event = folder / "events" / "2020-06-18-innovaciok.toml"
    text = event.read_text(encoding="utf-8")
    # The conference moved half an hour later in [conference], the agenda left as it was.
    event.write_text(
        text.replace('start = "10.00"\nend = "12.35"', 'start = "10.30"\nend = "12.00"', 1), encoding="utf-8"
    )
    with at(2020, 6, 1, 10, 0):
        check = invoke("check", "--campaign", str(folder), "--quiet")
        dry = invoke("send", "--campaign", str(folder), "--dry-run", "--quiet")
    warnings = (
        f"WARNING: {event}, key 'agenda[1].start': the agenda starts at 10:00, before the conference "
        "(conference.start 10:30); the letter would give both times\n"
        f"WARNING: {event}, key 'agenda[9].end': the agenda ends at 12:35, after the conference "
        "(conference.end 12:00); the letter would give both times\n"
    )
    assert (check.exit_code, check.stderr) == (0, warnings)
    assert (dry.exit_code, dry.stderr) == (0, warnings)


def test_check_on_the_empty_campaign_says_what_is_missing(tmp_path):
    folder = new_campaign(tmp_path)
    with at(2026, 11, 29, 10, 0):
        result = invoke("check", "--campaign", str(folder), "--quiet")
    assert result.exit_code == 2
    assert result.stdout == (
        f"Missing: {folder / 'recipients' / 'cimlista.xlsx'}: the contact sheet; put it there "
        "or set 'recipients' in lgp-mailer.toml\n"
    )
    assert result.stderr == f"WARNING: {folder / 'events' / EVENT_NAME}, line 36: still says KITÖLTENDŐ (to fill in)\n"


def test_a_campaign_still_saying_kitoltendo_sends_nothing_but_rehearses(tmp_path, smtp_server):
    """init's placeholder agenda must never reach a mayor: a real send refuses, a dry run warns."""
    folder = new_campaign(tmp_path)
    rows = [["Baranya", "Próbafalu", "Kovács Péter", "polgármester", "F", "pm@probafalu.example"]]
    write_xlsx(folder / "recipients" / "cimlista.xlsx", {"Lista": [HEADER, *rows]})
    event = folder / "events" / EVENT_NAME
    server = ["--host", "127.0.0.1", "--port", str(smtp_server.port), "--security", "none"]
    with at(2027, 3, 1, 10, 0):
        sent = invoke("send", "--campaign", str(folder), *server, "--yes", "--quiet")
        dry = invoke("send", "--campaign", str(folder), "--dry-run", "--quiet")
    assert (sent.exit_code, sent.stdout, sent.stderr) == (
        2,
        "",
        f"lgp-mailer: error: {event}, line 36: still says KITÖLTENDŐ (to fill in): write the real text there "
        "before sending; 'lgp-mailer check' lists every such line\n",
    )
    assert smtp_server.received == [] and smtp_server.handler.mail_count == 0
    warning = f"WARNING: {event}, line 36: still says KITÖLTENDŐ (to fill in)\n"
    assert (dry.exit_code, dry.stderr) == (0, warning)
    event.write_text(
        event.read_text(encoding="utf-8").replace(
            "KITÖLTENDŐ: a program pontjai (előadók, címek, időpontok)", "Előadások és kérdések"
        ),
        encoding="utf-8",
    )
    with at(2027, 3, 1, 10, 5):
        again = invoke("send", "--campaign", str(folder), *server, "--yes", "--quiet")
    assert (again.exit_code, again.stderr) == (0, "")
    assert len(smtp_server.received) == 1 and "KITÖLTENDŐ" not in smtp_server.received[0].data.decode()


# -- the dates ---------------------------------------------------------------------------------------------


def test_a_past_conference_send_refuses_check_and_preview_warn(tmp_path, smtp_server):
    folder = example_campaign(tmp_path, smtp_server)
    event = folder / "events" / "2020-06-18-innovaciok.toml"
    warning = f"WARNING: {event}: conference.date 2020-06-18 is in the past: is this the right event file?\n"
    with at(2020, 6, 19, 9, 0):
        sent = invoke("send", "--campaign", str(folder), "--yes", "--quiet")
        dry = invoke("send", "--campaign", str(folder), "--dry-run", "--quiet")
        check = invoke("check", "--campaign", str(folder), "--quiet")
        preview = invoke("preview", "--campaign", str(folder), "--quiet", "--limit", "1")
    refusal = (
        f"lgp-mailer: error: {event}, key 'conference.date': the conference started at 2020-06-18 10:00 "
        "(Europe/Budapest): no invitation is sent for it; "
        "point the campaign at the next conference's event file\n"
    )
    assert (sent.exit_code, sent.stdout, sent.stderr) == (2, "", refusal)
    assert (dry.exit_code, dry.stderr) == (2, refusal)
    assert smtp_server.received == [] and smtp_server.handler.mail_count == 0
    assert check.exit_code == 0 and check.stderr == warning
    assert preview.exit_code == 0 and preview.stderr == warning
    with at(2020, 6, 18, 9, 59):  # the morning itself: a warning, and not yet a refusal
        today = invoke("check", "--campaign", str(folder), "--quiet")
    assert today.stderr == f"WARNING: {event}: conference.date 2020-06-18 is today: invitations come too late\n"


def test_a_closed_registration_is_a_warning(tmp_path):
    folder = example_campaign(tmp_path)
    config = folder / "lgp-mailer.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'event = "events/2020-06-18-innovaciok.toml"', 'event = "events/2027-03-11-klima.toml"'
        ),
        encoding="utf-8",
    )
    with at(2027, 3, 10, 8, 0):
        result = invoke("preview", "--campaign", str(folder), "--quiet", "--limit", "1")
    assert result.stderr == (
        f"WARNING: {folder / 'events' / '2027-03-11-klima.toml'}: registration.closes 2027-03-09 12:00 has passed: "
        "the invitation asks people to register on a closed form\n"
    )


def test_a_registration_closing_after_the_start_is_a_warning(tmp_path):
    folder = example_campaign(tmp_path)
    event = folder / "events" / "2020-06-18-innovaciok.toml"
    text = event.read_text(encoding="utf-8")
    event.write_text(
        text.replace("[registration]\n", "[registration]\ncloses = 2020-06-19T12:00:00\n"), encoding="utf-8"
    )
    with at(2020, 6, 1, 10, 0):
        result = invoke("check", "--campaign", str(folder), "--quiet")
    assert (result.exit_code, result.stderr) == (
        0,
        f"WARNING: {event}, key 'registration.closes': 2020-06-19 12:00 is after the conference starts "
        "(2020-06-18 10:00): a registration then gets no join link, so the letters name the start as the deadline\n",
    )


def test_an_event_file_with_a_calendar_uid_is_told_what_replaces_it(tmp_path):
    folder = example_campaign(tmp_path)
    event = folder / "events" / "2020-06-18-innovaciok.toml"
    event.write_text(
        event.read_text(encoding="utf-8").replace(
            "[calendar]\n", '[calendar]\nuid = "lgp-2020-06-18-innovaciok@lgp.example.org"\n'
        ),
        encoding="utf-8",
    )
    campaign = load_campaign(folder / "lgp-mailer.toml")
    uid = MessageFactory(campaign, load_event(event)).calendar_uid
    with at(2020, 6, 1, 10, 0):
        result = invoke("check", "--campaign", str(folder), "--quiet")
    assert result.stderr == (
        f"WARNING: {event}: [calendar] uid 'lgp-2020-06-18-innovaciok@lgp.example.org' is ignored: "
        f"the calendar UID belongs to the campaign ({uid}); delete the line\n"
    )


# -- the block naming the inputs ---------------------------------------------------------------------------


def test_the_block_names_every_input_with_its_path(tmp_path):
    folder = example_campaign(tmp_path)
    shutil.copy(folder / "recipients" / "pelda-onkormanyzatok.xlsx", folder / "recipients" / "uj-lista.xlsx")
    campaign = load_campaign(folder / "lgp-mailer.toml")
    block = [
        f"Campaign:      {campaign.campaign_id} ({folder / 'lgp-mailer.toml'})",
        f"Event:         Önkormányzati innovációk és jó gyakorlatok, 2020-06-18 "
        f"({folder / 'events' / '2020-06-18-innovaciok.toml'})",
        f"Sheet:         {folder / 'recipients' / 'pelda-onkormanyzatok.xlsx'}",
        f"Registrations: {folder / 'registrations' / 'pelda-regisztraciok.csv'}",
        f"Sent log:      {Path.home() / 'sent-log.sqlite3'}",
    ]
    with at(2020, 6, 1, 10, 0):
        preview = invoke("preview", "--campaign", str(folder), "--limit", "1")
        check = invoke("check", "--campaign", str(folder))
        quiet = invoke("preview", "--campaign", str(folder), "--limit", "1", "--quiet")
    assert preview.stdout.splitlines()[:5] == block
    assert check.stdout.splitlines()[-5:] == block  # check ends with it
    assert not quiet.stdout.startswith("Campaign:")
    stray = (
        f"WARNING: {folder / 'recipients' / 'uj-lista.xlsx'} is in recipients/ but the campaign reads "
        f"{folder / 'recipients' / 'pelda-onkormanyzatok.xlsx'}: set 'recipients' in lgp-mailer.toml to use it"
    )
    assert stray in preview.stderr.splitlines() and stray in check.stderr.splitlines()


# -- what changed since the last run -----------------------------------------------------------------------


def test_an_event_edited_after_a_send_check_and_send_name_the_changed_fields(tmp_path, smtp_server):
    folder = example_campaign(tmp_path, smtp_server)
    with at(2020, 6, 1, 10, 0):
        assert invoke("send", "--campaign", str(folder), "--yes", "--quiet", "--batch", "2").exit_code == 0
    event = folder / "events" / "2020-06-18-innovaciok.toml"
    text = event.read_text(encoding="utf-8").replace("date = 2020-06-18", "date = 2020-06-19")
    text = text.replace('start = "10.00"', 'start = "10.15"', 1)
    text = text.replace("Projektek az önkormányzatok szolgálatában", "Projektek a települések szolgálatában")
    event.write_text(text, encoding="utf-8")
    since = "Changed since the last run (2020-06-01 08:00 UTC): "
    changed = [
        since + "date: 2020-06-18 -> 2020-06-19",
        since + "start: 10:00 -> 10:15",
        since + "agenda[2].title: Projektek az önkormányzatok szolgálatában -> Projektek a települések szolgálatában",
    ]
    with at(2020, 6, 2, 10, 0):
        check = invoke("check", "--campaign", str(folder), "--quiet")
        again = invoke("send", "--campaign", str(folder), "--yes", "--quiet", "--batch", "1")
    assert check.exit_code == 0, check.output
    assert check.stdout.splitlines()[-3:] == changed
    assert again.exit_code == 0, again.output
    # The start moved and the first slot did not: the letter would give both times.
    early = (
        f"WARNING: {event}, key 'agenda[1].start': the agenda starts at 10:00, before the conference "
        "(conference.start 10:15); the letter would give both times"
    )
    assert again.stderr.splitlines() == [early, *changed]
    assert len(smtp_server.received) == 3


def test_check_warns_when_two_campaigns_share_a_calendar_uid(tmp_path):
    folder = example_campaign(tmp_path)
    campaign = load_campaign(folder / "lgp-mailer.toml")
    with open_ledger(Path.home() / "sent-log.sqlite3") as ledger:
        record_calendar_uid(ledger, "regi-kampany", "kozos@lgp.example.org")
        record_calendar_uid(ledger, campaign.campaign_id, "kozos@lgp.example.org")
    with at(2020, 6, 1, 10, 0):
        result = invoke("check", "--campaign", str(folder), "--quiet")
    assert (
        f"WARNING: calendar UID kozos@lgp.example.org is shared by campaigns {campaign.campaign_id}, regi-kampany: "
        "calendars would merge them"
    ) in result.stderr.splitlines()


# -- the basics ---------------------------------------------------------------------------------------------


def commands(*path: str) -> list[tuple[str, ...]]:
    """Every command and sub-command, from the help pages themselves."""
    result = invoke(*path, "--help")
    if "Commands:" not in result.stdout:
        return [path]
    names = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.startswith("  ")]
    return [path] + [c for name in names for c in commands(*path, name)]


def test_help_shows_placeholders_never_python_types():
    found = commands()
    assert ("smtp", "test") in found and ("init",) in found
    for command in found:
        shown = invoke(*command, "--help").stdout
        assert re.findall(r"<[a-z][a-z_\[\], ]*>", shown) == [], command
    init_help = invoke("init", "--help").stdout
    assert "  DIR  New campaign folder" in init_help and "--date YYYY-MM-DD" in init_help


def test_version_and_shell_completion():
    from lgp_mailer import __version__

    assert invoke("--version").stdout == f"lgp-mailer {__version__}\n"
    shown = invoke("--help").stdout
    assert "--install-completion" in shown and "--show-completion" in shown


def test_readme_starts_with_one_line_that_sets_up_and_previews(repo):
    blocks = re.findall(r"```sh\n(.*?)```", (repo / "README.md").read_text(encoding="utf-8"), re.S)
    first = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && lgp-mailer preview\n"
    assert blocks[0] == first
    assert blocks[1] == ". .venv/bin/activate && python -m pytest\n"


def test_send_names_a_changed_sheet_since_the_last_run(tmp_path, smtp_server):
    folder = example_campaign(tmp_path, smtp_server)
    with at(2020, 6, 1, 10, 0):
        assert invoke("send", "--campaign", str(folder), "--yes", "--quiet", "--batch", "1").exit_code == 0
    rows = [["Baranya", f"Próbafalu {i}", "Kovács Péter", "polgármester", "F", f"pm{i}@falu.example"] for i in (1, 2)]
    new_sheet = write_xlsx(folder / "recipients" / "uj.xlsx", {"Lista": [HEADER, *rows]})
    with at(2020, 6, 2, 10, 0):
        again = invoke("send", "--campaign", str(folder), "--recipients", str(new_sheet), "--yes", "--quiet")
    assert again.exit_code == 0, again.output
    since = "Changed since the last run (2020-06-01 08:00 UTC): "
    old_sheet = folder / "recipients" / "pelda-onkormanyzatok.xlsx"
    assert again.stderr.splitlines() == [
        f"WARNING: {old_sheet} is in recipients/ but the campaign reads {new_sheet}: "
        "set 'recipients' in lgp-mailer.toml to use it",
        since + f"sheet {old_sheet} -> {new_sheet}",
        since + "sheet rows 7 -> 2",
    ]


def test_init_asks_on_a_terminal_for_what_the_flags_leave_out(tmp_path, monkeypatch):
    import lgp_mailer.cli.init as init_cli

    monkeypatch.setattr(init_cli, "can_prompt", lambda non_interactive: True)  # as on a terminal
    folder = tmp_path / "kerdezve"
    answers = "2027-05-20\n9:30\n12.00\nZOOM\nhttps://forms.example.org/tavasz\n"
    result = runner.invoke(app, ["init", str(folder), "--title", "Tavaszi konferencia"], input=answers)
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()[:5]] == [
        "Date (YYYY-MM-DD)",
        "Start time (HH.MM or HH",
        "End time (HH.MM or HH",
        "Platform (e.g. ZOOM, Microsoft Teams)",
        "Registration form link",
    ]
    event = load_event(load_campaign(folder / "lgp-mailer.toml").event_path)
    assert (
        event.title,
        event.date.isoformat(),
        f"{event.start:%H.%M}",
        f"{event.end:%H.%M}",
        event.platform_name,
        event.registration_url,
    ) == ("Tavaszi konferencia", "2027-05-20", "09.30", "12.00", "ZOOM", "https://forms.example.org/tavasz")


def test_next_hints_repeat_the_flags_the_run_needed(tmp_path, smtp_server, before_the_example_conference):
    folder = example_campaign(tmp_path)
    smtp_server.handler.reply_rcpt("polgarmester@alsomocsolad.example", "550 5.1.1 User unknown")
    server = ["--host", "127.0.0.1", "--port", str(smtp_server.port), "--security", "none"]
    result = invoke("send", "--campaign", str(folder), "--yes", "--quiet", "--batch", "3", *server)
    assert result.exit_code == 1, result.output
    again = f"--campaign {folder} --host 127.0.0.1 --port {smtp_server.port} --security none"
    assert [line for line in result.stdout.splitlines() if line.startswith("Next:")] == [
        f"Next: 4 messages still due: run 'lgp-mailer send {again} --batch 3'",
        f"Next: 1 failed permanently: fix the addresses in the sheet, then 'lgp-mailer send {again} --retry-failed'",
    ]


# -- a campaign folder copied for the next conference ------------------------------------------------------


def test_a_copied_campaign_folder_for_another_conference_is_refused_not_taken_as_already_sent(tmp_path, smtp_server):
    """The next conference made by copying last one's folder keeps its campaign_id: every
    mayor sent the old invitation would be 'already sent' and get nothing (and only rows new
    to the sheet would be invited). Another title on another day is another conference."""
    old = example_campaign(tmp_path, smtp_server)
    with at(2020, 6, 1, 10, 0):
        assert invoke("send", "--campaign", str(old), "--yes", "--quiet", "--batch", "2").exit_code == 0
    new = tmp_path / "kovetkezo"
    shutil.copytree(old, new)
    event = new / "events" / "2020-06-18-innovaciok.toml"
    text = event.read_text(encoding="utf-8").replace("date = 2020-06-18", "date = 2020-09-24")
    event.write_text(text.replace("Önkormányzati innovációk és jó gyakorlatok", "Okos falu, okos város"), "utf-8")
    campaign_id = load_campaign(new / "lgp-mailer.toml").campaign_id
    refusal = (
        f"lgp-mailer: error: {event}: campaign '{campaign_id}' was sent for another conference "
        "('Önkormányzati innovációk és jó gyakorlatok', 2020-06-18) and this event file is 'Okos falu, okos város', "
        "2020-09-24: a new conference needs its own campaign ('lgp-mailer init FOLDER' writes a fresh campaign_id); "
        "if it is this conference renamed and moved, tell everyone first with 'lgp-mailer notify --change'"
    )
    with at(2020, 6, 2, 10, 0):
        sent = invoke("send", "--campaign", str(new), "--yes", "--quiet")
        dry = invoke("send", "--campaign", str(new), "--dry-run", "--quiet")
        check = invoke("check", "--campaign", str(new), "--quiet")
    assert (sent.exit_code, dry.exit_code) == (2, 2), sent.output + dry.output
    assert sent.stderr.splitlines() == [refusal]
    assert dry.stderr.splitlines() == [refusal]
    assert refusal.replace("lgp-mailer: error: ", "WARNING: ") in check.stderr.splitlines()
    assert len(smtp_server.received) == 2
    # The same conference moved to another day (a postponement) is still sent: notices tell of it.
    event.write_text(text, "utf-8")
    with at(2020, 6, 2, 10, 0):
        moved = invoke("send", "--campaign", str(new), "--yes", "--quiet", "--batch", "1")
    assert moved.exit_code == 0, moved.output
    assert len(smtp_server.received) == 3
    # Renamed and moved after all: the change notice the refusal names goes, and then the invitation.
    event.write_text(text.replace("Önkormányzati innovációk és jó gyakorlatok", "Okos falu, okos város"), "utf-8")
    with at(2020, 6, 2, 11, 0):
        notice = invoke("notify", "--campaign", str(new), "--change", "--yes", "--quiet")
        after = invoke("send", "--campaign", str(new), "--yes", "--quiet", "--batch", "1")
    assert (notice.exit_code, after.exit_code) == (0, 0), notice.output + after.output
    # Notices to the two invited for 2020-06-18 and to the one invited for the new day under the old
    # title (a new title is a change a notice names), then one more invitation.
    assert len(smtp_server.received) == 3 + 3 + 1


def test_the_last_conferences_campaign_in_the_environment_does_not_quietly_override_this_folder(tmp_path, monkeypatch):
    """LGP_MAILER_CAMPAIGN left pointing at last conference's folder: in the new folder,
    check, preview and send read the old campaign (and send its letters) without a word."""
    old = example_campaign(tmp_path)
    new = new_campaign(tmp_path)
    monkeypatch.chdir(new)
    monkeypatch.setenv("LGP_MAILER_CAMPAIGN", str(old))
    result = invoke("check", "--quiet")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"lgp-mailer: error: {new / 'lgp-mailer.toml'}: this folder's campaign is not the one "
        f"LGP_MAILER_CAMPAIGN names ({old / 'lgp-mailer.toml'}): say which with --campaign, "
        "or unset LGP_MAILER_CAMPAIGN"
    ]
    # An explicit --campaign decides; so does the variable naming this very folder.
    assert "Campaign:      lgp-2027" in invoke("check", "--campaign", str(new)).stdout
    monkeypatch.setenv("LGP_MAILER_CAMPAIGN", str(new / "lgp-mailer.toml"))
    assert "Campaign:      lgp-2027" in invoke("check").stdout
    monkeypatch.chdir(tmp_path)  # no campaign here: the variable is the campaign
    monkeypatch.setenv("LGP_MAILER_CAMPAIGN", str(old))
    assert "Campaign:      lgp-pelda" in invoke("check").stdout


def test_a_link_left_from_the_last_conference_is_named_by_check_and_send(tmp_path, smtp_server):
    """The new event file keeps last conference's registration form or join link: every mayor
    would register on the old form. Another campaign's latest snapshot in the same sent log
    has that very link."""
    old = example_campaign(tmp_path, smtp_server)
    with at(2020, 6, 1, 10, 0):
        assert invoke("send", "--campaign", str(old), "--yes", "--quiet", "--batch", "1").exit_code == 0
    new = new_campaign(tmp_path)
    shutil.copy(old / "recipients" / "pelda-onkormanyzatok.xlsx", new / "recipients" / "cimlista.xlsx")
    event = new / "events" / EVENT_NAME
    old_form = load_event(old / "events" / "2020-06-18-innovaciok.toml").registration_url
    text = event.read_text(encoding="utf-8").replace("https://forms.example.org/klima", old_form)
    text = text.replace("# [online]", "[online]").replace(
        '# join_url = "https://..."', 'join_url = "https://zoom.example.org/j/81234567890?pwd=lgp2020"'
    )
    event.write_text(text, encoding="utf-8")
    old_id = load_campaign(old / "lgp-mailer.toml").campaign_id
    about = f"the same link as campaign '{old_id}' ('Önkormányzati innovációk és jó gyakorlatok', 2020-06-18)"
    expected = [
        f"WARNING: {event}, key 'registration.url': {about}: is it this conference's?",
        f"WARNING: {event}, key 'online.join_url': {about}: is it this conference's?",
    ]
    with at(2027, 2, 1, 10, 0):
        check = invoke("check", "--campaign", str(new), "--quiet")
        dry = invoke("send", "--campaign", str(new), "--dry-run", "--quiet")
    for result in (check, dry):
        assert [line for line in result.stderr.splitlines() if "the same link as" in line] == expected
    # A link of its own is not named.
    event.write_text(text.replace(old_form, "https://forms.example.org/klima"), encoding="utf-8")
    with at(2027, 2, 1, 10, 0):
        check = invoke("check", "--campaign", str(new), "--quiet")
    assert [line for line in check.stderr.splitlines() if "the same link as" in line] == expected[1:]
