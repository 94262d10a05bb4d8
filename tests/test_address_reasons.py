"""email-validator's reasons in the interface language (lgp_mailer.address_reasons)."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hungarian import hungarian
from typer.testing import CliRunner

import lgp_mailer.cli.check  # noqa: F401  (registers the command on the app)
from lgp_mailer import address_reasons
from lgp_mailer.cli.app import app
from lgp_mailer.errors import ExitCode
from lgp_mailer.sheets.cells import AddressError, normalise_address

from sheets_factory import HEADER, write_csv

# What real contact sheets hold instead of an address, and more.
BAD = [
    "kovacs.example.org",
    "kovacs(at)example.org",
    "@example.org",
    "kovacs@",
    "kovacs@@example.org",
    "kovács@example.org",
    "kov\u200bacs@example.org",
    "kovacs@example",
    "kovacs@localhost",
    "kovacs@example..org",
    "kovacs.@example.org",
    "kovacs-.@example.org",
    ".kovacs@example.org",
    "kovacs@.example.org",
    "kovacs@-example.org",
    "kovacs@example.-org",
    "kovacs@example.org.",
    "kovacs @example.org",
    "kovacs@ex ample.org",
    "kov,acs@example.org",
    "kovacs@ex\\ample.org",
    "kovacs@exa_mple.org",
    "kovacs@example.org>",
    "<kovacs@example.org",
    "Kovács Ödön <kovacs@example.org>",
    '"kovacs"@example.org',
    "kovacs@[192.0.2.1]",
    "kovacs\uff20example.org",
    "kovacs@example.invalid",
    "kovacs@example.123",
    "kovacs@ab--cd.org",
    "kovacs@xn--abc.org",
    "kovacs@example.org\u202e",
    "kovacs@" + "a" * 64 + ".org",
    "kovacs@" + ("a" * 60 + ".") * 5 + "org",
]


def _error(address: str) -> EmailNotValidError:
    with pytest.raises(EmailNotValidError) as caught:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    return caught.value


@pytest.mark.parametrize("address", BAD)
def test_every_reason_of_the_library_is_listed(address):
    # A newer email-validator that words a reason differently fails here, not in front of an office.
    text = str(_error(address))
    assert any(pattern.fullmatch(text) for pattern, _ in address_reasons._patterns()), text


@pytest.mark.parametrize("address", BAD)
def test_english_shows_the_library_sentence_unchanged(address):
    error = _error(address)
    assert address_reasons.reason(error) == str(error)


def test_an_unknown_reason_is_shown_as_written():
    assert address_reasons.reason(ValueError("Something new.")) == "Something new."


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("kovacs.example.org", "nincs benne @ jel."),
        ("kovacs@", "a @ jel után nem áll semmi."),
        ("kovács@example.org", "a @ jel előtt nem állhat ékezetes betű vagy más nem ASCII karakter: „á”."),
        (
            "kov\u200bacs@example.org",
            "a @ jel előtt nem állhat ékezetes betű vagy más nem ASCII karakter: ZERO WIDTH SPACE.",
        ),
        ("kovacs @example.org", "a @ jel előtt nem megengedett karakter áll: szóköz."),
        ("kovacs@ex\\ample.org", "a @ jel után nem megengedett karakter áll: „\\”."),
        ("kovacs@example", "a @ jel utáni rész nem érvényes: nincs benne pont."),
        ("kovacs@example..org", "két pont áll egymás után."),
        ("kovacs@example.org.", "ponttal végződik."),
        ("<kovacs@example.org", "a cím elején nyitó csúcsos zárójel („<”) áll, de a végén nincs záró párja („>”)."),
        (
            "kovacs\uff20example.org",
            "a szabályos @ jel helyett egy hozzá hasonló másik karakter áll benne (full-width).",
        ),
        (
            "kovacs@" + "a" * 64 + ".org",
            "a @ jel után két pont között túl sok karakter áll (1 karakterrel több a megengedettnél).",
        ),
    ],
)
def test_hungarian_reasons(tmp_path, address, expected):
    error = _error(address)
    with hungarian(tmp_path):
        assert address_reasons.reason(error) == expected


def test_no_english_in_any_hungarian_reason(tmp_path):
    errors = [_error(address) for address in BAD]
    with hungarian(tmp_path):
        reasons = [address_reasons.reason(error) for error in errors]
    for text in reasons:
        assert "@-sign" not in text and "email" not in text.lower() and not text[0].isupper(), text


def test_the_sheet_reader_says_it_in_hungarian(tmp_path):
    with hungarian(tmp_path), pytest.raises(AddressError) as caught:
        normalise_address("kovacs@example..org")
    assert str(caught.value) == "nem e-mail-cím: két pont áll egymás után."


def test_check_prints_the_reason_in_hungarian(tmp_path):
    sheet = write_csv(
        tmp_path / "kontaktok.csv",
        [HEADER, ["Baranya", "Bikal", "Kiss Ödön", "polgármester", None, "kovács@bikal.example"]],
    )
    with hungarian(tmp_path / "mo"):
        result = CliRunner().invoke(app, ["check", "--recipients", str(sheet)])
    assert result.exit_code == ExitCode.PROBLEMS, result.output
    lines = [line.rstrip() for line in result.output.splitlines()]
    row = next(line for line in lines if "kovács@bikal.example" in line)
    assert row.split(None, 4) == [
        "kontaktok.csv",
        "2",
        "E-mail",
        "kovács@bikal.example",
        "nem e-mail-cím: a @ jel előtt nem állhat ékezetes betű vagy más nem ASCII karakter: „á”.",
    ]
