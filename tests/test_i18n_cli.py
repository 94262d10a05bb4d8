"""The command line end to end in Hungarian and in English: check, preview, send to the test
SMTP server, status, `send --help` and a usage error, as real `lgp-mailer` processes (the
help texts are translated when the command modules are imported, so only a fresh process
shows them; English runs in-process, the suite's language).  Exact lines, and the same exit
codes and `status --json` in both languages.  Text written by the core (the check table, the
inputs block) is translated under issue 17's other half and not asserted here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_send_crash import make_campaign
from typer.testing import CliRunner

from lgp_mailer.cli import app

from smtp_server import SmtpTestServer

pytestmark = pytest.mark.slow


def run(*args: str, lang: str | None = None, db: Path, env: dict[str, str] | None = None):
    """A fresh `lgp-mailer` process (Hungarian help exists only in one)."""
    environ = {**os.environ, "LGP_MAILER_DB": str(db), **(env or {})}
    environ.pop("LGP_MAILER_LANG")
    if lang is not None:
        environ["LGP_MAILER_LANG"] = lang
    return subprocess.run(
        [sys.executable, "-m", "lgp_mailer", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environ,
        timeout=120,
    )


def run_en(*args: str, db: Path) -> Result:
    """English in-process (the suite's language): faster, and the same text."""
    result = CliRunner().invoke(app, list(args), env={"LGP_MAILER_DB": str(db)})
    return Result(result.exit_code, result.stdout, result.stderr)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_a_campaign_in_hungarian_and_in_english(tmp_path: Path, smtp_server: SmtpTestServer):
    results = {}
    for lang in ("hu", "en"):
        camp = make_campaign(tmp_path / lang, smtp_server)
        db = tmp_path / lang / "naplo.sqlite3"
        c = ("--campaign", str(camp.root))

        def cli(*args: str, lang: str = lang, db: Path = db) -> Result:
            return run(*args, lang=lang, db=db) if lang == "hu" else run_en(*args, db=db)

        results[lang] = {
            "check": cli("check", *c),
            "preview": cli("preview", *c, "--limit", "1", "--out", str(tmp_path / lang / "elonezet")),
            "send": cli("send", *c, "--yes"),
            "status": cli("status", *c),
            "json": cli("status", *c, "--json"),
        }
        results[lang]["campaign_id"] = camp.campaign_id
    hu, en = results["hu"], results["en"]
    steps = ("check", "preview", "send", "status", "json")
    assert [hu[k].returncode for k in steps] == [en[k].returncode for k in steps] == [0, 0, 0, 0, 0]
    assert all("Traceback" not in r.stderr for r in (*(hu[k] for k in steps), *(en[k] for k in steps)))

    cid, port = hu["campaign_id"], smtp_server.port
    sender = "Legjobb Önkormányzati Gyakorlatok Programja <meghivo@lgp.example.org>"
    title = "Önkormányzati innovációk és jó gyakorlatok"
    assert lines(hu["send"].stdout)[-9:] == [
        f"Kiküldés:         {cid}, meghívó – {title}",
        "Kiküldési napló:  várakozik 7",
        f"Kiszolgáló:       127.0.0.1:{port} (none), hitelesítés: nincs",
        f"Feladó:           {sender}",
        "Esedékes:         7; most kimegy: 7",
        "[7/7] elküldve 7, nem ment el 0",
        "Ez a futás: elküldve 7",
        "Kiküldési napló: elküldve 7",
        "Következő lépés: minden levél kiment",
    ]
    assert lines(en["send"].stdout)[-9:] == [
        f"Run:        invitation of {en['campaign_id']} – {title}",
        "Sent log:   pending 7",
        f"Server:     127.0.0.1:{port} (none), auth none",
        f"From:       {sender}",
        "Due now:    7; this run sends 7",
        "[7/7] sent 7, not sent 0",
        "This run: sent 7",
        "Sent log: sent 7",
        "Next: everything is sent",
    ]
    assert lines(hu["preview"].stdout)[-2:] == [
        "1 levél elkészült, ebből 0 hibás; a táblázatban 0 hibás sor és 5 figyelmeztetés van"
        " (részletek: „lgp-mailer check”).",
        f"Galéria: {tmp_path / 'hu' / 'elonezet' / 'index.html'}",
    ]
    assert lines(en["preview"].stdout)[-2:] == [
        "1 message rendered, 0 with problems; the sheet has 0 problem rows and 5 warnings"
        " (run 'lgp-mailer check' for details).",
        f"Gallery: {tmp_path / 'en' / 'elonezet' / 'index.html'}",
    ]
    hu_status = lines(hu["status"].stdout)
    day = re.fullmatch(r"  első küldés: (\d{4}\. \d\d\. \d\d\. \d{1,2}:\d\d), utolsó küldés: .*", hu_status[4])
    assert day, hu_status  # Babel's Hungarian short date, Budapest time: "2026. 11. 29. 6:45"
    assert hu_status[:9] == [
        f"Kiküldési napló: {tmp_path / 'hu' / 'naplo.sqlite3'}",
        "",
        f"{cid} · meghívó",
        "  elküldve 7 (összesen 7)",
        hu_status[4],
        "  most esedékes: 0",
        "  megyénként (█ elküldve, ▓ esedékes, ▒ elakadt = sikertelen/ismeretlen/érvénytelen, ░ egyéb):",
        "   Baranya               ████████████████████████████████████████  2/2 elküldve",
        "   Borsod-Abaúj-Zemplén  ████████████████████                      1/1 elküldve",
    ]
    assert lines(en["status"].stdout)[5:7] == [
        "  due now: 0",
        "  by county (█ sent, ▓ due, ▒ blocked = failed/unknown/invalid, ░ other):",
    ]
    # status --json: the same keys and English values, whatever the language.
    hu_json, en_json = json.loads(hu["json"].stdout), json.loads(en["json"].stdout)
    for figures in (hu_json, en_json):
        del figures["generated_at"], figures["database"]
        for entry in figures["campaigns"]:
            del entry["campaign_id"], entry["first_sent_at"], entry["last_sent_at"], entry["last_attempt_at"]
    assert json.dumps(hu_json, indent=1) == json.dumps(en_json, indent=1)
    assert hu_json["campaigns"][0]["kind"] == "invitation" and hu_json["campaigns"][0]["counts"]["sent"] == 7


def test_help_and_usage_errors_in_both_languages(tmp_path: Path):
    db = tmp_path / "naplo.sqlite3"
    hu_help = run("--lang", "hu", "send", "--help", db=db)
    by_locale = run("send", "--help", db=db, env={"LANG": "hu_HU.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    en_help = run_en("send", "--help", db=db)
    assert hu_help.returncode == by_locale.returncode == en_help.returncode == 0
    assert by_locale.stdout == hu_help.stdout
    hu_lines, en_lines = lines(hu_help.stdout), lines(en_help.stdout)
    assert hu_lines[:3] == [
        "Használat: python -m lgp_mailer send [KAPCSOLÓK]",
        "",
        "  A meghívó kiküldése minden esedékes címzettnek (vagy a következő --batch N",
    ]
    assert "  Példák:" in hu_lines and "Kapcsolók:" in hu_lines
    assert "  -y, --yes                    Ne kérjen megerősítést." in hu_lines
    assert "  --help                       A súgó megjelenítése, majd kilépés." in hu_lines
    assert "                               [alapértelmezés: 1; 1<=x<=32]" in hu_lines
    assert en_lines[:2] == ["Usage: lgp-mailer send [OPTIONS]", ""]
    assert "  --help                       Show this message and exit." in en_lines

    wrong = (
        ("send", "--connections", "99"),
        ("send", "--bogus"),
        ("--lang", "de", "status"),
        ("check", "extra", "words"),
        ("send", "--connections"),
    )
    errors = {"hu": [run(*args, lang="hu", db=db) for args in wrong], "en": [run_en(*args, db=db) for args in wrong]}
    assert [r.returncode for r in errors["hu"]] == [r.returncode for r in errors["en"]] == [2] * len(wrong)
    assert [lines(r.stderr) for r in errors["hu"]] == [
        [
            "Használat: python -m lgp_mailer send [KAPCSOLÓK]",
            "Súgó: „python -m lgp_mailer send --help”.",
            "",
            "Hiba: Érvénytelen érték („--connections”) – 99 nem esik a megengedett tartományba (1<=x<=32).",
        ],
        [
            "Használat: python -m lgp_mailer send [KAPCSOLÓK]",
            "Súgó: „python -m lgp_mailer send --help”.",
            "",
            "Hiba: Nincs ilyen kapcsoló: --bogus (lehetséges kapcsolók: --host)",
        ],
        [
            "Használat: python -m lgp_mailer [KAPCSOLÓK] PARANCS [ARGUMENTUMOK]...",
            "Súgó: „python -m lgp_mailer --help”.",
            "",
            "Hiba: Érvénytelen érték („--lang”) – hu (magyar) vagy en (angol) választható",
        ],
        [
            "Használat: python -m lgp_mailer check [KAPCSOLÓK]",
            "Súgó: „python -m lgp_mailer check --help”.",
            "",
            "Hiba: Fölösleges argumentum: extra words",
        ],
        ["Hiba: Értéket kell megadni ehhez a kapcsolóhoz: „--connections”."],
    ]
    assert [lines(r.stderr)[-1] for r in errors["en"]] == [
        "Error: Invalid value for '--connections': 99 is not in the range 1<=x<=32.",
        "Error: No such option: --bogus (Possible options: --host)",
        "Error: Invalid value for '--lang': choose hu (Hungarian) or en (English)",
        "Error: Got unexpected extra argument(s) (extra words)",
        "Error: Option '--connections' requires an argument.",
    ]


def test_config_names_the_language_and_what_chose_it(tmp_path: Path):
    db = tmp_path / "naplo.sqlite3"
    by_flag = run("--lang", "hu", "config", db=db)
    by_locale = run("config", db=db, env={"LANG": "hu_HU.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""})
    in_english = run_en("config", db=db)

    def row(result: Result) -> list[str]:
        return [
            " ".join(line.split())
            for line in lines(result.stdout)
            if line.startswith(("a felület nyelve", "interface language"))
        ]

    assert [row(by_flag), row(by_locale), row(in_english)] == [
        ["a felület nyelve hu [--lang]"],
        ["a felület nyelve hu [LANG=hu_HU.UTF-8]"],
        ["interface language en [LGP_MAILER_LANG]"],
    ]


def test_yes_or_no_takes_english_and_the_interface_languages_words():
    from lgp_mailer import i18n
    from lgp_mailer.cli.runtime import yes_or_no

    answers = ("y", "YES", "i", "igen", "", "n", "nem", "no", "x")
    assert [yes_or_no(a) for a in answers] == [True, True, None, None, False, False, None, False, None]
    i18n.activate("hu", "test")
    assert [yes_or_no(a) for a in answers] == [True, True, True, True, False, False, False, False, None]


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX-only")
def test_the_confirmation_asks_in_hungarian_on_a_terminal(tmp_path: Path, smtp_server: SmtpTestServer):
    import pty
    import select

    camp = make_campaign(tmp_path, smtp_server)
    env = {**os.environ, "LGP_MAILER_DB": str(tmp_path / "naplo.sqlite3"), "LGP_MAILER_LANG": "hu"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: lgp-mailer on the terminal
        os.execve(sys.executable, [sys.executable, "-m", "lgp_mailer", "send", "--campaign", str(camp.root)], env)
    shown = b""

    def read_until(marker: bytes) -> None:
        nonlocal shown
        while marker not in shown:
            ready, _, _ = select.select([fd], [], [], 60)
            assert ready, shown.decode("utf-8", "replace")
            try:
                shown += os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break

    read_until(b"Folytatja? [i/N]: ")
    os.write(fd, "talán\n".encode())
    read_until("Kérem, i (igen) vagy n (nem) betűvel válaszoljon.".encode())
    read_until(b"Folytatja? [i/N]: ")
    os.write(fd, b"igen\n")
    read_until("Következő lépés: minden levél kiment".encode())
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert "7 levél kiküldése most. Folytatja? [i/N]: " in shown.decode("utf-8")
    assert len(smtp_server.received) == 7
