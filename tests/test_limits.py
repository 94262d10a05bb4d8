"""Size limits before parsing (issue 15): real zip bombs, huge CSV files, long cells.

Each test first builds the hostile file for real, then asserts the one line
and the exit code ``check`` gives, and that nothing was parsed on the way.
"""

from __future__ import annotations

import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hungarian import hungarian
from test_send_cli import make_campaign
from typer.testing import CliRunner

from lgp_mailer.cli import app
from lgp_mailer.config import load_campaign
from lgp_mailer.errors import ConfigError, RecipientsError
from lgp_mailer.sheets.limits import Limits
from lgp_mailer.sheets.recipients import load_recipients
from lgp_mailer.sheets.registrations import load_registrations

from sheets_factory import HEADER, write_csv, write_ods, write_xlsx

runner = CliRunner()
MIB = 1024 * 1024
ROW = ["Baranya", "Alsófalu", "Kiss Ödön", "polgármester", "F", "polgarmester@alsofalu.example"]
HINT = "(raise [limits] {key} in lgp-mailer.toml if the file is genuine)"


def campaign(tmp_path: Path, *toml_lines: str) -> Path:
    camp = make_campaign(tmp_path, None)
    if toml_lines:
        config = camp.root / "lgp-mailer.toml"
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("[smtp]", "\n".join(toml_lines) + "\n\n[smtp]"), encoding="utf-8")
    return camp.root


def check(tmp_path: Path, sheet: Path, *toml_lines: str, root: Path | None = None):
    root = root or campaign(tmp_path, *toml_lines)
    return runner.invoke(app, ["check", "--campaign", str(root), "--recipients", str(sheet)])


def error_line(result) -> str:
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def bomb(path: Path, member: str, megabytes: int) -> Path:
    """A real workbook whose ``member`` is replaced by ``megabytes`` MiB of XML that deflates ~1000:1."""
    source = write_xlsx(path.with_name("source.xlsx"), {"Lista": [HEADER, ROW]})
    chunk = b"<si><t>" + b"x" * 1000 + b"</t></si>"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            if info.filename != member:
                out.writestr(info, original.read(info))
        entry = zipfile.ZipInfo(member)
        entry.compress_type = zipfile.ZIP_DEFLATED
        with out.open(entry, "w", force_zip64=True) as stream:
            stream.write(
                b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            block = chunk * (MIB // len(chunk))
            for _ in range(megabytes):
                stream.write(block)
            stream.write(b"</sst>")
    return path


def test_a_zip_bomb_is_refused_from_its_directory_without_unpacking(tmp_path):
    path = bomb(tmp_path / "bomba.xlsx", "xl/sharedStrings.xml", 420)
    info = zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml")
    assert path.stat().st_size < 2 * MIB and info.file_size > 419 * MIB  # the 1 MB → 419 MB
    ratio = info.file_size / info.compress_size
    root = campaign(tmp_path)
    started = time.monotonic()
    result = check(tmp_path, path, root=root)
    elapsed = time.monotonic() - started
    tracemalloc.start()  # again, measured (tracing slows everything down)
    check(tmp_path, path, root=root)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.exit_code == 2
    assert error_line(result) == (
        f"lgp-mailer: error: {path}: the part xl/sharedStrings.xml unpacks {ratio:,.0f} times its size (420 MiB), "
        f"over the limit of 100:1 {HINT.format(key='zip_ratio')}"
    )
    assert peak < 20 * MIB and elapsed < 2  # nothing was unpacked (it was 2.6 GB and minutes)


def test_the_total_unpacked_size_is_limited_and_can_be_raised(tmp_path):
    path = write_xlsx(tmp_path / "nagy.xlsx", {"Lista": [HEADER, ROW]})
    with zipfile.ZipFile(path, "a", zipfile.ZIP_STORED) as archive:
        archive.writestr("docProps/padding.bin", bytes(range(256)) * (3 * MIB // 256))  # stored: ratio 1:1
    unpacked = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    result = check(tmp_path, path, "[limits]", "unpacked_bytes = 2097152")
    assert result.exit_code == 2
    assert error_line(result) == (
        f"lgp-mailer: error: {path}: the workbook unpacks to over {unpacked / MIB:,.0f} MiB, over the limit of "
        f"2 MiB {HINT.format(key='unpacked_bytes')}"
    )
    raised = check(tmp_path / "again", path, "[limits]", "unpacked_bytes = 8388608")
    assert raised.exit_code == 0, raised.output


def test_an_ods_bomb_is_refused_too(tmp_path):
    source = write_ods(tmp_path / "forras.ods", {"Lista": [HEADER, ROW]})
    path = tmp_path / "bomba.ods"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as out:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "content.xml":
                data = data.replace(
                    b"</office:document-content>", b"<!--" + b" " * (50 * MIB) + b"-->" + b"</office:document-content>"
                )
                info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, data)
    info = zipfile.ZipFile(path).getinfo("content.xml")
    with pytest.raises(RecipientsError) as caught:
        load_recipients(path)
    assert str(caught.value) == (
        f"{path}: the part content.xml unpacks {info.file_size / info.compress_size:,.0f} times its size (50 MiB), "
        f"over the limit of 100:1 {HINT.format(key='zip_ratio')}"
    )


def test_a_huge_csv_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "nagy.csv"
    line = ";".join(ROW).encode("utf-8") + b"\r\n"
    with path.open("wb") as stream:
        stream.write(";".join(HEADER).encode("utf-8") + b"\r\n")
        stream.write(line * (51 * MIB // len(line)))
    started = time.monotonic()
    result = check(tmp_path, path)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"lgp-mailer: error: {path}: the file is 51 MiB, over the limit of 50 MiB {HINT.format(key='csv_bytes')}"
    )
    assert time.monotonic() - started < 3


def test_a_long_csv_cell_names_the_limit_not_an_unclosed_quote(tmp_path):
    """The issue's case: a cell over 128 KiB was 'broken CSV …; check for an unclosed quote'."""
    path = write_csv(tmp_path / "hosszu.csv", [HEADER, ROW, [*ROW[:2], "x" * (129 * 1024), *ROW[3:]]])
    result = check(tmp_path, path)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"lgp-mailer: error: {path}, row 3: a cell is too long, over the limit of 32,767 characters "
        f"{HINT.format(key='cell_chars')}"
    )
    just_over = write_csv(tmp_path / "epphogy.csv", [HEADER, [*ROW[:2], "y" * 32_768, *ROW[3:]]])
    with pytest.raises(RecipientsError) as caught:
        load_recipients(just_over)
    assert str(caught.value) == (
        f"{just_over}, row 2: cell 3 holds 32,768 characters, over the limit of 32,767 characters "
        f"{HINT.format(key='cell_chars')}"
    )


def test_a_long_workbook_cell_too_many_rows_and_too_many_columns(tmp_path):
    other = [*ROW[:2], "x" * 32_767, *ROW[3:5], "jegyzo@alsofalu.example"]
    long_cell = write_xlsx(tmp_path / "cella.xlsx", {"Lista": [HEADER, ROW, other]})
    with pytest.raises(RecipientsError) as caught:
        load_recipients(long_cell, limits=Limits(cell_chars=1000))
    assert str(caught.value) == (
        f"{long_cell}, sheet 'Lista', row 3: cell 3 holds 32,767 characters, over the limit of 1,000 characters "
        f"{HINT.format(key='cell_chars')}"
    )
    assert len(load_recipients(long_cell).recipients) == 2  # Excel's own limit is within the default

    rows = write_xlsx(tmp_path / "sorok.xlsx", {"Lista": [HEADER] + [ROW] * 30})
    with pytest.raises(RecipientsError) as caught:
        load_recipients(rows, limits=Limits(rows=20))
    assert str(caught.value) == (
        f"{rows}, sheet 'Lista': more than 20 rows, over the limit of 20 rows {HINT.format(key='rows')}"
    )

    wide = write_csv(tmp_path / "szeles.csv", [HEADER + [f"x{i}" for i in range(200)], ROW])
    with pytest.raises(RecipientsError) as caught:
        load_recipients(wide)
    assert str(caught.value) == (
        f"{wide}, row 1: 206 columns, over the limit of 200 columns {HINT.format(key='columns')}"
    )


def test_registration_files_keep_the_same_limits(tmp_path):
    path = bomb(tmp_path / "valaszok.xlsx", "xl/sharedStrings.xml", 30)
    with pytest.raises(RecipientsError, match=r"unpacks [\d,]+ times its size \(30 MiB\), over the limit of 100:1"):
        load_registrations(path)


def test_the_limits_table_is_checked(tmp_path):
    camp = make_campaign(tmp_path, None)
    config = camp.root / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[smtp]", "[limits]\nrows = 500000\ncsv_bytes = 104857600\n\n[smtp]"), encoding="utf-8"
    )
    assert load_campaign(config).limits == Limits(rows=500_000, csv_bytes=100 * MIB)
    for bad, message in (
        ("rows = -1", "key 'limits.rows': must be a positive whole number, not -1"),
        (
            "rowz = 5",
            "key 'limits.rowz': unknown key (expected one of: csv_bytes, rows, columns, "
            "cell_chars, zip_ratio, unpacked_bytes, logo_bytes)",
        ),
    ):
        config.write_text(text.replace("[smtp]", f"[limits]\n{bad}\n\n[smtp]"), encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_campaign(config)
        assert str(caught.value) == f"{config}, {message}"


def test_limits_in_hungarian_use_hungarian_numbers(tmp_path):
    """Thousands are grouped the Hungarian way (a no-break space, CLDR), not with an English comma."""
    just_over = write_csv(tmp_path / "epphogy.csv", [HEADER, [*ROW[:2], "y" * 32_768, *ROW[3:]]])
    big = write_csv(tmp_path / "nagy.csv", [HEADER, ROW])
    with hungarian(tmp_path / "mo"):
        with pytest.raises(RecipientsError) as long_cell:
            load_recipients(just_over)
        with pytest.raises(RecipientsError) as too_big:
            load_recipients(big, limits=Limits(csv_bytes=100))
        long_text, big_text = long_cell.value.message, too_big.value.message
    hint = "ha a fájl valóban ilyen, emelje meg a [limits] {key} értékét az lgp-mailer.toml fájlban"
    assert long_text == (
        "a sor 3. cellájában 32\u00a0768 karakter van, ez meghaladja a felső határt (32\u00a0767 karakter); "
        + hint.format(key="cell_chars")
    )
    size = big.stat().st_size
    assert big_text.startswith(f"a fájl mérete {size} bájt"), big_text
    assert "(100 bájt)" in big_text and big_text.endswith(hint.format(key="csv_bytes")), big_text


def with_dtd(path: Path, member: str, dtd: bytes, entity: bytes) -> Path:
    """A real workbook whose ``member`` declares ``dtd`` and uses ``entity`` in its first string."""
    source = write_xlsx(path.with_name("source.xlsx"), {"Lista": [HEADER, ROW]})
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename == member:
                data = dtd + data.split(b"?>", 1)[-1].replace(b"<t>", b"<t>" + entity, 1)
            out.writestr(info.filename, data)
    return path


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY l0 "ha">'
    + b"".join(b'<!ENTITY l%d "%s">' % (n, b"&l%d;" % (n - 1) * 10) for n in range(1, 10))
    + b"]>"
)
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize(
    ("member", "dtd", "entity", "name", "system_id"),
    [
        ("xl/worksheets/sheet1.xml", LAUGHS, b"&l9;", "l0", "None"),
        ("xl/workbook.xml", LAUGHS, b"", "l0", "None"),
        ("xl/worksheets/sheet1.xml", XXE, b"&e;", "e", "'file:///etc/passwd'"),
    ],
)
def test_an_xml_bomb_or_external_entity_is_one_line_naming_the_refusal(tmp_path, member, dtd, entity, name, system_id):
    sheet = with_dtd(tmp_path / "hostile.xlsx", member, dtd, entity)
    result = check(tmp_path, sheet)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"lgp-mailer: error: {sheet}: refused: its XML declares an entity or DTD "
        f"(EntitiesForbidden(name='{name}', system_id={system_id}, public_id=None)); a genuine workbook has none"
    )


def test_an_unreadable_workbook_is_one_line_even_when_openpyxl_says_three(tmp_path):
    source = write_xlsx(tmp_path / "source.xlsx", {"Lista": [HEADER, ROW]})
    sheet = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(sheet, "w") as out:
        for info in original.infolist():
            data = original.read(info.filename)
            out.writestr(info.filename, b"<worksheet><unclosed" if info.filename == "xl/workbook.xml" else data)
    result = check(tmp_path, sheet)
    assert result.exit_code == 2
    assert error_line(result).startswith(f"lgp-mailer: error: {sheet}: not a readable Excel workbook (")


def test_an_ods_with_an_xml_bomb_is_refused_the_same_way(tmp_path):
    source = write_ods(tmp_path / "source.ods", {"Lista": [HEADER, ROW]})
    sheet = tmp_path / "hostile.ods"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(sheet, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename == "content.xml":
                data = LAUGHS + data.split(b"?>", 1)[-1].replace(b"<text:p>", b"<text:p>&l9;", 1)
            out.writestr(info, data)
    result = check(tmp_path, sheet)
    assert result.exit_code == 2
    assert error_line(result) == (
        f"lgp-mailer: error: {sheet}: refused: its XML declares an entity or DTD "
        "(EntitiesForbidden(name='l0', system_id=None, public_id=None)); a genuine workbook has none"
    )


def test_a_campaign_file_over_one_mib_is_refused_before_parsing(tmp_path):
    root = campaign(tmp_path)
    config = root / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[smtp]", "# " + "x" * (1024 * 1024) + "\n[smtp]"), encoding="utf-8")
    result = runner.invoke(app, ["check", "--campaign", str(root)])
    assert result.exit_code == 2
    assert error_line(result) == f"lgp-mailer: error: {config}: over 1 MiB: not a campaign file (one is a few KiB)"


def test_empty_rows_below_the_data_do_not_count_toward_the_row_limit(tmp_path):
    # A stray space in row 1,048,576 of a small sheet made a million empty rows "more than 200,000 rows";
    # here, with a limit of 1,000 rows, a space in row 5,000.
    import openpyxl

    sheet = write_xlsx(tmp_path / "lista.xlsx", {"Lista": [HEADER, ROW]})
    book = openpyxl.load_workbook(sheet)
    book["Lista"]["A5000"] = " "
    book.save(sheet)
    loaded = load_recipients(sheet, limits=Limits(rows=1000))
    assert [r.email for r in loaded.recipients] == ["polgarmester@alsofalu.example"]
    with pytest.raises(RecipientsError) as caught:
        load_recipients(sheet, limits=Limits(rows=2))
    assert str(caught.value) == (
        f"{sheet}, sheet 'Lista': more than 2 rows, over the limit of 2 rows {HINT.format(key='rows')}"
    )


def test_an_ods_row_repeating_an_empty_cell_400_million_times_is_refused_in_flat_memory(tmp_path):
    # Expanded cell by cell, that row took 6 GB of memory before the columns limit spoke.
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Lista")
    for cells in ([*HEADER], None, [*ROW]):
        row = TableRow()
        if cells is None:
            row.addElement(TableCell(numbercolumnsrepeated=400_000_000))
            cells = ["x"]
        for value in cells:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    sheet = tmp_path / "lista.ods"
    document.save(str(sheet))
    tracemalloc.start()
    with pytest.raises(RecipientsError) as caught:
        load_recipients(sheet)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(caught.value) == (
        f"{sheet}, sheet 'Lista', row 2: 16385 columns, over the limit of 200 columns {HINT.format(key='columns')}"
    )
    assert peak < 50 * MIB


@pytest.mark.parametrize("repeat", ["abc", "-3"])
def test_a_damaged_ods_repeat_attribute_counts_once_instead_of_a_traceback(tmp_path, repeat):
    source = write_ods(tmp_path / "source.ods", {"Lista": [HEADER, ROW]})
    sheet = tmp_path / "lista.ods"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(sheet, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename == "content.xml":
                assert data.count(b"<table:table-row>") == 2
                data = data.replace(
                    b"<table:table-row>", f'<table:table-row table:number-rows-repeated="{repeat}">'.encode()
                )
            out.writestr(info, data)
    assert [r.email for r in load_recipients(sheet).recipients] == ["polgarmester@alsofalu.example"]
