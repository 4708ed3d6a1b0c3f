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
