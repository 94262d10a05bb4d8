"""The sent log's schema, as numbered migrations (the pattern of sqlite-utils' migrations).

``store.migrate`` applies each one in one transaction together with the record
that it ran, so a failure leaves neither half-applied.  Append only: never edit a
migration that has been applied somewhere; people keep their sent logs for years.
"""

from __future__ import annotations

# (number, name, statements).  Append only; never edit an applied migration.
MIGRATIONS: list[tuple[int, str, tuple[str, ...]]] = [
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
        # 7, not 6: main's issue 18 took 6 (create_event_revisions) while this was written.
        7,
        "messages_held",
        (
            # A pending row claimed ahead of its turn ('sending', committed
            # durably with others in one flush) holds the boot it was claimed
            # in, until its DATA starts (then NULL).  See Ledger.hold.
            "ALTER TABLE messages ADD COLUMN held TEXT",
        ),
    ),
]
