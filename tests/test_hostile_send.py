"""Issue 15 faults around a send: smuggled addresses and files, exit codes that said
"done" too early, single dead addresses that halted a run, and the "Next:" hints.

Everything runs the CLI in-process against the real aiosmtpd server on
127.0.0.1 with a real SQLite sent log; each test first reproduces the fault.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_remind_cli import KISS, REG_HEADER, at, remind, remind_campaign, states
from test_send_cli import (
    ADDRESSES,
    counts,
    make_campaign,
    one_error_line,
    parse,
    people,
    rcpts,
    runner,
    send,
    server_untouched,
)

from lgp_mailer.cli import app
from lgp_mailer.ledger.store import open_ledger
from lgp_mailer.sheets.recipients import Finding
from lgp_mailer.sheets.registrations import load_registrations

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)

# In-process sends of the shipped 2020 example run on a clock set before it (send refuses a started conference).
pytestmark = pytest.mark.usefixtures("before_the_example_conference")

# -- one registration, one address ---------------------------------------------------------------


def test_a_form_answer_with_two_addresses_is_reported_and_not_mailed(smtp_server, tmp_path):
    smuggled = [
        "2020. 06. 09. 10:00:00",
        "szervezo@egyesulet.example, victim@aldozat.example",
        "Tóth Péter",
        "Zöld Jövő Egyesület",
        "programfelelős",
    ]
    wrapped = [
        "2020. 06. 09. 11:00:00",
        "Kérem ide: jegyzo@kozoshivatal-bikal.example",
        "Fehérné Győri Ilona",
        "Mágocs",
        "jegyző",
    ]
    named = [
        "2020. 06. 09. 12:00:00",
        "Balogh Réka <referens@urom-proba.example>",
        "Balogh Réka",
        "Üröm-próba",
        "referens",
    ]
    camp = remind_campaign(tmp_path, smtp_server, [KISS, smuggled, wrapped, named])
    regs = load_registrations(camp.root / "registrations" / "valaszok.csv")
    assert [r.email for r in regs.registrants] == ["polgarmester@alsomocsolad.example", "referens@urom-proba.example"]
    file = str(camp.root / "registrations" / "valaszok.csv")
    rule = "one registration, one address: give a bare address or one 'Name <address>'; not mailed"
    assert [f for f in regs.findings if f.severity == "problem"] == [
        Finding("problem", rule, file, None, 3, REG_HEADER[1], smuggled[1]),
        Finding("problem", rule, file, None, 4, REG_HEADER[1], wrapped[1]),
    ]
    with at(2020, 6, 17, 0, 0):
        result = remind(camp, "--day-before", "--yes")
    # Üröm-próba's invited address is reminded beside its colleague's registration (issue 12).
    assert sorted(rcpts(smtp_server)) == [
        "hivatal@urom-proba.example",
        "polgarmester@alsomocsolad.example",
        "referens@urom-proba.example",
    ]
    assert "victim@aldozat.example" not in states(camp, "reminder")
    assert result.exit_code == 0, result.output  # as for any unusable registration row: reported, run goes on
    assert result.stderr.splitlines() == [
        f"WARNING: {file}, row {row}, column 'E-mail-cím': '{cell}': {rule}: this registrant gets no reminder"
        for row, cell in ((3, smuggled[1]), (4, wrapped[1]))
    ]


# -- attachments only from the campaign folder ------------------------------------------------------


def set_logo(root: Path, value: str) -> None:
    config = root / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[sender]\n", f'[sender]\nlogo = "{value}"\n', 1), encoding="utf-8")


@pytest.mark.parametrize("case", ["outside", "symlink", "not-an-image", "too-big"])
def test_the_logo_must_be_an_image_inside_the_campaign_folder(smtp_server, tmp_path, case):
    camp = make_campaign(tmp_path, smtp_server)
    outside = tmp_path / "titok.png"
    outside.write_bytes(PNG)
    if case == "outside":
        set_logo(camp.root, str(outside))
        why = f"{outside} is outside the campaign folder {camp.root}; copy the image into it"
    elif case == "symlink":
        (camp.root / "logo.png").symlink_to(outside)
        set_logo(camp.root, "logo.png")
        why = f"{outside} is outside the campaign folder {camp.root}; copy the image into it"
    elif case == "not-an-image":
        (camp.root / "logo.png").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
        set_logo(camp.root, "logo.png")
        why = "logo.png is not a PNG, JPEG or GIF image"
    else:
        (camp.root / "logo.png").write_bytes(PNG + bytes(1024 * 1024))
        set_logo(camp.root, "logo.png")
        why = f"logo.png is {len(PNG) + 1024 * 1024:,} bytes, over the limit of 1,048,576 ([limits] logo_bytes)"
    config = camp.root / "lgp-mailer.toml"

    checked = runner.invoke(app, ["check", "--campaign", str(camp.root)])
    assert checked.exit_code == 1, checked.output
    lines = checked.stdout.splitlines()
    row = lines[lines.index("Problems (1):") + 2]  # after the table's header
    assert row.startswith("lgp-mailer.toml ") and row.endswith(f"  {why}")
    assert " sender.logo " in row
    assert "Result: 1 problem(s), 5 warning(s)." in checked.stdout  # the example's own: its invented places (issue 14)

    previewed = runner.invoke(app, ["preview", "--campaign", str(camp.root), "--out", str(tmp_path / "p")])
    assert previewed.exit_code == 2
    assert one_error_line(previewed) == f"lgp-mailer: error: {config}, key 'sender.logo': {why}"
    sent = send(camp, "--yes")
    assert sent.exit_code == 2
    assert one_error_line(sent) == f"lgp-mailer: error: {config}, key 'sender.logo': {why}"
    assert server_untouched(smtp_server)


@pytest.mark.parametrize("key", ["sender.logo", "recipients", "event", "templates", "dkim.key_file"])
def test_a_nul_in_a_path_setting_is_one_line_not_a_traceback(smtp_server, tmp_path, key):
    camp = make_campaign(tmp_path, smtp_server)
    config = camp.root / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8")
    if key == "sender.logo":
        set_logo(camp.root, "logo.png\\u0000.txt")
    elif key == "dkim.key_file":
        config.write_text(
            text + '\n[dkim]\nkey_file = "dkim/k\\u0000"\nselector = "s"\ndomain = "lgp.example.org"\n',
            encoding="utf-8",
        )
    else:
        lines = [f'{key} = "x\\u0000y"' if line.startswith(f"{key} = ") else line for line in text.splitlines()]
        assert lines != text.splitlines()
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for command in (["check"], ["preview", "--out", str(tmp_path / "p")]):
        result = runner.invoke(app, [*command, "--campaign", str(camp.root)])
        assert result.exit_code == 2, result.output
        assert one_error_line(result) == (
            f"lgp-mailer: error: {config}, key '{key}': a path cannot hold a NUL character (U+0000)"
        )
    assert server_untouched(smtp_server)


def test_a_real_logo_in_the_folder_is_attached(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    (camp.root / "logo.png").write_bytes(PNG)
    set_logo(camp.root, "logo.png")
    assert runner.invoke(app, ["check", "--campaign", str(camp.root)]).exit_code == 0
    assert send(camp, "--yes", "--batch", "1").exit_code == 0
    images = [p for p in parse(smtp_server.received[0].data).walk() if p.get_content_maintype() == "image"]
    # The shipped example's supporters' logos (issue 19) travel too; the sender's logo is there once.
    assert [(p["Content-ID"], p.get_content()) for p in images if not p["Content-ID"].startswith("<tamogato-")] == [
        ("<logo.lgp-mailer>", PNG)
    ]


# -- exit codes ----------------------------------------------------------------------------------------


def crash_one(camp, address: str) -> None:
    """What a SIGKILL right after the claim leaves: one row 'sending'."""
    with open_ledger(camp.db) as ledger:
        assert ledger.claim(camp.campaign_id, "invitation", address, ["pending"])


def test_unknown_rows_keep_every_later_run_at_exit_1_and_are_named(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    assert send(camp, "--yes", "--batch", "3").exit_code == 0
    crash_one(camp, ADDRESSES[3])
    first = send(camp, "--yes", "--batch", "1", "--quiet")  # converts it to 'unknown'
    assert first.exit_code == 1
    # The fault: the run after the converting one said 0 with 'unknown' outstanding.
    later = send(camp, "--yes", "--batch", "1", "--quiet")
    assert later.exit_code == 1, later.output
    assert later.stderr == f"Outstanding: unknown 1 ({ADDRESSES[3]})\n"
    rest = send(camp, "--yes", "--quiet")
    assert rest.exit_code == 1
    assert camp.counts() == counts(sent=6, unknown=1)
    nothing = send(camp, "--yes", "--quiet")  # nothing due, but a decision is: 1 outranks 3
    assert (nothing.exit_code, nothing.stderr) == (1, f"Outstanding: unknown 1 ({ADDRESSES[3]})\n")
    resent = send(camp, "--yes", "--resend-unknown", "--quiet")
    assert (resent.exit_code, resent.stderr) == (0, "")
    assert camp.counts() == counts(sent=7)


def test_failed_rows_of_earlier_runs_do_not_make_later_runs_exit_1(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    smtp_server.handler.reply_rcpt(ADDRESSES[0], "550 5.1.1 No such user")
    assert send(camp, "--yes", "--batch", "2").exit_code == 1  # this run made a failed row
    later = send(camp, "--yes", "--quiet")
    assert (later.exit_code, later.stderr) == (0, "")
    assert camp.counts() == counts(sent=6, failed=1)


def test_debug_never_changes_the_exit_code(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    (camp.root / "templates" / "invitation.subject.j2").write_text("{{ nincs_ilyen(", encoding="utf-8")
    plain = send(camp, "--yes")
    debug = runner.invoke(app, ["--debug", "send", "--campaign", str(camp.root), "--yes"])
    assert plain.exit_code == debug.exit_code == 2
    assert "Traceback" in debug.stderr
    assert debug.stderr.splitlines()[-1] == one_error_line(plain)


# -- the consecutive-failure stop counts server trouble only -----------------------------------------


def test_dead_addresses_together_do_not_halt_the_run(smtp_server, tmp_path):
    rows = people(9)
    camp = make_campaign(tmp_path, smtp_server, rows=rows, retries=1, max_consecutive_failures=3)
    dead = camp.addresses[2:8]  # six in a row, as in a sheet sorted by domain
    replies = [
        "550 5.1.1 <{}>: Recipient address rejected: User unknown",
        "550 5.2.1 Mailbox disabled",
        "450 4.2.0 Greylisted, try again later",
        "551 5.1.10 RESOLVER.ADR.RecipientNotFound",
        "550 5.1.1 No such user",
        "452 4.2.2 Mailbox full",
    ]
    for address, reply in zip(dead, replies, strict=True):
        smtp_server.handler.reply_rcpt(address, reply.format(address))
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert "Stopped" not in result.stderr
    assert rcpts(smtp_server) == [*camp.addresses[:2], camp.addresses[8]]
    assert camp.counts() == counts(sent=3, failed=4, deferred=2)
    assert result.stderr.endswith(f"Outstanding: deferred 2 ({dead[2]}, {dead[5]})\n")


@pytest.mark.parametrize(
    ("where", "reply"),
    [
        ("mail", "451 4.3.0 Relay temporarily unavailable"),
        ("rcpt", "550 5.7.1 Relaying denied for this client"),
        ("data", "451 4.3.0 Queue full, try later"),
    ],
)
def test_server_trouble_still_stops_the_run(smtp_server, tmp_path, where, reply):
    camp = make_campaign(tmp_path, smtp_server, retries=1, max_consecutive_failures=3)
    if where == "mail":
        smtp_server.handler.reply_mail(*[reply] * 7)
    elif where == "data":
        for n in range(1, 8):
            smtp_server.handler.reply_data(n, reply)
    else:
        for address in ADDRESSES:
            smtp_server.handler.reply_rcpt(address, reply)
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert smtp_server.received == []
    stopped = [line for line in result.stderr.splitlines() if line.startswith("Stopped:")]
    if reply.startswith("550 5.7"):  # each address failed at RCPT, then due again: it was the relay
        assert stopped == [
            f"Stopped: 3 messages in a row were not delivered (last: {reply}); "
            "stopping so a broken relay does not burn through the list; "
            "the 3 addresses refused at RCPT one after another are left due, not failed"
        ]
        assert camp.counts() == counts(deferred=3, pending=4)
    else:
        assert stopped == [
            f"Stopped: 3 messages in a row were not delivered (last: {reply}); "
            "stopping so a broken relay does not burn through the list"
        ]


# -- the "Next:" hints after --retry-failed and --resend-unknown ---------------------------------------


def test_next_hints_after_retry_failed_and_resend_unknown(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    smtp_server.handler.reply_rcpt(ADDRESSES[0], "550 5.1.1 No such user", "550 5.1.1 No such user")
    assert send(camp, "--yes", "--batch", "1").exit_code == 1
    crash_one(camp, ADDRESSES[1])
    first = send(camp, "--yes")
    assert first.exit_code == 1
    next_lines = [line for line in first.stdout.splitlines() if line.startswith("Next:")]
    assert any("--resend-unknown" in line for line in next_lines), first.stdout
    assert any("--retry-failed" in line for line in next_lines), first.stdout

    retried = send(camp, "--yes", "--retry-failed")  # still refused
    assert retried.exit_code == 1
    next_lines = [line for line in retried.stdout.splitlines() if line.startswith("Next:")]
    assert any("--retry-failed" in line for line in next_lines), retried.stdout
    assert any("--resend-unknown" in line for line in next_lines), retried.stdout

    resent = send(camp, "--yes", "--resend-unknown")
    assert resent.exit_code == 0, resent.output  # the failed row is an earlier run's
    next_lines = [line for line in resent.stdout.splitlines() if line.startswith("Next:")]
    assert not any("--resend-unknown" in line for line in next_lines), resent.stdout
    assert any("--retry-failed" in line for line in next_lines), resent.stdout
    assert camp.counts() == counts(sent=6, failed=1)
