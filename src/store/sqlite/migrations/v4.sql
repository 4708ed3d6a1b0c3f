-- Version 4: a queue per webhook, so that the engine claims receiver by receiver
-- (a per-webhook limit in flight; a failing receiver backs off, one probe at a
-- time) instead of from one due order that one receiver's backlog can fill.
-- The queue's times are Unix milliseconds.
CREATE TABLE webhook_queues (
    webhook_id          TEXT    NOT NULL PRIMARY KEY,
    due_ms              INTEGER,    -- the soonest next attempt of its unclaimed pending notifications
    pending             INTEGER NOT NULL DEFAULT 0,  -- its pending notifications, for the backlog gauge
    failures            INTEGER NOT NULL DEFAULT 0,  -- failed attempts since the last delivery
    backoff_since_ms    INTEGER,    -- backing off since; NULL when not backing off
    backoff_until_ms    INTEGER,    -- when the next probe may go
    backoff_wait_ms     INTEGER,    -- the wait that set backoff_until_ms
    probe_until_ms      INTEGER,    -- a probe is out, claimed until
    -- When the queue may next yield a claim (domain::QueueHealth::ready).
    ready_ms            INTEGER GENERATED ALWAYS AS (
        CASE WHEN backoff_until_ms IS NULL THEN due_ms
             ELSE max(due_ms, backoff_until_ms, ifnull(probe_until_ms, due_ms)) END) STORED
) WITHOUT ROWID;
CREATE INDEX webhook_queues_ready ON webhook_queues (ready_ms) WHERE ready_ms IS NOT NULL;
-- A webhook's pending notifications in due order (parked ones, with no next
-- attempt, first), and the claims each webhook holds.
DROP INDEX notifications_pending;
DROP INDEX notifications_parked;
CREATE INDEX notifications_queue ON notifications (webhook_id, next_attempt_ms)
    WHERE status = 'Pending';
CREATE INDEX notifications_claimed_by_webhook ON notifications (webhook_id)
    WHERE claim IS NOT NULL;
INSERT INTO webhook_queues (webhook_id, due_ms, pending)
    SELECT webhook_id, min(CASE WHEN claim IS NULL THEN next_attempt_ms END), count(*)
    FROM notifications WHERE status = 'Pending' GROUP BY webhook_id;
