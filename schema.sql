-- webhook-manager schema, version 8.
--
-- Applied by the service at start-up to a database whose PRAGMA user_version is 0
-- (a new file), inside one transaction. A later schema change bumps the version:
-- this file keeps describing the newest schema for new files, and the service
-- gains a migration step (src/store/sqlite/schema.rs, `migrations`) from each older version,
-- so an existing file is upgraded in place. A file with a newer version than the
-- binary knows is refused at start-up rather than misread.

CREATE TABLE webhooks (
    id                  TEXT    NOT NULL PRIMARY KEY,  -- UUID, lower-case hyphenated
    pm_code             TEXT    NOT NULL,              -- 3-4 upper-case letters/digits
    product_id          INTEGER,                       -- NULL: program-manager-level webhook
    events              TEXT    NOT NULL,              -- JSON array of event codes, ascending
    status              TEXT    NOT NULL CHECK (status IN ('active', 'inactive', 'suspended')),
    url                 TEXT    NOT NULL,
    custom_headers      TEXT    NOT NULL,              -- JSON object of string -> string
    created_time        INTEGER NOT NULL,              -- Unix seconds, UTC
    last_modified_time  INTEGER NOT NULL,              -- Unix seconds, UTC
    -- The last heartbeat verdict; all NULL until the first heartbeat.
    hb_health_status    TEXT CHECK (hb_health_status IN ('healthy', 'unhealthy')),
    hb_http_status      INTEGER,
    hb_latency_ms       INTEGER,
    hb_error            TEXT,
    hb_checked_time     INTEGER
);

-- One webhook per (program manager, product); the PM-level webhook (no product)
-- is one more key. The database enforces it, so concurrent creates cannot both win.
CREATE UNIQUE INDEX webhooks_pm_product ON webhooks (pm_code, ifnull(product_id, -1));

-- Version 2: notifications and their delivery attempts. (A version-1 file is
-- upgraded by running this section and the ones after it; see
-- src/store/sqlite/schema.rs, `migrations`.)

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

-- Version 3: the outbox as a work queue with claims (an engine claims a due
-- notification for one attempt, with a lease); what each attempt sent and what
-- the receiver answered; an index for the retention purge of final
-- notifications by age.
ALTER TABLE notifications ADD COLUMN claim TEXT;              -- the token of the claim holding it
ALTER TABLE notifications ADD COLUMN lease_until_ms INTEGER;  -- Unix milliseconds; when that claim lapses
CREATE INDEX notifications_claimed ON notifications (lease_until_ms) WHERE claim IS NOT NULL;
-- Parked: pending, with no next attempt, until its webhook is set active again.
CREATE INDEX notifications_parked ON notifications (webhook_id)
    WHERE status = 'Pending' AND next_attempt_ms IS NULL;
ALTER TABLE attempts ADD COLUMN request_headers TEXT;         -- JSON object; custom header values masked
ALTER TABLE attempts ADD COLUMN response_headers TEXT;        -- JSON object; NULL when no answer came
ALTER TABLE attempts ADD COLUMN response_body TEXT;           -- the first 4 KiB, as text
ALTER TABLE attempts ADD COLUMN response_body_truncated INTEGER;  -- 1 when the body was longer
CREATE INDEX notifications_final_time ON notifications (last_sent_time) WHERE status <> 'Pending';

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

-- Version 5: the capture inbox, kept here so that it survives a restart
-- (domain::inbox: at most 1000 requests per inbox, 1000 inboxes). `seq`
-- orders the requests; `inboxes` counts each inbox's, so the limits are
-- checked without counting rows.
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

-- Version 6: a webhook's row holds its document, the JSON object the API
-- answers with (domain::WebhookDocument), rendered once when the webhook is
-- written: start-up reads the documents into the in-memory index as they are,
-- and a write binds five values instead of fourteen. The columns the document
-- replaces are dropped; `status` stays, since the claims read it. Rows of an
-- older file get their document rendered here, in the service's format.
ALTER TABLE webhooks ADD COLUMN document TEXT NOT NULL DEFAULT '';
UPDATE webhooks SET document = json_object(
    'webhookId', id,
    'programManagerCode', pm_code,
    'productId', product_id,
    'events', json(events),
    'webhookStatus', status,
    'config', json_object('url', url, 'customHeaders', json(custom_headers)),
    'createdTime', strftime('%Y-%m-%dT%H:%M:%SZ', created_time, 'unixepoch'),
    'lastModifiedTime', strftime('%Y-%m-%dT%H:%M:%SZ', last_modified_time, 'unixepoch'),
    'lastHeartbeat', json(CASE WHEN hb_health_status IS NOT NULL THEN json_object(
        'healthStatus', hb_health_status,
        'httpStatus', hb_http_status,
        'latencyMs', hb_latency_ms,
        'error', hb_error,
        'checkedTime', strftime('%Y-%m-%dT%H:%M:%SZ', hb_checked_time, 'unixepoch')) END));
ALTER TABLE webhooks DROP COLUMN events;
ALTER TABLE webhooks DROP COLUMN url;
ALTER TABLE webhooks DROP COLUMN custom_headers;
ALTER TABLE webhooks DROP COLUMN created_time;
ALTER TABLE webhooks DROP COLUMN last_modified_time;
ALTER TABLE webhooks DROP COLUMN hb_health_status;
ALTER TABLE webhooks DROP COLUMN hb_http_status;
ALTER TABLE webhooks DROP COLUMN hb_latency_ms;
ALTER TABLE webhooks DROP COLUMN hb_error;
ALTER TABLE webhooks DROP COLUMN hb_checked_time;

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

-- Version 8: Thredd's calls beside the webhooks (API.md section 10).
-- Transaction Confirmation configurations, which a 112 needs: scoped by
-- program manager like webhooks, in creation order (rowid).
CREATE TABLE configurations (
    id                  TEXT    NOT NULL UNIQUE,       -- e.g. 5789653-20250602063331
    pm_code             TEXT    NOT NULL,
    pm_id               INTEGER NOT NULL,              -- Thredd's numeric program manager id
    product_id          INTEGER,                       -- NULL: every product
    status              TEXT    NOT NULL CHECK (status IN ('Active', 'Inactive')),
    message_types       TEXT    NOT NULL,              -- JSON array of 1, 2, 3, ascending
    created_time        INTEGER NOT NULL               -- Unix seconds
);
CREATE INDEX configurations_by_pm ON configurations (pm_code);
-- Fraud alerts, raised by 101s: open until answered (state Yes or No) or
-- expired; closed ones are purged with the final notifications (retention).
CREATE TABLE fraud_alerts (
    id                  TEXT    NOT NULL PRIMARY KEY,  -- the 101's fraudAlertId (UUID)
    pm_code             TEXT    NOT NULL,
    product_id          INTEGER,
    notifications       TEXT    NOT NULL,              -- JSON array of the 101's notification ids
    raised_ms           INTEGER NOT NULL,              -- Unix milliseconds
    expires_ms          INTEGER NOT NULL,
    state               TEXT    NOT NULL CHECK (state IN ('Open', 'Yes', 'No', 'Expired')),
    closed_ms           INTEGER                        -- answered or expired then
) WITHOUT ROWID;
CREATE INDEX fraud_alerts_open ON fraud_alerts (expires_ms) WHERE state = 'Open';
CREATE INDEX fraud_alerts_closed ON fraud_alerts (closed_ms) WHERE closed_ms IS NOT NULL;

PRAGMA user_version = 8;
