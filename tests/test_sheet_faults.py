"""Issue 14: encodings named, protected workbooks called that, formulas in letter fields reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lgp_mailer.cli.check  # noqa: F401  (registers the command on the app)
from lgp_mailer.cli.app import app
from lgp_mailer.sheets.readers import double_encoding
from lgp_mailer.sheets.recipients import load_recipients

from sheets_factory import HEADER, csv_text, report_lines, write_xlsx

ASCII_HEADER = ["Megye", "Onkormanyzat", "Nev", "Beosztas", "Nem", "E-mail"]
ROWS = [
    ["Győr-Moson-Sopron", "Győr", "Kovács Ödön", "polgármester", None, "pm@gyor.example"],
    ["Pest", "Üröm", "Bőrös Ödönné", "jegyző", "nő", "jegyzo@urom.example"],
]
SAVE = "save it as CSV UTF-8 (mentse CSV UTF-8 formátumban)"


def check(path: Path):
    return CliRunner().invoke(app, ["check", "--recipients", str(path)])


def error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("lgp-mailer: error: ")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def resaved(text: str, codec: str) -> bytes:
    """UTF-8 opened in ``codec`` and saved again as UTF-8, as a Mac or an old Excel does."""
    return text.encode("utf-8").decode(codec, errors="ignore").encode("utf-8")


@pytest.mark.parametrize("header", [ASCII_HEADER, HEADER])
def test_mac_central_european_text_is_refused_naming_the_encoding(tmp_path: Path, header: list[str]) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(csv_text([header, *ROWS]).encode("mac-latin2"))
    result = check(path)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"lgp-mailer: error: {path}: the text is Mac Central European (mac-latin2), not UTF-8: {SAVE}"
    )


@pytest.mark.parametrize(
    ("codec", "label", "name"),
    [("cp1252", "Windows-1252 (cp1252)", "BÅ‘rÃ¶s Ã–dÃ¶nnÃ©"), ("mac-roman", "Mac Roman", "B≈ër√∂s √ñd√∂nn√©")],
)
def test_utf8_saved_again_through_another_code_page_warns_and_check_exits_1(
    tmp_path: Path, codec: str, label: str, name: str
) -> None:
    path = tmp_path / "ketszer.csv"
    path.write_bytes(resaved(csv_text([ASCII_HEADER, *ROWS]), codec))
    result = check(path)
    assert result.exit_code == 1, result.output
    lines = report_lines(result.stdout)
    # 12 about the garbling, and 2 garbled roles that are (rightly) not recognised (issue 13).
    assert lines[0] == "Warnings (14):"
    assert lines[2].split("  ")[0] == "ketszer.csv"
    assert lines[2].endswith(
        f"the text looks like UTF-8 that was opened as {label} and saved again, so every accent is garbled: "
        f"{SAVE} from the original"
    )
    hint = re.escape(name) + r" +looks like mojibake \(wrong code page\); did you mean 'Bőrös Ödönné'\?"
    assert sum(1 for line in lines if re.search(hint + "$", line)) == 1
    assert lines[-1].startswith("Result: 0 problem(s), 14 warning(s), 9 of them garbled text (exit 1)")


def test_a_correct_file_is_not_called_double_encoded() -> None:
    assert double_encoding(csv_text([HEADER, *ROWS])) is None
    assert double_encoding("Megye;E-mail\r\nPest;a@b.example\r\n") is None


@pytest.mark.parametrize(("codec", "shown"), [("mac-roman", "√ñnkorm√°nyzat"), ("cp1252", "Ã–nkormÃ¡nyzat")])
def test_a_garbled_header_row_is_an_encoding_diagnosis(tmp_path: Path, codec: str, shown: str) -> None:
    path = tmp_path / "fejlec.csv"
    path.write_bytes(resaved(csv_text([HEADER, *ROWS]), codec))
    result = check(path)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"lgp-mailer: error: {path}, row 1: the header {shown!r} (meant 'Önkormányzat'?) is garbled: "
        f"the file's text encoding was misread; {SAVE}"
    )


def test_a_password_protected_workbook_is_called_that(tmp_path: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_xlsx(tmp_path / "nyilt.xlsx", {"Lap1": [HEADER, *ROWS]})
    protected = tmp_path / "titkos.xlsx"
    with plain.open("rb") as source, protected.open("wb") as target:
        OOXMLFile(source).encrypt("jelszó", target)
    result = check(protected)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"lgp-mailer: error: {protected}: the workbook is password-protected: open it in Excel, remove the "
        "password (Fájl > Információ > Munkafüzet védelme) and save it again, or save it as CSV UTF-8"
    )


def test_formulas_in_letter_fields_name_their_cell(tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["Baranya", "Bikal", '=CONCATENATE("Kiss"," ","Ödön")', "polgármester", None, "pm@bikal.example"],
        ["Baranya", "Mágocs", "Nagy Andrea", "jegyző", '=IF(1,"nő","férfi")', "pm@magocs.example"],
        ["Pest", "Üröm", "Kiss Lőrinc", "polgármester", "férfi", "pm@urom.example"],
    ]
    path = write_xlsx(tmp_path / "kepletek.xlsx", {"Lap1": rows})
    sheet = load_recipients(path)
    assert [(f.severity, f.row, f.column, f.value, f.problem) for f in sheet.findings] == [
        (
            "problem",
            2,
            "Név",
            '=CONCATENATE("Kiss"," ","Ödön")',
            "cell C2 holds a formula with no saved value: paste it as values",
        ),
        ("problem", 3, "Nem", '=IF(1,"nő","férfi")', "cell E3 holds a formula with no saved value: paste it as values"),
    ]
    assert [r.email for r in sheet.recipients] == ["pm@urom.example"]
    result = check(path)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[2] == (
        'kepletek.xlsx  Lap1   2    Név     =CONCATENATE("Kiss"," ","Ödön")  '
        "cell C2 holds a formula with no saved value: paste it as values"
    )


def test_a_formula_with_a_saved_value_is_used_with_a_warning(tmp_path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Lap1")
    for values in (HEADER, ["Baranya", "Bikal", "=Kiss Ödön", "polgármester", "", "pm@bikal.example"]):
        row = TableRow()
        for value in values:
            cell = (
                TableCell(formula='of:="Kiss Ödön"', valuetype="string")
                if value.startswith("=")
                else TableCell(valuetype="string")
            )
            cell.addElement(P(text=value.lstrip("=")))
            row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    path = tmp_path / "ertekkel.ods"
    document.save(str(path))
    sheet = load_recipients(path)
    assert [(f.severity, f.row, f.column, f.value, f.problem) for f in sheet.findings] == [
        ("warning", 2, "Név", 'of:="Kiss Ödön"', "cell C2 holds a formula; its saved value 'Kiss Ödön' is used"),
    ]
    assert [(r.name, r.salutation) for r in sheet.recipients] == [("Kiss Ödön", "Tisztelt Polgármester Úr!")]
