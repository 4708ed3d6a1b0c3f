-- Version 6: a webhook's row holds its document, the JSON object the API
-- answers with (domain::WebhookDocument), rendered once when the webhook is
-- written: start-up reads the documents into the in-memory index as they are,
-- and a write binds five values instead of fourteen. The columns the document
-- replaces are dropped; `status` stays, since the claims read it. Rows of an
-- older file get their document rendered here, in the service's format.
ALTER TABLE webhooks ADD COLUMN document TEXT NOT NULL DEFAULT '';
UPDATE webhooks SET document = json_object(
    'webhookId', id,
    'programManagerCode', pm_code,
    'productId', product_id,
    'events', json(events),
    'webhookStatus', status,
    'config', json_object('url', url, 'customHeaders', json(custom_headers)),
    'createdTime', strftime('%Y-%m-%dT%H:%M:%SZ', created_time, 'unixepoch'),
    'lastModifiedTime', strftime('%Y-%m-%dT%H:%M:%SZ', last_modified_time, 'unixepoch'),
    'lastHeartbeat', json(CASE WHEN hb_health_status IS NOT NULL THEN json_object(
        'healthStatus', hb_health_status,
        'httpStatus', hb_http_status,
        'latencyMs', hb_latency_ms,
        'error', hb_error,
        'checkedTime', strftime('%Y-%m-%dT%H:%M:%SZ', hb_checked_time, 'unixepoch')) END));
ALTER TABLE webhooks DROP COLUMN events;
ALTER TABLE webhooks DROP COLUMN url;
ALTER TABLE webhooks DROP COLUMN custom_headers;
ALTER TABLE webhooks DROP COLUMN created_time;
ALTER TABLE webhooks DROP COLUMN last_modified_time;
ALTER TABLE webhooks DROP COLUMN hb_health_status;
ALTER TABLE webhooks DROP COLUMN hb_http_status;
ALTER TABLE webhooks DROP COLUMN hb_latency_ms;
ALTER TABLE webhooks DROP COLUMN hb_error;
ALTER TABLE webhooks DROP COLUMN hb_checked_time;
