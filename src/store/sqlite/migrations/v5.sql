-- Version 5: the capture inbox, kept here so that it survives a restart
-- (domain::inbox: at most 1000 requests per inbox, 1000 inboxes). `seq`
-- orders the requests; `inboxes` counts each inbox's, so the limits are
-- checked without counting rows.
CREATE TABLE inboxes (
    name                TEXT    NOT NULL PRIMARY KEY,
    requests            INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE inbox_requests (
    seq                 INTEGER PRIMARY KEY,
    inbox               TEXT    NOT NULL REFERENCES inboxes (name) ON DELETE CASCADE,
    request             TEXT    NOT NULL               -- domain::inbox::Captured as JSON
);
CREATE INDEX inbox_requests_by_inbox ON inbox_requests (inbox, seq);
