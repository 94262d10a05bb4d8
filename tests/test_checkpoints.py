"""The sending threads' commits never stop to checkpoint the SQLite write-ahead log (two
fsyncs and a copy of the log into the database, in the middle of the send loop): the
thread that holds rows ahead checkpoints instead, outside the ledger's lock."""

from __future__ import annotations

import threading

from test_parallel import inputs, maker, people, rcpts, session_for, statuses  # noqa: F401 - inputs: a fixture

from lgp_mailer.campaign import run
from lgp_mailer.campaign.run import run_parallel
from lgp_mailer.campaign.session import SendOptions
from lgp_mailer.ledger.backend import SqliteDb
from lgp_mailer.ledger.store import open_ledger


def test_the_sending_threads_leave_checkpoints_to_the_thread_that_holds(inputs, smtp_server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(run, "HOLD_AHEAD", 4)
    monkeypatch.setattr(run, "CHECKPOINT_EVERY", 2)
    checkpoints: list[str] = []
    autocheckpoint: dict[str, int] = {}
    real_checkpoint, real_begin = SqliteDb.checkpoint, SqliteDb.begin

    def checkpoint(db: SqliteDb) -> None:
        checkpoints.append(threading.current_thread().name)
        real_checkpoint(db)

    def begin(db: SqliteDb, **kwargs: bool) -> None:  # what each thread's connection does after its commits
        autocheckpoint[threading.current_thread().name] = db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        real_begin(db, **kwargs)

    monkeypatch.setattr(SqliteDb, "checkpoint", checkpoint)
    monkeypatch.setattr(SqliteDb, "begin", begin)
    recipients = people(20)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        report = run_parallel(session, maker(smtp_server), 2, SendOptions())
        assert report.count("sent") == 20 and statuses(ledger) == {"sent": 20}
    assert rcpts(smtp_server) == {r.email: 1 for r in recipients}
    # 20 messages held 4 at a time: 5 holds, a checkpoint after every second one, by the holding thread.
    assert checkpoints == ["lgp-render", "lgp-render"]
    assert autocheckpoint["lgp-smtp-1"] == autocheckpoint["lgp-smtp-2"] == 0
    assert autocheckpoint["lgp-render"] == 1000  # SQLite's default: the holder also checkpoints as it commits
