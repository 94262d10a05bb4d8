"""Bounces and replies: classification on real samples, the effect on the ledger,
the suppression list and the corrections sheet, mailbox and IMAP reading, the CLI."""

from __future__ import annotations

import email
import imaplib
import mailbox
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import openpyxl
import pytest
from typer.testing import CliRunner

from lgp_mailer.campaign import mailboxes
from lgp_mailer.campaign.bounces import (
    AUTO_REPLY,
    CORRECTION_HEADERS,
    OTHER,
    PERMANENT,
    TEMPORARY,
    UNSUBSCRIBE,
    classify,
    export_corrections,
    import_messages,
)
from lgp_mailer.campaign.mailboxes import ImapError, MailboxError, read_imap, read_messages
from lgp_mailer.errors import CredentialsError
from lgp_mailer.ledger.store import Entry, open_ledger
from lgp_mailer.mail.mime import message_id

DATA = Path(__file__).parent / "data" / "bounces"
FLUFL, REPLIES = DATA / "flufl", DATA / "replies"
A, B, K = "2027-klima", "2027-digitalis", "invitation"
OUR_ID = "<4f1c0d2e9a8b7c6d5e4f3a2b1c0d9e8f.invitation@lgp.example>"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 2, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def ledger(ledger_target: Path | str):
    with open_ledger(ledger_target, clock=Clock()) as db:
        yield db


def load(path: Path) -> email.message.Message:
    return email.message_from_bytes(path.read_bytes())


def sent(ledger, campaign: str, rows: list[tuple[str, tuple[str, ...], str]], kind: str = K) -> None:
    """Sync (address, municipalities, county) rows and record each as sent."""
    ledger.sync(
        campaign,
        kind,
        [Entry(a, seq, m, c, message_id(campaign, kind, a, "lgp.example")) for seq, (a, m, c) in enumerate(rows)],
    )
    for address, _, _ in rows:
        assert ledger.claim(campaign, kind, address, ["pending"])
        ledger.record(campaign, kind, address, "sent", code=250)


def mbox_of(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.mbox(path)
    for raw in messages:
        box.add(raw)
    box.flush()
    box.close()
    return path


def dsn(
    rcpt: str,
    msgid: str,
    *,
    status: str = "5.1.1",
    diag: str = "550 5.1.1 <{rcpt}>: User unknown",
    style: str = "postfix",
    action: str = "failed",
) -> bytes:
    """A delivery status notification as Postfix or Exchange Online write them,
    with the original message attached (Postfix) or its headers (Exchange)."""
    diag = diag.format(rcpt=rcpt)
    original = (
        f"From: LGP Programiroda <meghivo@lgp.example>\nTo: {rcpt}\nSubject: =?utf-8?q?Megh=C3=ADv=C3=B3?=\n"
        f"Message-ID: {msgid}\nDate: Mon, 1 Feb 2027 10:00:00 +0100\nMIME-Version: 1.0\n"
    )
    if style == "postfix":
        head = (
            "From: MAILER-DAEMON@mx.lgp.example (Mail Delivery System)\n"
            "Subject: "
            + ("Delayed Mail (still being retried)" if action == "delayed" else "Undelivered Mail Returned to Sender")
            + "\n"
            "Auto-Submitted: auto-replied\n"
        )  # Postfix marks its bounces so
        notice = (
            "This is the mail system at host mx.lgp.example.\n\nI'm sorry to have to inform you that your "
            "message could not\nbe delivered to one or more recipients. It's attached below.\n\n"
            f"<{rcpt}>: host mx.falu.example[192.0.2.25] said: {diag} (in\n    reply to RCPT TO command)\n"
        )
        attached = f"Content-Type: message/rfc822\n\n{original}Content-Type: text/plain; charset=utf-8\n\nTisztelt Polgarmester Ur!\n"
    else:
        head = (
            "From: Microsoft Outlook <postmaster@falu.example>\nSubject: Undeliverable: =?utf-8?q?Megh=C3=ADv=C3=B3?=\n"
            "X-MS-Exchange-Message-Is-Ndr:\n"
        )
        notice = (
            "Delivery has failed to these recipients or groups:\n\n"
            f"{rcpt}\nThe email address you entered couldn't be found.\n\n"
            "Diagnostic information for administrators:\n\nGenerating server: EX01.falu.example\n\n"
            f"{rcpt}\nRemote Server returned '{diag}'\n"
        )
        attached = f"Content-Type: text/rfc822-headers\n\n{original}"
    return (
        f"Return-Path: <>\n{head}To: bounces@lgp.example\nDate: Tue, 2 Feb 2027 10:15:02 +0100\n"
        "Message-ID: <20270202091502.3F2A1C0D9E@mx.lgp.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY/mx"\n\n'
        "This is a MIME-encapsulated message.\n\n--BOUNDARY/mx\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"{notice}\n--BOUNDARY/mx\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.lgp.example\nArrival-Date: Tue, 2 Feb 2027 10:15:01 +0100\n\n"
        f"Final-Recipient: rfc822; {rcpt}\nOriginal-Recipient: rfc822;{rcpt}\nAction: {action}\n"
        f"Status: {status}\nRemote-MTA: dns; mx.falu.example\nDiagnostic-Code: smtp; {diag}\n\n"
        f"--BOUNDARY/mx\n{attached}\n--BOUNDARY/mx--\n"
    ).encode()


# -- classification: flufl.bounce's real-world samples ---------------------------

SAMPLES = [
    ("postfix_01.txt", PERMANENT, ["xxxxx@local.ie"]),
    ("postfix_02.txt", PERMANENT, ["yyyyy@digicool.com"]),
    ("postfix_05.txt", PERMANENT, ["userx@example.net"]),
    ("microsoft_01.txt", PERMANENT, ["userx@example.COM"]),  # Exchange
    ("microsoft_02.txt", PERMANENT, ["userx@example.COM"]),
    ("groupwise_02.txt", PERMANENT, ["userx@example.com"]),  # Exchange, despite the name
    ("simple_17.txt", PERMANENT, ["userx@example.com"]),  # Gmail
    ("simple_42.txt", PERMANENT, ["david...@gmail.com"]),  # Gmail, 5.7.1 spam refusal
    ("dsn_03.txt", PERMANENT, ["userx@example.be"]),
    ("dsn_10.txt", PERMANENT, ["anne.person@dom.ain"]),
    ("dsn_11.txt", PERMANENT, ["joem@example.com"]),
    ("dsn_14.txt", PERMANENT, ["userx@example.com.dk"]),
    ("exim_01.txt", PERMANENT, ["userx@its.example.nl"]),
    ("qmail_03.txt", PERMANENT, ["userx@example.jp"]),
    ("yahoo_11.txt", PERMANENT, ["bad_user@aol.com"]),
    ("yahoo_13.txt", PERMANENT, ["bogus-address@example.net"]),
    ("sendmail_01.txt", PERMANENT, ["zzzzz@nfg.nl", "zzzzz@shaft.coal.nl"]),
    # Bounces that call themselves auto-replies: the mail system sent them.
    ("simple_39.txt", PERMANENT, ["userx@example.ru"]),
    ("simple_41.txt", PERMANENT, ["userx@example.com"]),
    ("dsn_06.txt", TEMPORARY, ["userx@example.com"]),
    ("dsn_17.txt", TEMPORARY, ["userx@example.fi"]),
    ("simple_03.txt", TEMPORARY, ["userx@example.za"]),
    ("qmail_08.txt", AUTO_REPLY, []),
    ("dumbass_01.txt", OTHER, []),
]


@pytest.mark.parametrize(("name", "kind", "addresses"), SAMPLES)
def test_flufl_bounce_samples_are_classified(name, kind, addresses):
    verdict = classify(load(FLUFL / name))
    assert verdict.kind == kind
    assert [f.address for f in verdict.failures] == addresses
    assert all(f.reason and "\n" not in f.reason and len(f.reason) <= 300 for f in verdict.failures)


def test_reasons_codes_and_original_message_ids_come_from_the_notification():
    postfix = classify(load(FLUFL / "postfix_01.txt")).failures[0]
    assert (postfix.code, postfix.enhanced) == (550, "5.1.1")
    assert "User unknown" in postfix.reason and "mail.local.ie" in postfix.reason
    dsn11 = classify(load(FLUFL / "dsn_11.txt"))
    assert dsn11.failures[0].reason == "5.1.1 (no such mailbox)"
    assert dsn11.message_id == "<mailman.0.1035637201.19036.mailman-developers@python.org>"  # message/rfc822
    gmail_spam = classify(load(FLUFL / "simple_42.txt")).failures[0]
    assert gmail_spam.enhanced == "5.7.1"  # not the generic 5.0.0 Status
    assert classify(load(FLUFL / "exim_01.txt")).failures[0].code == 553


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("ooo_outlook_hu.eml", "Exchange automatic reply"),
        ("ooo_gmail_en.eml", "Auto-Submitted: auto-replied"),
        ("ooo_hazon_kivul.eml", "X-Autorespond header"),
        ("ooo_subject_only.eml", "subject 'Automatic reply'"),
    ],
)
def test_out_of_office_replies_are_auto_replies(name, why):
    verdict = classify(load(REPLIES / name))
    assert (verdict.kind, verdict.why, verdict.failures) == (AUTO_REPLY, why, ())
    if name != "ooo_subject_only.eml":
        assert verdict.message_id == OUR_ID  # In-Reply-To


def test_unsubscribe_requests_and_an_ordinary_reply():
    by_subject = classify(load(REPLIES / "unsubscribe_subject.eml"))
    assert (by_subject.kind, by_subject.subject, by_subject.sender) == (
        UNSUBSCRIBE,
        "leiratkozás",
        "jegyzo@felsofalu.example",
    )
    by_words = classify(load(REPLIES / "unsubscribe_body.eml"))
    assert (by_words.kind, by_words.why) == (UNSUBSCRIBE, "body 'töröljenek a levelez'")
    # Quoting our footer ("leiratkozás: …") is not asking to leave.
    assert classify(load(REPLIES / "reply_thanks.eml")).kind == OTHER


# -- the effect on the ledger, the suppression list and the corrections sheet --------


def test_importing_real_samples_fails_and_suppresses_known_addresses_only(ledger, tmp_path):
    sent(
        ledger,
        A,
        [
            ("xxxxx@local.ie", ("Tiszavárkony",), "Jász-Nagykun-Szolnok"),  # postfix_01
            ("userx@example.com", ("Alsófalu", "Felsőfalu"), "Baranya"),  # microsoft_01 (as userx@example.COM)
            ("joem@example.com", ("Kisfalu",), "Zala"),  # dsn_11
            ("userx@example.za", ("Nagyfalu",), "Tolna"),  # simple_03: only delayed
            ("contact@example.com", ("Középfalu",), "Vas"),  # qmail_08: an auto-reply from it
            ("david...@gmail.com", ("Gmailfalva",), "Pest"),  # simple_42: our message refused as spam
        ],
    )
    names = [
        "postfix_01.txt",
        "microsoft_01.txt",
        "dsn_11.txt",
        "simple_03.txt",
        "qmail_08.txt",
        "simple_42.txt",
        "yahoo_13.txt",
        "dumbass_01.txt",
    ]
    box = mbox_of(tmp_path / "bounces.mbox", [(FLUFL / n).read_bytes() for n in names])
    report = import_messages(ledger, read_messages(box))
    assert [o.verdict.kind for o in report.outcomes] == [
        PERMANENT,
        PERMANENT,
        PERMANENT,
        TEMPORARY,
        AUTO_REPLY,
        PERMANENT,
        PERMANENT,
        OTHER,
    ]
    assert [o.label for o in report.outcomes][:2] == ["mbox #1", "mbox #2"]

    row = ledger.get(A, K, "xxxxx@local.ie")
    assert (row.status, row.last_code, row.last_enhanced) == ("failed", 550, "5.1.1")
    assert "User unknown" in row.last_reply
    assert ledger.get(A, K, "userx@example.com").status == "failed"
    assert ledger.get(A, K, "joem@example.com").last_reply == "5.1.1 (no such mailbox)"
    assert ledger.get(A, K, "userx@example.za").status == "sent"  # delayed is not failed
    assert ledger.get(A, K, "contact@example.com").status == "sent"  # auto-reply
    spam = ledger.get(A, K, "david...@gmail.com")
    assert (spam.status, spam.last_enhanced) == ("failed", "5.7.1")

    bounced = {e.address: e for e in ledger.suppressions()}
    assert set(bounced) == {"xxxxx@local.ie", "userx@example.com", "joem@example.com"}
    assert {e.source for e in bounced.values()} == {"bounce"}
    assert "User unknown" in bounced["xxxxx@local.ie"].reason
    assert not ledger.is_suppressed("contact@example.com")  # never on an auto-reply
    assert not ledger.is_suppressed("david...@gmail.com")  # the message was refused, not the address
    assert not ledger.is_suppressed("bogus-address@example.net")  # not ours: left alone
    assert report.outcomes[6].unknown == ["bogus-address@example.net"]
    assert report.outcomes[5].kept == ["david...@gmail.com"]
    assert (report.total("marked"), report.total("suppressed")) == (4, 3)

    # Importing the same mailbox again changes nothing.
    before = [(r.address, r.status, r.last_reply) for r in ledger.rows()]
    again = import_messages(ledger, read_messages(box))
    assert (again.total("suppressed"), again.total("already")) == (0, 3)
    assert [(r.address, r.status, r.last_reply) for r in ledger.rows()] == before


def test_message_id_finds_the_bounced_campaign_even_when_another_was_sent_later(ledger, tmp_path):
    who = ("polgarmester@tiszavarkony.example", ("Tiszavárkony",), "Jász-Nagykun-Szolnok")
    sent(ledger, B, [who])
    sent(ledger, A, [who])  # A is the latest: matching by address alone would pick it
    bounce = dsn(who[0], message_id(B, K, who[0], "lgp.example"))
    report = import_messages(ledger, iter([("dsn", email.message_from_bytes(bounce))]))
    assert report.outcomes[0].verdict.message_id == message_id(B, K, who[0], "lgp.example")
    assert ledger.get(B, K, who[0]).status == "failed"
    assert ledger.get(A, K, who[0]).status == "sent"
    assert ledger.get(B, K, who[0]).last_reply == f"5.1.1 (no such mailbox) 550 5.1.1 <{who[0]}>: User unknown"


def test_exchange_ndr_with_text_rfc822_headers_and_a_forward_that_bounced(ledger):
    sent(
        ledger,
        A,
        [("jegyzo@falu2.example", ("Kettesfalu",), "Békés"), ("polgarmester@falu3.example", ("Hármasfalu",), "Békés")],
    )
    exchange = dsn(
        "jegyzo@falu2.example",
        message_id(A, K, "jegyzo@falu2.example", "lgp.example"),
        style="exchange",
        status="5.1.10",
        diag="550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    )
    # The mayor's mailbox forwards to a private address that no longer exists.
    forward = dsn("kovacs.janos@freemail.example", message_id(A, K, "polgarmester@falu3.example", "lgp.example"))
    report = import_messages(
        ledger, iter([("ndr", email.message_from_bytes(exchange)), ("fwd", email.message_from_bytes(forward))])
    )
    assert [o.verdict.kind for o in report.outcomes] == [PERMANENT, PERMANENT]
    row = ledger.get(A, K, "jegyzo@falu2.example")
    assert (row.status, row.last_code, row.last_enhanced) == ("failed", 550, "5.1.10")
    assert "RecipientNotFound" in ledger.suppression("jegyzo@falu2.example").reason
    forwarded = ledger.get(A, K, "polgarmester@falu3.example")
    assert forwarded.status == "failed"
    assert forwarded.last_reply.startswith("kovacs.janos@freemail.example: 5.1.1 (no such mailbox)")
    assert ledger.is_suppressed("polgarmester@falu3.example")
    assert not ledger.is_suppressed("kovacs.janos@freemail.example")


def test_a_delay_notice_and_auto_replies_never_change_the_ledger(ledger, tmp_path):
    who = "polgarmester@tiszavarkony.example"
    sent(
        ledger,
        A,
        [
            (who, ("Tiszavárkony",), "Jász-Nagykun-Szolnok"),
            ("nagy.anna.jegyzo@gmail.example", ("Kisfalu",), "Pest"),
            ("jegyzo@kisfalu.example", ("Kisfalu",), "Pest"),
            ("titkarsag@nagykozseg.example", ("Nagyközség",), "Pest"),
        ],
    )
    delayed = dsn(
        who,
        message_id(A, K, who, "lgp.example"),
        status="4.4.7",
        action="delayed",
        diag="451 4.4.7 delivery temporarily suspended",
    )
    messages = [delayed] + [p.read_bytes() for p in sorted(REPLIES.glob("ooo_*.eml"))]
    report = import_messages(ledger, read_messages(mbox_of(tmp_path / "ooo.mbox", messages)))
    assert [o.verdict.kind for o in report.outcomes] == [TEMPORARY] + [AUTO_REPLY] * 4
    assert {r.status for r in ledger.rows()} == {"sent"}
    assert ledger.suppressions() == []


def test_unsubscribe_requests_suppress_the_sender_in_every_campaign(ledger, tmp_path):
    sent(ledger, A, [("hivatal@alsofalu.example", ("Alsófalu",), "Baranya")])
    ledger.sync(
        B,
        K,
        [
            Entry("hivatal@alsofalu.example", 0, ("Alsófalu",), "Baranya"),
            Entry("jegyzo@felsofalu.example", 1, ("Felsőfalu",), "Baranya"),
        ],
    )
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for name in ("unsubscribe_subject.eml", "unsubscribe_body.eml", "reply_thanks.eml"):
        maildir.add((REPLIES / name).read_bytes())
    maildir.close()
    report = import_messages(ledger, read_messages(tmp_path / "Maildir"))
    assert sorted(o.verdict.kind for o in report.outcomes) == [OTHER, UNSUBSCRIBE, UNSUBSCRIBE]
    entries = {e.address: e for e in ledger.suppressions()}
    assert set(entries) == {"jegyzo@felsofalu.example", "Hivatal@alsofalu.example"}
    assert {e.source for e in entries.values()} == {"unsubscribe"}
    assert entries["jegyzo@felsofalu.example"].reason == "leiratkozási kérés (2027-02-03): leiratkozás"
    assert ledger.get(A, K, "hivatal@alsofalu.example").status == "sent"  # history stays
    assert ledger.counts(B, K)["suppressed"] == 2 and ledger.due(B, K) == []
    assert not ledger.is_suppressed("polgarmester@kozepfalu.example")


def test_suppressed_addresses_are_never_due_in_a_later_campaign(ledger):
    who = ("polgarmester@tiszavarkony.example", ("Tiszavárkony",), "Jász-Nagykun-Szolnok")
    sent(ledger, A, [who])
    import_messages(
        ledger, iter([("dsn", email.message_from_bytes(dsn(who[0], message_id(A, K, who[0], "lgp.example"))))])
    )
    assert ledger.get(A, K, who[0]).status == "failed"
    # The next sync of A (send --retry-failed) and a new campaign B both skip it.
    ledger.sync(A, K, [Entry(who[0], 0, who[1], who[2])])
    assert ledger.get(A, K, who[0]).status == "suppressed"
    assert ledger.due(A, K, retry_failed=True, resend_unknown=True) == []
    result = ledger.sync(
        B, "reminder", [Entry(who[0], 0, who[1], who[2]), Entry("uj@falu.example", 1, ("Újfalu",), "Pest")]
    )
    assert (result.added, result.suppressed) == (1, 1)
    assert [r.address for r in ledger.due(B, "reminder")] == ["uj@falu.example"]


def test_dry_run_reports_without_changing_anything(ledger):
    who = "polgarmester@tiszavarkony.example"
    sent(ledger, A, [(who, ("Tiszavárkony",), "Jász-Nagykun-Szolnok")])
    report = import_messages(
        ledger,
        iter(
            [
                ("dsn", email.message_from_bytes(dsn(who, message_id(A, K, who, "lgp.example")))),
                ("u", load(REPLIES / "unsubscribe_subject.eml")),
            ]
        ),
        dry_run=True,
    )
    assert (report.total("marked"), report.total("suppressed")) == (1, 2)
    assert ledger.get(A, K, who).status == "sent" and ledger.suppressions() == []


def test_corrections_sheet_lists_each_bounced_municipality_as_text(ledger, tmp_path):
    sent(
        ledger,
        A,
        [
            ("userx@example.com", ("Felsőfalu", "Alsófalu"), "Baranya"),
            ("xxxxx@local.ie", ("Tiszavárkony",), "Jász-Nagykun-Szolnok"),
        ],
    )
    box = mbox_of(tmp_path / "b.mbox", [(FLUFL / n).read_bytes() for n in ("postfix_01.txt", "microsoft_01.txt")])
    import_messages(ledger, read_messages(box))
    ledger.suppress("kiadott@regi.example", '=HYPERLINK("http://x.example")', "bounce")  # no ledger row
    ledger.suppress("kezi@falu.example", "kérte", "manual")  # not a bounce: not listed
    out = tmp_path / "corrections.xlsx"
    assert export_corrections(ledger, out) == 4
    sheet = openpyxl.load_workbook(out).active  # formulas would show as "=…" with data_type "f"
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert (
        tuple(rows[0])
        == CORRECTION_HEADERS
        == ("Vármegye", "Önkormányzat", "E-mail-cím", "Hiba oka", "Dátum", "Kampány")
    )
    assert [r[:3] + r[5:] for r in rows[1:]] == [
        [None, None, "kiadott@regi.example", None],
        ["Baranya", "Alsófalu", "userx@example.com", A],
        ["Baranya", "Felsőfalu", "userx@example.com", A],
        ["Jász-Nagykun-Szolnok", "Tiszavárkony", "xxxxx@local.ie", A],
    ]
    assert rows[1][3] == '=HYPERLINK("http://x.example")'
    assert "User unknown" in rows[4][3]
    assert all(r[4] == "2027-02-02 10:00" for r in rows[1:])  # Budapest time
    assert {c.data_type for row in sheet.iter_rows() for c in row if c.value is not None} == {"s"}


# -- reading mailboxes and IMAP ------------------------------------------------------


def test_read_messages_takes_a_single_eml_and_refuses_what_is_not_a_mailbox(tmp_path):
    [(label, msg)] = list(read_messages(REPLIES / "ooo_gmail_en.eml"))
    assert label == "ooo_gmail_en.eml" and msg["Auto-Submitted"] == "auto-replied"
    with pytest.raises(MailboxError, match="no such file"):
        list(read_messages(tmp_path / "missing.mbox"))
    with pytest.raises(MailboxError, match="not a Maildir"):
        list(read_messages(tmp_path))


def test_a_huge_message_is_read_only_so_far_and_still_classified(tmp_path):
    # A 40 MiB .eml (a sparse file: a real bounce, then zeros), the same in an mbox and a
    # Maildir: each read as at most MESSAGE_BYTES, where it took gigabytes of memory before.
    bounce = dsn("jegyzo@falu.example", "<m1@lgp.example>")
    eml = tmp_path / "nagy.eml"
    eml.write_bytes(bounce)
    with eml.open("r+b") as stream:
        stream.truncate(40 * 1024 * 1024)
    box = mbox_of(tmp_path / "nagy.mbox", [bounce + b"x" * (12 * 1024 * 1024)])
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(bounce + b"x" * (12 * 1024 * 1024))
    maildir.close()
    for source in (eml, box, tmp_path / "Maildir"):
        tracemalloc.start()
        [(_label, message)] = list(read_messages(source))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 16 * mailboxes.MESSAGE_BYTES, (source, peak)  # the parser takes ~11x; 40 MiB took ~450 MiB
        assert len(message.as_bytes()) <= mailboxes.MESSAGE_BYTES + 4096
        verdict = classify(message)
        assert (verdict.kind, [f.address for f in verdict.failures]) == (PERMANENT, ["jegyzo@falu.example"])


class FakeImap:
    """Stands in for imaplib.IMAP4_SSL: records what was asked, serves two messages."""

    calls: ClassVar[list] = []
    messages: ClassVar[dict[bytes, bytes]] = {
        b"7": (REPLIES / "ooo_outlook_hu.eml").read_bytes(),
        b"9": (FLUFL / "postfix_01.txt").read_bytes(),
    }

    def __init__(self, host, port, *, ssl_context, timeout):
        self.calls.append(("connect", host, port, ssl_context.verify_mode, timeout))

    def login(self, user, password):
        self.calls.append(("login", user, password))
        if password != "titok":
            raise imaplib.IMAP4.error("[AUTHENTICATIONFAILED] Invalid credentials")

    def select(self, folder, readonly):
        self.calls.append(("select", folder, readonly))
        return "OK", [b"2"]

    def uid(self, command, *args):
        self.calls.append(("uid", command, *args))
        if command == "SEARCH":
            return "OK", [b" ".join(self.messages)]
        uid = args[0].encode()
        return "OK", [(uid + b" (UID " + uid + b" BODY[] {99}", self.messages[uid]), b")"]

    def logout(self):
        self.calls.append(("logout",))


def test_imap_folder_is_read_only_over_tls_with_the_password_from_the_environment(ledger, monkeypatch, tmp_path):
    import ssl

    FakeImap.calls = []
    monkeypatch.setenv("LGP_IMAP_PASSWORD", "titok")

    def password(user, host):
        return mailboxes.imap_password(user, host, interactive=False)

    sent(ledger, A, [("xxxxx@local.ie", ("Tiszavárkony",), "Jász-Nagykun-Szolnok")])
    url = "imaps://bounces%40lgp.example@imap.lgp.example/Visszapattant levelek/Beérkezett"
    report = import_messages(ledger, read_imap(url, password, imap_class=FakeImap))
    assert [(o.label, o.verdict.kind) for o in report.outcomes] == [
        ("Visszapattant levelek/Beérkezett UID 7", AUTO_REPLY),
        ("Visszapattant levelek/Beérkezett UID 9", PERMANENT),
    ]
    assert FakeImap.calls[0] == ("connect", "imap.lgp.example", 993, ssl.CERT_REQUIRED, 60.0)
    assert FakeImap.calls[1] == ("login", "bounces@lgp.example", "titok")
    assert FakeImap.calls[2] == ("select", '"Visszapattant levelek/Be&AOk-rkezett"', True)
    assert ("uid", "SEARCH", "ALL") in FakeImap.calls
    assert ("uid", "FETCH", "9", "(BODY.PEEK[])") in FakeImap.calls  # PEEK: nothing marked seen
    assert FakeImap.calls[-1] == ("logout",)
    assert ledger.get(A, K, "xxxxx@local.ie").status == "failed"

    monkeypatch.setenv("LGP_IMAP_PASSWORD", "wrong")
    with pytest.raises(ImapError, match="AUTHENTICATIONFAILED") as caught:
        list(read_imap("imaps://u@imap.lgp.example:1993/INBOX", password, imap_class=FakeImap))
    assert caught.value.where == "imap.lgp.example:1993"
    with pytest.raises(MailboxError, match="only IMAP over TLS"):
        list(read_imap("imap://u@imap.lgp.example/INBOX", password, imap_class=FakeImap))


def test_imap_password_sources(tmp_path):
    secret_file = tmp_path / "imap-pass"
    secret_file.write_text("from-file\nignored\n", encoding="utf-8")
    got = mailboxes.imap_password("u", "h", {"LGP_IMAP_PASSWORD_FILE": str(secret_file)}, interactive=False)
    assert (got.reveal(), got.source, repr(got).count("from-file")) == (
        "from-file",
        "file named by LGP_IMAP_PASSWORD_FILE",
        0,
    )
    assert mailboxes.imap_password("u", "h", {}, interactive=True, prompt=lambda _: "typed").source == "prompt"
    with pytest.raises(CredentialsError, match="not prompting"):
        mailboxes.imap_password("u", "h", {}, interactive=False)


# -- the CLI -------------------------------------------------------------------------

runner = CliRunner()


def cli(*args: str):
    from lgp_mailer.cli import app

    return runner.invoke(app, list(args), catch_exceptions=False)


def test_cli_import_then_export(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    with open_ledger(Path(os.environ["LGP_MAILER_DB"])) as db:
        sent(
            db,
            A,
            [
                ("xxxxx@local.ie", ("Tiszavárkony",), "Jász-Nagykun-Szolnok"),
                ("polgarmester@tiszavarkony.example", ("Tiszavárkony",), "Jász-Nagykun-Szolnok"),
            ],
        )
    box = mbox_of(
        tmp_path / "in.mbox",
        [
            (FLUFL / "postfix_01.txt").read_bytes(),
            (REPLIES / "ooo_outlook_hu.eml").read_bytes(),
            (REPLIES / "unsubscribe_subject.eml").read_bytes(),
        ],
    )
    dry = cli("bounces", "import", str(box), "--dry-run")
    assert dry.exit_code == 0 and "Dry run: nothing was changed." in dry.output
    result = cli("bounces", "import", str(box), "--verbose")
    assert result.exit_code == 0, result.output
    assert "3 messages: permanent 1, temporary 0, auto-reply 1, unsubscribe 1, other 0." in result.output
    assert "Sent-log rows now failed: 1; addresses suppressed: 2 (0 already were)" in result.output
    assert "mbox #2: auto-reply – Automatikus válasz: Meghívó" in result.output
    result = cli("bounces", "export", "javitando.xlsx")
    assert (result.exit_code, result.output.strip()) == (0, "1 row written to javitando.xlsx.")
    assert openpyxl.load_workbook(tmp_path / "javitando.xlsx").active["C2"].value == "xxxxx@local.ie"
    assert cli("bounces", "import", str(tmp_path / "nope")).exit_code == 2
    monkeypatch.delenv("LGP_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("LGP_IMAP_PASSWORD_FILE", raising=False)
    refused = cli("bounces", "import", "imaps://u@127.0.0.1:9/INBOX", "--non-interactive")
    assert refused.exit_code == 2 and "not prompting" in refused.output


# -- a real IMAP server over TLS ---------------------------------------------------


class TinyImapServer:
    """Just enough IMAP4rev1 over TLS for imaplib: LOGIN, EXAMINE/SELECT, UID SEARCH/FETCH, LOGOUT."""

    def __init__(self, ca, messages: dict[int, bytes], password: str) -> None:
        import socket
        import ssl
        import threading

        self.messages, self.password, self.commands = messages, password, []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context = context
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import ssl

        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(raw, server_side=True) as conn:
                    self._session(conn.makefile("rb"), conn)
            except (OSError, ssl.SSLError):
                pass

    def _session(self, lines, conn) -> None:
        import base64

        conn.sendall(b"* OK tiny IMAP ready\r\n")
        for line in lines:
            tag, command, *rest = line.decode().rstrip("\r\n").split(" ", 2)
            args = rest[0] if rest else ""
            self.commands.append(f"{command} {args}".strip() if command != "LOGIN" else "LOGIN ***")
            out = f"{tag} OK done\r\n".encode()
            refused = f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n".encode()
            if command == "CAPABILITY":
                out = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + out
            elif command == "LOGIN" and args.split(" ", 1)[1].strip('"') != self.password:
                out = refused
            elif command == "AUTHENTICATE":
                conn.sendall(b"+ \r\n")
                _, _user, password = base64.b64decode(next(lines).strip()).decode("utf-8").split("\0")
                out = out if password == self.password else refused
            elif command in ("EXAMINE", "SELECT"):
                out = f"* {len(self.messages)} EXISTS\r\n* FLAGS ()\r\n{tag} OK [READ-ONLY] done\r\n".encode()
            elif command == "UID" and args.startswith("SEARCH"):
                out = ("* SEARCH " + " ".join(map(str, self.messages)) + "\r\n").encode() + out
            elif command == "UID" and args.startswith("FETCH"):
                uid = int(args.split()[1])
                body = self.messages[uid]
                out = f"* 1 FETCH (UID {uid} BODY[] {{{len(body)}}}\r\n".encode() + body + b")\r\n" + out
            elif command == "LOGOUT":
                conn.sendall(b"* BYE\r\n" + out)
                return
            conn.sendall(out)

    def close(self) -> None:
        self.listener.close()


def test_imap_over_a_real_tls_connection_reads_without_marking_anything(ledger, tmp_path, monkeypatch):
    import trustme

    ca = trustme.CA()
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    server = TinyImapServer(
        ca,
        {7: (REPLIES / "ooo_outlook_hu.eml").read_bytes(), 9: (FLUFL / "postfix_01.txt").read_bytes()},
        password="titok jelszó",
    )  # UTF-8
    try:
        sent(ledger, A, [("xxxxx@local.ie", ("Tiszavárkony",), "Jász-Nagykun-Szolnok")])
        monkeypatch.setenv("LGP_IMAP_PASSWORD", "titok jelszó")

        def password(user, host):
            return mailboxes.imap_password(user, host, interactive=False)

        url = f"imaps://bounces%40lgp.example@127.0.0.1:{server.port}/INBOX"
        report = import_messages(ledger, read_imap(url, password, cafile=cafile))
        assert [(o.label, o.verdict.kind) for o in report.outcomes] == [
            ("INBOX UID 7", AUTO_REPLY),
            ("INBOX UID 9", PERMANENT),
        ]
        assert ledger.get(A, K, "xxxxx@local.ie").status == "failed"
        assert server.commands == [
            "CAPABILITY",
            "AUTHENTICATE PLAIN",
            'EXAMINE "INBOX"',
            "UID SEARCH ALL",
            "UID FETCH 7 (BODY.PEEK[])",
            "UID FETCH 9 (BODY.PEEK[])",
            "LOGOUT",
        ]
        # Without the CA the certificate is refused: no fallback to an unverified connection.
        with pytest.raises(ImapError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            list(read_imap(url, password))
        assert caught.value.where == f"127.0.0.1:{server.port}"
        for wrong in ("rossz", "rossz jelszó"):  # LOGIN and AUTHENTICATE PLAIN
            monkeypatch.setenv("LGP_IMAP_PASSWORD", wrong)
            with pytest.raises(ImapError, match="AUTHENTICATIONFAILED"):
                list(read_imap(url, password, cafile=cafile))
        assert "LOGIN ***" in server.commands
    finally:
        server.close()


def test_a_bounce_naming_a_message_never_sent_is_left_alone(ledger):
    who = "jegyzo@falu.example"
    ledger.sync(A, K, [Entry(who, 0, ("Falu",), "Pest", message_id(A, K, who, "lgp.example"))])
    report = import_messages(
        ledger, iter([("dsn", email.message_from_bytes(dsn(who, message_id(A, K, who, "lgp.example"))))])
    )
    assert report.outcomes[0].unknown == [who]
    assert ledger.get(A, K, who).status == "pending" and not ledger.is_suppressed(who)


def test_a_message_the_detectors_choke_on_is_listed_for_a_person(monkeypatch):
    import flufl.bounce

    def broken(msg):
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    monkeypatch.setattr(flufl.bounce, "all_failures", broken)
    verdict = classify(load(FLUFL / "postfix_01.txt"))
    assert (verdict.kind, verdict.why) == (OTHER, "could not be analysed (UnicodeDecodeError); read it by hand")
