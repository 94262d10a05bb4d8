"""``lgp-mailer check``: the findings table, the summary and the exit codes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import lgp_mailer.cli.check  # noqa: F401  (registers the command on the app)
from lgp_mailer.campaign.check import check_file, check_recipients, format_report
from lgp_mailer.cli.app import app
from lgp_mailer.errors import ConfigError, ExitCode, TemplateError
from lgp_mailer.sheets.recipients import Finding, load_recipients

from sheets_factory import HEADER, write_csv, write_xlsx

KNOWN_PROBLEMS = [
    ["Meghívottak – próba"],
    HEADER,
    ["Baranya", "Bikal", "Fehérné Győri Ilona", "jegyző", None, "jegyzo@kozos.hu"],
    ["Baranya", "Mágocs", "Fehérné Győri Ilona", "jegyző", None, "jegyzo@kozos.hu"],
    ["Pest", "Üröm", "Kiss Kim", "polgármester", None, "pm@urom.hu"],
    ["Zala", None, "Nagy Andrea", "polgármester", "nő", "pm@zala.hu"],
    ["Győr-Moson-Sopron", "Gyõr", "Kiss Ödön", "polgármester", None, "kovacs@"],
    ["Pest", "Tök", "Tóth Ferenc", "polgármester", None, '="pm"&"@tok.hu"'],
    ["Baranya", "Pécs", "Péterfy Béla", "polgármester", None, "pm@pecs.hu"],
    ["Baranya", "Pécs", "Péterfy Béla", "polgármester", None, "PM@pecs.hu"],
]


@pytest.fixture
def known(tmp_path):
    return write_xlsx(tmp_path / "kontaktok.xlsx", {"Lap1": KNOWN_PROBLEMS})


def test_findings_of_a_sheet_with_known_problems(known):
    report = check_file(known)
    rows = [(f.severity, f.sheet, f.row, f.column, f.value, f.problem) for f in report.findings]
    assert rows == [
        ("warning", "Lap1", 5, "Név", "Kiss Kim", "gender unknown: neutral salutation"),
        ("problem", "Lap1", 6, "Önkormányzat", "", "missing municipality"),
        ("problem", "Lap1", 7, "E-mail", "kovacs@", "not an address: There must be something after the @-sign."),
        ("warning", "Lap1", 7, "Önkormányzat", "Gyõr", "looks like mojibake (wrong code page); did you mean 'Győr'?"),
        ("problem", "Lap1", 8, "E-mail", '="pm"&"@tok.hu"', "a formula instead of an address"),
        ("warning", "Lap1", 10, "E-mail", "pm@pecs.hu", "an exact copy of row 9: merged into one recipient"),
    ]
    assert all(f.file == str(known) for f in report.findings)
    # Row 10 no longer holds Pécs back (issue 14): an exact copy merges.
    assert (report.recipients, report.municipalities, report.merged, report.rejected) == (3, 4, 2, 3)
    assert report.salutations == {"female": 1, "male": 1, "neutral": 1, "explicit": 0}
    assert report.exit_code == ExitCode.PROBLEMS


def test_the_printed_table(known):
    assert format_report(check_file(known)).splitlines() == [
        "Problems (3):",
        "file            sheet  row  column        value            problem",
        "kontaktok.xlsx  Lap1   6    Önkormányzat                   missing municipality",
        "kontaktok.xlsx  Lap1   7    E-mail        kovacs@          not an address: There must be something after the @-sign.",
        'kontaktok.xlsx  Lap1   8    E-mail        ="pm"&"@tok.hu"  a formula instead of an address',
        "",
        "Warnings (3):",
        "file            sheet  row  column        value       problem",
        "kontaktok.xlsx  Lap1   5    Név           Kiss Kim    gender unknown: neutral salutation",
        "kontaktok.xlsx  Lap1   7    Önkormányzat  Gyõr        looks like mojibake (wrong code page); did you mean 'Győr'?",
        "kontaktok.xlsx  Lap1   10   E-mail        pm@pecs.hu  an exact copy of row 9: merged into one recipient",
        "",
        "Rows: 8 read = 3 recipient(s) + 2 merged into an earlier row + 3 held back by problems.",
        "Recipients: 3 address(es) covering 4 municipality(ies); 3 address(es) or cell(s) held back.",
        "Salutations: 1 female, 1 male, 1 neutral, 0 explicit.",
        (
            "Result: 3 problem(s), 3 warning(s), 1 of them garbled text (exit 1): save the sheet as CSV UTF-8 "
            "(mentse CSV UTF-8 formátumban) from the original."
        ),
    ]


def test_warnings_never_change_the_exit_code(tmp_path):
    rows = [HEADER, ["Pest", "Üröm", "Kiss Kim", "polgármester", None, "pm@urom.hu"]]
    report = check_file(write_csv(tmp_path / "a.csv", rows))
    assert [f.severity for f in report.findings] == ["warning"]
    assert report.exit_code == ExitCode.OK


def test_a_template_error_stops_the_check_naming_the_recipient(tmp_path):
    # Issue 14: the template's fault, not the row's: exit 2, not one problem per row.
    rows = [HEADER, ["Pest", "Üröm", "Kiss Ödön", "polgármester", None, "pm@urom.hu"]]
    path = write_csv(tmp_path / "a.csv", rows)

    def render_one(recipient):
        raise TemplateError("undefined name 'event.venue'", file="invitation.txt.j2", line=12)

    with pytest.raises(TemplateError) as caught:
        check_recipients(load_recipients(path), render_one=render_one)
    assert str(caught.value) == "invitation.txt.j2, line 12: undefined name 'event.venue' (the message to pm@urom.hu)"
    assert caught.value.exit_code == ExitCode.USAGE


def test_other_render_failures_become_problem_rows(tmp_path):
    rows = [HEADER, ["Pest", "Üröm", "Kiss Ödön", "polgármester", None, "pm@urom.hu"]]
    path = write_csv(tmp_path / "a.csv", rows)
    seen = []

    def render_one(recipient):
        seen.append(recipient.email)
        raise ConfigError("the sender's domain has no DKIM key", file="lgp-mailer.toml", key="dkim")

    report = check_recipients(load_recipients(path), render_one=render_one)
    assert seen == ["pm@urom.hu"]
    assert report.findings == (
        Finding(
            "problem",
            "cannot render the message: the sender's domain has no DKIM key",
            "lgp-mailer.toml",
            None,
            2,
            None,
            "pm@urom.hu",
        ),
    )
    assert report.exit_code == ExitCode.PROBLEMS


# --- the command ---------------------------------------------------------------


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no campaign here: the shipped example's event and templates

    def invoke(*args):
        return CliRunner().invoke(app, ["check", *map(str, args)])

    return invoke


def test_check_command_prints_the_table_and_exits_1(run, known):
    result = run("--recipients", known, "--quiet")
    assert result.exit_code == 1, result.output
    table = format_report(check_file(known)).splitlines()
    # The table first; then the shipped campaign's registrations, matched against this sheet.
    assert result.stdout.splitlines()[: len(table)] == table
    assert result.stdout.splitlines()[len(table)].startswith("Registrations: ")


def test_check_command_on_the_shipped_example_is_clean(run):
    result = run()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    end = lines.index("Result: 0 problem(s), 5 warning(s).")
    assert lines[end - 3 : end + 1] == [
        "Rows: 8 read = 7 recipient(s) + 1 merged into an earlier row + 0 held back by problems.",
        "Recipients: 7 address(es) covering 8 municipality(ies); 0 address(es) or cell(s) held back.",
        "Salutations: 4 female, 2 male, 1 neutral, 0 explicit.",
        # The example's invented "-próba" places are not in the KSH list (issue 14): 4 warnings.
        "Result: 0 problem(s), 5 warning(s).",
    ]
    # check ends with the block naming its inputs (the shipped example's).
    assert lines[-5].startswith("Campaign:      lgp-2020-06-18-innovaciok (")
    assert lines[-1].startswith("Sent log:      ")


def test_check_command_column_mapping_and_sheet(run, tmp_path):
    rows = [["Hivatal", "Hivatali elérhetőség", "Vezető"], ["Bikal", "pm@bikal.hu", "Kiss Ödön"]]
    path = write_xlsx(tmp_path / "sajat.xlsx", {"Első": [], "Címek": rows})
    result = run(
        "--recipients",
        path,
        "--sheet",
        "Címek",
        "--column",
        "Hivatal=municipality",
        "--column",
        "Hivatali elérhetőség=email",
        "--column",
        "Vezető=name",
    )
    assert result.exit_code == 0, result.output
    assert "Salutations: 0 female, 1 male, 0 neutral, 0 explicit." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--recipients", "lista.pdf"],
            "lista.pdf: unknown format '.pdf': use one of .xlsx, .xlsm, .xls, .ods, .csv, .txt",
        ),
        (["--column", "no-equals-sign"], "key '--column': expected HEADER=FIELD, got 'no-equals-sign'"),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(run, tmp_path, args, message):
    (tmp_path / "lista.pdf").write_bytes(b"%PDF")
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    # Before it, at most the note that the shipped example campaign is in use.
    errors = [line for line in result.stderr.splitlines() if line.startswith("lgp-mailer: error: ")]
    assert len(errors) == 1 and errors[0].endswith(message)
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    assert "Traceback" not in result.output


def test_missing_event_file_is_exit_2(run, tmp_path):
    result = run("--event", tmp_path / "nincs.toml")
    assert result.exit_code == 2
    assert (
        result.stdout.splitlines()[0]
        == f"Missing: {tmp_path / 'nincs.toml'}: the event file ('event' in lgp-mailer.toml)"
    )
    assert "Traceback" not in result.output


def test_a_missing_sheet_is_named_with_exit_2(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("--recipients", "nincs.xlsx", "--quiet")
    assert result.exit_code == 2
    assert result.stdout == (
        f"Missing: {tmp_path / 'nincs.xlsx'}: the contact sheet; put it there or set 'recipients' in lgp-mailer.toml\n"
    )
