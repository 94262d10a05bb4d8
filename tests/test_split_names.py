"""A sheet with the name in two columns (Vezetéknév, Keresztnév): the name is theirs, in that order."""

from __future__ import annotations

from lgp_mailer.sheets.recipients import load_recipients

from sheets_factory import write_xlsx

HEADER = ["Település", "Vezetéknév", "Keresztnév", "Beosztás", "E-mail"]
ROWS = [
    ("Kovács", "Anna", "polgármester", "Tisztelt Polgármester Asszony!"),
    # The order is known: Rózsa is the family name, though the register lists it as a woman's.
    ("Rózsa", "Sándor", "polgármester", "Tisztelt Polgármester Úr!"),
    ("Fehér", "Ferenc", "jegyző", "Tisztelt Jegyző Úr!"),
    # Bálint is a given name, Zsüli none: read as one name it was "Bálint" first, a man.
    ("Bálint", "Zsüli", "jegyző", "Tisztelt Jegyző Asszony, Jegyző Úr!"),
    ("Kovács", "Jánosné", "aljegyző", "Tisztelt Aljegyző Asszony!"),
    ("dr. Szabó", "Éva Mária", "polgármester", "Tisztelt Polgármester Asszony!"),
    ("Nagy", None, "polgármester", "Tisztelt Polgármester Asszony, Polgármester Úr!"),
]


def _sheet(tmp_path):
    rows = [HEADER] + [
        ["Budaörs", family, given, role, f"cim{n}@budaors.example"] for n, (family, given, role, _) in enumerate(ROWS)
    ]
    return write_xlsx(tmp_path / "nevek.xlsx", {"Lap1": rows})


def test_the_two_columns_make_the_name_and_its_given_name_the_gender(tmp_path):
    loaded = load_recipients(_sheet(tmp_path))
    assert [(r.name, r.salutation) for r in loaded.recipients] == [
        (" ".join(p for p in (family, given) if p), text) for family, given, _, text in ROWS
    ]


def test_a_given_name_that_tells_nothing_is_warned_about_on_its_column(tmp_path):
    loaded = load_recipients(_sheet(tmp_path))
    assert [(f.row, f.column, f.value, f.problem) for f in loaded.findings] == [
        (5, "Keresztnév", "Bálint Zsüli", "gender unknown: neutral salutation"),
        (8, "Keresztnév", "Nagy", "gender unknown: neutral salutation"),
    ]


def test_the_gender_column_is_checked_against_the_given_name_column(tmp_path):
    rows = [
        ["Település", "Családi név", "Utónév", "Nem", "E-mail"],
        ["Budaörs", "Bálint", "Zsüli", "nő", "a@budaors.example"],  # Bálint is no given name here
        ["Budaörs", "Kovács", "Anna", "férfi", "b@budaors.example"],
    ]
    loaded = load_recipients(write_xlsx(tmp_path / "nemek.xlsx", {"Lap1": rows}))
    assert [r.salutation for r in loaded.recipients] == ["Tisztelt Polgármester Asszony!", "Tisztelt Polgármester Úr!"]
    assert [(f.row, f.column, f.value, f.problem) for f in loaded.findings] == [
        (
            3,
            "Utónév",
            "Kovács Anna",
            "the gender column says male (férfi) but the given name Anna is female: check the salutation",
        )
    ]


def test_a_registration_form_asking_the_name_in_two_questions(tmp_path):
    from lgp_mailer.campaign.matching import match_registrations, reminder_recipients
    from lgp_mailer.sheets.registrations import load_registrations

    export = tmp_path / "regisztraciok.csv"
    export.write_text(
        "Időbélyeg,Vezetéknév,Keresztnév,E-mail-cím,Település,Beosztás\n"
        "2027/03/01 10:00:00,Kovács,Anna,kovacs.anna@pest.example,Budaörs,jegyző\n"
        "2027/03/01 11:00:00,Rózsa,Sándor,rozsa@pest.example,Érd,polgármester\n"
        "2027/03/01 12:00:00,Bálint,Zsüli,balint@pest.example,Diósd,\n",
        encoding="utf-8",
    )
    registrations = load_registrations(export)
    assert [(r.name, r.given) for r in registrations.registrants] == [
        ("Kovács Anna", "Anna"),
        ("Rózsa Sándor", "Sándor"),
        ("Bálint Zsüli", "Zsüli"),
    ]
    reminded = reminder_recipients(match_registrations(registrations, []))
    assert [(r.name, r.salutation) for r in reminded] == [
        ("Kovács Anna", "Tisztelt Jegyző Asszony!"),
        ("Rózsa Sándor", "Tisztelt Polgármester Úr!"),
        ("Bálint Zsüli", "Tisztelt Polgármester Asszony, Polgármester Úr!"),
    ]


def test_two_people_in_one_name_cell_are_warned_about(tmp_path):
    rows = [
        ["Település", "Név", "E-mail"],
        ["Budaörs", "Kovács János és Kovács Anna", "a@budaors.example"],
        ["Érd", "Nagy Éva, Kiss Anna", "b@erd.example"],
    ]
    loaded = load_recipients(write_xlsx(tmp_path / "ketten.xlsx", {"Lap1": rows}))
    assert [r.salutation for r in loaded.recipients] == [
        "Tisztelt Polgármester Asszony, Polgármester Úr!",
        "Tisztelt Polgármester Asszony!",
    ]
    assert [(f.row, f.column, f.value, f.problem) for f in loaded.findings] == [
        (
            2,
            "Név",
            "Kovács János és Kovács Anna",
            "the name cell names 2 people of different genders: neutral salutation (one person per row)",
        )
    ]
