-- The job queue: all background work. A job is written in the transaction
-- of the decision that causes it (or by the scheduler, for periodic work),
-- its key makes a second request for the same work a no-op, and workers
-- in any process claim due jobs with a lease (FOR UPDATE SKIP LOCKED), so
-- two workers never run one attempt and a worker that dies mid-job leaves
-- it to run again once the lease lapses. A failed attempt is retried with
-- backoff; after max_attempts the job is `dead`, with its last error kept,
-- until an operator retries it (`innkeep jobs retry ID`).
CREATE TABLE jobs (
    id            uuid PRIMARY KEY,
    key           text NOT NULL UNIQUE,
    kind          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL CHECK (max_attempts > 0),
    -- queued: when it is due; running: when its lease lapses.
    run_at        timestamptz NOT NULL,
    worker        text,
    last_error    text,
    created_at    timestamptz NOT NULL,
    finished_at   timestamptz
);

-- The claim: jobs not finished, by due time.
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE status IN ('queued', 'running');
-- `innkeep jobs dead` and the pruning of finished jobs.
CREATE INDEX jobs_finished_idx ON jobs (status, finished_at) WHERE status IN ('done', 'dead');
