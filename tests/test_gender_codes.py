"""Coded gender columns: F/N (Hungarian), M/F (English), 1/2 (ISO/IEC 5218, KSH), read per column."""

from __future__ import annotations

from hungarian import hungarian

from lgp_mailer.sheets.recipients import load_recipients

from sheets_factory import HEADER, write_xlsx


def _sheet(tmp_path, rows, name="nemek.xlsx"):
    table = [HEADER] + [
        ["Pest", "Budaörs", person, "polgármester", code, f"cim{n}@budaors.example"]
        for n, (person, code) in enumerate(rows)
    ]
    return write_xlsx(tmp_path / name, {"Lap1": table})


def _greetings(loaded):
    return [r.salutation.removeprefix("Tisztelt Polgármester ") for r in loaded.recipients]


def _warnings(loaded):
    return [(f.row, f.column, f.value, f.problem) for f in loaded.findings]


def test_an_m_f_column_reads_f_as_female(tmp_path):
    # An English-style column: M = male, so F is female, not férfi.
    rows = [("Kovács Anna", "F"), ("Nagy Béla", "M"), (None, "F"), (None, "M"), ("Szabó Kim", "F")]
    loaded = load_recipients(_sheet(tmp_path, rows))
    assert _greetings(loaded) == ["Asszony!", "Úr!", "Asszony!", "Úr!", "Asszony!"]
    assert _warnings(loaded) == []


def test_an_f_n_column_reads_f_as_ferfi(tmp_path):
    rows = [("Kovács Anna", "N"), ("Nagy Béla", "F"), (None, "F"), (None, "N")]
    loaded = load_recipients(_sheet(tmp_path, rows))
    assert _greetings(loaded) == ["Asszony!", "Úr!", "Úr!", "Asszony!"]
    assert _warnings(loaded) == []


def test_a_1_2_column_is_iso_5218(tmp_path):
    # 1 = férfi, 2 = nő, also as numbers; a name without a gender takes the code's.
    table = [
        HEADER,
        ["Pest", "Budaörs", "Kovács Anna", "polgármester", 2, "a@budaors.example"],
        ["Pest", "Budaörs", "Nagy Béla", "polgármester", 1, "b@budaors.example"],
        ["Pest", "Budaörs", "Szabó Kim", "polgármester", "2", "c@budaors.example"],
        ["Pest", "Budaörs", None, "polgármester", "1", "d@budaors.example"],
    ]
    loaded = load_recipients(write_xlsx(tmp_path / "iso.xlsx", {"Lap1": table}))
    assert _greetings(loaded) == ["Asszony!", "Úr!", "Asszony!", "Úr!"]
    assert _warnings(loaded) == []


def test_codes_the_names_contradict_decide_nothing(tmp_path):
    # This sheet writes 1 for women: the register's given names say so, so the names decide,
    # a row with no name is neutral, and one warning names the code and the count.
    rows = [
        ("Kovács Anna", "1"),
        ("Nagy Éva", "1"),
        ("Szabó Ilona", "1"),
        ("Tóth Béla", "2"),
        (None, "1"),
        ("Kiss János", "2"),
    ]
    loaded = load_recipients(_sheet(tmp_path, rows))
    assert _greetings(loaded) == ["Asszony!", "Asszony!", "Asszony!", "Úr!", "Asszony, Polgármester Úr!", "Úr!"]
    assert _warnings(loaded) == [
        (
            2,
            "Nem",
            "1",
            "the gender column's codes disagree with the given names in 5 of 5 rows: the names decide, not the codes",
        ),
        (6, "Név", "", "gender unknown: neutral salutation"),
    ]


def test_one_or_two_contradicting_rows_keep_the_code_and_warn_on_the_row(tmp_path):
    rows = [("Kovács Anna", "F"), ("Nagy Béla", "F"), ("Szabó Ödön", "N")]
    loaded = load_recipients(_sheet(tmp_path, rows))
    assert _greetings(loaded) == ["Úr!", "Úr!", "Asszony!"]
    assert [w[0] for w in _warnings(loaded)] == [2, 4]


def test_m_n_and_f_together_leave_f_to_the_name(tmp_path):
    rows = [("Kovács Anna", "F"), ("Nagy Béla", "M"), ("Szabó Éva", "N"), ("Tóth Ödön", "F"), (None, "F")]
    loaded = load_recipients(_sheet(tmp_path, rows))
    assert _greetings(loaded) == ["Asszony!", "Úr!", "Asszony!", "Úr!", "Asszony, Polgármester Úr!"]
    assert _warnings(loaded)[0] == (
        2,
        "Nem",
        "F",
        "the gender column uses M, N and F: F may mean férfi or female, so the name decides",
    )
    with hungarian(tmp_path / "locale"):
        first = load_recipients(_sheet(tmp_path, rows, "hu.xlsx")).findings[0].problem
    assert first == "a nemet jelölő oszlop M, N és F jelet is használ: az F lehet férfi vagy nő, ezért a név dönt"


def test_a_gender_header_that_explains_its_codes_is_the_gender_column(tmp_path):
    for header in ("Nem (F/N)", "Neme (1 = férfi, 2 = nő)", "Gender (M/F)"):
        codes = {"Nem (F/N)": ("N", "F"), "Neme (1 = férfi, 2 = nő)": ("2", "1"), "Gender (M/F)": ("F", "M")}[header]
        rows = [
            ["Település", "Név", header, "E-mail"],
            ["Budaörs", "Kiss Kim", codes[0], "a@budaors.example"],
            ["Budaörs", "Nagy Kim", codes[1], "b@budaors.example"],
        ]
        loaded = load_recipients(write_xlsx(tmp_path / "fejlec.xlsx", {"Lap1": rows}))
        assert [r.salutation for r in loaded.recipients] == [
            "Tisztelt Polgármester Asszony!",
            "Tisztelt Polgármester Úr!",
        ], header
