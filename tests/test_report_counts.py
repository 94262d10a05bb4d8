"""The committee report's counts agree with the sent log: a letter counts as reminded, registered,
attended or followed up only for what was sent to it, or to an address that is no other letter's."""

from __future__ import annotations

import openpyxl
from test_report import cells, funnel, sent
from test_send_cli import runner

from lgp_mailer.cli import app
from lgp_mailer.ledger.store import open_ledger

MAYOR = ("polgarmester@kisvaros.example", "Kisváros", "Baranya")
NOTARY = ("jegyzo@kisvaros.example", "Kisváros", "Baranya")
OTHER = ("polgarmester@nagyfalu.example", "Nagyfalu", "Tolna")
GMAIL = ("kovacs.janos@gmail.example", "Nagyfalu", "Tolna")  # registered from a private address


def test_a_colleagues_reminder_and_thanks_do_not_count_for_the_other_letter_of_the_municipality(tmp_path, monkeypatch):
    with open_ledger(tmp_path / "naplo.sqlite3") as ledger:
        sent(ledger, "c1", "invitation", [MAYOR, NOTARY, OTHER])
        sent(ledger, "c1", "reminder", [MAYOR, GMAIL])
        sent(ledger, "c1", "thanks", [MAYOR])
        sent(ledger, "c1", "recording", [GMAIL])
    monkeypatch.setenv("LGP_MAILER_DB", str(tmp_path / "naplo.sqlite3"))
    out = tmp_path / "jelentes.xlsx"
    result = runner.invoke(app, ["report", "--ledger-only", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    # The mayor: reminded, thanked. The notary: nothing. Nagyfalu's letter: its registrant's reminder
    # and recording, sent to an address that is no letter, count for it.
    assert cells(book["Tölcsér"])[1] == ["c1", *funnel([3, 3, 0, 2, 2, 1, 2])]
    assert cells(book["Szerepkörök"])[1] == ["c1", "ismeretlen", *funnel([3, 3, 0, 2, 2, 1, 2])]


def test_the_roles_are_grouped_by_office_not_by_how_the_sheet_writes_it(tmp_path):
    from lgp_mailer.campaign.report import CampaignInput, collect
    from lgp_mailer.sheets.compact import Recipient

    towns = [
        ("a@alfa.example", "Alfa", "Polgármester úr"),
        ("b@beta.example", "Béta", "polgármester asszony"),
        ("c@gamma.example", "Gamma", "polgármester"),
        ("d@delta.example", "Delta", "Jegyző Asszony"),
        ("e@epszilon.example", "Epszilon", "Pályázati referens"),
    ]
    with open_ledger(tmp_path / "naplo.sqlite3") as ledger:
        sent(ledger, "c1", "invitation", [(a, m, "Baranya") for a, m, _ in towns])
        extra = CampaignInput("c1", [Recipient(a, (m,), "", role=r) for a, m, r in towns])
        data = collect(ledger, ["c1"], extra, 30)
    assert data.by_role[["role", "invited"]].values.tolist() == [
        ["jegyző", 1],
        ["polgármester", 3],
        ["pályázati referens", 1],
    ]
