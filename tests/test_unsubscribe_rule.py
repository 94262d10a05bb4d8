"""Unsubscribe by reply (issue 15): the documented rule on real Hungarian phrasings.

Each reply is a real message (headers, quoted original, signature) run through
``bounces.classify`` and ``import_messages`` into a real SQLite sent log:
only a clear request suppresses; anything else that mentions unsubscribing is
listed for a person and suppresses nobody.
"""

from __future__ import annotations

import email
import email.message
from email.headerregistry import Address

import pytest
from test_bounces import A, K, dsn, ledger, sent  # noqa: F401  (ledger is a fixture)

from lgp_mailer.campaign.bounces import OTHER, UNSUBSCRIBE, classify, correction_rows, import_messages
from lgp_mailer.mail.mime import message_id

SENDER = "jegyzo@felsofalu.example"
QUOTED = (
    "\n\n-----Eredeti üzenet-----\nFeladó: LGP Programiroda <meghivo@lgp.example>\n"
    "Tárgy: Meghívó a konferenciára\n\n"
    'Ha nem szeretne több levelet kapni, válaszoljon "leiratkozás" tárggyal.\n'
)
GMAIL_QUOTE = (
    "\n\n2027. febr. 1., hétfő 10:00 időpontban LGP Programiroda <meghivo@lgp.example> ezt írta:\n"
    "> Tisztelt Jegyző Asszony!\n> Ha nem szeretne több levelet kapni, leiratkozás: válaszoljon.\n"
)


def reply(body: str, subject: str = "Vá: Meghívó a konferenciára") -> email.message.Message:
    msg = email.message.EmailMessage()
    msg["From"] = Address("Tóth Ilona", addr_spec=SENDER)
    msg["To"] = "LGP Programiroda <meghivo@lgp.example>"
    msg["Subject"] = subject
    msg["Message-ID"] = "<valasz-1@felsofalu.example>"
    msg["In-Reply-To"] = message_id(A, K, SENDER, "lgp.example")
    msg.set_content(body)
    return email.message_from_bytes(msg.as_bytes())  # parsed back, as a mailbox gives it


REQUESTS = [
    # The three the issue found missed:
    ("Kérem a leiratkozásomat.\n\nÜdvözlettel:\nTóth Ilona" + QUOTED, "body 'leiratkoz'"),
    (
        "Tisztelt Programiroda!\n\nLe szeretnék iratkozni a levelezőlistáról.\n\nTóth Ilona" + GMAIL_QUOTE,
        "body 'Le szeretnék iratkoz'",
    ),
    ("Kérjük, ne küldjenek több levelet a hivatalnak.\nKöszönettel: Tóth Ilona" + QUOTED, "body 'ne küldjenek'"),
    # Our own:
    ("Iratkoztassanak le minket, köszönöm." + QUOTED, "body 'Iratkoztassanak le'"),
    ("Kérem, töröljék a címünket a listáról, a hivatal nem kíván részt venni." + QUOTED, "body 'töröljék a cím'"),
    ("Nem kérünk több meghívót, nem érdekel minket.\n\nTóth Ilona" + GMAIL_QUOTE, "body 'Nem kérünk több'"),
    ("Please unsubscribe me.", "body 'unsubscribe'"),
]


@pytest.mark.parametrize(("body", "why"), REQUESTS)
def test_clear_requests_are_unsubscribes(body, why):
    verdict = classify(reply(body))
    assert (verdict.kind, verdict.why, verdict.sender) == (UNSUBSCRIBE, why, SENDER)


def test_the_subject_alone_is_enough():
    verdict = classify(reply("", subject="leiratkozás"))
    assert (verdict.kind, verdict.why) == (UNSUBSCRIBE, "subject 'leiratkozás'")


LONG = (
    "Tisztelt Programiroda!\n\n"
    + "A konferencia témája nagyon fontos számunkra, köszönjük a szervezést. " * 5
    + "\nLeiratkozom."
)
READ_BY_A_PERSON = [
    # The attendee: taken as an unsubscribe before, which would have suppressed her.
    ("Ott leszünk! (A leiratkozás gombot nem találom…)", "body 'leiratkoz', but also 'Ott leszünk'"),
    (
        "Nem szeretnék leiratkozni, csak a címünk változott: uj@felsofalu.example" + QUOTED,
        "body 'leiratkoz', but also 'Nem'",
    ),
    ("A polgármester úr részt vesz, de a jegyző iratkozzon le kérem.", "body 'iratkozzon le', but also 'részt vesz'"),
    (LONG, f"body 'Leiratkoz', in a letter of {len(LONG)} characters"),
    (
        "Tisztelt Programiroda!\nKöszönjük a meghívót.\nÉrdeklődnék, hogy a felvétel elérhető lesz-e.\n"
        "Hogyan lehet leiratkozni?",
        "mentions 'iratkoz', but not as a request",
    ),
]


@pytest.mark.parametrize(("body", "why"), READ_BY_A_PERSON)
def test_mentions_that_fail_the_rule_go_to_a_person(body, why):
    verdict = classify(reply(body))
    assert (verdict.kind, verdict.why) == (OTHER, f"may ask to unsubscribe ({why}): read it")


def test_quoted_text_never_counts():
    verdict = classify(reply("Köszönjük, ketten leszünk ott." + GMAIL_QUOTE + QUOTED))
    assert (verdict.kind, verdict.why) == (OTHER, "not a bounce, auto-reply or unsubscribe request")


def test_only_requests_suppress_and_a_person_reads_the_rest(ledger):  # noqa: F811
    sent(ledger, A, [(SENDER, ("Felsőfalu",), "Baranya")])
    messages = [("kerdes", reply(READ_BY_A_PERSON[0][0])), ("masik", reply(READ_BY_A_PERSON[1][0]))]
    report = import_messages(ledger, iter(messages))
    assert [o.verdict.kind for o in report.outcomes] == [OTHER, OTHER]
    assert ledger.suppressions() == []
    report = import_messages(ledger, iter([("keres", reply(REQUESTS[0][0]))]))
    assert [o.suppressed for o in report.outcomes] == [[SENDER]]
    assert [(s.address, s.source) for s in ledger.suppressions()] == [(SENDER, "unsubscribe")]


def test_exchange_5_1_10_is_recipient_not_found_not_null_mx(ledger):  # noqa: F811
    who = "polgarmester@kozepfalu.example"
    sent(ledger, A, [(who, ("Középfalu",), "Zala")])
    bounce = dsn(
        who,
        message_id(A, K, who, "lgp.example"),
        status="5.1.10",
        style="exchange",
        diag="550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    )
    import_messages(ledger, iter([("ndr", email.message_from_bytes(bounce))]))
    reply_text = ledger.get(A, K, who).last_reply
    assert reply_text.startswith("5.1.10 (recipient not found (Exchange))"), reply_text
    assert "null MX" not in "".join("".join(row) for row in correction_rows(ledger))
