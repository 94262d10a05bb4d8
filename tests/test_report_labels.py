"""The committee report's charts take counties and campaign ids as they are written: "$" is a dollar sign."""

from __future__ import annotations

import openpyxl
from test_report import cells, sent
from test_send_cli import runner

from lgp_mailer.cli import app
from lgp_mailer.ledger.store import open_ledger


def test_a_dollar_sign_in_a_county_is_text_not_a_formula_of_the_chart(tmp_path, monkeypatch):
    with open_ledger(tmp_path / "naplo.sqlite3") as ledger:
        sent(
            ledger,
            "lgp-2026-02",
            "invitation",
            [("a@alfa.example", "Alfa", r"Pest $\frac$"), ("b@beta.example", "Béta", "Vas $x$ és $y$")],
        )
    monkeypatch.setenv("LGP_MAILER_DB", str(tmp_path / "naplo.sqlite3"))
    out = tmp_path / "bizottsag.xlsx"
    result = runner.invoke(app, ["report", "--ledger-only", "--out", str(out)])
    assert (result.exit_code, result.stderr) == (0, "")
    assert [r[:3] for r in cells(openpyxl.load_workbook(out)["Megyék"])[1:]] == [
        ["lgp-2026-02", r"Pest $\frac$", 1],
        ["lgp-2026-02", "Vas $x$ és $y$", 1],
    ]
    assert out.with_suffix(".html").read_text(encoding="utf-8").count("<svg") == 2
