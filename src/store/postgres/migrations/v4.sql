-- Version 4: a webhook row keeps the document the API answers with, as
-- SQLite's does (its versions 6 and 9): the keys that queries need stay
-- columns, the document replaces the other columns, and `format` says which
-- format the document is in (domain::WebhookDocument::FORMAT). A read answers
-- the stored bytes instead of rendering fourteen columns, and a write binds six
-- values. Each existing row's document is rendered here, in the service's
-- format byte for byte (the upgrade test checks it).
ALTER TABLE webhooks ADD COLUMN document text, ADD COLUMN format bigint NOT NULL DEFAULT 1;
UPDATE webhooks SET document = pg_catalog.format(
    '{"webhookId":%s,"programManagerCode":%s,"productId":%s,"events":%s,"webhookStatus":%s,'
    '"config":{"url":%s,"customHeaders":%s},"createdTime":%s,"lastModifiedTime":%s,"lastHeartbeat":%s}',
    to_json(id), to_json(pm_code), coalesce(product_id::text, 'null'), events, to_json(status),
    to_json(url), custom_headers,
    to_json(to_char(to_timestamp(created_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
    to_json(to_char(to_timestamp(last_modified_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
    CASE WHEN hb_health_status IS NULL THEN 'null' ELSE pg_catalog.format(
        '{"healthStatus":%s,"httpStatus":%s,"latencyMs":%s,"error":%s,"checkedTime":%s}',
        to_json(hb_health_status), coalesce(hb_http_status::text, 'null'),
        coalesce(hb_latency_ms, 0), coalesce(to_json(hb_error)::text, 'null'),
        to_json(to_char(to_timestamp(coalesce(hb_checked_time, 0)) AT TIME ZONE 'UTC',
            'YYYY-MM-DD"T"HH24:MI:SS"Z"'))) END);
ALTER TABLE webhooks ALTER COLUMN document SET NOT NULL,
    DROP COLUMN events, DROP COLUMN url, DROP COLUMN custom_headers, DROP COLUMN created_time,
    DROP COLUMN last_modified_time, DROP COLUMN hb_health_status, DROP COLUMN hb_http_status,
    DROP COLUMN hb_latency_ms, DROP COLUMN hb_error, DROP COLUMN hb_checked_time;
