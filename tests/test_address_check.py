"""normalise_address reads plain addresses with email-validator's own parts, a domain
once: every verdict, send form and reason must be the one ``validate_email`` gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email

from lgp_mailer import address_reasons
from lgp_mailer.i18n import _
from lgp_mailer.sheets import cells
from lgp_mailer.sheets.cells import AddressError, normalise_address

LOCALS = [
    "kovacs.janos",
    "Kovacs.Janos",
    "a+b",
    "hivatal_1",
    "x" * 64,
    "x" * 65,
    ".a",
    "a.",
    "a..b",
    '"quoted"',
    '"a b"',
    "Postmaster",
    "abuse",
    "kovács",
    "a b",
    "",
    "a@b",
    "o\u0308",
]
DOMAINS = [
    "pelda.hu",
    "PELDA.HU",
    "példa.hu",
    "xn--plda-bpa.hu",
    "\uff50elda.hu",  # fullwidth: UTS-46 maps it
    "münchen.de",
    "-a.hu",
    "a-.hu",
    "a..hu",
    "pelda.hu.",
    "ab--cd.hu",
    "a_b.hu",
    "exa mple.hu",
    "localhost",
    "a",
    "pelda.test",
    "pelda.invalid",
    "pelda.example",
    "[127.0.0.1]",
    "[IPv6:::1]",
    "x" * 63 + ".hu",
    "x" * 64 + ".hu",
    ".".join(["y" * 60] * 4) + ".hu",
    ".".join(["y" * 40] * 5),
    "",
    "pelda.hu>",
]


def _reference(candidate: str) -> str:
    """What normalise_address gave when it called validate_email for every address."""
    try:
        info = validate_email(candidate, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        return "error: " + _("not an address: {error}").format(error=address_reasons.reason(error))
    return f"{info.local_part}@{info.ascii_domain.lower()}"


def _read(candidate: str) -> str:
    try:
        return normalise_address(candidate).send
    except AddressError as error:
        return f"error: {error}"


def _candidates() -> list[str]:
    combined = [f"{local}@{domain}" for local in LOCALS for domain in DOMAINS]
    rng = random.Random(16)  # seeded: a failure repeats
    pieces = ["a", "Z", "9", ".", "-", "_", "+", "@", " ", '"', "<", ">", "é", "\uff50", "[", "]", "hu", "xn--"]
    generated = ["".join(rng.choices(pieces, k=rng.randint(1, 12))) for _ in range(1500)]
    named = ["Kovács János <kovacs@pelda.hu>", "<kovacs@pelda.hu>", "kovacs@pelda.hu (iroda)", "a@b@pelda.hu"]
    good_domains = ["pelda.hu", "Mintafalva.HU", "példa.hu", "t-online.hu", "lgp.example.org"]
    good = [f"{w}{n}@{good_domains[n % 5]}" for n, w in enumerate(["kovacs.janos", "Hivatal", "a+b", "x_y"] * 50)]
    return [*combined, *generated, *named, *good]


@pytest.mark.parametrize("warm", [False, True], ids=["first-read", "domains-known"])
def test_every_verdict_and_reason_is_validate_emails(warm: bool) -> None:
    cells._domain_reading.cache_clear()
    candidates = _candidates()
    if warm:
        for candidate in candidates:
            _read(candidate)
    got = {c: _read(c) for c in candidates}
    expected = {c: _reference(c) for c in candidates}
    assert got == expected
    assert sum(not v.startswith("error") for v in expected.values()) > 100  # good addresses were among them


def test_a_domain_is_read_once() -> None:
    cells._domain_reading.cache_clear()
    for n in range(50):
        assert normalise_address(f"Hivatal{n}@Pelda.HU").send == f"Hivatal{n}@pelda.hu"
    info = cells._domain_reading.cache_info()
    assert (info.misses, info.hits) == (1, 49)


def test_the_domains_are_forgotten_once_the_sheet_is_read(tmp_path: Path) -> None:
    from lgp_mailer.sheets.recipients import load_recipients

    from sheets_factory import HEADER, write_csv

    rows = [
        ["Baranya", "Bikal", f"Kiss Ödön {k}", "polgármester", "", f"hivatal@bikal{k % 3}.example"] for k in range(9)
    ]
    sheet = load_recipients(write_csv(tmp_path / "lista.csv", [HEADER, *rows]), hints=False)
    assert [r.email for r in sheet.recipients] == [f"hivatal@bikal{k}.example" for k in range(3)]
    assert cells._domain_reading.cache_info().currsize == 0
