"""README's "Salutation rules" tables are the specification: each row is asserted here.

The vocabulary tables must equal the data in lgp_mailer.roles, and every row
of the "Every case" table goes through the real sheet loader, so a change to
either the code or the docs that the other does not share fails a test.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lgp_mailer.hungarian import normalise_role, salutation
from lgp_mailer.roles import INSTITUTION_WORDS, OFFICES, QUALIFIERS, read_role
from lgp_mailer.sheets.recipients import load_recipients

README = Path(__file__).resolve().parent.parent / "README.md"
WARNINGS = {
    "role": "role not recognised: salutation without a title (see README, Salutation rules)",
    "typo": "role read as ",  # a prefix: the office follows
    "gender": "gender unknown: neutral salutation",
    "name order": "name read as given name first (Given Family order); check the name",
    "mojibake": "looks like mojibake (wrong code page); did you mean",  # a prefix: the hint follows
    "role vs. name": "the role says ",  # prefixes: test_gender_evidence.py checks the whole lines
    "gender vs. name": "the gender column says ",
}


def _key(problem: str) -> str:
    return next((key for key, text in WARNINGS.items() if problem.startswith(text)), problem)


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Salutation rules")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _tables() -> dict[str, list[list[str]]]:
    """Each table of the section by its header's first cell; cells stripped, "—" is empty."""
    tables: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for line in _section().splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if current is None:
            current = tables.setdefault(cells[0], [])
        elif not set("".join(cells)) <= set("-"):
            current.append(["" if cell == "—" else cell for cell in cells])
    return tables


CASES = _tables()["Role"]


def test_the_office_table_is_the_vocabulary():
    rows = _tables()["Office"]
    documented = {
        office: (title, tuple(s.strip() for s in also.split(",") if s.strip())) for office, title, also in rows
    }
    assert documented == OFFICES


def test_the_qualifier_table_is_the_vocabulary():
    assert dict(map(tuple, _tables()["Qualifier"])) == QUALIFIERS


def test_the_institution_words_are_documented():
    text = " ".join(_section().split())
    sentence = text[text.index("A cell with no office") : text.index("is an institution")]
    assert [w for w in INSTITUTION_WORDS if w not in sentence] == []


def test_every_case_has_five_cells_and_a_salutation():
    assert len(CASES) >= 40
    assert all(len(row) == 5 and row[3].startswith("Tisztelt ") for row in CASES)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = tmp_path_factory.mktemp("roles") / "szabalyok.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=";")
        writer.writerow(["Önkormányzat", "Beosztás", "Név", "Nem", "E-mail"])
        for number, (role, name, gender, _, _) in enumerate(CASES):
            writer.writerow(
                ["Budaörs", role, name, gender, f"cim{number}@pelda.example"]
            )  # a real settlement (issue 14)
    return load_recipients(path)


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=[" / ".join(c[:3]) for c in CASES])
def test_every_case_in_the_table(loaded, index, case):
    _, _, _, expected, warns = case
    row = index + 2  # the header is row 1
    (recipient,) = [r for r in loaded.recipients if r.rows == (row,)]
    assert recipient.salutation == expected
    found = sorted(_key(f.problem) for f in loaded.findings if f.row == row)
    assert found == sorted(w.strip() for w in warns.split(",") if w.strip())


@pytest.mark.parametrize("role", [row[0] for row in CASES if row[0]])
def test_normalising_a_role_twice_changes_nothing(role):
    once = normalise_role(role)
    assert normalise_role(once) == once
    assert salutation(once, None) == salutation(role, None)


def test_abbreviations_are_words_not_fragments():
    # "pm" inside a longer word is not the mayor.
    assert read_role("PM").office == "polgármester"
    assert read_role("pmh titkárság").kind == "institution"
    assert read_role("programfelelős").kind == "unknown"
    assert read_role("") is None and read_role(None) is None


def test_check_shows_the_unknown_role(tmp_path):
    from lgp_mailer.campaign.check import check_file, format_report

    path = tmp_path / "kontaktok.csv"
    path.write_text(
        "Önkormányzat;Beosztás;Név;E-mail\nBudaörs;ügyintéző;Kiss Anna;iroda@pelda.example\n", encoding="utf-8"
    )
    report = check_file(path)
    assert [(f.severity, f.row, f.column, f.value, f.problem) for f in report.findings] == [
        ("warning", 2, "Beosztás", "ügyintéző", WARNINGS["role"]),
    ]
    assert "kontaktok.csv         2    Beosztás  ügyintéző  " + WARNINGS["role"] in format_report(report).splitlines()


# -- is_person's shortcut: a cell without an institution word never reads as one --

_PERSON_CELLS = [
    "Kovács János",
    "dr. Szabó Éva",
    "Polgármesteri Hivatal",
    "PMH",
    "pmh Példafalva",
    "Példafalva Önkormányzata",
    "Onkormanyzat",
    "O\u0308nkorma\u0301nyzat",  # decomposed accents (NFD), as some exports write them
    "Ügyfél-szolgálat",
    "Ügyfélszolgálata",
    "kirendeltség-vezető",
    "Kirendeltsége",
    "Titkárság, Iroda",
    "hiva(megjegyzés)tal",
    "Hivatalné Kiss Anna",
    "Iroda és Hivatal",
    "polgármester / hivatal",
    "Irodai Ildikó",
    "Hivatalos Béla",
    "  ",
    "",
]


@pytest.mark.parametrize("cell", _PERSON_CELLS)
def test_is_person_matches_reading_the_whole_cell(cell: str) -> None:
    from lgp_mailer.hungarian import is_person
    from lgp_mailer.roles import INSTITUTION, may_name_institution

    read = read_role(cell)
    expected = bool(cell) and (read is None or read.kind != INSTITUTION)
    assert is_person(cell) is expected
    if not may_name_institution(cell):
        assert read is None or read.kind != INSTITUTION


def test_is_person_shortcut_is_taken_for_plain_names_and_not_for_offices() -> None:
    from lgp_mailer.roles import may_name_institution

    assert [may_name_institution(c) for c in ("Kovács János", "Polgármesteri Hivatal", "O\u0308NKORMA\u0301NYZAT")] == [
        False,
        True,
        True,
    ]


def test_is_person_matches_read_role_on_generated_cells() -> None:
    """Cells put together from institution words, their pieces and separators (seeded, so a failure repeats)."""
    import random

    from lgp_mailer.hungarian import forget_names, is_person
    from lgp_mailer.roles import INSTITUTION

    pieces = [
        *INSTITUTION_WORDS,
        *("hivatala", "irodája", "Kovács", "Éva", "polgármester", "jegyzője", "asszony", "úr", "PM", "H", "Ö"),
        *(" ", "-", ".", ",", ";", "/", "(", ")", " és ", "ill.", "o\u0308", "\u00a0"),
    ]
    rng = random.Random(16)
    for _ in range(3000):
        cell = "".join(rng.choices(pieces, k=rng.randint(0, 6)))
        read = read_role(cell)
        assert is_person(cell) is (bool(cell) and (read is None or read.kind != INSTITUTION)), cell
    forget_names()  # 3,000 cells' words out of the caches, which later tests measure memory beside
