-- astra-rotator schema, version 4: the notification outbox, and the event admin_token_invalid.
--
-- Failures must reach people (notify.<name>.*). A notification is a row committed in the same
-- transaction as the event it tells of (an outbox): a crash between the event and the webhook
-- loses nothing, and the daemon sends what is pending when it starts again. The rows are made
-- by a TEMP trigger on events that each writing connection installs from its configuration
-- (SqliteStateStore::routeNotifications), so every path that records an event queues them.

-- New event: admin_token_invalid (the DevOps API answered 401 to the admin token). The table is
-- rebuilt as in version 3 (SQLite cannot change a CHECK in place).
DROP VIEW history;
DROP TRIGGER events_are_append_only;

CREATE TABLE events_v4 (
    id          INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    credential  TEXT,
    client_id   TEXT,
    rotation_id INTEGER REFERENCES rotations (id),
    event       TEXT    NOT NULL
                        CHECK (event IN ('discovered', 'disappeared', 'adopted', 'created',
                                         'verified', 'delivered', 'promoted', 'revoked',
                                         'revoke_confirmed', 'rolled_back', 'failed',
                                         'quarantined', 'orphan_revoked', 'unattributed',
                                         'foreign', 'retired', 'current_missing',
                                         'admin_token_invalid')),
    detail      TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO events_v4 (id, at_ms, credential, client_id, rotation_id, event, detail)
SELECT id, at_ms, credential, client_id, rotation_id, event, detail FROM events;
DROP TABLE events;
ALTER TABLE events_v4 RENAME TO events;

CREATE INDEX events_by_time ON events (at_ms);
CREATE INDEX events_by_credential ON events (credential, at_ms);
CREATE INDEX events_by_client ON events (client_id, at_ms);
CREATE INDEX events_by_rotation ON events (rotation_id) WHERE rotation_id IS NOT NULL;

CREATE TRIGGER events_are_append_only BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE VIEW history AS
SELECT strftime('%Y-%m-%dT%H:%M:%S', at_ms / 1000, 'unixepoch') || '.' ||
           printf('%03d', at_ms % 1000) || 'Z' AS at,
       at_ms,
       credential,
       client_id,
       event,
       detail
FROM events
ORDER BY at_ms DESC, id DESC;

-- One notification per configured notifier and event. Pending while delivered_ms and failed_ms
-- are NULL; failed_ms is set when the receiver refused it for good (a 4xx other than 408 and
-- 429): retrying would not change the answer. idempotency_key is sent as the Idempotency-Key
-- header with every attempt, so a receiver can drop the copies at-least-once delivery makes.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notifier        TEXT    NOT NULL,
    event_id        INTEGER NOT NULL REFERENCES events (id),
    idempotency_key TEXT    NOT NULL UNIQUE,
    created_ms      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_ms INTEGER NOT NULL,
    delivered_ms    INTEGER,
    failed_ms       INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    UNIQUE (notifier, event_id)
) STRICT;

CREATE INDEX notifications_pending ON notifications (next_attempt_ms)
    WHERE delivered_ms IS NULL AND failed_ms IS NULL;
