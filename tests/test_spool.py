"""Each letter built once (the spool), the quota-aware plan, the plain progress lines,
the record commit without its own fsync, and the workers that write a dry run's files."""

from __future__ import annotations

import datetime as dt
import os
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_parallel import REPO, maker, people, rcpts, session_for, statuses

from lgp_mailer.campaign import spool as spooling
from lgp_mailer.campaign.run import run_parallel
from lgp_mailer.campaign.send import build
from lgp_mailer.campaign.session import Outcome, SendOptions
from lgp_mailer.cli import output
from lgp_mailer.config import load_campaign
from lgp_mailer.errors import LedgerError, TemplateError
from lgp_mailer.event import load_event
from lgp_mailer.ledger.store import open_ledger
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.smtp.settings import SmtpSettings, parse_rate
from lgp_mailer.smtp.transport import SendResult
from lgp_mailer.smtp.wire import Stuffed, dot_stuff

K = "invitation"


@pytest.fixture(scope="module")
def inputs():
    campaign = load_campaign(REPO / "lgp-mailer.toml")
    return campaign, load_event(campaign.event_path)


def test_the_spooled_bytes_are_the_bytes_sent_and_nothing_is_built_twice(inputs, smtp_server, tmp_path):
    recipients = people(40)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        done: list[int] = []
        with build(session, SendOptions(), 40, progress=done.append) as spool:
            assert spool.count == 40 and done[-1] == 40 and done == sorted(done)
            folder = spool.folder
            spooled = {seq: data for seq, data in spooling.Spool.messages(_copy(spool))}
            session.factory.build = _never  # the run must not build anything more
            report = run_parallel(session, maker(smtp_server), 2, SendOptions(), prebuilt=spool.messages())
            assert report.count("sent") == 40
            assert list(folder.iterdir()) == []  # each chunk file deleted once read
        assert not folder.exists()
        seq_of = {r.address: r.seq for r in ledger.rows()}
    assert rcpts(smtp_server) == {r.email: 1 for r in recipients}
    for m in smtp_server.received:  # the server undoes the stuffing and drops the final dot
        assert dot_stuff(m.data) == spooled[seq_of[m.rcpt_tos[0]]]


def _copy(spool: spooling.Spool) -> spooling.Spool:
    """A reader of the same chunk files that leaves them in place."""
    copy = spooling.Spool.__new__(spooling.Spool)
    copy.folder = spool.folder
    copy._chunks = list(spool._chunks)
    for path, _, _ in copy._chunks:
        (path.parent / f"{path.name}.copy").write_bytes(path.read_bytes())
    copy._chunks = [(p.parent / f"{p.name}.copy", s, n) for p, s, n in copy._chunks]
    return copy


def _never(*args: object, **kwargs: object) -> object:
    raise AssertionError("a spooled message was built again")


def test_the_spool_of_a_killed_run_is_removed_by_the_next(tmp_path):
    dead = tmp_path / "lgp-spool-999999999-abc"  # no such process
    alive = tmp_path / f"lgp-spool-{os.getpid()}-def"
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "000000000000.eml-chunk").write_bytes(b"x")
    with spooling.Spool(tmp_path) as spool:
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, spool.folder.name])
        assert spool.folder.name.startswith(f"lgp-spool-{os.getpid()}-")
    assert [p.name for p in tmp_path.iterdir()] == [alive.name]


def test_a_letter_that_does_not_build_stops_the_build_naming_its_recipient(inputs, tmp_path, monkeypatch):
    # A temporary folder of its own: other test processes build spools in the shared one meanwhile.
    monkeypatch.setattr(spooling.tempfile, "tempdir", str(tmp_path))
    recipients = people(70)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        original = session.factory.build

        def broken(recipient, **kwargs):
            if recipient.email == recipients[45].email:
                raise TemplateError("'event.join_url' is undefined", file="invitation.html.j2")
            return original(recipient, **kwargs)

        session.factory.build = broken
        before = set(Path(spooling.tempfile.gettempdir()).glob("lgp-spool-*"))
        with pytest.raises(TemplateError) as caught:
            build(session, SendOptions(), 70)
        assert caught.value.message == (
            f"'event.join_url' is undefined (the message to {recipients[45].email}; nothing was sent)"
        )
        assert set(Path(spooling.tempfile.gettempdir()).glob("lgp-spool-*")) == before  # removed
        assert statuses(ledger) == {"pending": 70}


def test_worker_processes_build_the_spool_and_write_the_dry_run(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(spooling, "PROCESSES_FROM", 10)
    monkeypatch.setattr(spooling, "CHUNK", 4)
    recipients = people(24)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        here: list[str] = []
        original = MessageFactory.build

        def counted(self, recipient, **kwargs):  # only this process's builds: the workers import afresh
            here.append(recipient.email)
            return original(self, recipient, **kwargs)

        monkeypatch.setattr(MessageFactory, "build", counted)
        written = session.dry_run(tmp_path / "outbox", SendOptions(batch=20))
        here_dry, here[:] = list(here), []
        with build(session, SendOptions(), 24) as spool:
            sent = list(spool.messages())
        rows = {r.seq: r for r in ledger.rows()}
    workers = spooling.build_processes(20)
    assert workers >= 1  # the test machine has two cores or more
    size = spooling.CHUNK
    for letters, built in ((recipients[:20], here_dry), (recipients, here)):
        chunks = [[r.email for r in letters[n : n + size]] for n in range(0, len(letters), size)]
        # Chunks of CHUNK letters in turn: this process builds every (workers + 1)-th, from the first,
        # and may take back a worker's chunk the worker has not started; each letter is built once.
        assert len(built) == len(set(built))
        assert {e for chunk in chunks[:: workers + 1] for e in chunk} <= set(built)
        assert all(set(chunk) <= set(built) or not set(chunk) & set(built) for chunk in chunks)
    names = [f"{n + 1:04d}-{r.email.replace('@', '_')}.eml" for n, r in enumerate(recipients[:20])]
    assert [p.name for p in written] == names
    assert [seq for seq, _ in sent] == sorted(rows)
    # Stuffed in the build (CRLF, leading dots doubled, the final dot): the sending process writes them as they are.
    assert {type(data) for _, data in sent} == {Stuffed}
    assert all(data.endswith(b"\r\n.\r\n") for _, data in sent)
    assert all(data.count(b"\n") == data.count(b"\r\n") for _, data in sent)
    for seq, data in sent:  # each the recipient's own message, built in another process
        assert f"Message-ID: {rows[seq].message_id}".encode() in data
        to = BytesParser(policy=policy.default).parsebytes(data)["To"].addresses[0]
        assert (to.display_name, to.addr_spec) == (f"Kovács Ödön {seq}", rows[seq].address)
    first = written[0].read_bytes()
    assert f"Message-ID: {rows[0].message_id}".encode() in first


def test_the_record_commit_is_not_fsyncd_on_its_own_but_the_claim_is(inputs, tmp_path):
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, people(2)) as session:
        writer = ledger.writer()
        statements: list[str] = []
        writer.db.conn.set_trace_callback(statements.append)
        address = session.recipients[0].email
        assert writer.claim(session.campaign.campaign_id, K, address, ("pending",))
        claim = list(statements)
        statements.clear()
        session.record(
            ledger.get(session.campaign.campaign_id, K, address), SendResult("sent", 250, "ok"), ledger=writer
        )
        record = list(statements)
        statements.clear()
        # The next claim is durable again; a record right after a record sets nothing.
        other = session.recipients[1].email
        assert writer.claim(session.campaign.campaign_id, K, other, ("pending",))
        writer.record(session.campaign.campaign_id, K, other, "sent", 250)
        with pytest.raises(LedgerError):  # not 'sending' any more: rolled back
            writer.record(session.campaign.campaign_id, K, other, "failed", 550)
        writer.close()
        assert [ledger.get(session.campaign.campaign_id, K, a).status for a in (address, other)] == ["sent", "sent"]
    assert not any("synchronous" in s for s in claim)
    levels = [s for s in record if "synchronous" in s or s in ("BEGIN IMMEDIATE", "COMMIT")]
    assert levels == ["PRAGMA synchronous = NORMAL", "BEGIN IMMEDIATE", "COMMIT"]
    assert [s for s in statements if "synchronous" in s or s in ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")] == [
        "PRAGMA synchronous = FULL",
        "BEGIN IMMEDIATE",
        "COMMIT",
        "PRAGMA synchronous = NORMAL",
        "BEGIN IMMEDIATE",
        "COMMIT",
        "BEGIN IMMEDIATE",
        "ROLLBACK",
    ]


def test_the_plan_counts_what_the_daily_quota_lets_this_run_send(inputs, tmp_path, capsys):
    settings = SmtpSettings(host="127.0.0.1", port=2525, rates=(parse_rate("30/min"),), daily_quota=2000)
    options = SendOptions(rates=settings.rates, daily_quota=2000)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, people(3200)) as session:
        output.print_plan(session, options, settings, session.count_due(options))
        first = capsys.readouterr().out
        for r in session.recipients[:100]:  # 100 sent within the last 24 hours
            assert ledger.claim(session.campaign.campaign_id, K, r.email, ("pending",))
            ledger.record(session.campaign.campaign_id, K, r.email, "sent")
        output.print_plan(session, options, settings, session.count_due(options))
        second = capsys.readouterr().out
        # Budapest time, whatever the machine's zone (issue 17: dates through Babel, Budapest time).
        frees = session.quota_frees().astimezone(ZoneInfo("Europe/Budapest")).strftime("%Y-%m-%d %H:%M")
        now = dt.datetime.now(dt.UTC)
        assert dt.timedelta(hours=23, minutes=58) < session.quota_frees(now) - now <= dt.timedelta(days=1)
    # Numbers through Babel (issue 17): English groups thousands with a comma.
    assert "Due now:    3,200; this run sends 2,000 (the daily quota), about 1 h 6 min at 30/min\n" in first
    assert "Quota:      2000 in any 24 hours, 2000 left now\n" in first
    assert re.search(
        r"The rest:   1,200 can go from about \d{4}-\d\d-\d\d \d\d:\d\d, as the 24-hour quota frees up", first
    )
    assert "Due now:    3,100; this run sends 1,900 (the daily quota), about 1 h 3 min at 30/min\n" in second
    assert f"The rest:   1,200 can go from about {frees}, as the 24-hour quota frees up\n" in second


def test_without_a_terminal_progress_is_a_line_every_100_messages_or_every_minute(capsys, monkeypatch):
    monkeypatch.setattr(output, "is_terminal", lambda: False)
    clock = [0.0]
    printer = output._PlainProgress(250, clock=lambda: clock[0])
    for n in range(1, 251):
        clock[0] = n * 0.1 if n <= 200 else 20 + (n - 200) * 2.0  # the last 50 go slowly
        status = "deferred" if n == 7 else "sent"
        printer(Outcome(f"a{n}@x.example", ("Falu",), status, "451 4.7.1 later" if n == 7 else ""))
    assert capsys.readouterr().out.splitlines() == [
        "[7/250] deferred a7@x.example – 451 4.7.1 later",
        "[100/250] sent 99, not sent 1, about 15 s left",
        "[200/250] sent 199, not sent 1, about 5 s left",
        "[230/250] sent 229, not sent 1, about 7 s left",  # a minute since the last line; 80 s / 230 x 20
        "[250/250] sent 249, not sent 1",
    ]


def test_without_a_terminal_rows_another_sender_took_are_counted_not_listed(capsys, monkeypatch):
    monkeypatch.setattr(output, "is_terminal", lambda: False)
    printer = output._PlainProgress(120, clock=lambda: 0.0)
    for n in range(1, 121):
        status = "skipped" if n % 2 else ("failed" if n == 10 else "sent")
        printer(Outcome(f"a{n}@x.example", ("Falu",), status, "550 5.1.1 no such user" if n == 10 else ""))
    assert capsys.readouterr().out.splitlines() == [
        "[10/120] failed   a10@x.example – 550 5.1.1 no such user",
        "[100/120] sent 49, not sent 1, taken by other senders 50, about 0 s left",
        "[120/120] sent 59, not sent 1, taken by other senders 60",
    ]


@pytest.mark.parametrize("workers", [False, True])
def test_a_dry_run_letter_that_does_not_build_names_its_recipient(inputs, tmp_path, monkeypatch, workers):
    """As the send's build does: the template error, then whose message it was (also from a worker process)."""
    import dataclasses

    campaign, event = inputs
    own = tmp_path / "templates"
    own.mkdir()
    shipped = next(d for d in campaign.template_dirs if (d / "invitation.txt.j2").is_file())
    text = (shipped / "invitation.txt.j2").read_text(encoding="utf-8")
    (own / "invitation.txt.j2").write_text("{{ recipient.name.upper() }}\n" + text, encoding="utf-8")
    campaign = dataclasses.replace(campaign, template_dirs=(own, *campaign.template_dirs))
    if workers:
        monkeypatch.setattr(spooling, "PROCESSES_FROM", 10)
        monkeypatch.setattr(spooling, "CHUNK", 4)
    recipients = people(24)
    nameless = dataclasses.replace(recipients[13], name=None)
    recipients[13] = nameless
    with (
        open_ledger(tmp_path / "log.sqlite3") as ledger,
        session_for((campaign, event), ledger, recipients) as session,
        pytest.raises(TemplateError) as caught,
    ):
        session.dry_run(tmp_path / "outbox", SendOptions())
    assert caught.value.message == (
        "cannot render: empty value: 'recipient.name' is empty, so it has no 'upper' "
        f"(the message to {nameless.email}; nothing was sent)"
    )
    assert (caught.value.file, caught.value.line) == (str(own / "invitation.txt.j2"), 1)
