-- Calendar imports: a host's iCal feeds from other sites. Their events are
-- kept as blocks in calendar_entries whose reason is 'import:<import id>',
-- replaced at each sync; the exclusion constraint guards them as any other.
CREATE TABLE calendar_imports (
    id              uuid PRIMARY KEY,
    property_id     uuid NOT NULL REFERENCES properties (id),
    url             text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'failed')),
    last_synced_at  timestamptz,
    last_error      text,
    conflicts       jsonb NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL
);
CREATE INDEX calendar_imports_property_idx ON calendar_imports (property_id, id);
