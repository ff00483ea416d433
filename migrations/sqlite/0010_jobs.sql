-- The job queue (see the PostgreSQL migration). SQLite has one writer, so
-- a claim is an UPDATE in a write transaction; no SKIP LOCKED is needed.
CREATE TABLE jobs (
    id            BLOB PRIMARY KEY NOT NULL,
    key           TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL CHECK (max_attempts > 0),
    run_at        TEXT NOT NULL,
    worker        TEXT,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    finished_at   TEXT
);

CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_finished_idx ON jobs (status, finished_at) WHERE status IN ('done', 'dead');
