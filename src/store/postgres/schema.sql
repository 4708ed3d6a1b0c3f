-- webhook-manager's PostgreSQL schema as it is now: version 4. The same tables
-- as SQLite's (schema.sql at the top of the repository), written for
-- PostgreSQL, plus what several nodes sharing one database need: the queue
-- rows and signals that claims lock instead of a process's memory.
--
-- Applied to a new database at start under an advisory lock, so nodes starting
-- together apply it once (schema.rs); an older database is brought here by the
-- steps in migrations/vN.sql, and a test checks both roads end in the same
-- columns. Times are Unix seconds (`_time`) or milliseconds (`_ms`), UTC.

-- A webhook: its keys as columns, and the document the API answers with
-- (domain::WebhookDocument), rendered once when the webhook is written.
CREATE TABLE webhooks (
    id                  text    NOT NULL PRIMARY KEY,
    seq                 bigint  GENERATED ALWAYS AS IDENTITY,  -- creation order
    pm_code             text    NOT NULL,
    product_id          bigint,                         -- NULL: program-manager-level webhook
    status              text    NOT NULL CHECK (status IN ('active', 'inactive', 'suspended')),
    document            text    NOT NULL,               -- the JSON object the API answers
    format              bigint  NOT NULL DEFAULT 1,     -- the document's format
    -- One webhook per (program manager, product), the PM-level one included:
    -- concurrent creates on two nodes cannot both win.
    CONSTRAINT webhooks_pm_product UNIQUE NULLS NOT DISTINCT (pm_code, product_id)
);
CREATE INDEX webhooks_by_pm ON webhooks (pm_code, seq);

CREATE SEQUENCE final_order;

-- One event for one webhook. The body is the exact envelope sent on every attempt.
CREATE TABLE notifications (
    id                  text    NOT NULL PRIMARY KEY,
    seq                 bigint  GENERATED ALWAYS AS IDENTITY UNIQUE,  -- storage order (the log)
    webhook_id          text    NOT NULL,
    pm_code             text    NOT NULL,
    event_code          bigint  NOT NULL,
    body                text    NOT NULL,
    status              text    NOT NULL CHECK (status IN ('Pending', 'Delivered', 'Undelivered')),
    created_time        bigint  NOT NULL,
    last_sent_time      bigint,
    attempts            bigint  NOT NULL DEFAULT 0,
    cycle_start         bigint  NOT NULL DEFAULT 0,
    next_attempt_ms     bigint,
    final_seq           bigint,                          -- from final_order: the order finals were made
    claim               text,                            -- the token of the claim holding it
    lease_until_ms      bigint                           -- when that claim lapses
);
CREATE INDEX notifications_by_webhook ON notifications (webhook_id, event_code, created_time);
CREATE INDEX notifications_final ON notifications (webhook_id, final_seq) WHERE final_seq IS NOT NULL;
CREATE INDEX notifications_claimed ON notifications (lease_until_ms) WHERE claim IS NOT NULL;
CREATE INDEX notifications_queue ON notifications (webhook_id, next_attempt_ms) WHERE status = 'Pending';
CREATE INDEX notifications_final_time ON notifications (last_sent_time) WHERE status <> 'Pending';

-- Every delivery attempt of a notification, in order.
CREATE TABLE attempts (
    notification_id     text    NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    attempt             bigint  NOT NULL,
    time_ms             bigint  NOT NULL,
    http_status         bigint,
    error               text,
    latency_ms          bigint  NOT NULL,
    request_headers     text,
    response_headers    text,
    response_body       text,
    response_body_truncated boolean,
    PRIMARY KEY (notification_id, attempt)
);

-- Each webhook's delivery queue, from its creation on: its due time, its
-- receiver's health and the claims it holds. Only claimers lock a queue row,
-- and a record whose attempt changes the receiver's health.
CREATE TABLE webhook_queues (
    webhook_id          text    NOT NULL PRIMARY KEY,
    due_ms              bigint,
    failures            bigint  NOT NULL DEFAULT 0,
    backoff_since_ms    bigint,
    backoff_until_ms    bigint,
    backoff_wait_ms     bigint,
    probe_until_ms      bigint,
    -- When the queue may next yield a claim (domain::QueueHealth::ready).
    ready_ms            bigint GENERATED ALWAYS AS (
        CASE WHEN due_ms IS NULL THEN NULL
             WHEN backoff_until_ms IS NULL THEN due_ms
             ELSE GREATEST(due_ms, backoff_until_ms, COALESCE(probe_until_ms, due_ms)) END) STORED,
    in_flight           bigint  NOT NULL DEFAULT 0  -- claims held
);
CREATE INDEX webhook_queues_ready ON webhook_queues (ready_ms) WHERE ready_ms IS NOT NULL;

-- No row that every trigger of a webhook must lock: a new or rescheduled
-- notification, and a released claim, leave a signal here (an insert that
-- locks nothing); a claim first folds the signals of the queues it can lock
-- into `webhook_queues`, then reads the ready queues from there. A signal
-- written by a transaction that commits after a fold is folded by the next
-- claim, so no notification is left out of its queue.
CREATE TABLE queue_signals (
    webhook_id          text    NOT NULL,
    due_ms              bigint,                          -- a notification due (again) then
    released            bigint  NOT NULL DEFAULT 0       -- claims released
);
-- Small tables of short-lived rows, rewritten all day: vacuumed after every
-- thousand dead rows whatever their size (the default waits for a fifth of
-- the table), so that a claim never scans a pile of dead versions. The
-- metric store_dead_tuples shows how many wait.
ALTER TABLE queue_signals SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000);
ALTER TABLE webhook_queues SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);

-- The capture inbox.
CREATE TABLE inboxes (
    name                text    NOT NULL PRIMARY KEY,
    requests            bigint  NOT NULL
);
CREATE TABLE inbox_requests (
    seq                 bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inbox               text    NOT NULL REFERENCES inboxes (name) ON DELETE CASCADE,
    request             text    NOT NULL
);
CREATE INDEX inbox_requests_by_inbox ON inbox_requests (inbox, seq);

-- Transaction Confirmation configurations (API.md section 10).
CREATE TABLE configurations (
    id                  text    NOT NULL UNIQUE,
    seq                 bigint  GENERATED ALWAYS AS IDENTITY,  -- creation order
    pm_code             text    NOT NULL,
    pm_id               bigint  NOT NULL,
    product_id          bigint,                          -- NULL: every product
    status              text    NOT NULL CHECK (status IN ('Active', 'Inactive')),
    message_types       text    NOT NULL,                -- JSON array of 1, 2, 3, ascending
    created_time        bigint  NOT NULL
);
CREATE INDEX configurations_by_pm ON configurations (pm_code, seq);

-- Fraud alerts, raised by 101s (see schema.sql).
CREATE TABLE fraud_alerts (
    id                  text    NOT NULL PRIMARY KEY,
    pm_code             text    NOT NULL,
    product_id          bigint,
    notifications       text    NOT NULL,                -- JSON array of notification ids
    raised_ms           bigint  NOT NULL,
    expires_ms          bigint  NOT NULL,
    state               text    NOT NULL CHECK (state IN ('Open', 'Yes', 'No', 'Expired')),
    closed_ms           bigint
);
CREATE INDEX fraud_alerts_open ON fraud_alerts (expires_ms) WHERE state = 'Open';
CREATE INDEX fraud_alerts_closed ON fraud_alerts (closed_ms) WHERE closed_ms IS NOT NULL;
