"""A Megszólítás cell is printed as written; check warns when it cannot open a letter as written."""

from __future__ import annotations

from lgp_mailer.sheets.recipients import load_recipients

from sheets_factory import write_xlsx

CELLS = [
    ("Kedves Ödön!", False),
    ("Tisztelt Polgármester Asszony,", False),
    ("  Tisztelt  Polgármester Úr! ", False),
    ("Dear Mayor,", False),
    ("Tisztelt Polgármester Úr", True),  # no "!": the next line starts the letter
    ("TISZTELT POLGÁRMESTER ASSZONY!", True),  # shouting
    ("Kiss Anna", True),  # a name, not a salutation
    ("Úr", True),
]


def test_a_salutation_cell_that_cannot_open_a_letter_is_warned_about(tmp_path):
    rows = [["Település", "Név", "Megszólítás", "E-mail"]] + [
        ["Budaörs", "Kiss Anna", cell, f"cim{n}@budaors.example"] for n, (cell, _) in enumerate(CELLS)
    ]
    loaded = load_recipients(write_xlsx(tmp_path / "megszolitas.xlsx", {"Lap1": rows}))
    # Printed as written, spaces tidied.
    assert [r.salutation for r in loaded.recipients] == [" ".join(cell.split()) for cell, _ in CELLS]
    assert [(f.row, f.column, f.value, f.problem) for f in loaded.findings] == [
        (
            n + 2,
            "Megszólítás",
            " ".join(cell.split()),
            "the salutation cell is printed as written, but it does not read like one (e.g. „Tisztelt "
            "Polgármester Úr!”): check it",
        )
        for n, (cell, warned) in enumerate(CELLS)
        if warned
    ]
