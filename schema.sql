-- webhook-manager schema, version 1.
--
-- Applied by the service at start-up to a database whose PRAGMA user_version is 0
-- (a new file), inside one transaction. A later schema change bumps the version:
-- this file keeps describing the newest schema for new files, and the service
-- gains a migration step (src/store/sqlite.rs, MIGRATIONS) from each older version,
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

PRAGMA user_version = 1;
