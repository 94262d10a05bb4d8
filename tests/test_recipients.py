"""Recipient sheets in every format, encoding and shape offices send them in."""

from __future__ import annotations

import re
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgp_mailer.errors import ExitCode, RecipientsError
from lgp_mailer.sheets.readers import sniff_delimiter
from lgp_mailer.sheets.recipients import Finding, Recipient, Rejected, load_recipients

from sheets_factory import HEADER, write_csv, write_ods, write_xls, write_xlsx

NEUTRAL = "Tisztelt Polgármester Asszony, Polgármester Úr!"
HUNGARIAN_ROWS = [
    HEADER,
    ["Pest", "Őrbottyán", "Kovács Ödön", "polgármester", "férfi", "polgarmester@orseg.hu"],
    ["Szabolcs-Szatmár-Bereg", "Újfehértó", "Szűcs Erzsébet", "jegyző", "nő", "jegyzo@ujfeherto.hu"],
]
EXPECTED = [
    ("polgarmester@orseg.hu", ("Őrbottyán",), "Tisztelt Polgármester Úr!", "Pest"),
    ("jegyzo@ujfeherto.hu", ("Újfehértó",), "Tisztelt Jegyző Asszony!", "Szabolcs-Szatmár-Bereg"),
]


def summary(sheet) -> list[tuple]:
    return [(r.email, r.municipalities, r.salutation, r.county) for r in sheet.recipients]


# --- formats and encodings -----------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_xlsx_and_xlsm(tmp_path, suffix):
    sheet = load_recipients(write_xlsx(tmp_path / f"lista{suffix}", {"Lap1": HUNGARIAN_ROWS}))
    assert summary(sheet) == EXPECTED
    assert sheet.findings == []
    assert sheet.sheets == ("Lap1",)


def test_xls_workbook(tmp_path):
    sheet = load_recipients(write_xls(tmp_path / "regi.xls", {"Munka1": HUNGARIAN_ROWS}))
    assert summary(sheet) == EXPECTED


def test_ods_workbook(tmp_path):
    sheet = load_recipients(write_ods(tmp_path / "lista.ods", {"Munkalap1": HUNGARIAN_ROWS}))
    assert summary(sheet) == EXPECTED
    assert sheet.sheets == ("Munkalap1",)


def test_cp1250_semicolon_csv_with_double_acute_letters(tmp_path):
    rows = [
        ["Önkormányzat", "Név", "E-mail"],
        ["Őriszentpéter", "Fűzfa Győző", "hivatal@oriszentpeter.hu"],
        ["FŰZVÖLGY", "Kő Ödön", "polgarmester@urhegy.hu"],
    ]
    path = write_csv(tmp_path / "export.csv", rows, encoding="cp1250", delimiter=";")
    assert "ő".encode("cp1250") in path.read_bytes()  # really not UTF-8
    sheet = load_recipients(path)
    assert sheet.encoding == "cp1250"
    assert [(r.email, r.municipalities, r.name, r.salutation) for r in sheet.recipients] == [
        ("hivatal@oriszentpeter.hu", ("Őriszentpéter",), "Fűzfa Győző", "Tisztelt Polgármester Úr!"),
        ("polgarmester@urhegy.hu", ("FŰZVÖLGY",), "Kő Ödön", "Tisztelt Polgármester Úr!"),
    ]
    assert sheet.findings == []


def test_an_address_spilled_into_a_column_without_a_header_is_named_not_lost(tmp_path):
    # Written by hand, unquoted: "a@x; b@y" in a ;-separated file is two cells, the second
    # right of the header; an address under an empty header cell is not read either.
    path = tmp_path / "kezi.csv"
    path.write_bytes(
        "Önkormányzat;Név;E-mail;\r\n"
        "Őrség;Horváth Győző;pm@orseg.example; titkarsag@orseg.example\r\n"
        "Ürög;Kiss Éva;hivatal@urog.example;;megjegyzés\r\n".encode("cp1250")
    )
    sheet = load_recipients(path)
    assert [r.email for r in sheet.recipients] == ["pm@orseg.example", "hivatal@urog.example"]
    assert [f for f in sheet.findings if "header" in f.problem] == [
        Finding(
            "warning",
            "an address in a column without a header is not read: put it in the e-mail cell",
            str(path),
            None,
            2,
            "D",
            "titkarsag@orseg.example",
        )
    ]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "expected_encoding"),
    [
        ("utf-8", ",", "utf-8"),
        ("utf-8-sig", ";", "utf-8-sig"),
        ("utf-8", "\t", "utf-8"),
    ],
)
def test_utf8_csv_with_and_without_bom(tmp_path, encoding, delimiter, expected_encoding):
    sheet = load_recipients(write_csv(tmp_path / "lista.csv", HUNGARIAN_ROWS, encoding=encoding, delimiter=delimiter))
    assert summary(sheet) == EXPECTED
    assert sheet.encoding == expected_encoding


def test_utf16_unicode_text_export(tmp_path):
    # Excel's "Unicode text": UTF-16 LE with BOM, tab-separated, .txt
    path = write_csv(tmp_path / "unicode.txt", HUNGARIAN_ROWS, encoding="utf-16", delimiter="\t")
    assert path.read_bytes()[:2] == b"\xff\xfe"
    sheet = load_recipients(path)
    assert summary(sheet) == EXPECTED
    assert sheet.encoding == "utf-16"


def test_excels_sep_line_is_not_a_row_so_rows_are_numbered_as_excel_shows_them(tmp_path):
    # Excel hides a first line "sep=;" (and writes none itself for Hungarian ";" lists): row 2
    # in Excel was reported as row 3, and the office would fix the wrong row.
    path = tmp_path / "lista.csv"
    text = "sep=;\r\nÖnkormányzat;E-mail\r\nBikal;pm@bikal.example\r\nMágocs;pm@\r\n"
    path.write_bytes(text.encode("cp1250"))
    sheet = load_recipients(path)
    assert [(r.email, r.rows) for r in sheet.recipients] == [("pm@bikal.example", (2,))]
    assert [(f.row, f.column, f.value) for f in sheet.problems] == [(3, "E-mail", "pm@")]


def test_title_rows_above_the_header(tmp_path):
    rows = [["Meghívottak listája – 2020. június"], [], [None, "összesen: 2"], *HUNGARIAN_ROWS]
    sheet = load_recipients(write_xlsx(tmp_path / "cim.xlsx", {"Lap1": rows}))
    assert summary(sheet) == EXPECTED
    assert [r.rows for r in sheet.recipients] == [(5,), (6,)]


def test_a_total_row_under_the_data_is_skipped_with_a_warning_not_held_back(tmp_path):
    # "Összesen:" with a COUNTA formula was two problems and an 'invalid' row in the sent log.
    rows = [
        ["Ssz.", "Település", "E-mail"],
        [1, "Bikal", "pm@bikal.hu"],
        [2, "Sümeg", None],  # a town, not a sum: its missing address stays a problem
        [],
        ["Összesen:", "=COUNTA(B2:B3)", None],
        [None, "Mindösszesen 2 település", 2],
    ]
    sheet = load_recipients(write_xlsx(tmp_path / "osszesen.xlsx", {"Lap1": rows}))
    assert [r.email for r in sheet.recipients] == ["pm@bikal.hu"]
    assert [(f.severity, f.row, f.column, f.value, f.problem) for f in sheet.findings if f.row != 1] == [
        ("problem", 3, "E-mail", "", "no e-mail address"),
        ("warning", 5, "Ssz.", "Összesen:", "a total row, not a recipient: skipped"),
        ("warning", 6, "Település", "Mindösszesen 2 település", "a total row, not a recipient: skipped"),
    ]
    assert [(r.address, r.rows) for r in sheet.rejected] == [("", (3,))]
    assert (sheet.counts.rows, sheet.counts.own, sheet.counts.held) == (2, 1, 1)


def test_one_sheet_per_county_with_all(tmp_path):
    header = ["Település", "E-mail"]
    path = write_xlsx(
        tmp_path / "megyek.xlsx",
        {
            "Baranya": [header, ["Bikal", "pm@bikal.hu"], ["Mágocs", "pm@magocs.hu"]],
            "Üres": [],
            "Zala": [header, ["Zalaszentgyörgy", "pm@zalaszentgyorgy.hu"]],
        },
    )
    sheet = load_recipients(path, sheet="all")
    assert [(r.email, r.county, r.sheet, r.rows) for r in sheet.recipients] == [
        ("pm@bikal.hu", "Baranya", "Baranya", (2,)),
        ("pm@magocs.hu", "Baranya", "Baranya", (3,)),
        ("pm@zalaszentgyorgy.hu", "Zala", "Zala", (2,)),
    ]
    assert sheet.sheets == ("Baranya", "Zala")
    # By name picks one.
    assert [r.email for r in load_recipients(path, sheet="zala").recipients] == ["pm@zalaszentgyorgy.hu"]


def test_without_a_sheet_setting_later_sheets_with_addresses_are_not_silently_left_out(tmp_path):
    # Only the first sheet used to be read: Zala's mayors were never invited, and nothing said so.
    header = ["Település", "E-mail"]
    sheets = {
        "Baranya": [["Baranya vármegye"], header, ["Bikal", "pm@bikal.hu"]],
        "Jegyzetek": [["Kérdés esetén: programiroda@lgp.example.org"]],
        "Somogy": [header],
        "Zala": [["Zala vármegye"], header, [], ["Zalaszentgyörgy", "pm@zalaszentgyorgy.hu"]],
        "Tolna": [header, ["Paks", "pm@paks.hu"]],
    }
    path = write_xlsx(tmp_path / "megyek.xlsx", sheets)
    with pytest.raises(RecipientsError) as caught:
        load_recipients(path, hints=False)
    assert str(caught.value) == (
        f"{path}, sheet 'Zala', row 4: only the sheet 'Baranya' would be read, but the sheets 'Zala', 'Tolna'"
        ' hold addresses too: set sheet = "all" in lgp-mailer.toml (one sheet per county) or choose one with --sheet'
    )
    assert caught.value.exit_code == ExitCode.USAGE
    # Sheets without an address beside the first one are no reason to ask.
    quiet = {name: sheets[name] for name in ("Baranya", "Jegyzetek", "Somogy")}
    path = write_xlsx(tmp_path / "egy.xlsx", quiet)
    assert [r.email for r in load_recipients(path).recipients] == ["pm@bikal.hu"]


def test_a_hidden_sheet_is_not_the_default_but_can_be_named(tmp_path):
    # A hidden first sheet holding last year's list was read instead of the one Excel shows.
    import openpyxl

    path = write_xlsx(
        tmp_path / "rejtett.xlsx",
        {"Régi lista": [["Település", "E-mail"], ["Bikal", "regi@bikal.hu"]], "Címlista": HUNGARIAN_ROWS},
    )
    workbook = openpyxl.load_workbook(path)
    workbook["Régi lista"].sheet_state = "hidden"
    workbook.active = 1
    workbook.save(path)
    sheet = load_recipients(path)
    assert summary(sheet) == EXPECTED
    assert sheet.sheets == ("Címlista",)
    assert [r.email for r in load_recipients(path, sheet="Régi lista").recipients] == ["regi@bikal.hu"]
    every = load_recipients(path, sheet="all")  # read with the rest, and said
    assert [r.email for r in every.recipients] == ["regi@bikal.hu", "polgarmester@orseg.hu", "jegyzo@ujfeherto.hu"]
    assert [(f.sheet, f.problem) for f in every.findings if "hidden" in f.problem] == [
        ("Régi lista", "this sheet is hidden in Excel, and its rows are read too")
    ]
    # One other sheet with addresses is named in the singular.
    path = write_xlsx(tmp_path / "ket.xlsx", {"Baranya": HUNGARIAN_ROWS, "Zala": HUNGARIAN_ROWS})
    with pytest.raises(RecipientsError, match="but the sheet 'Zala' holds addresses too: set"):
        load_recipients(path)


def test_hidden_rows_are_read_and_sent_and_named_in_one_warning(tmp_path):
    # A filtered list looks shorter in Excel than the list that gets letters: say so.
    import openpyxl

    rows = [["Település", "E-mail"], ["Bikal", "pm@bikal.hu"], ["Mágocs", "pm@magocs.hu"], [], ["Gyula", "pm@gyula.hu"]]
    path = write_xlsx(tmp_path / "szurt.xlsx", {"Lap1": rows})
    workbook = openpyxl.load_workbook(path)
    for number in (3, 4, 5):  # Mágocs, the empty row, Gyula
        workbook["Lap1"].row_dimensions[number].hidden = True
    workbook.save(path)
    sheet = load_recipients(path)
    assert [r.email for r in sheet.recipients] == ["pm@bikal.hu", "pm@magocs.hu", "pm@gyula.hu"]
    assert [(f.severity, f.row, f.problem) for f in sheet.findings if f.row != 1] == [
        ("warning", 3, "2 rows are hidden in Excel (rows 3, 5): they are read and get letters too")
    ]


def test_a_cell_showing_a_word_or_a_name_that_links_to_an_address_sends_to_the_link(tmp_path):
    # Copied from a web page, the e-mail column shows "e-mail" or the mayor's name and links
    # to mailto:…: the row was held back as "not an address".
    import openpyxl

    rows = [
        ["Település", "Név", "E-mail"],
        ["Bikal", "Kiss Anna", "e-mail"],
        ["Mágocs", "Nagy Béla", "Nagy Béla"],
        ["Gyula", "Varga Edit", "pm@gyula.example"],
        ["Baja", "Tóth Ede", "levél"],
        ["Vác", "Szabó Ida", ""],
    ]
    path = write_xlsx(tmp_path / "linkek.xlsx", {"Lap1": rows})
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Lap1"]
    sheet["C2"].hyperlink = "mailto:pm@bikal.example"
    sheet["C3"].hyperlink = "mailto:jegyzo@magocs.example?subject=Megh%C3%ADv%C3%B3"
    sheet["C4"].hyperlink = "mailto:regi@gyula.example"  # the address shown wins
    sheet["C5"].hyperlink = "https://baja.example/kapcsolat"  # a web page is no address
    sheet["B6"].hyperlink = "mailto:pm@vac.example"  # a link in another column is not read
    sheet.row_dimensions[3].hidden = True
    workbook.save(path)
    loaded = load_recipients(path)
    assert [(r.email, r.rows) for r in loaded.recipients] == [
        ("pm@bikal.example", (2,)),
        ("jegyzo@magocs.example", (3,)),
        ("pm@gyula.example", (4,)),
    ]
    assert [(f.severity, f.row, f.column, f.value, f.problem) for f in loaded.findings] == [
        (
            "warning",
            2,
            "E-mail",
            "e-mail",
            "cell C2 shows 'e-mail' and links to mailto:pm@bikal.example: the link's address is used",
        ),
        (
            "warning",
            3,
            "E-mail",
            "Nagy Béla",
            "cell C3 shows 'Nagy Béla' and links to mailto:jegyzo@magocs.example?subject=Megh%C3%ADv%C3%B3: "
            "the link's address is used",
        ),
        ("problem", 5, "E-mail", "levél", "not an address: An email address must have an @-sign."),
        ("problem", 6, "E-mail", "", "no e-mail address"),
        ("warning", 3, None, None, "1 row is hidden in Excel (row 3): it is read and gets a letter too"),
    ]


def test_an_ods_cell_that_links_to_an_address_sends_to_the_link(tmp_path):
    from odf.opendocument import load
    from odf.table import TableCell
    from odf.text import A, P

    path = write_ods(tmp_path / "linkek.ods", {"Lap1": [["Település", "E-mail"], ["Bikal", None], ["Mágocs", None]]})
    document = load(str(path))
    cells = [c for c in document.spreadsheet.getElementsByType(TableCell) if not c.childNodes]
    links = [("e-mail", "mailto:pm@bikal.example"), ("levél", "https://magocs.example")]
    for cell, (text, href) in zip(cells, links, strict=True):
        cell.setAttribute("valuetype", "string")
        paragraph = P()
        paragraph.addElement(A(href=href, text=text))
        cell.addElement(paragraph)
    document.save(str(path))
    sheet = load_recipients(path)
    assert [(r.email, r.rows) for r in sheet.recipients] == [("pm@bikal.example", (2,))]
    assert [(f.row, f.value, f.problem) for f in sheet.findings if f.column == "E-mail"] == [
        (2, "e-mail", "cell B2 shows 'e-mail' and links to mailto:pm@bikal.example: the link's address is used"),
        (3, "levél", "not an address: An email address must have an @-sign."),
    ]


def test_first_non_empty_sheet_is_the_default(tmp_path):
    path = write_xlsx(tmp_path / "lista.xlsx", {"Üres": [], "Címek": HUNGARIAN_ROWS})
    assert summary(load_recipients(path)) == EXPECTED


def test_unknown_sheet_name_lists_the_sheets(tmp_path):
    path = write_xlsx(tmp_path / "lista.xlsx", {"Lap1": HUNGARIAN_ROWS})
    with pytest.raises(RecipientsError) as caught:
        load_recipients(path, sheet="Pest")
    assert str(caught.value) == f"{path}: no sheet named 'Pest'; the workbook has 'Lap1'"


def test_formula_is_never_an_address(tmp_path):
    rows = [["Önkormányzat", "E-mail"], ["Bikal", '=CONCATENATE("pm","@bikal.hu")'], ["Mágocs", "pm@magocs.hu"]]
    path = write_xlsx(tmp_path / "keplet.xlsx", {"Lap1": rows})
    sheet = load_recipients(path)
    assert [r.email for r in sheet.recipients] == ["pm@magocs.hu"]
    assert sheet.problems == [
        Finding(
            "problem",
            "a formula instead of an address",
            str(path),
            "Lap1",
            2,
            "E-mail",
            '=CONCATENATE("pm","@bikal.hu")',
        )
    ]
    assert sheet.rejected == [
        Rejected('=CONCATENATE("pm","@bikal.hu")', ("Bikal",), (2,), "formula instead of an address")
    ]


def test_formula_in_ods_is_reported(tmp_path):
    rows = [["Önkormányzat", "E-mail"], ["Bikal", "=[.A2]"]]
    sheet = load_recipients(write_ods(tmp_path / "keplet.ods", {"Lap1": rows}))
    assert sheet.recipients == []
    assert [(f.row, f.column, f.value, f.problem) for f in sheet.problems] == [
        (2, "E-mail", "of:=[.A2]", "a formula instead of an address")
    ]


# --- headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        ["Település neve", "Polgármester neve", "E-mail-cím"],
        ["ÖNKORMÁNYZAT", "Név", "Email cím"],
        ["Municipality", "Name", "email address"],
        [" település ", "NÉV", "e-mail"],
    ],
)
def test_header_aliases(tmp_path, headers):
    path = write_csv(tmp_path / "a.csv", [headers, ["Bikal", "Kiss Ödön", "pm@bikal.hu"]])
    sheet = load_recipients(path)
    assert [(r.email, r.municipalities, r.name) for r in sheet.recipients] == [("pm@bikal.hu", ("Bikal",), "Kiss Ödön")]


def test_user_mapping_for_other_headers(tmp_path):
    rows = [["Hivatal", "Hivatali elérhetőség", "Vezető"], ["Bikal", "pm@bikal.hu", "Kiss Ödön"]]
    path = write_csv(tmp_path / "a.csv", rows)
    columns = {"Hivatal": "municipality", "hivatali ELÉRHETŐSÉG": "email", "Vezető": "name"}
    sheet = load_recipients(path, columns=columns)
    assert [(r.email, r.municipalities, r.salutation) for r in sheet.recipients] == [
        ("pm@bikal.hu", ("Bikal",), "Tisztelt Polgármester Úr!")
    ]


def test_two_columns_for_one_field_is_an_error_naming_both(tmp_path):
    path = write_csv(
        tmp_path / "a.csv", [["Település", "Név", "Polgármester neve", "E-mail"], ["Bikal", "A", "B", "a@b.hu"]]
    )
    with pytest.raises(RecipientsError) as caught:
        load_recipients(path)
    assert str(caught.value) == (
        f"{path}, row 1: columns 'Név' and 'Polgármester neve' both mean name; "
        "map one of them in [columns] (e.g. 'Polgármester neve' = \"ignore\")"
    )
    # ... and the suggested mapping resolves it.
    sheet = load_recipients(path, columns={"Polgármester neve": "ignore"})
    assert [r.name for r in sheet.recipients] == ["A"]


def test_mapping_to_an_unknown_field(tmp_path):
    path = write_csv(tmp_path / "a.csv", HUNGARIAN_ROWS)
    with pytest.raises(RecipientsError, match="column mapping 'Cím' = 'address': the field must be one of"):
        load_recipients(path, columns={"Cím": "address"})


# --- addresses -----------------------------------------------------------------


def test_address_cleaning_and_several_addresses_in_a_cell(tmp_path):
    rows = [
        ["Önkormányzat", "E-mail"],
        ["Bikal", "\u00a0mailto:pm@Bikal.HU\u200b "],
        ["Mágocs", "Kovács, János <Jegyzo@Magocs.hu>; titkarsag@magocs.hu"],
        ["Győr", "hivatal@GYŐR.hu, MAILTO:pm@gyor.hu"],
    ]
    sheet = load_recipients(write_xlsx(tmp_path / "a.xlsx", {"Lap1": rows}))
    assert [(r.email, r.municipalities, r.rows) for r in sheet.recipients] == [
        ("pm@bikal.hu", ("Bikal",), (2,)),
        ("Jegyzo@magocs.hu", ("Mágocs",), (3,)),
        ("titkarsag@magocs.hu", ("Mágocs",), (3,)),
        ("hivatal@xn--gyr-7xa.hu", ("Győr",), (4,)),
        ("pm@gyor.hu", ("Győr",), (4,)),
    ]
    assert sheet.problems == []


def test_addresses_on_two_lines_of_a_cell_or_joined_by_a_word_are_each_sent(tmp_path):
    # Alt+Enter between two "Name <address>" lines used to keep the first address only.
    rows = [
        ["Önkormányzat", "E-mail"],
        ["Bikal", "Kiss Anna <pm@bikal.example>\nNagy Béla <jegyzo@bikal.example>"],
        ["Mágocs", "pm@magocs.example\njegyzo@magocs.example"],
        ["Gyula", "pm@gyula.example / hivatal@gyula.example"],
        ["Baja", "pm@baja.example és jegyzo@baja.example."],
        ["Vác", "<pm@vac.example> titkarsag@vac.example"],
        ["Pécs", "pm@pecs.example titkárság jegyzo@pecs.example"],
        ["Eger", '"pm@eger.example" <pm@eger.example>'],
        ["Ajka", "Varga Edit (pm@ajka.example)"],
        ["Abony", "pm@abony.example (titkárság)"],
        ["Bóly", "E-mail cím: [pm@boly.example]"],
        ["Dány", "„pm@dany.example”"],
    ]
    sheet = load_recipients(write_xlsx(tmp_path / "a.xlsx", {"Lap1": rows}))
    assert [(r.email, r.rows) for r in sheet.recipients] == [
        ("pm@bikal.example", (2,)),
        ("jegyzo@bikal.example", (2,)),
        ("pm@magocs.example", (3,)),
        ("jegyzo@magocs.example", (3,)),
        ("pm@gyula.example", (4,)),
        ("hivatal@gyula.example", (4,)),
        ("pm@baja.example", (5,)),
        ("jegyzo@baja.example", (5,)),
        ("pm@vac.example", (6,)),
        ("titkarsag@vac.example", (6,)),
        ("pm@pecs.example", (7,)),
        ("jegyzo@pecs.example", (7,)),
        ("pm@eger.example", (8,)),
        ("pm@ajka.example", (9,)),
        ("pm@abony.example", (10,)),
        ("pm@boly.example", (11,)),
        ("pm@dany.example", (12,)),
    ]
    assert [(f.row, f.column, f.value, f.problem) for f in sheet.problems] == [
        (7, "E-mail", "titkárság", "not an address: An email address must have an @-sign.")
    ]


def test_addresses_labelled_by_office_or_copied_as_mailto_links_are_each_sent(tmp_path):
    # "Polgármester: a@x, Jegyző: b@y" held the whole row back; a link copied from a web
    # page ("mailto:a@x?subject=…") was refused for its subject.
    rows = [
        ["Önkormányzat", "E-mail"],
        ["Bikal", "polgármester: pm@bikal.example, jegyző: jegyzo@bikal.example"],
        ["Mágocs", "Polgármester asszony: pm@magocs.example\nJegyző úr: jegyzo@magocs.example"],
        ["Gyula", "pm@gyula.example (titkárság: hivatal@gyula.example)"],
        ["Baja", "mailto:pm@baja.example?subject=Megh%C3%ADv%C3%B3%2C%202027&body=Tisztelt"],
        ["Vác", "MAILTO:pm@vac.example,jegyzo@vac.example?cc=titkarsag@vac.example"],
        ["Pécs", "mailto:pm%40pecs.example"],
        ["Eger", "Nincs: senki"],
    ]
    sheet = load_recipients(write_xlsx(tmp_path / "a.xlsx", {"Lap1": rows}))
    assert [(r.email, r.rows) for r in sheet.recipients] == [
        ("pm@bikal.example", (2,)),
        ("jegyzo@bikal.example", (2,)),
        ("pm@magocs.example", (3,)),
        ("jegyzo@magocs.example", (3,)),
        ("hivatal@gyula.example", (4,)),
        ("pm@gyula.example", (4,)),
        ("pm@baja.example", (5,)),
        ("pm@vac.example", (6,)),
        ("jegyzo@vac.example", (6,)),
        ("titkarsag@vac.example", (6,)),
        ("pm@pecs.example", (7,)),
    ]
    assert [(f.row, f.column, f.value, f.problem) for f in sheet.problems] == [
        (8, "E-mail", "Nincs: senki", "not an address: An email address must have an @-sign.")
    ]


def test_a_second_address_column_is_named_once_not_silently_unread(tmp_path):
    rows = [
        ["Önkormányzat", "E-mail", "E-mail 2", "Régi e-mail", "Megjegyzés"],
        ["Bikal", "pm@bikal.hu", None, "regi@bikal.hu", "hétfőn zárva"],
        ["Mágocs", "pm@magocs.hu", "titkarsag@magocs.hu", "regi@magocs.hu", None],
        ["Gyula", "pm@gyula.hu", "jegyzo@gyula.hu", None, None],
    ]
    path = write_xlsx(tmp_path / "a.xlsx", {"Lap1": rows})
    sheet = load_recipients(path, columns={"Régi e-mail": "ignore"})
    assert [r.email for r in sheet.recipients] == ["pm@bikal.hu", "pm@magocs.hu", "pm@gyula.hu"]
    assert [(f.severity, f.row, f.column, f.value, f.problem) for f in sheet.findings if f.row != 1] == [
        (
            "warning",
            3,
            "E-mail 2",
            "titkarsag@magocs.hu",
            "the column 'E-mail 2' holds addresses that are not read: put them in the e-mail cell, or map the"
            ' column to "ignore" in [columns]',
        )
    ]


def test_a_date_or_number_in_the_name_cell_is_no_name(tmp_path):
    # The To line said "2020-01-01 <pm@eger.hu>".
    import datetime as dt

    rows = [
        ["Település", "Név", "E-mail"],
        ["Eger", dt.date(2020, 1, 1), "pm@eger.hu"],
        ["Ajka", "+36 30 123 4567", "pm@ajka.hu"],
        ["Pécs", "Kiss Anna", "pm@pecs.hu"],
    ]
    sheet = load_recipients(write_xlsx(tmp_path / "a.xlsx", {"Lap1": rows}))
    assert [(r.email, r.name, r.salutation) for r in sheet.recipients] == [
        ("pm@eger.hu", None, NEUTRAL),
        ("pm@ajka.hu", None, NEUTRAL),
        ("pm@pecs.hu", "Kiss Anna", "Tisztelt Polgármester Asszony!"),
    ]
    assert [(f.row, f.column, f.value, f.problem) for f in sheet.findings if "not a name" in f.problem] == [
        (2, "Név", "2020-01-01", "a number or a date, not a name: left out of the letter"),
        (3, "Név", "+36 30 123 4567", "a number or a date, not a name: left out of the letter"),
    ]


def test_invalid_addresses_are_problems_and_rejected(tmp_path):
    rows = [
        ["Önkormányzat", "E-mail"],
        ["Bikal", "kovacs@"],
        ["Mágocs", "kovács@magocs.hu"],
        ["Győr", ""],
        ["Pécs", "ok@pecs.hu"],
    ]
    path = write_csv(tmp_path / "a.csv", rows)
    sheet = load_recipients(path)
    assert [r.email for r in sheet.recipients] == ["ok@pecs.hu"]
    assert [(f.severity, f.row, f.column, f.value, f.problem) for f in sheet.problems] == [
        ("problem", 2, "E-mail", "kovacs@", "not an address: There must be something after the @-sign."),
        (
            "problem",
            3,
            "E-mail",
            "kovács@magocs.hu",
            "not an address: Internationalized characters before the @-sign are not supported: 'á'.",
        ),
        ("problem", 4, "E-mail", "", "no e-mail address"),
    ]
    assert [(r.address, r.municipalities, r.rows) for r in sheet.rejected] == [
        ("kovacs@", ("Bikal",), (2,)),
        ("kovács@magocs.hu", ("Mágocs",), (3,)),
        ("", ("Győr",), (4,)),
    ]


# --- one recipient per address -------------------------------------------------


def test_joint_office_is_one_recipient_for_several_municipalities(tmp_path):
    rows = [
        HEADER,
        ["Baranya", "Bikal", "Fehérné Győri Ilona", "jegyző", None, "jegyzo@kozos.hu"],
        ["Baranya", "Mágocs", "Fehérné Győri Ilona", "Jegyző", None, "JEGYZO@kozos.hu"],
        ["Baranya", "Alsómocsolád", "Fehérné  Győri Ilona", "jegyző", None, "jegyzo@KOZOS.hu"],
    ]
    sheet = load_recipients(write_csv(tmp_path / "a.csv", rows))
    assert sheet.recipients == [
        Recipient(
            email="jegyzo@kozos.hu",
            municipalities=("Bikal", "Mágocs", "Alsómocsolád"),
            salutation="Tisztelt Jegyző Asszony!",
            county="Baranya",
            name="Fehérné Győri Ilona",
            role="jegyző",
            gender="female",
            rows=(2, 3, 4),
            sheet=None,
            salutation_kind="female",
        )
    ]
    assert sheet.findings == []


def test_merged_rows_that_disagree_get_the_neutral_salutation(tmp_path):
    rows = [
        HEADER,
        ["Baranya", "Bikal", "Kiss Ödön", "polgármester", None, "hivatal@kozos.hu"],
        ["Baranya", "Mágocs", "Nagy Andrea", "polgármester", None, "hivatal@kozos.hu"],
    ]
    path = write_csv(tmp_path / "a.csv", rows)
    sheet = load_recipients(path)
    assert [(r.municipalities, r.salutation, r.salutation_kind) for r in sheet.recipients] == [
        (("Bikal", "Mágocs"), NEUTRAL, "neutral")
    ]
    assert sheet.findings == [
        Finding(
            "warning",
            "merged with row 2, which has a different name ('Kiss Ödön'): neutral salutation",
            str(path),
            None,
            3,
            "Név",
            "Nagy Andrea",
        )
    ]


def test_missing_municipality_holds_back_the_whole_address(tmp_path):
    rows = [["Önkormányzat", "E-mail"], ["Bikal", "pm@kozos.hu"], ["nan", "pm@kozos.hu"], ["Pécs", "pm@pecs.hu"]]
    sheet = load_recipients(write_csv(tmp_path / "a.csv", rows))
    assert [r.email for r in sheet.recipients] == ["pm@pecs.hu"]
    assert [(f.row, f.column, f.problem) for f in sheet.problems] == [(3, "Önkormányzat", "missing municipality")]
    assert sheet.rejected == [Rejected("pm@kozos.hu", ("Bikal",), (2, 3), "missing municipality")]


# --- salutations from the sheet ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role", "gender", "expected"),
    [
        ("Dr. Szűcs Erzsébet", "polgármester", None, "Tisztelt Polgármester Asszony!"),
        ("ifj. Tóth Ferenc", "alpolgármester", None, "Tisztelt Alpolgármester Úr!"),
        ("Horváth Lászlóné", "jegyző", None, "Tisztelt Jegyző Asszony!"),
        ("Kovácsné Szabó Éva", "aljegyző", None, "Tisztelt Aljegyző Asszony!"),
        ("Kiss Kim", "polgármester", None, NEUTRAL),
        # Lőrinc is in the official register (gender-guesser lacked it).
        ("Kiss Lőrinc", "polgármester", None, "Tisztelt Polgármester Úr!"),
        ("Kiss Kim", "polgármester", "F", "Tisztelt Polgármester Úr!"),
        ("Kiss Kim", None, "N", "Tisztelt Polgármester Asszony!"),
        (None, "főjegyző", "FÉRFI", "Tisztelt Főjegyző Úr!"),
        (None, "Polgármester", "Nő", "Tisztelt Polgármester Asszony!"),
        # The gender column beats the name.
        ("Nagy Andrea", "polgármester", "férfi", "Tisztelt Polgármester Úr!"),
    ],
)
def test_salutation_from_the_row(tmp_path, name, role, gender, expected):
    path = write_csv(tmp_path / "a.csv", [HEADER, ["Pest", "Üröm", name, role, gender, "pm@urom.hu"]])
    assert [r.salutation for r in load_recipients(path).recipients] == [expected]


def test_explicit_salutation_overrides_everything(tmp_path):
    rows = [
        ["Önkormányzat", "Név", "Nem", "Megszólítás", "E-mail"],
        ["Üröm", "Kiss Ödön", "férfi", "Kedves Ödön!", "pm@urom.hu"],
    ]
    sheet = load_recipients(write_csv(tmp_path / "a.csv", rows))
    assert [(r.salutation, r.salutation_kind) for r in sheet.recipients] == [("Kedves Ödön!", "explicit")]


def test_unknown_gender_is_a_warning(tmp_path):
    rows = [["Önkormányzat", "Név", "Nem", "E-mail"], ["Üröm", "Kiss Kim", "?", "pm@urom.hu"]]
    path = write_csv(tmp_path / "a.csv", rows)
    sheet = load_recipients(path)
    assert [r.salutation for r in sheet.recipients] == [NEUTRAL]
    assert [(f.severity, f.row, f.column, f.value, f.problem) for f in sheet.findings] == [
        ("warning", 2, "Nem", "?", "gender value not recognised (use nő or férfi); the name decides"),
        ("warning", 2, "Név", "Kiss Kim", "gender unknown: neutral salutation"),
    ]


@pytest.mark.parametrize(
    ("text", "hint"),
    [("Gyõr", "Győr"), ("Fûzfa", "Fűzfa"), ("GyÅ‘r", "Győr"), ("PÃ©cs", "Pécs")],
)
def test_mojibake_is_a_warning(tmp_path, text, hint):
    rows = [["Önkormányzat", "Név", "E-mail"], [text, "Kiss Ödön", "pm@pelda.hu"]]
    sheet = load_recipients(write_csv(tmp_path / "a.csv", rows))
    assert [r.municipalities for r in sheet.recipients] == [(text,)]
    assert [(f.severity, f.value, f.problem) for f in sheet.findings] == [
        ("warning", text, f"looks like mojibake (wrong code page); did you mean {hint!r}?")
    ]


def test_western_code_page_text_is_flagged_but_western_bytes_read_right(tmp_path):
    # Text that once passed through a Western code page (ő became õ), now in UTF-8:
    rows = [["Önkormányzat", "Név", "E-mail"], ["Gyõr", "Kiss Ödön", "pm@gyor.hu"]]
    sheet = load_recipients(write_csv(tmp_path / "a.csv", rows, encoding="utf-8"))
    assert [f.problem for f in sheet.warnings] == ["looks like mojibake (wrong code page); did you mean 'Győr'?"]
    # The same õ written as a cp1252 byte (0xF5) is ő in cp1250, which we read non-UTF-8 files as.
    sheet = load_recipients(write_csv(tmp_path / "b.csv", rows, encoding="cp1252"))
    assert [r.municipalities for r in sheet.recipients] == [("Győr",)]
    assert sheet.warnings == []


# --- bad input: one line, exit 2 ------------------------------------------------


def _error(path, **kwargs) -> str:
    with pytest.raises(RecipientsError) as caught:
        load_recipients(path, **kwargs)
    assert caught.value.exit_code == ExitCode.USAGE
    return str(caught.value)


def test_missing_file_and_folder(tmp_path):
    assert _error(tmp_path / "nincs.xlsx") == f"{tmp_path / 'nincs.xlsx'}: file not found"
    assert _error(tmp_path) == f"{tmp_path}: is a folder, not a spreadsheet file"


def test_unknown_format(tmp_path):
    path = tmp_path / "lista.docx"
    path.write_bytes(b"x")
    assert _error(path) == f"{path}: unknown format '.docx': use one of .xlsx, .xlsm, .xls, .ods, .csv, .txt"


def test_zip_and_random_bytes_renamed_to_xlsx(tmp_path):
    zipped = tmp_path / "kepek.xlsx"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("foto.jpg", b"\xff\xd8\xff")
    assert _error(zipped) == f"{zipped}: not a workbook: a zip archive without a spreadsheet inside"
    noise = tmp_path / "zaj.xlsx"
    noise.write_bytes(bytes(range(256)) * 4)
    assert _error(noise) == f"{noise}: not a workbook: the .xlsx file holds neither Excel nor OpenDocument data"
    fake_xls = tmp_path / "zaj.xls"
    fake_xls.write_bytes(b"<html><body>export</body></html>")
    assert "not a workbook" in _error(fake_xls)


def test_binary_data_renamed_to_csv(tmp_path):
    path = tmp_path / "zaj.csv"
    path.write_bytes(bytes(range(256)))
    assert _error(path) == f"{path}: binary data, not a text (CSV) file"


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "ures.csv"
    empty.write_bytes(b"")
    assert _error(empty) == f"{empty}: the file is empty"
    header_only = write_csv(tmp_path / "fejlec.csv", [HEADER, [], []])
    assert _error(header_only) == f"{header_only}: no data rows below the header"
    empty_book = write_xlsx(tmp_path / "ures.xlsx", {"Lap1": []})
    assert _error(empty_book) == f"{empty_book}: the workbook is empty: no sheet has any data"


def test_no_email_column(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["Település", "Név"], ["Bikal", "Kiss Ödön"]])
    assert _error(path) == (
        f"{path}, row 1: no e-mail column (found 'Település', 'Név'); name it 'E-mail' or map it in [columns]"
    )
    nothing = write_csv(tmp_path / "b.csv", [["a", "b"], ["c", "d"]])
    assert _error(nothing) == f"{nothing}: no header row with an e-mail column in the first 20 rows"


def test_an_email_header_with_more_words_is_read_with_a_warning_unless_there_are_two(tmp_path):
    # "Hivatali e-mail cím" stopped the whole run (exit 2) although it can only be the addresses.
    rows = [
        ["Település", "Polgármester neve", "Hivatali e-mail cím", "Megjegyzés"],
        ["Bikal", "Kiss Ödön", "pm@bikal.example", ""],
        ["Mágocs", "Nagy Éva", "pm@magocs.example", "e-mail a titkárságnak"],
    ]
    sheet = load_recipients(write_xlsx(tmp_path / "a.xlsx", {"Lap1": rows}))
    assert [(r.email, r.municipalities, r.name) for r in sheet.recipients] == [
        ("pm@bikal.example", ("Bikal",), "Kiss Ödön"),
        ("pm@magocs.example", ("Mágocs",), "Nagy Éva"),
    ]
    assert [(f.severity, f.row, f.column, f.problem) for f in sheet.findings] == [
        (
            "warning",
            1,
            "Hivatali e-mail cím",
            "the column 'Hivatali e-mail cím' is read as the e-mail column; map it in [columns] if it is not",
        )
    ]
    # Two such columns are the user's choice, as before; and a mapping of the column is no guess.
    two = write_csv(tmp_path / "b.csv", [["Település", "E-mail 1", "E-mail 2"], ["Bikal", "a@b.example", ""]])
    assert _error(two) == (
        f"{two}, row 1: 2 columns could be the e-mail column ('E-mail 1', 'E-mail 2'): "
        "map the one to send to in [columns]"
    )
    mapped = load_recipients(two, columns={"E-mail 1": "email"})
    assert [r.email for r in mapped.recipients] == ["a@b.example"]
    assert not [f for f in mapped.warnings if "read as the e-mail column" in f.problem]


def test_no_municipality_column(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["Név", "E-mail"], ["Kiss Ödön", "pm@bikal.hu"]])
    assert _error(path) == f"{path}, row 1: no municipality column (Önkormányzat or Település); map it in [columns]"


def test_unterminated_quote_in_csv(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        'Önkormányzat;E-mail\r\nBikal;pm@bikal.hu\r\n"Mágocs;pm@magocs.hu\r\nPécs;pm@pecs.hu\r\n', encoding="utf-8"
    )
    assert _error(path) == f"{path}, row 3: broken CSV (unexpected end of data); check for an unclosed quote"


def test_all_sheets_without_any_usable_sheet(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", {"Útmutató": [["Kérjük, töltse ki"]], "Lap2": [["x", "y"]]})
    assert _error(path, sheet="all") == (
        f"{path}, sheet 'Útmutató': no header row with an e-mail column in the first 20 rows"
    )


# --- odd cells: nothing crashes, nothing shows "None", "nan" or "{{" ----------

_ODD = st.one_of(
    st.sampled_from(["", " ", "None", "nan", "NaN", "#N/A", "{{ name }}", "{% if %}", "\u00a0", "\u200b", "=A1", "-"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=25),
)
_BAD_WORDS = ("none", "nan", "{{")


def _leaks(output: str, *inputs: str) -> list[str]:
    """Words in ``output`` that no input cell contained: invented by the loader."""
    text = " ".join(inputs).lower()
    return [word for word in _BAD_WORDS if word in output.lower() and word not in text]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_ODD, _ODD, _ODD, _ODD, _ODD, _ODD), min_size=1, max_size=6))
def test_odd_cells_never_crash_or_leak_placeholders(rows):
    header = ["Önkormányzat", "Név", "Beosztás", "Nem", "Megszólítás", "E-mail"]
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "odd.csv", [header, *[list(row) for row in rows]], encoding="utf-8")
        try:
            sheet = load_recipients(path)
        except RecipientsError as error:
            assert str(error).startswith(str(path))  # one line naming the file
            return
    cells = [cell for row in rows for cell in row]
    for recipient in sheet.recipients:
        assert not _leaks(recipient.salutation, *cells)
        for municipality in recipient.municipalities:
            assert municipality and not _leaks(municipality, *cells)
            assert "{{" not in municipality and "{%" not in municipality
        assert "{{" not in recipient.salutation
        assert recipient.salutation.strip() == recipient.salutation and recipient.salutation


@settings(max_examples=100, deadline=None)
@given(name=_ODD, gender=_ODD)
def test_any_name_gives_one_of_the_three_salutations(name, gender):
    rows = [["Önkormányzat", "Név", "Nem", "E-mail"], ["Bikal", name, gender, "pm@bikal.hu"]]
    with tempfile.TemporaryDirectory() as folder:
        sheet = load_recipients(write_csv(Path(folder) / "n.csv", rows, encoding="utf-8"))
    if sheet.recipients:
        # One of the three salutations of one office: the mayor's (no role column), or the office
        # the name cell itself names ("Kiss Anna alpolgármester", or just "ELNOKHELYETTES").
        salutation = sheet.recipients[0].salutation
        found = re.fullmatch(r"Tisztelt (\w[\w -]*?) (?:Asszony|Úr)!|Tisztelt (\w[\w -]*?) Asszony, \2 Úr!", salutation)
        assert found, salutation
        office = found.group(1) or found.group(2)
        assert office == "Polgármester" or _plain(office) in _plain(name), (office, name)


def _plain(text: str) -> str:
    """Lower case, accents off, words run together: how an office can be typed in a name cell."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def test_neither_utf8_nor_cp1250(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("Önkormányzat;E-mail\r\nBikal;pm@bikal.hu\r\n".encode("cp1250") + b"\x81\r\n")
    assert _error(path) == f"{path}: neither UTF-8 nor Windows-1250 text (byte 0x81 at offset 40)"


def test_all_sheets_skips_an_instructions_sheet_with_a_warning(tmp_path):
    path = write_xlsx(
        tmp_path / "a.xlsx",
        {
            "Útmutató": [["Kérjük, töltse ki"]],
            "Pest": [["Település", "Név", "E-mail"], ["Üröm", "Kiss Ödön", "pm@urom.hu"]],
        },
    )
    sheet = load_recipients(path, sheet="all")
    assert [(r.email, r.county) for r in sheet.recipients] == [("pm@urom.hu", "Pest")]
    assert sheet.findings == [
        Finding(
            "warning",
            "sheet skipped: no header row with an e-mail column in the first 20 rows",
            str(path),
            "Útmutató",
            None,
            None,
            None,
        )
    ]


def test_mapping_names_a_column_the_sheet_lacks(tmp_path):
    path = write_csv(tmp_path / "a.csv", HUNGARIAN_ROWS)
    sheet = load_recipients(path, columns={"Hivatali e-mail": "email"})
    assert summary(sheet) == EXPECTED
    assert [(f.severity, f.row, f.column, f.problem) for f in sheet.findings] == [
        ("warning", 1, "Hivatali e-mail", "column mapping: this sheet has no column 'Hivatali e-mail'")
    ]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("Önkormányzat;Név;E-mail\r\nBikal;Kiss, Ödön;a@b.hu\r\n", ";"),
        ("Önkormányzat,E-mail\nBikal,a@b.hu\n", ","),
        ("Önkormányzat\tE-mail\nBikal\ta@b.hu\n", "\t"),
        ("sep=,\r\nÖnkormányzat,E-mail\r\n", ","),
        ("Lista; 2020. június\nÖnkormányzat,E-mail\nBikal,a@b.hu\n", ","),
        ("E-mail\na@b.hu\n", ";"),
    ],
)
def test_delimiter_detection(sample, expected):
    assert sniff_delimiter(sample) == expected


def test_rejected_is_one_entry_per_address_for_the_ledger(tmp_path):
    rows = [
        ["Önkormányzat", "Név", "E-mail"],
        ["Bikal", "Kiss Ödön", "kovacs@"],
        ["Mágocs", "Kiss Ödön", "KOVACS@"],
        ["Pécs", "Kiss Ödön", ""],
        ["Tök", "Kiss Ödön", ""],
    ]
    sheet = load_recipients(write_csv(tmp_path / "a.csv", rows))
    assert sheet.rejected == [
        Rejected("kovacs@", ("Bikal", "Mágocs"), (2, 3), "not an address: There must be something after the @-sign."),
        Rejected("", ("Pécs", "Tök"), (4, 5), "no e-mail address"),
    ]
    assert len(sheet.problems) == 4  # every row is still reported


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("Kovács János", False),
        ("{{ név }}", True),
        ("Példa {% if x %}", True),
        ("megjegyzés #}", True),
        ("{# megjegyzés", True),
        ("100% }}", True),
        ("{ egy kapcsos", False),
        ("} és %", False),
        ("{ % }", False),
        ("", False),
    ],
)
def test_template_marks_in_a_cell(text: str, marked: bool) -> None:
    from lgp_mailer.sheets.cells import has_template_marks

    assert has_template_marks(text) is marked


def test_merged_rows_that_disagree_name_the_field_in_the_interface_language(tmp_path):
    from hungarian import hungarian

    path = tmp_path / "lista.csv"
    path.write_text(
        "Önkormányzat;Név;Beosztás;E-mail\n"
        "Gödöllő;dr. Kovács Ödön;polgármester;polgarmester@godollo.example\n"
        "Mágocs;dr. Kovács Ödön;alpolgármester;POLGARMESTER@godollo.example\n",
        encoding="utf-8",
    )
    with hungarian(tmp_path / "locale"):
        hu = [f.problem for f in load_recipients(path).findings if "összevonva" in f.problem]
    en = [f.problem for f in load_recipients(path).findings if "merged" in f.problem]
    assert hu == ["összevonva ezzel: 2. sor, amelyben ez a mező eltér: beosztás („polgármester”); semleges megszólítás"]
    assert en == ["merged with row 2, which has a different role ('polgármester'): neutral salutation"]
