"""The registration form's export: loading, the latest answer, matching, reminders, the report."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import os
from pathlib import Path

import pytest

from lgp_mailer.campaign.matching import (
    NO_MUNICIPALITY,
    Match,
    MatchReport,
    format_match_report,
    match_registrations,
    municipality_key,
    reminder_recipients,
)
from lgp_mailer.errors import ExitCode, RecipientsError
from lgp_mailer.sheets.recipients import Finding, Recipient, load_recipients
from lgp_mailer.sheets.registrations import Registrant, load_registrations, parse_timestamp, single_address

from sheets_factory import write_xlsx

FORM_HEADER = ["Időbélyeg", "E-mail-cím", "Név", "Önkormányzat", "Beosztás"]
UTC = dt.UTC


def google_csv(path: Path, rows: list[list], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """As Google Forms exports: every field quoted, CRLF; cp1250/";" as Hungarian Excel re-saves it."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def written_at(path: Path, when: dt.datetime) -> Path:
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def recipient(email: str, *municipalities: str, name: str | None = None, role: str = "polgármester") -> Recipient:
    return Recipient(email, municipalities, "Tisztelt Polgármester Asszony, Polgármester Úr!", "Baranya", name, role)


def regs(rows: list[list], tmp_path: Path, name: str = "valaszok.csv"):
    return load_registrations(google_csv(tmp_path / name, [FORM_HEADER, *rows]))


def summary(registrations) -> list[tuple]:
    return [(r.email, r.name, r.municipality, r.role, r.registered_at, r.row) for r in registrations.registrants]


# --- formats and encodings --------------------------------------------------------


def test_google_forms_csv_in_utf8(tmp_path):
    loaded = regs(
        [
            ["2020. 06. 08. 9:12:44", "polgarmester@alsomocsolad.hu", "Kiss Ödön", "Alsómocsolád", "Polgármester"],
            ["2020. 06. 09. 14:03:10", "jegyzo@bikal.hu", "Fehérné Győri Ilona", "Bikal", "jegyző"],
        ],
        tmp_path,
    )
    assert summary(loaded) == [
        (
            "polgarmester@alsomocsolad.hu",
            "Kiss Ödön",
            "Alsómocsolád",
            "Polgármester",
            dt.datetime(2020, 6, 8, 9, 12, 44),
            2,
        ),
        ("jegyzo@bikal.hu", "Fehérné Győri Ilona", "Bikal", "jegyző", dt.datetime(2020, 6, 9, 14, 3, 10), 3),
    ]
    assert loaded.findings == []
    assert loaded.duplicates == 0
    assert loaded.path == tmp_path / "valaszok.csv"


def test_cp1250_semicolon_csv_as_excel_resaves_it(tmp_path):
    path = google_csv(
        tmp_path / "valaszok.csv",
        [
            ["Időbélyeg", "E-mail-cím", "Teljes név", "Önkormányzat neve", "Beosztás"],
            ["2020.06.10. 10:15", "hivatal@ororszentmiklos.hu", "Őri Ödönné", "Őrszentmiklós", "jegyző"],
            ["2020.06.10. 11:05", "pm@gyor.hu", "Szűcs Űrsula", "Győr Megyei Jogú Város", "polgármester"],
        ],
        encoding="cp1250",
        delimiter=";",
    )
    loaded = load_registrations(path)
    assert summary(loaded) == [
        ("hivatal@ororszentmiklos.hu", "Őri Ödönné", "Őrszentmiklós", "jegyző", dt.datetime(2020, 6, 10, 10, 15), 2),
        ("pm@gyor.hu", "Szűcs Űrsula", "Győr Megyei Jogú Város", "polgármester", dt.datetime(2020, 6, 10, 11, 5), 3),
    ]
    assert loaded.findings == []


def test_xlsx_with_datetime_cells_and_english_headers(tmp_path):
    path = write_xlsx(
        tmp_path / "valaszok.xlsx",
        {
            "Űrlapválaszok 1": [
                ["Timestamp", "Email Address", "Full name", "Település", "Position"],
                [
                    dt.datetime(2020, 6, 8, 9, 12, 44),
                    "kiss@alsomocsolad.hu",
                    "Kiss Ödön",
                    "Alsómocsolád",
                    "polgármester",
                ],
                [dt.datetime(2020, 6, 9, 0, 0), "nagy@bikal.hu", "Nagy Andrea", "Bikal", None],
            ]
        },
    )
    loaded = load_registrations(path)
    assert summary(loaded) == [
        ("kiss@alsomocsolad.hu", "Kiss Ödön", "Alsómocsolád", "polgármester", dt.datetime(2020, 6, 8, 9, 12, 44), 2),
        ("nagy@bikal.hu", "Nagy Andrea", "Bikal", None, dt.datetime(2020, 6, 9), 3),
    ]
    assert [r.sheet for r in loaded.registrants] == ["Űrlapválaszok 1", "Űrlapválaszok 1"]


FORMS_HU = ["Azonosító", "Kezdési idő", "Befejezési idő", "E-mail", "Név", "Utolsó módosítás időpontja"]
FORMS_EN = ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time"]


def _forms(tmp_path: Path, fixed: list[str], questions: list[str], answers: list[list[object]]) -> Path:
    """A Microsoft Forms Excel download: the fixed columns, then the form's questions."""
    rows: list[list[object]] = [fixed + questions]
    for n, (account, name, *answer) in enumerate(answers, start=1):
        start = dt.datetime(2026, 6, n, 9, 0)
        rows.append([n, start, start + dt.timedelta(minutes=2), account, name, None, *answer])
    return write_xlsx(tmp_path / "forms.xlsx", {"Sheet1": rows})


def test_a_microsoft_forms_download_is_read_by_its_questions_not_the_account(tmp_path):
    """An anonymous form: the account columns say "anonymous"; the questions say who registered.
    The completion time is the answer's timestamp, so a later answer of the same person wins."""
    path = _forms(
        tmp_path,
        FORMS_HU,
        ["Neve", "E-mail-címe", "Melyik önkormányzatot képviseli?", "Beosztása"],
        [
            ["anonymous", None, "Kiss Ödön", "polgarmester@alsomocsolad.example", "Alsómocsolád", "polgármester"],
            ["anonymous", None, "Nagy Éva", "jegyzo@felsofalu.example", "Felsőfalu", "jegyző"],
            ["anonymous", None, "Kiss Ödön", "Polgarmester@Alsomocsolad.example", "Alsómocsolád", "polgármester"],
        ],
    )
    loaded = load_registrations(path)
    assert (summary(loaded), loaded.findings, loaded.duplicates) == (
        [
            ("jegyzo@felsofalu.example", "Nagy Éva", "Felsőfalu", "jegyző", dt.datetime(2026, 6, 2, 9, 2), 3),
            (
                "Polgarmester@alsomocsolad.example",
                "Kiss Ödön",
                "Alsómocsolád",
                "polgármester",
                dt.datetime(2026, 6, 3, 9, 2),
                4,
            ),
        ],
        [],
        1,
    )


def test_a_signed_in_microsoft_forms_download_without_an_address_question_uses_the_account(tmp_path):
    path = _forms(
        tmp_path,
        FORMS_EN,
        ["Your name", "Municipality"],
        [["kiss.odon@alsomocsolad.example", "Kiss Ödön (Alsómocsolád)", "Kiss Ödön", "Alsómocsolád"]],
    )
    loaded = load_registrations(path)
    assert summary(loaded) == [
        ("kiss.odon@alsomocsolad.example", "Kiss Ödön", "Alsómocsolád", None, dt.datetime(2026, 6, 1, 9, 2), 2)
    ]
    # A column the office mapped itself is kept as mapped: here the account's e-mail.
    mapped = load_registrations(
        _forms(
            tmp_path,
            FORMS_EN,
            ["Your e-mail address"],
            [["fiok@alsomocsolad.example", "Kiss Ödön", "kiss@alsomocsolad.example"]],
        ),
        columns={"Email": "email", "Your e-mail address": "ignore"},
    )
    assert [r.email for r in mapped.registrants] == ["fiok@alsomocsolad.example"]


def test_an_address_question_written_as_a_sentence_is_the_email_column(tmp_path):
    """Google Forms quiz with a consent checkbox: the question text is the header; the consent
    checkbox mentions e-mail too but is not the address."""
    path = google_csv(
        tmp_path / "valaszok.csv",
        [
            [
                "Időbélyeg",
                "Pontszám",
                "Kérjük, adja meg e-mail-címét",
                "Az Ön neve",
                "Hozzájárulok, hogy e-mail-címemet az adatkezelési tájékoztató szerint kezeljék",
            ],
            ["2026. 06. 01. 9:02:11", "0 / 0", "polgarmester@alsomocsolad.example", "Kiss Ödön", "Igen"],
        ],
    )
    loaded = load_registrations(path)
    assert (summary(loaded), loaded.findings) == (
        [("polgarmester@alsomocsolad.example", "Kiss Ödön", None, None, dt.datetime(2026, 6, 1, 9, 2, 11), 2)],
        [],
    )
    # A title above the table that mentions e-mail is not the header.
    titled = write_xlsx(
        tmp_path / "kezi.xlsx",
        {
            "Munka1": [
                ["A regisztráltak e-mail-címei"],
                [],
                ["Kérjük, adja meg e-mail-címét", "Megjegyzés"],
                ["polgarmester@alsomocsolad.example", "Kiss Ödön jön"],
            ]
        },
    )
    read = load_registrations(titled)
    assert ([(r.email, r.row) for r in read.registrants], [(f.problem, f.row) for f in read.findings]) == (
        [("polgarmester@alsomocsolad.example", 4)],
        [("no timestamp column (Időbélyeg): of two answers the later row wins", 3)],
    )
    # An answer is not a header, even one whose address and municipality read like questions.
    answer = google_csv(
        tmp_path / "valasz.csv",
        [["E-mail", "Megjegyzés"], ["email@alsomocsolad.example", "Alsómocsolád Önkormányzata"]],
    )
    assert [(r.email, r.row) for r in load_registrations(answer).registrants] == [("email@alsomocsolad.example", 2)]
    # Two questions asking for an address: which one is for the user's [columns].
    two = google_csv(
        tmp_path / "ketto.csv",
        [
            ["Időbélyeg", "Your e-mail address at work", "Your private e-mail address"],
            ["6/1/2026 9:02:11", "a@b.example", "c@d.example"],
        ],
    )
    with pytest.raises(RecipientsError) as caught:
        load_registrations(two)
    assert str(caught.value) == (
        f"{two}, row 1: 2 columns could be the e-mail column ('Your e-mail address at work', "
        "'Your private e-mail address'): map the one to send to in [registration_columns]"
    )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("kiss@alsomocsolad.example;", "kiss@alsomocsolad.example"),
        ("kiss@alsomocsolad.example, ", "kiss@alsomocsolad.example"),
        ("kiss@alsomocsolad.example.", "kiss@alsomocsolad.example"),
        ("Kiss Ödön <kiss@alsomocsolad.example>;", "kiss@alsomocsolad.example"),
        ("kiss@alsomocsolad.example; victim@aldozat.example", None),
        ("kiss@alsomocsolad.example; victim@aldozat.example;", None),
    ],
)
def test_a_separator_after_the_one_address_is_not_a_second_address(cell, expected):
    assert single_address(cell) == expected


def test_a_column_without_a_single_address_is_one_error_naming_it(tmp_path):
    """No e-mail column but a yes/no question mentioning e-mail: the question is taken for the
    address, and then every row would be a problem and nobody reminded.  One line instead."""
    header = ["Időbélyeg", "Név", "Szeretne e-mailben értesítést kapni a jövőbeli rendezvényekről?"]
    answers = [["2026. 06. 01. 9:02:11", f"Résztvevő {n}", "Igen"] for n in range(3)]
    path = google_csv(tmp_path / "valaszok.csv", [header, *answers])
    with pytest.raises(RecipientsError) as caught:
        load_registrations(path)
    assert str(caught.value) == (
        f"{path}, column 'Szeretne e-mailben értesítést kapni a jövőbeli rendezvényekről?': no row has an "
        "address in this column: map the column with the addresses in [registration_columns]"
    )
    # Two answers without an address are two typos, reported per row.
    few = load_registrations(google_csv(tmp_path / "ketto.csv", [header, *answers[:2]]))
    assert [(f.severity, f.row) for f in few.findings] == [("problem", 2), ("problem", 3)]


def test_a_typeform_export_s_questions_give_the_address_and_the_municipality(tmp_path):
    """The municipality asked in a sentence is what matches a registrant to the invitation list;
    a question about the municipality's type or size is not it."""
    path = google_csv(
        tmp_path / "typeform.csv",
        [
            [
                "#",
                "What's your email address?",
                "Melyik településről jelentkezik?",
                "Az önkormányzat típusa",
                "Submit Date (UTC)",
            ],
            ["a1", "kiss@alsomocsolad.example", "Alsómocsolád", "község", "2026-06-01 09:02:11"],
        ],
    )
    loaded = load_registrations(path)
    assert (summary(loaded), loaded.findings) == (
        [("kiss@alsomocsolad.example", None, "Alsómocsolád", None, dt.datetime(2026, 6, 1, 9, 2, 11), 2)],
        [],
    )


def test_an_anonymous_microsoft_forms_download_with_a_sentence_for_the_address(tmp_path):
    """The account column says "anonymous": the question asking for the address must win, or no
    registrant at all would be reminded."""
    path = _forms(
        tmp_path,
        FORMS_EN,
        ["What is your e-mail address?", "Your name", "Municipality"],
        [["anonymous", None, "polgarmester@alsomocsolad.example", "Kiss Ödön", "Alsómocsolád"]],
    )
    loaded = load_registrations(path)
    assert (summary(loaded), loaded.findings) == (
        [("polgarmester@alsomocsolad.example", "Kiss Ödön", "Alsómocsolád", None, dt.datetime(2026, 6, 1, 9, 2), 2)],
        [],
    )


@pytest.mark.parametrize(
    ("header", "stamps"),
    [
        (["Response ID", "Date submitted", "E-mail", "Name"], ["2026-06-01 09:02:11", "2026-05-30 08:00:00"]),
        (["#", "E-mail", "Name", "Submit Date (UTC)"], ["2026-06-01 09:02:11", "2026-05-30 08:00:00"]),
        (["Sorszám", "Név", "E-mail cím", "Dátum"], ["2026.06.01.", "2026.05.30."]),
    ],
)
def test_other_forms_timestamps_decide_between_two_answers(tmp_path, header, stamps):
    """LimeSurvey, Typeform and a list typed by hand: their date column is the timestamp, so an
    answer typed in late at the bottom for an earlier date does not win over the latest one."""
    table = [header]
    for stamp, name in zip(stamps, ["Kiss Ödön", "Kiss Ö."], strict=True):
        by_field = {"E-mail": "kiss@alsomocsolad.example", "E-mail cím": "kiss@alsomocsolad.example", "Name": name}
        by_field |= {"Név": name, "Date submitted": stamp, "Submit Date (UTC)": stamp, "Dátum": stamp}
        table.append([by_field.get(cell, "1") for cell in header])
    loaded = load_registrations(google_csv(tmp_path / "export.csv", table))
    assert ([r.name for r in loaded.registrants], loaded.findings, loaded.duplicates) == (["Kiss Ödön"], [], 1)


def test_an_anonymous_microsoft_forms_download_with_no_address_question_is_one_error(tmp_path):
    """No question was recognised as the address: 'anonymous' is every row's address.  One line
    saying what to map, not a problem per row and a run that reminds nobody."""
    path = _forms(
        tmp_path,
        FORMS_HU,
        ["Elérhetőség", "Önkormányzat neve"],
        [
            ["anonymous", None, "a@alsomocsolad.example", "Alsómocsolád"],
            ["anonymous", None, "b@bikal.example", "Bikal"],
        ],
    )
    with pytest.raises(RecipientsError) as caught:
        load_registrations(path)
    assert caught.value.exit_code == ExitCode.USAGE
    assert str(caught.value) == (
        f"{path}, sheet 'Sheet1', column 'E-mail': 'anonymous' on every row (a form without sign-in): map the "
        'question asking for the address in [registration_columns], e.g. "Az Ön e-mail-címe" = "email"'
    )
    mapped = load_registrations(path, columns={"Elérhetőség": "email"})
    assert [r.email for r in mapped.registrants] == ["a@alsomocsolad.example", "b@bikal.example"]


def test_a_microsoft_forms_quiz_s_points_and_feedback_columns_are_not_the_address(tmp_path):
    path = _forms(
        tmp_path,
        FORMS_EN,
        [
            "What is your e-mail address?",
            "Points - What is your e-mail address?",
            "Feedback - What is your e-mail address?",
        ],
        [["anonymous", None, "kiss@alsomocsolad.example", 0, None]],
    )
    assert [r.email for r in load_registrations(path).registrants] == ["kiss@alsomocsolad.example"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020. 06. 10. 10:15:32", dt.datetime(2020, 6, 10, 10, 15, 32)),
        ("2020. 6. 10. 9:05:00", dt.datetime(2020, 6, 10, 9, 5)),
        ("2020.06.10. 10:15", dt.datetime(2020, 6, 10, 10, 15)),
        ("2020/06/10 10:15:32 DU CEST", dt.datetime(2020, 6, 10, 22, 15, 32)),
        ("2020/06/10 12:15:32 de. CEST", dt.datetime(2020, 6, 10, 0, 15, 32)),
        ("2020/06/10 1:15:32 PM GMT+2", dt.datetime(2020, 6, 10, 13, 15, 32)),
        ("2020. 06. 10. du. 3:15:32", dt.datetime(2020, 6, 10, 15, 15, 32)),
        ("2020. 06. 10. du. 3:15:32 du.", None),
        ("6/10/2020 10:15:32", dt.datetime(2020, 6, 10, 10, 15, 32)),
        ("2020-06-10 10:15:32.250000", dt.datetime(2020, 6, 10, 10, 15, 32)),
        ("2020-06-10T10:15:32Z", dt.datetime(2020, 6, 10, 10, 15, 32)),
        ("2020-06-10", dt.datetime(2020, 6, 10)),
        ("10.06.2020 10:15", dt.datetime(2020, 6, 10, 10, 15)),
        ("tegnap délután", None),
        ("2020. 13. 10. 10:15", None),
        ("2020. 06. 10. 25:15", None),
        ("2020/06/10 13:15 PM", None),
        ("", None),
    ],
)
def test_timestamp_forms(text, expected):
    assert parse_timestamp(text) == expected


def test_slashes_are_day_first_when_the_file_says_so(tmp_path):
    loaded = regs(
        [["13/06/2020 10:00:00", "a@a.hu", "", "", ""], ["10/06/2020 10:00:00", "b@b.hu", "", "", ""]],
        tmp_path,
    )
    assert [r.registered_at for r in loaded.registrants] == [dt.datetime(2020, 6, 13, 10), dt.datetime(2020, 6, 10, 10)]


# --- one answer per address --------------------------------------------------------


def test_double_registration_the_latest_timestamp_wins_over_row_order(tmp_path):
    loaded = regs(
        [
            ["2020. 06. 16. 16:20:33", "Kiss@Alsomocsolad.hu", "Kiss Ödön", "Alsómocsolád", "polgármester"],
            ["2020. 06. 08. 9:12:44", "kiss@alsomocsolad.hu", "Kis Ödön", "Alsómocsolád község", "polgármestr"],
            ["2020. 06. 09. 8:00:00", "jegyzo@bikal.hu", "Fehérné Győri Ilona", "Bikal", "jegyző"],
        ],
        tmp_path,
    )
    assert summary(loaded) == [
        ("Kiss@alsomocsolad.hu", "Kiss Ödön", "Alsómocsolád", "polgármester", dt.datetime(2020, 6, 16, 16, 20, 33), 2),
        ("jegyzo@bikal.hu", "Fehérné Győri Ilona", "Bikal", "jegyző", dt.datetime(2020, 6, 9, 8), 4),
    ]
    assert loaded.duplicates == 1


def test_equal_timestamps_and_a_missing_one_fall_back_to_row_order(tmp_path):
    loaded = regs(
        [
            ["2020. 06. 08. 9:00:00", "a@a.hu", "Első", "", ""],
            ["2020. 06. 08. 9:00:00", "a@a.hu", "Második", "", ""],
            ["2020. 06. 20. 9:00:00", "b@b.hu", "Első B", "", ""],
            ["tegnap", "b@b.hu", "Második B", "", ""],
        ],
        tmp_path,
    )
    assert [(r.email, r.name, r.row) for r in loaded.registrants] == [
        ("a@a.hu", "Második", 3),
        ("b@b.hu", "Második B", 5),
    ]
    assert loaded.duplicates == 2
    assert loaded.findings == [
        Finding(
            "warning",
            "timestamp not recognised: row order decides between this address's answers",
            str(tmp_path / "valaszok.csv"),
            None,
            5,
            "Időbélyeg",
            "tegnap",
        )
    ]


def test_no_timestamp_column_is_one_warning_and_the_later_row_wins(tmp_path):
    path = google_csv(
        tmp_path / "valaszok.csv",
        [["E-mail-cím", "Név"], ["a@a.hu", "Első"], ["A@A.HU", "Második"]],
    )
    loaded = load_registrations(path)
    assert [(r.email, r.name, r.registered_at) for r in loaded.registrants] == [("A@a.hu", "Második", None)]
    assert [(f.severity, f.problem, f.row) for f in loaded.findings] == [
        ("warning", "no timestamp column (Időbélyeg): of two answers the later row wins", 1)
    ]


# --- bad input ------------------------------------------------------------------------


def test_bad_address_rows_are_problems_and_the_rest_still_load(tmp_path):
    loaded = regs(
        [
            ["2020. 06. 08. 9:00:00", "kovacs@", "Kovács János", "Bikal", ""],
            ["2020. 06. 08. 9:01:00", "", "Senki", "Bikal", ""],
            ["2020. 06. 08. 9:02:00", "jo@bikal.hu", "Jó Ödön", "Bikal", ""],
        ],
        tmp_path,
    )
    assert [r.email for r in loaded.registrants] == ["jo@bikal.hu"]
    file = str(tmp_path / "valaszok.csv")
    assert loaded.problems == [
        Finding(
            "problem",
            "not an address: There must be something after the @-sign.",
            file,
            None,
            2,
            "E-mail-cím",
            "kovacs@",
        ),
        Finding("problem", "no e-mail address", file, None, 3, "E-mail-cím", ""),
    ]


def test_missing_email_column_is_a_usage_error(tmp_path):
    path = google_csv(
        tmp_path / "valaszok.csv", [["Időbélyeg", "Név", "Önkormányzat"], ["2020. 06. 08. 9:00:00", "Kiss", "Bikal"]]
    )
    with pytest.raises(RecipientsError) as caught:
        load_registrations(path)
    assert caught.value.exit_code == ExitCode.USAGE == 2
    assert str(caught.value) == (
        f"{path}, row 1: no e-mail column (found 'Időbélyeg', 'Név', 'Önkormányzat'); "
        "name it 'E-mail' or map it in [registration_columns]"
    )


def test_column_mapping_with_the_timestamp_field_and_unknown_fields(tmp_path):
    path = google_csv(
        tmp_path / "valaszok.csv",
        [["Beküldve", "Elérhetőség", "Ki jön?"], ["2020. 06. 08. 9:00:00", "kiss@bikal.hu", "Kiss Ödön"]],
    )
    loaded = load_registrations(path, columns={"Beküldve": "timestamp", "Elérhetőség": "email", "Ki jön?": "name"})
    assert summary(loaded) == [("kiss@bikal.hu", "Kiss Ödön", None, None, dt.datetime(2020, 6, 8, 9), 2)]
    with pytest.raises(RecipientsError, match="the field must be one of timestamp, email, name, municipality, role"):
        load_registrations(path, columns={"Beküldve": "county"})


def test_all_sheets_skips_a_sheet_without_a_registration_header(tmp_path):
    path = write_xlsx(
        tmp_path / "valaszok.xlsx",
        {
            "Kimutatás": [["Önkormányzat", "Fő"], ["Bikal", 2]],
            "Űrlapválaszok 1": [FORM_HEADER, ["2020. 06. 08. 9:00:00", "kiss@bikal.hu", "Kiss Ödön", "Bikal", ""]],
        },
    )
    loaded = load_registrations(path, sheet="all")
    assert [(r.email, r.sheet, r.row) for r in loaded.registrants] == [("kiss@bikal.hu", "Űrlapválaszok 1", 2)]
    assert [(f.severity, f.sheet, f.problem) for f in loaded.findings] == [
        (
            "warning",
            "Kimutatás",
            "sheet skipped: no e-mail column (found 'Önkormányzat'); name it 'E-mail' or map it in [registration_columns]",
        )
    ]
    with pytest.raises(RecipientsError, match="sheet 'Kimutatás', row 1: no e-mail column"):
        load_registrations(path)  # the first non-empty sheet, as for the invitation list


def test_header_only_export_means_nobody_registered_yet(tmp_path):
    loaded = regs([], tmp_path)
    assert loaded.registrants == [] and loaded.findings == [] and loaded.duplicates == 0


def test_template_braces_in_a_name_are_dropped_with_a_warning(tmp_path):
    loaded = regs([["2020. 06. 08. 9:00:00", "kiss@bikal.hu", "{{ event.passcode }}", "Bikal", ""]], tmp_path)
    assert summary(loaded) == [("kiss@bikal.hu", None, "Bikal", None, dt.datetime(2020, 6, 8, 9), 2)]
    assert [(f.severity, f.problem, f.column) for f in loaded.findings] == [
        ("warning", "template braces in a cell: the value is not used", "Név")
    ]


# --- matching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Alsómocsolád Község Önkormányzata", "alsomocsolad"),
        ("alsomocsolad", "alsomocsolad"),
        ("  ALSÓMOCSOLÁD  község ", "alsomocsolad"),
        ("Mágocsi Közös Önkormányzati Hivatal", "magocsi"),
        ("Ibrány Város Polgármesteri Hivatala", "ibrany"),
        ("Győr Megyei Jogú Város Önkormányzata", "gyor"),
        ("Tiszaszentimre Nagyközség Önkormányzat", "tiszaszentimre"),
        ("Városlőd Községi Önkormányzat", "varoslod"),
        ("Üröm-próba Önkormányzata", "uromproba"),
        ("Önkormányzat", ""),
        # As people abbreviate on a form: "Önk.", "Önkorm.", "PH", "Pmh."
        ("Alsómocsolád Önk.", "alsomocsolad"),
        ("Alsómocsolád Község Önkorm.", "alsomocsolad"),
        ("Ibrány Város PH", "ibrany"),
        ("Ibrány Pmh.", "ibrany"),
    ],
)
def test_municipality_key(name, key):
    assert municipality_key(name) == key


ALSOMOCSOLAD = recipient("polgarmester@alsomocsolad.hu", "Alsómocsolád", name="Kiss Ödön")
JOINT_OFFICE = recipient(
    "jegyzo@magocs.hu", "Mágocs", "Bikal", "Alsómocsolád-próba", name="Fehérné Győri Ilona", role="jegyző"
)
UROM = recipient("hivatal@urom.hu", "Üröm")
UROM_MAYOR = recipient("polgarmester@urom.hu", "Üröm", name="Nagy Andrea")
LIST = [ALSOMOCSOLAD, JOINT_OFFICE, UROM, UROM_MAYOR]


def test_matching_by_address_then_by_municipality(tmp_path):
    loaded = regs(
        [
            ["2020. 06. 08. 9:00:00", "Polgarmester@Alsomocsolad.hu", "Kiss Ödön", "", ""],
            [
                "2020. 06. 08. 9:01:00",
                "titkarsag@gmail.com",
                "Szabó Éva",
                "Alsómocsolád Község Önkormányzata",
                "titkár",
            ],
            ["2020. 06. 08. 9:02:00", "aljegyzo@gmail.com", "Tóth Ferenc", "Bikal", "aljegyző"],
            ["2020. 06. 08. 9:03:00", "referens@urom.hu", "Balogh Réka", "Ürömi Önkormányzat", ""],
            ["2020. 06. 08. 9:04:00", "szervezo@egyesulet.hu", "Tóth Péter", "Zöld Jövő Egyesület", ""],
        ],
        tmp_path,
    )
    report = match_registrations(loaded, LIST)
    assert [
        (m.registrant.email, m.recipient.email if m.recipient else None, m.how, m.municipalities)
        for m in report.matches
    ] == [
        ("Polgarmester@alsomocsolad.hu", "polgarmester@alsomocsolad.hu", "address", ("Alsómocsolád",)),
        ("titkarsag@gmail.com", "polgarmester@alsomocsolad.hu", "municipality", ("Alsómocsolád",)),
        ("aljegyzo@gmail.com", "jegyzo@magocs.hu", "municipality", ("Bikal",)),
        ("referens@urom.hu", "hivatal@urom.hu", "municipality", ("Üröm",)),
        ("szervezo@egyesulet.hu", None, None, ()),
    ]
    assert report.matches[3].others == (UROM_MAYOR,)
    # Both Üröm addresses count: which of them the referens stands for cannot be told.
    assert report.registered_addresses() == {
        "polgarmester@alsomocsolad.hu",
        "jegyzo@magocs.hu",
        "hivatal@urom.hu",
        "polgarmester@urom.hu",
    }
    assert [r.email for r in report.not_on_list()] == ["szervezo@egyesulet.hu"]


def test_a_joint_office_named_by_several_municipalities(tmp_path):
    loaded = regs(
        [
            [
                "2020. 06. 08. 9:00:00",
                "jegyzo@gmail.com",
                "Fehérné Győri Ilona",
                "Mágocs és Bikal Közös Önkormányzati Hivatal",
                "",
            ]
        ],
        tmp_path,
    )
    [match] = match_registrations(loaded, LIST).matches
    assert (match.recipient, match.how, match.others, match.municipalities) == (
        JOINT_OFFICE,
        "municipality",
        (),
        ("Mágocs", "Bikal"),
    )


def test_an_office_name_on_the_list_and_a_bare_name_on_the_form(tmp_path):
    office = recipient("hivatal@alsomocsolad.hu", "Alsómocsolád Község Önkormányzata")
    loaded = regs([["2020. 06. 08. 9:00:00", "kiss@gmail.com", "Kiss Ödön", "alsomocsolad", ""]], tmp_path)
    [match] = match_registrations(loaded, [office]).matches
    assert (match.recipient, match.how, match.municipalities) == (
        office,
        "municipality",
        ("Alsómocsolád Község Önkormányzata",),
    )


def test_an_empty_invitation_list_matches_nobody(tmp_path):
    loaded = regs([["2020. 06. 08. 9:00:00", "a@a.hu", "", "Bikal", ""]], tmp_path)
    report = match_registrations(loaded, [])
    assert report.registered_addresses() == set()
    assert report.not_on_list() == loaded.registrants


# --- reminders -----------------------------------------------------------------------


def registrant(email, name=None, municipality=None, role=None, row=2) -> Registrant:
    return Registrant(email, name, municipality, role, None, row)


def test_reminder_recipients():
    report = MatchReport(
        [
            Match(registrant("Polgarmester@alsomocsolad.hu", row=2), ALSOMOCSOLAD, "address", (), ("Alsómocsolád",)),
            Match(
                registrant("aljegyzo@gmail.com", "Tóth Ferenc", "bikal", "Aljegyző", row=3),
                JOINT_OFFICE,
                "municipality",
                (),
                ("Bikal",),
            ),
            Match(
                registrant("titkar@gmail.com", None, "alsomocsolad", None, row=4),
                ALSOMOCSOLAD,
                "municipality",
                (),
                ("Alsómocsolád",),
            ),
            Match(
                registrant("szervezo@egyesulet.hu", "Nagy Andrea", "Zöld Jövő Egyesület", "programfelelős", row=5),
                None,
                None,
            ),
            Match(registrant("valaki@gmail.com", "Kiss", row=6), None, None),
        ]
    )
    assert reminder_recipients(report) == [
        # By address and nothing else on the form: the invitation's person and salutation.
        Recipient(
            "Polgarmester@alsomocsolad.hu",
            ("Alsómocsolád",),
            ALSOMOCSOLAD.salutation,
            "Baranya",
            "Kiss Ödön",
            "polgármester",
            None,
            (2,),
        ),
        Recipient(
            "aljegyzo@gmail.com",
            ("Bikal",),
            "Tisztelt Aljegyző Úr!",
            "Baranya",
            "Tóth Ferenc",
            "aljegyző",
            "male",
            (3,),
            None,
            "male",
        ),
        # Matched by municipality under another address: the invited office is reminded too (issue 12),
        # and its letter says who registered for it.
        dataclasses.replace(JOINT_OFFICE, registered_as="aljegyzo@gmail.com"),
        # By municipality: a colleague, never given the mayor's name or title.
        Recipient(
            "titkar@gmail.com",
            ("Alsómocsolád",),
            "Tisztelt Polgármester Asszony, Polgármester Úr!",
            "Baranya",
            None,
            "polgármester",
            None,
            (4,),
        ),
        # An office outside the vocabulary is not put into the salutation (issue 13).
        Recipient(
            "szervezo@egyesulet.hu",
            ("Zöld Jövő Egyesület",),
            "Tisztelt Hölgyem!",
            None,
            "Nagy Andrea",
            "programfelelős",
            "female",
            (5,),
            None,
            "female",
        ),
        Recipient(
            "valaki@gmail.com",
            (NO_MUNICIPALITY,),
            "Tisztelt Polgármester Asszony, Polgármester Úr!",
            None,
            "Kiss",
            "polgármester",
            None,
            (6,),
        ),
    ]
    assert NO_MUNICIPALITY == "önkormányzat megadása nélkül"


# --- the report and the file's age -------------------------------------------------------


def test_report_lines_and_the_stale_file_warning(tmp_path):
    path = google_csv(
        tmp_path / "valaszok.csv",
        [
            FORM_HEADER,
            ["2020. 06. 08. 9:00:00", "polgarmester@alsomocsolad.hu", "Kiss Ödön", "Alsómocsolád", ""],
            ["2020. 06. 08. 9:01:00", "aljegyzo@gmail.com", "Tóth Ferenc", "Bikal", "aljegyző"],
            ["2020. 06. 08. 9:02:00", "referens@urom.hu", "", "Üröm", ""],
            ["2020. 06. 08. 9:03:00", "szervezo@egyesulet.hu", "Tóth Péter", "Zöld Jövő Egyesület", ""],
            ["2020. 06. 08. 9:04:00", "valaki@gmail.com", "", "", ""],
            ["2020. 06. 08. 9:05:00", "polgarmester@alsomocsolad.hu", "Kiss Ödön", "Alsómocsolád", "polgármester"],
        ],
    )
    written_at(path, dt.datetime(2020, 6, 17, 6, 0, tzinfo=UTC))
    loaded = load_registrations(path)
    assert loaded.modified_at == dt.datetime(2020, 6, 17, 6, 0, tzinfo=UTC)
    now = dt.datetime(2020, 6, 17, 20, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 18:30 UTC
    assert loaded.age_hours(now) == 12.5
    report = match_registrations(loaded, LIST)
    expected = [
        f"Registrations: {path}: 5 registrant(s), 1 superseded answer(s); file written 2020-06-17 06:00 UTC, 12.5 hour(s) ago",
        "Registered for a municipality on the invitation list: 3",
        "  Alsómocsolád: Kiss Ödön <polgarmester@alsomocsolad.hu> (by address, invitation to polgarmester@alsomocsolad.hu)",
        "  Bikal: Tóth Ferenc <aljegyzo@gmail.com> (by municipality, invitation to jegyzo@magocs.hu)",
        "  Üröm: referens@urom.hu (by municipality, invitation to hivatal@urom.hu; also counts for polgarmester@urom.hu)",
        "Registered under another address than the invitation's (the reminder goes to both): 2",
        "  Bikal: aljegyzo@gmail.com (registered, row 3) and jegyzo@magocs.hu (invited)",
        "  Üröm: referens@urom.hu (registered, row 4) and hivatal@urom.hu, polgarmester@urom.hu (invited)",
        "Not on the invitation list (reminded all the same): 2",
        "  Tóth Péter <szervezo@egyesulet.hu> for 'Zöld Jövő Egyesület' (row 5)",
        "  valaki@gmail.com, no municipality given (row 6)",
    ]
    assert format_match_report(report, loaded, now, max_age_hours=24) == expected
    assert format_match_report(report, loaded, now, max_age_hours=12) == [
        *expected,
        "WARNING: the registration file is 12.5 hours old (limit 12): export it again, or late registrants miss their reminder",
    ]
    with pytest.raises(ValueError, match="timezone-aware"):
        loaded.age_hours(dt.datetime(2020, 6, 17, 20, 30))


# --- the shipped example ------------------------------------------------------------------


def test_the_shipped_example_against_the_shipped_invitation_list(repo):
    loaded = load_registrations(repo / "registrations" / "pelda-regisztraciok.csv")
    invited = load_recipients(repo / "recipients" / "pelda-onkormanyzatok.xlsx").recipients
    report = match_registrations(loaded, invited)
    assert loaded.duplicates == 1 and loaded.findings == []
    assert [(m.registrant.row, m.how, m.municipalities) for m in report.matches] == [
        (3, "address", ("Bikal", "Mágocs")),
        (4, "municipality", ("Üröm-próba",)),
        (5, "address", ("Alsómocsolád",)),
        (6, None, ()),
    ]
    assert [r.email for r in reminder_recipients(report)] == [
        "jegyzo@kozoshivatal-bikal.example",
        "referens@urom-proba.example",
        "hivatal@urom-proba.example",  # the invited office of the municipality she registered for
        "Polgarmester@alsomocsolad.example",
        "szervezo@egyesulet.example",
    ]


def test_a_microsoft_forms_download_asking_the_name_in_two_questions(tmp_path):
    # A signed-in form: the account's "Név" is the colleague who filled it in, not the registrant.
    path = _forms(
        tmp_path,
        FORMS_HU,
        ["Vezetéknév", "Keresztnév", "E-mail-címe", "Település"],
        [["titkarsag@felsofalu.example", "Titkár Tímea", "Nagy", "Éva", "jegyzo@felsofalu.example", "Felsőfalu"]],
    )
    loaded = load_registrations(path)
    assert [(r.email, r.name, r.given) for r in loaded.registrants] == [("jegyzo@felsofalu.example", "Nagy Éva", "Éva")]
