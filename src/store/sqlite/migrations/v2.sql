-- Version 2: notifications and their delivery attempts.

-- One event for one webhook. The body is the exact envelope sent on every attempt.
CREATE TABLE notifications (
    id                  TEXT    NOT NULL PRIMARY KEY,  -- UUID, lower-case hyphenated
    webhook_id          TEXT    NOT NULL,
    pm_code             TEXT    NOT NULL,
    event_code          INTEGER NOT NULL,
    body                TEXT    NOT NULL,              -- JSON envelope, as sent
    status              TEXT    NOT NULL CHECK (status IN ('Pending', 'Delivered', 'Undelivered')),
    created_time        INTEGER NOT NULL,              -- Unix seconds, UTC
    last_sent_time      INTEGER,                       -- Unix seconds; NULL before the first attempt
    attempts            INTEGER NOT NULL DEFAULT 0,
    cycle_start         INTEGER NOT NULL DEFAULT 0,     -- attempts made before the last resend
    next_attempt_ms     INTEGER,                       -- Unix milliseconds; NULL once final
    final_seq           INTEGER                        -- order in which notifications became final
);
CREATE INDEX notifications_pending ON notifications (next_attempt_ms) WHERE status = 'Pending';
CREATE INDEX notifications_by_webhook ON notifications (webhook_id, event_code, created_time);
CREATE INDEX notifications_final ON notifications (webhook_id, final_seq) WHERE final_seq IS NOT NULL;

-- Every delivery attempt of a notification, in order.
CREATE TABLE attempts (
    notification_id     TEXT    NOT NULL REFERENCES notifications (id),
    attempt             INTEGER NOT NULL,              -- 1 for the first
    time_ms             INTEGER NOT NULL,              -- Unix milliseconds, UTC
    http_status         INTEGER,                       -- NULL when no answer came
    error               TEXT,                          -- NULL for a 2xx
    latency_ms          INTEGER NOT NULL,
    PRIMARY KEY (notification_id, attempt)
) WITHOUT ROWID;
