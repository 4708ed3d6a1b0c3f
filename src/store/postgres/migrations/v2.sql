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
