-- Version 1: the first schema, webhooks only. Kept to build version-1
-- files in the upgrade tests; a new file is made from schema.sql.

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
