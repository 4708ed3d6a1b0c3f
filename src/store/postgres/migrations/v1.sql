-- Version 1: the first PostgreSQL schema, the SQLite schema's version 5
-- written for PostgreSQL. Kept to build version-1 databases in the upgrade
-- tests; a new database is made from schema.sql.

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
