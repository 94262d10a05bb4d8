"""``Ledger.sync`` writes the sheet a page of rows at a time: the same rows and
counts as row by row, and a number of statements that does not grow with the
rows (on PostgreSQL each statement is a round trip)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lgp_mailer.ledger import store, sync
from lgp_mailer.ledger.store import Entry, SyncResult, open_ledger

C, K = "2027-klima", "invitation"
FIRST, SECOND = "2027-02-01T09:00:00.000000Z", "2027-02-02T09:00:00.000000Z"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def table(ledger: store.Ledger) -> list[tuple[Any, ...]]:
    with ledger.read() as db:
        return [
            tuple(r)
            for r in db.execute(
                "SELECT address, address_key, status, suppressed_from, seq, municipalities, county, message_id,"
                " attempts, last_reply, created_at, updated_at FROM messages WHERE campaign_id = ? AND kind = ?"
                " ORDER BY id",
                (C, K),
            )
        ]


@pytest.mark.parametrize("page", [1000, 2])  # 2: rows of one sync across pages, and an address twice in one
def test_a_mixed_sheet_gives_the_same_rows_and_counts_as_row_by_row(
    ledger_target: Path | str, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "SYNC_PAGE", page)
    clock = Clock()
    with open_ledger(ledger_target, clock=clock) as ledger:
        first = ledger.sync(
            C,
            K,
            [
                Entry("same@x.example", 1, ("Alsófalu",), "Baranya", "<1@lgp.example>"),
                Entry("untried@x.example", 2, ("Felsőfalu",), "Baranya", "<2@lgp.example>"),
                Entry("sent@x.example", 3, ("Középfalu",), "Tolna", "<3@lgp.example>"),
                Entry("gone@x.example", 4, ("Elment",), None, "<4@lgp.example>"),
            ],
        )
        assert first == SyncResult(added=4, invalid=0, refreshed=0, absent=0, suppressed=0)
        assert ledger.claim(C, K, "sent@x.example", ["pending"])
        ledger.record(C, K, "sent@x.example", "sent", code=250, reply="ok")
        ledger.suppress("Blocked@x.example", "kérte")
        clock.now = datetime(2027, 2, 2, 9, 0, tzinfo=UTC)
        second = ledger.sync(
            C,
            K,
            [
                Entry("New@x.example ", 1, ("Újfalu",), "Somogy", "<n@lgp.example>"),
                Entry("same@x.example", 2, ("Alsófalu",), "Baranya", "<other@lgp.example>"),
                Entry("UNTRIED@x.example", 3, ("Felsőfalu", "Kisfalu"), "Somogy", "<2b@lgp.example>"),
                Entry("sent@x.example", 4, ("Másfalu",), "Tolna", "<3b@lgp.example>"),
                Entry("hibas@", 5, ("Hibás",), None, None, "'hibas@'\n is not an address"),
                Entry("blocked@x.example", 6, ("Tiltott",), "Zala", "<b@lgp.example>"),
                Entry("", 7, (), None, None, "no address"),
                # The same address again, rejected: the row just added takes it, as row by row.
                Entry("new@x.example", 8, ("Újfalu",), None, None, "duplicate row"),
            ],
        )
        assert second == SyncResult(added=1, invalid=2, refreshed=2, absent=1, suppressed=1)
        assert table(ledger) == [
            ("same@x.example", "same@x.example", "pending", None, 2, '["Alsófalu"]', "Baranya", "<1@lgp.example>",
             0, None, FIRST, FIRST),
            ("untried@x.example", "untried@x.example", "pending", None, 3, '["Felsőfalu", "Kisfalu"]', "Somogy",
             "<2@lgp.example>", 0, None, FIRST, SECOND),
            ("sent@x.example", "sent@x.example", "sent", None, 4, '["Középfalu"]', "Tolna", "<3@lgp.example>",
             1, "ok", FIRST, FIRST),
            ("gone@x.example", "gone@x.example", "pending", None, None, '["Elment"]', None, "<4@lgp.example>",
             0, None, FIRST, FIRST),
            ("New@x.example", "new@x.example", "invalid", None, 8, '["Újfalu"]', None, "<n@lgp.example>",
             0, "duplicate row", SECOND, SECOND),
            ("hibas@", "hibas@", "invalid", None, 5, '["Hibás"]', None, None,
             0, "'hibas@' is not an address", SECOND, SECOND),
            ("blocked@x.example", "blocked@x.example", "suppressed", "pending", 6, '["Tiltott"]', "Zala",
             "<b@lgp.example>", 0, None, SECOND, SECOND),
            ("", "<blank #7>", "invalid", None, 7, "[]", None, None, 0, "no address", SECOND, SECOND),
        ]  # fmt: skip
        # Nothing changed: nothing is refreshed or added, and the rows stay as they are.
        before = table(ledger)
        clock.now = datetime(2027, 2, 3, 9, 0, tzinfo=UTC)
        again = [
            Entry("New@x.example", 8, ("Újfalu",), None, None, "duplicate row"),
            Entry("same@x.example", 2, ("Alsófalu",), "Baranya"),
            Entry("untried@x.example", 3, ("Felsőfalu", "Kisfalu"), "Somogy"),
            Entry("sent@x.example", 4, ("Másfalu",), "Tolna"),
            Entry("hibas@", 5, ("Hibás",), None, None, "other reason"),
            Entry("blocked@x.example", 6, ("Tiltott",), "Zala"),
            Entry("", 7, (), None, None, "no address"),
        ]
        assert ledger.sync(C, K, iter(again)) == SyncResult(0, 0, 0, 1, 0)
        assert table(ledger) == before


class Counted:
    """The ledger's statements, counted where every one of them passes: ``Db.execute``/``executemany``."""

    def __init__(self, ledger: store.Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements = 0
        db = ledger.db
        for name in ("execute", "executemany"):
            monkeypatch.setattr(db, name, self.counting(getattr(db, name)))

    def counting(self, method: Any) -> Any:
        def call(*args: Any) -> Any:
            self.statements += 1
            return method(*args)

        return call


def test_a_sync_of_2000_rows_issues_a_bounded_number_of_statements(
    pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sheet(n: int) -> Any:  # a generator, as SendSession.sync passes
        return (Entry(f"r{i}@falu.example", i, (f"Falu {i}",), "Baranya", f"<{i}@lgp.example>") for i in range(n))

    with open_ledger(pg_server.create_ledger_database()) as ledger:
        counted = Counted(ledger, monkeypatch)
        assert ledger.sync(C, K, sheet(2000)) == SyncResult(added=2000, invalid=0, refreshed=0, absent=0)
        new = counted.statements
        counted.statements = 0
        assert ledger.sync(C, K, sheet(1999)) == SyncResult(added=0, invalid=0, refreshed=0, absent=1)
        unchanged = counted.statements
        # Row by row this was 2,000 and 6,000 statements; now 7 per page of 1,000, 8 more per
        # sync, and an ANALYZE after 1,000 and 2,000 rows added (then 4,000, 8,000, …).
        assert (new, unchanged) == (24, 22)
        assert len(table(ledger)) == 2000


def test_a_sync_the_sheet_breaks_off_changes_nothing_and_the_next_one_works(ledger_target: Path | str) -> None:
    def broken() -> Any:
        yield Entry("a@x.example", 1)
        raise ValueError("the sheet could not be read further")

    with open_ledger(ledger_target) as ledger:
        with pytest.raises(ValueError, match="could not be read"):
            ledger.sync(C, K, broken())
        assert table(ledger) == []  # rolled back, its temporary tables too
        assert ledger.sync(C, K, [Entry("a@x.example", 1)]) == SyncResult(1, 0, 0, 0)
        assert [r[:5] for r in table(ledger)] == [("a@x.example", "a@x.example", "pending", None, 1)]
