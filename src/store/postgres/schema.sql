-- webhook-manager schema for PostgreSQL, version 1: the same tables as the
-- SQLite schema (schema.sql at the top of the repository) at its version 5,
-- written for PostgreSQL. Applied at start under an advisory lock, so nodes
-- starting together apply it once (src/store/postgres/schema.rs).

CREATE TABLE webhooks (
    id                  text    NOT NULL PRIMARY KEY,
    seq                 bigint  GENERATED ALWAYS AS IDENTITY,  -- creation order
    pm_code             text    NOT NULL,
    product_id          bigint,                         -- NULL: program-manager-level webhook
    events              text    NOT NULL,               -- JSON array of event codes, ascending
    status              text    NOT NULL CHECK (status IN ('active', 'inactive', 'suspended')),
    url                 text    NOT NULL,
    custom_headers      text    NOT NULL,               -- JSON object
    created_time        bigint  NOT NULL,               -- Unix seconds
    last_modified_time  bigint  NOT NULL,
    hb_health_status    text    CHECK (hb_health_status IN ('healthy', 'unhealthy')),
    hb_http_status      bigint,
    hb_latency_ms       bigint,
    hb_error            text,
    hb_checked_time     bigint,
    -- One webhook per (program manager, product), the PM-level one included:
    -- concurrent creates on two nodes cannot both win.
    CONSTRAINT webhooks_pm_product UNIQUE NULLS NOT DISTINCT (pm_code, product_id)
);
CREATE INDEX webhooks_by_pm ON webhooks (pm_code, seq);

CREATE SEQUENCE final_order;

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
    claim               text,
    lease_until_ms      bigint
);
CREATE INDEX notifications_by_webhook ON notifications (webhook_id, event_code, created_time);
CREATE INDEX notifications_final ON notifications (webhook_id, final_seq) WHERE final_seq IS NOT NULL;
CREATE INDEX notifications_claimed ON notifications (lease_until_ms) WHERE claim IS NOT NULL;
-- The claims each webhook holds (its room in flight).
CREATE INDEX notifications_claimed_by_webhook ON notifications (webhook_id) WHERE claim IS NOT NULL;
CREATE INDEX notifications_queue ON notifications (webhook_id, next_attempt_ms) WHERE status = 'Pending';
CREATE INDEX notifications_final_time ON notifications (last_sent_time) WHERE status <> 'Pending';

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

CREATE TABLE webhook_queues (
    webhook_id          text    NOT NULL PRIMARY KEY,
    due_ms              bigint,
    pending             bigint  NOT NULL DEFAULT 0,
    failures            bigint  NOT NULL DEFAULT 0,
    backoff_since_ms    bigint,
    backoff_until_ms    bigint,
    backoff_wait_ms     bigint,
    probe_until_ms      bigint,
    -- When the queue may next yield a claim (domain::QueueHealth::ready).
    ready_ms            bigint GENERATED ALWAYS AS (
        CASE WHEN due_ms IS NULL THEN NULL
             WHEN backoff_until_ms IS NULL THEN due_ms
             ELSE GREATEST(due_ms, backoff_until_ms, COALESCE(probe_until_ms, due_ms)) END) STORED
);
CREATE INDEX webhook_queues_ready ON webhook_queues (ready_ms) WHERE ready_ms IS NOT NULL;

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

-- Version 2: no row that every trigger of a webhook must lock. A new or
-- rescheduled notification, and a released claim, leave a signal in
-- `queue_signals` (an insert that locks nothing); a claim first folds the
-- signals of the queues it can lock into `webhook_queues` (due time, claims
-- in flight), then reads the ready queues from there. A signal written by a
-- transaction that commits after a fold is folded by the next claim, so no
-- notification is left out of its queue. Only claimers lock a queue row, and
-- a record whose attempt changes the receiver's health. The pending count per
-- queue is gone (the backlog gauge counts), and so is the count of claims by
-- webhook (a column now).
CREATE TABLE queue_signals (
    webhook_id          text    NOT NULL,
    due_ms              bigint,                          -- a notification due (again) then
    released            bigint  NOT NULL DEFAULT 0       -- claims released
);
ALTER TABLE webhook_queues DROP COLUMN pending;
ALTER TABLE webhook_queues ADD COLUMN in_flight bigint NOT NULL DEFAULT 0;  -- claims held
DROP INDEX notifications_claimed_by_webhook;
-- Every webhook has its queue row from its creation on.
INSERT INTO webhook_queues (webhook_id) SELECT id FROM webhooks ON CONFLICT DO NOTHING;
UPDATE webhook_queues q SET in_flight = c.held
    FROM (SELECT webhook_id, count(*) AS held FROM notifications
          WHERE claim IS NOT NULL GROUP BY webhook_id) c
    WHERE q.webhook_id = c.webhook_id;
-- Small tables of short-lived rows, rewritten all day: vacuumed after every
-- thousand dead rows whatever their size (the default waits for a fifth of
-- the table), so that a claim never scans a pile of dead versions. The
-- metric store_dead_tuples shows how many wait.
ALTER TABLE queue_signals SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000);
ALTER TABLE webhook_queues SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);

-- Version 3: Thredd's calls beside the webhooks (API.md section 10), as in
-- SQLite's version 8: Transaction Confirmation configurations, and the fraud
-- alerts that 101s raise.
CREATE TABLE configurations (
    id                  text    NOT NULL UNIQUE,
    seq                 bigint  GENERATED ALWAYS AS IDENTITY,  -- creation order
    pm_code             text    NOT NULL,
    pm_id               bigint  NOT NULL,
    product_id          bigint,                          -- NULL: every product
    status              text    NOT NULL CHECK (status IN ('Active', 'Inactive')),
    message_types       text    NOT NULL,                -- JSON array of 1, 2, 3, ascending
    created_time        bigint  NOT NULL                 -- Unix seconds
);
CREATE INDEX configurations_by_pm ON configurations (pm_code, seq);
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
