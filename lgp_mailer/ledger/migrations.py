"""The sent log's schema, as numbered migrations (the pattern of sqlite-utils' migrations).

``store.migrate`` applies each one in one transaction together with the record
that it ran, so a failure leaves neither half-applied.  Append only: never edit a
migration that has been applied somewhere; people keep their sent logs for years.

One list migrates both backends.  The statements are SQLite's DDL in the subset
PostgreSQL shares; ``backend.Db.ddl`` makes the few substitutions PostgreSQL
needs (``id INTEGER PRIMARY KEY`` an identity column, ``REAL`` double precision,
``TEXT`` with byte-wise ``COLLATE "C"``).  Times are fixed-width UTC ISO text
(``rows.utc_iso``) on both, so they compare and sort as text.  A change the two
cannot share (a CHECK constraint: SQLite rebuilds the table, PostgreSQL alters
it) gives its statements per dialect (``statements_for``).

The schema, table by table (tests/test_ledger_backends.py checks this list
against the database; a table added by a migration is added here too):

* ``migrations``: number, name, applied_at. One row per applied migration.
* ``messages``: id, campaign_id, kind, address, address_key, status, seq,
  municipalities, county, message_id, attempts, last_code, last_enhanced,
  last_reply, first_attempt_at, last_attempt_at, sent_at, created_at,
  updated_at, suppressed_from, sender, account, held. One row per (campaign_id,
  kind, address_key): the recipient's status (``rows.STATUSES``), sheet order
  (seq; NULL when gone from the sheet), the municipalities as a JSON list, the
  last SMTP reply, the status it had before it was suppressed, the lease token
  of the sender that last claimed it, the relay account it went to, and the
  boot of the machine a pending row was held in (``Ledger.hold``; SQLite only).
* ``run_locks``: campaign_id, holder, pid, hostname, token, acquired_at,
  heartbeat_at. One lease per sender of a campaign, keyed by token
  (``runlock.py``); several only with ``send --join``.
* ``relay_accounts``: account, claims. One row per relay account
  (host:port:username) claimed for under a daily quota; its row lock makes
  the quota exact across senders.
* ``suppressions``: address_key, address, reason, source, created_at. The
  organisation-wide list nobody is written to again.
* ``campaign_calendars``: campaign_id, uid, created_at. A campaign's calendar UID.
* ``event_snapshots``: id, campaign_id, kind, taken_at, event_path, title, date,
  start, end, platform, join_url, registration_url, agenda, sheet_path,
  sheet_rows. The event as each run saw it (``events.py``).
* ``event_revisions``: campaign_id, revision, kind, created_at, title, date,
  start, end, platform, join_url, registration_url, agenda. Each notified
  revision of a campaign's event, as the change or cancellation notice
  announced it (``revisions.py``); its letters are kind ``change-r<n>``.
* ``attendance_imports``: id, campaign_id, platform, language, file_name,
  sha256, file_modified_at, imported_at, summary. One imported attendance report;
  platform is the vendor whose export it was (``zoom``, ``teams``, ``webex``,
  ``meet``, or ``other`` for an unnamed participant table; migration 9).
* ``attendance_sessions``: import_id, row, name, email, joined, left_at, minutes,
  guest, role, summed. Its sessions (``attendance.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

from lgp_mailer.ledger.backend import POSTGRESQL, SQLITE

Statements = tuple[str, ...] | Mapping[str, tuple[str, ...]]  # the same for both, or per dialect


def statements_for(statements: Statements, dialect: str) -> tuple[str, ...]:
    """A migration's statements for ``dialect`` (``backend.SQLITE`` or ``backend.POSTGRESQL``)."""
    return statements if isinstance(statements, tuple) else statements[dialect]


# The attendance import's platform column, rebuilt by SQLite's procedure for a
# schema change ALTER TABLE cannot make (https://www.sqlite.org/lang_altertable.html,
# "Making Other Kinds Of Table Schema Changes"), inside the migration's transaction.
# foreign_keys stays off (SQLite's default; the ledger never turns it on, and it
# cannot be changed inside a transaction), so dropping the old table deletes no
# sessions (ON DELETE CASCADE), and attendance_sessions' REFERENCES
# attendance_imports names the new table once it is renamed.  The table has no indexes of its own (its UNIQUE is
# part of the definition), triggers or views to make again.
_NEW_ATTENDANCE_IMPORTS = """CREATE TABLE new_attendance_imports (
                id INTEGER PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                platform TEXT NOT NULL CHECK (platform IN ('zoom', 'teams', 'webex', 'meet', 'other')),
                language TEXT NOT NULL,
                file_name TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                file_modified_at TEXT NOT NULL,
                imported_at TEXT NOT NULL,
                summary TEXT NOT NULL DEFAULT '[]',
                UNIQUE (campaign_id, sha256)
            )"""
_IMPORT_COLUMNS = "id, campaign_id, platform, language, file_name, sha256, file_modified_at, imported_at, summary"

# (number, name, statements).  Append only; never edit an applied migration.
MIGRATIONS: list[tuple[int, str, Statements]] = [
    (
        1,
        "create_messages",
        (
            """CREATE TABLE messages (
                id INTEGER PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                address TEXT NOT NULL,
                address_key TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                    ('pending','sending','sent','deferred','failed','unknown','invalid','suppressed')),
                seq INTEGER,
                municipalities TEXT NOT NULL DEFAULT '[]',
                county TEXT,
                message_id TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_code INTEGER,
                last_enhanced TEXT,
                last_reply TEXT,
                first_attempt_at TEXT,
                last_attempt_at TEXT,
                sent_at TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (campaign_id, kind, address_key)
            )""",
            "CREATE INDEX messages_due ON messages (campaign_id, kind, status, seq)",
            "CREATE INDEX messages_sent_at ON messages (sent_at)",
        ),
    ),
    (
        2,
        "create_run_locks",
        (
            """CREATE TABLE run_locks (
                campaign_id TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                pid INTEGER NOT NULL,
                hostname TEXT NOT NULL,
                token TEXT NOT NULL,
                acquired_at TEXT NOT NULL,
                heartbeat_at TEXT NOT NULL
            )""",
        ),
    ),
    (
        3,
        "create_suppressions",
        (
            # Organisation-wide: one row per address, whatever the campaign.
            # address_key is the ledger's key (stripped, lower-cased address).
            """CREATE TABLE suppressions (
                address_key TEXT PRIMARY KEY,
                address TEXT NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                source TEXT NOT NULL CHECK (source IN ('manual','import','bounce','unsubscribe')),
                created_at TEXT NOT NULL
            )""",
            # The status a row had before it became 'suppressed', so that
            # removing the suppression gives the row back exactly.
            "ALTER TABLE messages ADD COLUMN suppressed_from TEXT",
            "CREATE INDEX messages_address ON messages (address_key)",
            "CREATE INDEX messages_message_id ON messages (message_id)",
        ),
    ),
    (
        4,
        "create_event_snapshots",
        (
            # The calendar UID belongs to the campaign: written at its first send, never re-derived.
            """CREATE TABLE campaign_calendars (
                campaign_id TEXT PRIMARY KEY,
                uid TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            # The event as each send run saw it, normalised field by field (agenda as JSON),
            # with the sheet's path and row count: what changed since, and change notices later.
            """CREATE TABLE event_snapshots (
                id INTEGER PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                taken_at TEXT NOT NULL,
                event_path TEXT NOT NULL,
                title TEXT NOT NULL,
                date TEXT NOT NULL,
                start TEXT NOT NULL,
                "end" TEXT NOT NULL,
                platform TEXT NOT NULL,
                join_url TEXT,
                registration_url TEXT NOT NULL,
                agenda TEXT NOT NULL,
                sheet_path TEXT,
                sheet_rows INTEGER
            )""",
            "CREATE INDEX event_snapshots_campaign ON event_snapshots (campaign_id, id)",
        ),
    ),
    (
        5,
        "create_attendance",
        (
            # One row per imported attendance report; the one with the latest
            # imported_at of a campaign is the one that counts.
            """CREATE TABLE attendance_imports (
                id INTEGER PRIMARY KEY,
                campaign_id TEXT NOT NULL,
                platform TEXT NOT NULL CHECK (platform IN ('zoom', 'teams')),
                language TEXT NOT NULL,
                file_name TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                file_modified_at TEXT NOT NULL,
                imported_at TEXT NOT NULL,
                summary TEXT NOT NULL DEFAULT '[]',
                UNIQUE (campaign_id, sha256)
            )""",
            # The sessions as the report gives them; local (Europe/Budapest) times
            # as ISO text, because that is what the report says and the minutes
            # are differences between them.
            """CREATE TABLE attendance_sessions (
                import_id INTEGER NOT NULL REFERENCES attendance_imports (id) ON DELETE CASCADE,
                row INTEGER NOT NULL,
                name TEXT NOT NULL,
                email TEXT NOT NULL,
                joined TEXT,
                left_at TEXT,
                minutes REAL,
                guest INTEGER NOT NULL,
                role TEXT NOT NULL,
                summed INTEGER NOT NULL,
                PRIMARY KEY (import_id, row)
            )""",
        ),
    ),
    (
        6,
        "create_event_revisions",
        (
            # Each notified revision of a campaign's event (issue 18): the event as
            # the notice announced it.  A change or cancellation notice is kind
            # "change-r<revision>" / "cancellation-r<revision>" in messages, so the
            # one claim/record protocol sends each revision to each recipient once.
            # Portable SQL (SQLite and PostgreSQL): standard types, no AUTOINCREMENT.
            """CREATE TABLE event_revisions (
                campaign_id TEXT NOT NULL,
                revision INTEGER NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('change', 'cancellation')),
                created_at TEXT NOT NULL,
                title TEXT NOT NULL,
                date TEXT NOT NULL,
                start TEXT NOT NULL,
                "end" TEXT NOT NULL,
                platform TEXT NOT NULL,
                join_url TEXT,
                registration_url TEXT NOT NULL,
                agenda TEXT NOT NULL,
                PRIMARY KEY (campaign_id, revision)
            )""",
        ),
    ),
    (
        7,
        "sender_leases_and_relay_accounts",
        (
            # Several senders may drain one campaign (issue 22): the run lock becomes
            # one lease per sender, keyed by its random token, with the same columns.
            """CREATE TABLE run_leases (
                campaign_id TEXT NOT NULL,
                holder TEXT NOT NULL,
                pid INTEGER NOT NULL,
                hostname TEXT NOT NULL,
                token TEXT PRIMARY KEY,
                acquired_at TEXT NOT NULL,
                heartbeat_at TEXT NOT NULL
            )""",
            "INSERT INTO run_leases (campaign_id, holder, pid, hostname, token, acquired_at, heartbeat_at)"
            " SELECT campaign_id, holder, pid, hostname, token, acquired_at, heartbeat_at FROM run_locks",
            "DROP TABLE run_locks",
            "ALTER TABLE run_leases RENAME TO run_locks",
            "CREATE INDEX run_locks_campaign ON run_locks (campaign_id)",
            # Who claimed a row (the lease token): only a dead sender's 'sending' rows become 'unknown'.
            "ALTER TABLE messages ADD COLUMN sender TEXT",
            # The relay account (host:port:username) a row was handed to: its daily quota.
            "ALTER TABLE messages ADD COLUMN account TEXT",
            "CREATE INDEX messages_account ON messages (account, last_attempt_at)",
            "CREATE INDEX messages_sender ON messages (sender)",
            # One row per relay account with a daily quota; a claim updates it first,
            # so the claims of one account take turns and its quota is counted exactly.
            """CREATE TABLE relay_accounts (
                account TEXT PRIMARY KEY,
                claims INTEGER NOT NULL DEFAULT 0
            )""",
        ),
    ),
    (
        8,
        "messages_held",
        (
            # A pending row held ahead of its turn (marked durably with others in
            # one flush) records the boot of the machine it was held in, until its
            # DATA starts (then NULL).  See Ledger.hold.
            "ALTER TABLE messages ADD COLUMN held TEXT",
        ),
    ),
    (
        9,
        "attendance_platform_vendors",
        {
            # The import knows the vendor (Webex, Google Meet, a participant table
            # naming none), not only the two layouts: the follow-up says whose
            # report it was, so a Webex file is not called a Zoom report.
            SQLITE: (
                _NEW_ATTENDANCE_IMPORTS,
                f"INSERT INTO new_attendance_imports ({_IMPORT_COLUMNS})"
                f" SELECT {_IMPORT_COLUMNS} FROM attendance_imports",
                "DROP TABLE attendance_imports",
                "ALTER TABLE new_attendance_imports RENAME TO attendance_imports",
            ),
            # PostgreSQL's name for migration 5's column CHECK (<table>_<column>_check).
            POSTGRESQL: (
                "ALTER TABLE attendance_imports DROP CONSTRAINT attendance_imports_platform_check",
                "ALTER TABLE attendance_imports ADD CONSTRAINT attendance_imports_platform_check"
                " CHECK (platform IN ('zoom', 'teams', 'webex', 'meet', 'other'))",
            ),
        },
    ),
]
