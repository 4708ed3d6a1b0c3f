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
