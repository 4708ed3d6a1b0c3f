-- Version 7: the delivery queue's state (each webhook's due time, pending
-- count and claims) lives in the process (src/store/local.rs) and is read from
-- the notifications at start: a claim is not a durable write, since this
-- process owns the file and a claim dies with it. Only a webhook's health is a
-- row, kept while it is not healthy and written when it changes. The claim
-- columns of notifications stay, always NULL (dropping a column rewrites the
-- table); their indexes go.
UPDATE notifications SET claim = NULL, lease_until_ms = NULL WHERE claim IS NOT NULL;
DROP INDEX notifications_claimed;
DROP INDEX notifications_claimed_by_webhook;
CREATE TABLE queue_health (
    webhook_id          TEXT    NOT NULL PRIMARY KEY,
    failures            INTEGER NOT NULL DEFAULT 0,  -- failed attempts since the last delivery
    backoff_since_ms    INTEGER,    -- backing off since; NULL when not backing off
    backoff_until_ms    INTEGER,    -- when the next probe may go
    backoff_wait_ms     INTEGER,    -- the wait that set backoff_until_ms
    probe_until_ms      INTEGER     -- a probe is out, claimed until
) WITHOUT ROWID;
INSERT INTO queue_health
    SELECT webhook_id, failures, backoff_since_ms, backoff_until_ms, backoff_wait_ms, probe_until_ms
    FROM webhook_queues WHERE failures > 0 OR backoff_since_ms IS NOT NULL;
DROP TABLE webhook_queues;
