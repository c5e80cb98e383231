-- astra-rotator schema, version 1.
--
-- Forward-only: once released this file is never edited; changes go into a new
-- migrations/NNNN_name.sql. store::Migrator runs each file in its own transaction (so no
-- BEGIN/COMMIT here) and sets PRAGMA user_version and application_id itself.
--
-- Conventions: STRICT tables, snake_case, instants as INTEGER Unix milliseconds (*_ms).
-- The database never holds a secret or a token: it can be copied and queried freely.
-- The views token_ages and history are a public interface (PRODUCT.md §8): keep their columns.

-- The org's clients as the list endpoint last described them.
CREATE TABLE clients (
    client_id       TEXT    NOT NULL PRIMARY KEY CHECK (length(client_id) > 0),
    roles           TEXT    NOT NULL DEFAULT '[]'
                            CHECK (json_valid(roles) AND json_type(roles) = 'array'),
    description     TEXT,
    token_expiry    TEXT,              -- RFC 3339 as sent, when the server sent one
    generated_on    TEXT    NOT NULL,  -- RFC 3339 as sent
    generated_on_ms INTEGER NOT NULL,
    first_seen_ms   INTEGER NOT NULL,
    last_seen_ms    INTEGER NOT NULL,
    disappeared_ms  INTEGER,           -- absent from the last list, not revoked by us
    revoked_ms      INTEGER,           -- revoked by the rotator
    CHECK (last_seen_ms >= first_seen_ms)
) STRICT;

-- Managed credentials (one row per configured name; rows outlive their configuration).
CREATE TABLE credentials (
    name                 TEXT    NOT NULL PRIMARY KEY CHECK (length(name) > 0),
    current_client_id    TEXT,     -- NULL: none yet, to be bootstrapped
    previous_client_id   TEXT,     -- NULL: none in grace
    revoke_after_ms      INTEGER,
    state                TEXT    NOT NULL DEFAULT 'idle'
                                 CHECK (state IN ('idle', 'rotating', 'grace', 'failed',
                                                  'quarantined')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    next_attempt_ms      INTEGER,
    last_rotation_id     INTEGER REFERENCES rotations (id),
    last_success_ms      INTEGER,
    created_ms           INTEGER NOT NULL,
    updated_ms           INTEGER NOT NULL,
    CHECK (previous_client_id IS NULL OR previous_client_id <> current_client_id)
) STRICT;

-- The rotation journal: one row per attempt, its stage committed before each external action.
CREATE TABLE rotations (
    id               INTEGER PRIMARY KEY,
    credential       TEXT    NOT NULL REFERENCES credentials (name),
    stage            TEXT    NOT NULL DEFAULT 'planned'
                             CHECK (stage IN ('planned', 'minted', 'verified', 'delivering',
                                              'grace', 'revoked', 'done', 'rolled_back',
                                              'failed', 'quarantined')),
    "trigger"        TEXT    NOT NULL CHECK ("trigger" IN ('schedule', 'manual', 'bootstrap',
                                                           'api')),
    marker           TEXT    UNIQUE,   -- the description marker sent on create
    old_client_id    TEXT,
    new_client_id    TEXT,
    org_id           TEXT,
    mint_started_ms  INTEGER,          -- the window in which an orphan may have been created
    mint_finished_ms INTEGER,
    started_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    finished_ms      INTEGER,
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)
) STRICT;

CREATE INDEX rotations_by_credential ON rotations (credential, id);
CREATE INDEX rotations_unfinished ON rotations (credential) WHERE finished_ms IS NULL;

-- Delivery of one rotation to each sink of its credential.
CREATE TABLE rotation_sinks (
    rotation_id  INTEGER NOT NULL REFERENCES rotations (id),
    sink         TEXT    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   TEXT,
    delivered_ms INTEGER,
    PRIMARY KEY (rotation_id, sink)
) STRICT, WITHOUT ROWID;

-- The append-only history (PRODUCT.md §6 event names).
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    credential  TEXT,
    client_id   TEXT,
    rotation_id INTEGER REFERENCES rotations (id),
    event       TEXT    NOT NULL
                        CHECK (event IN ('discovered', 'disappeared', 'adopted', 'created',
                                         'verified', 'delivered', 'promoted', 'revoked',
                                         'revoke_confirmed', 'rolled_back', 'failed',
                                         'quarantined', 'orphan_revoked', 'unattributed')),
    detail      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX events_by_time ON events (at_ms);
CREATE INDEX events_by_credential ON events (credential, at_ms);
CREATE INDEX events_by_client ON events (client_id, at_ms);
CREATE INDEX events_by_rotation ON events (rotation_id) WHERE rotation_id IS NOT NULL;

CREATE TRIGGER events_are_append_only BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- Every client with its age and its relation to the credentials. A client that is some
-- credential's current (or previous) client is reported as such even when it is missing from
-- the last list; should two credentials name the same client, the first name wins.
CREATE VIEW token_ages AS
SELECT client_id,
       coalesce(current_of, previous_of) AS credential,
       roles,
       generated_on,
       CAST(strftime('%s', 'now') AS INTEGER) - generated_on_ms / 1000 AS age_seconds,
       CASE
           WHEN current_of IS NOT NULL THEN 'current'
           WHEN previous_of IS NOT NULL THEN 'previous'
           WHEN revoked_ms IS NOT NULL THEN 'revoked'
           WHEN disappeared_ms IS NOT NULL THEN 'missing'
           ELSE 'unmanaged'
       END AS status
FROM (SELECT c.*,
             (SELECT min(name) FROM credentials WHERE current_client_id = c.client_id)
                 AS current_of,
             (SELECT min(name) FROM credentials WHERE previous_client_id = c.client_id)
                 AS previous_of
      FROM clients AS c);

-- The history, newest first, with RFC 3339 UTC times (millisecond precision).
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
