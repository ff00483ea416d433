-- Calendar imports (see the PostgreSQL migration).
CREATE TABLE calendar_imports (
    id              BLOB PRIMARY KEY NOT NULL,
    property_id     BLOB NOT NULL REFERENCES properties (id),
    url             TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'failed')),
    last_synced_at  TEXT,
    last_error      TEXT,
    conflicts       TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL
);
CREATE INDEX calendar_imports_property_idx ON calendar_imports (property_id, id);
