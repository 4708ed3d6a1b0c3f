-- Version 9: a webhook row says which format its document is in, so that a
-- later format can be told from this one and re-rendered by its own upgrade
-- step (as version 6 rendered the first documents). PostgreSQL keeps the same
-- shape (src/store/postgres/migrations/v4.sql). Every existing document is
-- format 1.
ALTER TABLE webhooks ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
