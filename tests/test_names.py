"""Given names from the official register, and the order of the name's words."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from lgp_mailer.hungarian import (
    given_name_gender,
    read_name,
    register,
    register_genders,
    words_after_name,
)

DATA = resources.files("lgp_mailer") / "data" / "utonevek"


def test_the_shipped_register_is_the_recorded_edition():
    # Counts and hashes as data/utonevek/SOURCE.md records them.
    reg = register()
    assert {gender: len(names) for gender, names in reg.names.items()} == {"female": 2421, "male": 1840}
    assert reg.titles["male"].endswith("utónevek jegyzéke: férfinevek -- 2020. november 1.")
    assert reg.titles["female"].endswith("utónevek jegyzéke: női nevek -- 2020. november 1.")
    hashes = {f: hashlib.sha256((DATA / f).read_bytes()).hexdigest() for f in ("osszesffi.txt", "osszesnoi.txt")}
    assert hashes == {
        "osszesffi.txt": "410ad81d476895de6f0c3ebb19bdf04b3b532351a2f970ed904f6829536640a4",
        "osszesnoi.txt": "cec273650793e287d4a8a72693c71eac6d686dd7a40707bf0be16650b83fd966",
    }
    source = (DATA / "SOURCE.md").read_text(encoding="utf-8")
    assert "85e234df39cd6816931d5b662b3ed8ad26cb85d9" in source and "https://file.nytud.hu/osszesffi.txt" in source


def test_every_register_name_reads_as_its_list():
    reg = register()
    both = set(map(str.casefold, reg.names["female"])) & set(map(str.casefold, reg.names["male"]))
    assert both == set()  # this edition has no name on both lists
    wrong = [
        (name, gender) for gender, names in reg.names.items() for name in names if given_name_gender(name) != gender
    ]
    assert wrong == []


def test_a_name_on_both_lists_is_neutral(monkeypatch):
    # No edition so far lists a name twice; if one does, the letter is neutral.
    reg = register()
    monkeypatch.setitem(reg.__dict__, "genders", {**reg.genders, "kim": frozenset({"female", "male"})})
    assert register_genders("Kim") == {"female", "male"}
    assert given_name_gender("Kim") is None
    assert read_name("Kiss Kim").gender is None
    assert read_name("Kiss Kim Anna").gender == "female"  # the next given name decides


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Common names gender-guesser did not know.
        ("Kovács Zsombor", "male"),
        ("Kovács Boglárka", "female"),
        ("Kovács Emőke", "female"),
        ("Kovács Bendegúz", "male"),
        ("Kovács Kende", "male"),
        ("Kovács Előd", "male"),
        ("Kovács Lőrinc", "male"),
        ("Kovács Levente", "male"),
        ("Kovács Botond", "male"),
        ("Kovács Csenge", "female"),
        ("Kovács Hajnalka", "female"),
        ("Kovács Villő", "female"),
        ("Kovács Dorottya", "female"),
        ("Kovács Réka", "female"),
        # ő and ű.
        ("Szűcs Győző", "male"),
        ("Kovács Ünige", "female"),
        ("Kovács Gyöngyvér", "female"),
        ("Kovács Tünde", "female"),
        ("Kovács Ödön", "male"),
        ("Kovács Jenő", "male"),
        ("Kovács Kinga", "female"),
        # Latin-1 look-alikes from old exports: õ for ő, û for ű.
        ("Kovács Lõrinc", "male"),
        ("Kovács Tûnde", "female"),  # "Tűnde" is no name; without accents it is Tünde
        # Typed without accents: compared accent-free when the exact spelling is not listed.
        ("Kovacs Janos", "male"),
        ("KOVACS ZSOFIA", "female"),
        ("Szabo Lorinc", "male"),
        ("Janos Kovacs", "male"),
        # Double and hyphenated given names: the first decides.
        ("Szabó Anna Mária", "female"),
        ("Szabó Anna-Mária", "female"),
        ("Szabó Ádám Kristóf", "male"),
        ("Szabó-Nagy Péter Pál", "male"),
        ("Kiss-Tóth Eszter", "female"),
        # Names the register lacks: gender-guesser, then nothing.
        ("Kovács Gabi", None),  # a nickname, only "mostly male"
        ("Kovács Kim", None),
        # Capitals, titles, married names.
        ("DR. KOVÁCS ZSÓFIA", "female"),
        ("Prof. Dr. Nagy Benedek", "male"),
        ("Nagy Zsomborné", "female"),
        ("Kiss René", "male"),  # ends in -né, but a man's name
        # Given name first.
        ("Zsombor Kovács", "male"),
        ("Boglárka Szabó", "female"),
        ("Anna Mária Kovács", "female"),
        ("Dr. Emőke Szabó", "female"),
        # A foreign given name first, which only gender-guesser knows: it was neutral.
        ("John Smith", "male"),
        ("Dr. Sarah Miller", "female"),
        ("Kovács Polgármesteri", None),  # no word is a given name: still nothing
        # Both words are in the register (Kardos is a rare man's name): Hungarian order wins.
        ("Kardos Emőke", "female"),
    ],
)
def test_hand_picked_names(name, expected):
    assert read_name(name).gender == expected


@pytest.mark.parametrize(
    ("name", "given_first"),
    [
        ("János Kovács", True),
        ("Kovács János", False),
        ("Anna Mária Kovács", True),
        ("Dr. Emőke Szabó", True),
        ("Kardos Emőke", False),
        ("Janos Kovacs", True),
        # The last word is a given name too: family name first, as Hungarian writes.
        ("Péter Pál", False),
        ("Farkas Gabi", False),  # "Gabi" is a nickname gender-guesser knows
        ("Balázs Kiss", True),
        ("Kiss", False),
        ("Horváth Lászlóné", False),
        ("John Smith", True),
        ("Smith John", False),
    ],
)
def test_name_order(name, given_first):
    assert read_name(name).given_first is given_first


def test_a_word_of_many_names_is_looked_up_once_and_forgotten_after_the_sheet():
    from lgp_mailer.hungarian import forget_names

    forget_names()
    readings = {read_name(f"Kovács Ödön {n}") for n in range(30)}
    assert readings == {read_name("Kovács Ödön")}
    assert register_genders.cache_info().currsize == 2  # "Kovács" and "Ödön", whatever the row
    assert register_genders.cache_info().hits >= 30
    forget_names()
    assert register_genders.cache_info().currsize == 0


@pytest.mark.parametrize(
    ("name", "gender"),
    [
        # An office written after the name is not part of it: "Gál" is a given name too, so
        # "Gál Boglárka polgármester" was read given name first and greeted as a man.
        ("Gál Boglárka polgármester", "female"),
        ("Kelemen Beáta POLGÁRMESTER", "female"),
        ("Fekete Ferenc polgármester", "male"),
        ("Illés Eszter elnök (nemzetiségi önkormányzat)", "female"),
        ("Bálint Hippolita alpolgármester (társadalmi megbízatású)", "female"),
        ("ifj. Kozma Ildikó jegyző", "female"),
        ("Farkas Mária körjegyző", "female"),
        ("Jónás Gabriella hivatalvezető", "female"),
        ("Kovács Anna polgármester asszony", "female"),
        # A job word in small letters after a capitalised name is no name either.
        ("Máté Szilvia nemzetiségi önkormányzat elnöke", "female"),
        ("MÁTÉ RÓBERT referens", "male"),
        ("Bogdán Hajnalka ügyintéző", "female"),
        # Words between the name and the office belong to the office ("Roma Nemzetiségi").
        ("Bogdán Klotild Roma Nemzetiségi Önkormányzat elnöke", "female"),
        ("prof. dr. bálint ellina NNÖ elnök", "female"),
        ("Kovács János Jr.", "male"),
        # But a given name in small letters is still a given name.
        ("Kiss Anna mária", "female"),
        ("kiss anna mária", "female"),
    ],
)
def test_words_after_the_name_are_not_read_as_names(name, gender):
    reading = read_name(name)
    assert (reading.gender, reading.given_first) == (gender, False)


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("Gál Boglárka polgármester", "polgármester"),
        ("Dr. Vincze Gábor ügyintéző", "ügyintéző"),
        ("Kovács Anna polgármester asszony", "polgármester asszony"),
        ("Illés Eszter elnök (nemzetiségi önkormányzat)", "elnök (nemzetiségi önkormányzat)"),
        ("MÁTÉ RÓBERT referens", "referens"),
        ("Kovács János", ""),
        ("Kovács Ferenc, dr.", ""),
        ("Kiss Anna mária", ""),
        ("Bogdán Klotild Roma Nemzetiségi Önkormányzat elnöke", "Nemzetiségi Önkormányzat elnöke"),  # Roma: a name too
        ("bálint ellina NNÖ elnök", "NNÖ elnök"),
        # Given name first: "Kovács" goes with the office, which still reads as the mayor.
        ("Anna Mária Kovács polgármester", "Kovács polgármester"),
        ("Polgármester", "Polgármester"),
    ],
)
def test_the_words_after_a_name(name, extra):
    assert words_after_name(name) == extra


@pytest.mark.parametrize(
    ("name", "gender"),
    [
        # A woman's given name first and a man's last: "Szilvia Kende" is a woman written given
        # name first, "Rózsa Sándor" a man whose family name is a woman's given name. No guess.
        ("Szilvia Kende", None),
        ("Ildikó Gáspár", None),
        ("Rózsa Sándor", None),
        ("Fehér Ferenc", None),  # Fehér is a family name, but the register lists it as a woman's name
        ("Dr. Szilvia Kende", None),
        # A man's given name first is a family name as often as not: Hungarian order stands.
        ("Gáspár Ildikó", "female"),
        ("Kende Szilvia", "female"),
        ("Bálint Éva", "female"),
        # Both readings give the same gender: nothing to doubt.
        ("Szilvia Anna Kende", "female"),
        ("Ferenc Bálint", "male"),
        ("Anna Mária Kovács", "female"),
    ],
)
def test_a_womans_given_name_before_a_mans_is_not_guessed(name, gender):
    assert read_name(name).gender == gender


def test_check_says_why_a_name_of_unclear_order_is_neutral(tmp_path):
    from lgp_mailer.sheets.recipients import load_recipients

    from sheets_factory import HEADER, write_xlsx

    rows = [HEADER, ["Pest", "Budaörs", "Szilvia Kende", "jegyző", None, "jegyzo@budaors.example"]]
    loaded = load_recipients(write_xlsx(tmp_path / "sorrend.xlsx", {"Lap1": rows}))
    assert [r.salutation for r in loaded.recipients] == ["Tisztelt Jegyző Asszony, Jegyző Úr!"]
    assert [(f.row, f.column, f.value, f.problem) for f in loaded.findings] == [
        (
            2,
            "Név",
            "Szilvia Kende",
            "name order unclear: Szilvia is a woman's given name and Kende a man's, and either may be the "
            "family name: neutral salutation (fill in the gender column)",
        )
    ]


@pytest.mark.parametrize(
    ("name", "gender"),
    [
        # Two people in one name cell: the letter cannot greet the one it does not know.
        ("Kovács János és Kovács Anna", None),
        ("Kovács Éva, Nagy Béla", None),
        ("Nagy Béla; Kovács Éva", None),
        ("Kovács Éva / Nagy Béla", None),
        ("Kovács Éva\nNagy Béla", None),
        ("Kovács Éva - Nagy Béla", None),
        # Two women are greeted as women; a comma that is no second person changes nothing.
        ("Kovács Éva, Nagy Anna", "female"),
        ("Kovács Ferenc, dr.", "male"),
        ("Kovács, Ferenc", "male"),
        ("Kovács-Szabó Éva", "female"),
    ],
)
def test_two_people_in_one_name_cell(name, gender):
    assert read_name(name).gender == gender
