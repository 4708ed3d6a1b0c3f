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
