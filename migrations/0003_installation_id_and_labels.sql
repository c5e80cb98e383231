-- astra-rotator schema, version 3: an installation id, remembered owners, new labels.
--
-- Several installations may share one org (staging and production, a rebuilt host, a restored
-- backup). Rotation ids start at 1 in every database, so the description marker
-- `astra-rotator <credential> <id>` was the same in all of them and one installation took
-- another's client for a lost create of its own. Every database now has a random installation
-- id (64 bits, made here or when the database is created, never changed) that the marker
-- carries: `astra-rotator <installation-id> <credential> <id>`. Markers already journaled keep
-- their old text in rotations.marker, so this database's open rotations are still recognised.

CREATE TABLE installation (
    singleton       INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    installation_id TEXT    NOT NULL CHECK (length(installation_id) = 16 AND
                                            installation_id NOT GLOB '*[^0-9a-f]*'),
    created_ms      INTEGER NOT NULL
) STRICT;

-- randomblob() draws from SQLite's generator, seeded from the operating system's.
INSERT INTO installation (singleton, installation_id, created_ms)
VALUES (1, lower(hex(randomblob(8))),
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));

CREATE TRIGGER installation_is_fixed BEFORE UPDATE ON installation
BEGIN
    SELECT RAISE(ABORT, 'the installation id never changes');
END;

-- `rotate NAME --no-grace` survives an interruption: the choice is part of the rotation.
ALTER TABLE rotations ADD COLUMN no_grace INTEGER NOT NULL DEFAULT 0 CHECK (no_grace IN (0, 1));

-- The credential a client was made for or adopted by, kept after it is revoked.
ALTER TABLE clients ADD COLUMN credential TEXT;

UPDATE clients
SET credential = coalesce(
    (SELECT min(name) FROM credentials WHERE current_client_id = clients.client_id),
    (SELECT min(name) FROM credentials WHERE previous_client_id = clients.client_id),
    (SELECT r.credential FROM rotations AS r
     WHERE r.new_client_id = clients.client_id OR r.old_client_id = clients.client_id
     ORDER BY r.id DESC LIMIT 1));

CREATE INDEX rotations_by_new_client ON rotations (new_client_id)
    WHERE new_client_id IS NOT NULL AND finished_ms IS NULL;

-- A credential row whose name is no longer configured (renamed or removed): its clients are
-- `retired`, kept alive until `astra-rotator retire NAME --revoke`.
ALTER TABLE credentials ADD COLUMN retired_ms INTEGER;

-- New events: foreign (another installation's client), retired (a credential left the
-- configuration), current_missing (a credential's current client is no longer listed).
-- SQLite cannot change a CHECK in place: the table is rebuilt with its indexes, trigger and
-- view.
DROP VIEW history;
DROP TRIGGER events_are_append_only;

CREATE TABLE events_v3 (
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
                                         'foreign', 'retired', 'current_missing')),
    detail      TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO events_v3 (id, at_ms, credential, client_id, rotation_id, event, detail)
SELECT id, at_ms, credential, client_id, rotation_id, event, detail FROM events;
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;

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

-- The labels, in order of precedence:
--   retired    current or previous client of a credential that is no longer configured
--   current    a credential's current client
--   previous   a credential's previous client, in its grace period
--   rotating   the new client of a rotation not promoted yet (a sink may already hold it)
--   revoked    revoked by this rotator (the credential it belonged to is kept)
--   missing    no longer listed, not revoked by this rotator
--   foreign    described by another installation's marker; never revoked here
--   unmanaged  anything else
DROP VIEW token_ages;

CREATE VIEW token_ages AS
SELECT client_id,
       coalesce(current_of, previous_of, rotating_of, remembered) AS credential,
       roles,
       generated_on,
       CAST(strftime('%s', 'now') AS INTEGER) - generated_on_ms / 1000 AS age_seconds,
       CASE
           WHEN coalesce(current_of, previous_of) IS NOT NULL AND
                (SELECT retired_ms FROM credentials
                 WHERE name = coalesce(current_of, previous_of)) IS NOT NULL THEN 'retired'
           WHEN current_of IS NOT NULL THEN 'current'
           WHEN previous_of IS NOT NULL THEN 'previous'
           WHEN rotating_of IS NOT NULL AND revoked_ms IS NULL THEN 'rotating'
           WHEN revoked_ms IS NOT NULL THEN 'revoked'
           WHEN disappeared_ms IS NOT NULL THEN 'missing'
           WHEN description GLOB 'astra-rotator *' AND
                description NOT GLOB 'astra-rotator ' ||
                    (SELECT installation_id FROM installation) || ' *' AND
                description GLOB 'astra-rotator [0-9a-f][0-9a-f][0-9a-f][0-9a-f]' ||
                    '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' ||
                    '[0-9a-f][0-9a-f][0-9a-f][0-9a-f] *' THEN 'foreign'
           ELSE 'unmanaged'
       END AS status
FROM (SELECT c.*,
             c.credential AS remembered,
             (SELECT min(name) FROM credentials WHERE current_client_id = c.client_id)
                 AS current_of,
             (SELECT min(name) FROM credentials WHERE previous_client_id = c.client_id)
                 AS previous_of,
             (SELECT min(credential) FROM rotations
              WHERE new_client_id = c.client_id AND finished_ms IS NULL)
                 AS rotating_of
      FROM clients AS c);
