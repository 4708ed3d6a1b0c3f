-- webhook-manager's SQLite schema as it is now: version 9.
--
-- A new database file is made from this file, in one transaction, at start-up.
-- An older file is brought here by the upgrade steps beside the code that runs
-- them (src/store/sqlite/migrations/vN.sql, each taking a file to version N),
-- and a test checks that both roads end in the same tables and indexes. A file
-- with a newer version than the binary knows is refused at start-up rather than
-- misread. PostgreSQL keeps the same tables (src/store/postgres/schema.sql).
--
-- Times are Unix seconds (`_time`) or milliseconds (`_ms`), UTC.

-- A webhook: the keys that queries need as columns, and the document the API
-- answers with (domain::WebhookDocument), rendered once when the webhook is
-- written. Start-up reads the documents into the in-memory index as they are.
CREATE TABLE webhooks (
    id                  TEXT    NOT NULL PRIMARY KEY,  -- UUID, lower-case hyphenated
    pm_code             TEXT    NOT NULL,              -- 3-4 upper-case letters/digits
    product_id          INTEGER,                       -- NULL: program-manager-level webhook
    status              TEXT    NOT NULL CHECK (status IN ('active', 'inactive', 'suspended')),
    document            TEXT    NOT NULL DEFAULT '',   -- the JSON object the API answers
    format              INTEGER NOT NULL DEFAULT 1     -- the document's format (WebhookDocument::FORMAT)
);
-- One webhook per (program manager, product); the PM-level webhook (no product)
-- is one more key. The database enforces it, so concurrent creates cannot both win.
CREATE UNIQUE INDEX webhooks_pm_product ON webhooks (pm_code, ifnull(product_id, -1));

-- One event for one webhook. The body is the exact envelope sent on every attempt.
CREATE TABLE notifications (
    id                  TEXT    NOT NULL PRIMARY KEY,  -- UUID, lower-case hyphenated
    webhook_id          TEXT    NOT NULL,
    pm_code             TEXT    NOT NULL,
    event_code          INTEGER NOT NULL,
    body                TEXT    NOT NULL,              -- JSON envelope, as sent
    status              TEXT    NOT NULL CHECK (status IN ('Pending', 'Delivered', 'Undelivered')),
    created_time        INTEGER NOT NULL,
    last_sent_time      INTEGER,                       -- NULL before the first attempt
    attempts            INTEGER NOT NULL DEFAULT 0,
    cycle_start         INTEGER NOT NULL DEFAULT 0,    -- attempts made before the last resend
    next_attempt_ms     INTEGER,                       -- NULL once final, or parked
    final_seq           INTEGER,                       -- order in which notifications became final
    -- Unused since version 7 (claims live in the process) and always NULL;
    -- kept because dropping a column rewrites the table.
    claim               TEXT,
    lease_until_ms      INTEGER
);
CREATE INDEX notifications_by_webhook ON notifications (webhook_id, event_code, created_time);
CREATE INDEX notifications_final ON notifications (webhook_id, final_seq) WHERE final_seq IS NOT NULL;
-- For the retention purge of final notifications by age.
CREATE INDEX notifications_final_time ON notifications (last_sent_time) WHERE status <> 'Pending';
-- A webhook's pending notifications in due order (parked ones, with no next
-- attempt, first).
CREATE INDEX notifications_queue ON notifications (webhook_id, next_attempt_ms)
    WHERE status = 'Pending';

-- Every delivery attempt of a notification, in order: what it sent and what
-- the receiver answered.
CREATE TABLE attempts (
    notification_id     TEXT    NOT NULL REFERENCES notifications (id),
    attempt             INTEGER NOT NULL,              -- 1 for the first
    time_ms             INTEGER NOT NULL,
    http_status         INTEGER,                       -- NULL when no answer came
    error               TEXT,                          -- NULL for a 2xx
    latency_ms          INTEGER NOT NULL,
    request_headers     TEXT,                          -- JSON object; custom header values masked
    response_headers    TEXT,                          -- JSON object; NULL when no answer came
    response_body       TEXT,                          -- the first 4 KiB, as text
    response_body_truncated INTEGER,                   -- 1 when the body was longer
    PRIMARY KEY (notification_id, attempt)
) WITHOUT ROWID;

-- A receiver's health, kept while it is not healthy (domain::QueueHealth). The
-- rest of each webhook's delivery queue (due time, pending count, claims) lives
-- in the process (src/store/local.rs) and is read from the notifications at start.
CREATE TABLE queue_health (
    webhook_id          TEXT    NOT NULL PRIMARY KEY,
    failures            INTEGER NOT NULL DEFAULT 0,  -- failed attempts since the last delivery
    backoff_since_ms    INTEGER,    -- backing off since; NULL when not backing off
    backoff_until_ms    INTEGER,    -- when the next probe may go
    backoff_wait_ms     INTEGER,    -- the wait that set backoff_until_ms
    probe_until_ms      INTEGER     -- a probe is out, claimed until
) WITHOUT ROWID;

-- The capture inbox (domain::inbox: at most 1000 requests per inbox, 1000
-- inboxes). `seq` orders the requests; `inboxes` counts each inbox's, so the
-- limits are checked without counting rows.
CREATE TABLE inboxes (
    name                TEXT    NOT NULL PRIMARY KEY,
    requests            INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE inbox_requests (
    seq                 INTEGER PRIMARY KEY,
    inbox               TEXT    NOT NULL REFERENCES inboxes (name) ON DELETE CASCADE,
    request             TEXT    NOT NULL               -- domain::inbox::Captured as JSON
);
CREATE INDEX inbox_requests_by_inbox ON inbox_requests (inbox, seq);

-- Transaction Confirmation configurations (API.md section 10), which a 112
-- needs: scoped by program manager like webhooks, in creation order (rowid).
CREATE TABLE configurations (
    id                  TEXT    NOT NULL UNIQUE,       -- e.g. 5789653-20250602063331
    pm_code             TEXT    NOT NULL,
    pm_id               INTEGER NOT NULL,              -- Thredd's numeric program manager id
    product_id          INTEGER,                       -- NULL: every product
    status              TEXT    NOT NULL CHECK (status IN ('Active', 'Inactive')),
    message_types       TEXT    NOT NULL,              -- JSON array of 1, 2, 3, ascending
    created_time        INTEGER NOT NULL
);
CREATE INDEX configurations_by_pm ON configurations (pm_code);

-- Fraud alerts, raised by 101s: open until answered (state Yes or No) or
-- expired; closed ones are purged with the final notifications (retention).
CREATE TABLE fraud_alerts (
    id                  TEXT    NOT NULL PRIMARY KEY,  -- the 101's fraudAlertId (UUID)
    pm_code             TEXT    NOT NULL,
    product_id          INTEGER,
    notifications       TEXT    NOT NULL,              -- JSON array of the 101's notification ids
    raised_ms           INTEGER NOT NULL,
    expires_ms          INTEGER NOT NULL,
    state               TEXT    NOT NULL CHECK (state IN ('Open', 'Yes', 'No', 'Expired')),
    closed_ms           INTEGER                        -- answered or expired then
) WITHOUT ROWID;
CREATE INDEX fraud_alerts_open ON fraud_alerts (expires_ms) WHERE state = 'Open';
CREATE INDEX fraud_alerts_closed ON fraud_alerts (closed_ms) WHERE closed_ms IS NOT NULL;

PRAGMA user_version = 9;
