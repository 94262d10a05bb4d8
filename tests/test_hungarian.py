"""Salutations, gender from Hungarian names, gender-column values, and the date rules."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgp_mailer.hungarian import (
    day_suffix,
    guess_gender,
    long_date,
    normalise_role,
    on_date,
    parse_gender,
    salutation,
)


@pytest.mark.parametrize(
    ("role", "gender", "expected"),
    [
        ("polgármester", "female", "Tisztelt Polgármester Asszony!"),
        ("polgármester", "male", "Tisztelt Polgármester Úr!"),
        ("polgármester", None, "Tisztelt Polgármester Asszony, Polgármester Úr!"),
        ("Polgármester", "male", "Tisztelt Polgármester Úr!"),
        ("  POLGÁRMESTER ", "female", "Tisztelt Polgármester Asszony!"),
        (None, None, "Tisztelt Polgármester Asszony, Polgármester Úr!"),
        ("", "male", "Tisztelt Polgármester Úr!"),
        ("jegyző", "female", "Tisztelt Jegyző Asszony!"),
        ("jegyző", "male", "Tisztelt Jegyző Úr!"),
        ("jegyző", None, "Tisztelt Jegyző Asszony, Jegyző Úr!"),
        ("alpolgármester", "female", "Tisztelt Alpolgármester Asszony!"),
        ("alpolgármester", None, "Tisztelt Alpolgármester Asszony, Alpolgármester Úr!"),
        ("aljegyző", "male", "Tisztelt Aljegyző Úr!"),
        ("főjegyző", "male", "Tisztelt Főjegyző Úr!"),
        # "címzetes" is an honorary title, not part of the address (issue 13).
        ("címzetes   főjegyző", "female", "Tisztelt Főjegyző Asszony!"),
    ],
)
def test_salutation(role, gender, expected):
    assert salutation(role, gender) == expected


def test_roles_are_normalised():
    assert normalise_role(" Polgármester ") == normalise_role("polgármester") == "polgármester"
    assert normalise_role(None) == "polgármester"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Kiss Ödön", "male"),
        ("Dr. Szűcs Erzsébet", "female"),
        ("dr Szűcs Erzsébet", "female"),
        ("Prof. Dr. Nagy Ildikó", "female"),
        ("ifj. Tóth Ferenc", "male"),
        ("id. Tóth Győző", "male"),
        ("özv. Kiss Jánosné", "female"),
        ("Horváth Lászlóné", "female"),
        ("Kovácsné Szabó Éva", "female"),
        ("Kovácsné dr. Szabó Éva", "female"),
        ("Fehérné Győri Ilona", "female"),
        ("Nagy Andrea", "female"),
        ("Szabó Anna-Mária", "female"),
        ("Kiss Lőrinc Péter", "male"),
        # Lőrinc was missing from gender-guesser; the official register lists it (issue 13).
        ("Kiss Lőrinc", "male"),
        # René is not a married name; the register lists it as a man's name (issue 13).
        ("Kiss René", "male"),
        # Neither the register nor gender-guesser decides: the next given name does.
        ("Kiss Kim Péter", "male"),
        ("Kiss Kim", None),
        # "Gabi" is only "mostly male" in Hungary: not enough to write "Úr".
        ("Kiss Gabi", None),
        ("Kiss", None),  # a lone word may be a family name
        ("Andrea", None),
        ("Kiss Xyzqw", None),
        ("", None),
        (None, None),
        ("Dr.", None),
    ],
)
def test_guess_gender(name, expected):
    assert guess_gender(name) == expected


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [("Erzsébet", "female"), ("Ödön", "male"), ("Győző", "male"), ("Ildikó", "female"), ("Lőrinc", "male")],
)
def test_accented_given_names_resolve(given_name, expected):
    # The register spells names with ő and ű (UTF-8); Lőrinc is listed.
    assert guess_gender(f"Kovács {given_name}") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nő", "female"),
        ("Nő", "female"),
        ("NŐ", "female"),
        ("Nö", "female"),  # ő typed as ö
        ("NÕ", "female"),  # ő through a Western code page
        ("N", "female"),
        ("n.", "female"),
        ("female", "female"),
        ("Woman", "female"),
        ("asszony", "female"),
        ("hölgy", "female"),
        ("férfi", "male"),
        ("FÉRFI", "male"),
        ("ffi", "male"),
        ("F", "male"),  # Hungarian sheets: F = férfi
        ("M", "male"),
        ("male", "male"),
        ("man", "male"),
        ("úr", "male"),
        (" Úr ", "male"),
        ("no", None),  # not read as nő: it may be English "no"
        ("?", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_gender(value, expected):
    assert parse_gender(value) == expected


@given(st.text(max_size=60))
def test_odd_names_never_crash(name):
    assert guess_gender(name) in ("female", "male", None)


@given(st.one_of(st.none(), st.text(max_size=30)), st.sampled_from(["female", "male", None]))
def test_salutation_never_shows_placeholders(role, gender):
    text = salutation(role, gender)
    assert text.startswith("Tisztelt ") and text.endswith("!")
    if not (role or "").strip():
        assert "Polgármester" in text  # the default role, never "None"


def test_dates_still_work():
    day = dt.date(2020, 6, 18)
    assert long_date(day) == "2020. június 18. (csütörtök)"
    assert on_date(day) == "2020. június 18-án"
    assert day_suffix(1) == "1-jén"
