//! The SQL of the periodic work (the sweep, the job queue's claim, the
//! e-mail sender, calendar imports, retention), in one place for both
//! backends, so that the plan test (`tests/api/plans.rs`) EXPLAINs exactly
//! what runs. Each reads what is due through an index that holds only what
//! is still to act on (issue 29): no query here may scan a table whole.

use super::columns::BOOKING_COLUMNS;

/// PostgreSQL's clause for claims that workers make at once.
pub const PG_SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

/// What a periodic read runs with on PostgreSQL: its connections (a pool
/// of their own, `PgStore::periodic`) start with these settings, so a read
/// is one statement, with no transaction around it. A statement timeout of
/// its own, so a pass that cannot find what is due at once gives up and the
/// next one tries again; read only; and plain index scans rather than
/// bitmap scans. A row just acted on (a reminder sent, a payout decided, a
/// stay completed) leaves its old version in the partial index until
/// VACUUM; a bitmap scan visits it again on every pass (5–34 ms a pass for
/// tomorrow's 1,333 reminders at 100,000 listings, `loadtests/README.md`),
/// while an index scan marks it dead the first time and skips it from then
/// on.
pub const PG_PERIODIC_SETTINGS: [(&str, &str); 3] = [
    ("statement_timeout", "1000"),
    ("default_transaction_read_only", "on"),
    ("enable_bitmapscan", "off"),
];

/// Which of the sweep's steps have anything due: one statement, one
/// probe of each step's own partial index, so that a pass with nothing to
/// do is one round trip (it was some 18 statements and 12 ms on
/// PostgreSQL). Binds: now, the intent grace cutoff, today, the capture
/// window's start, the payout cutoff, tomorrow. Each probe repeats its
/// step's query's conditions word for word (SQLite uses a partial index
/// only then) and its order: a scalar `ORDER BY … LIMIT 1` subquery, not
/// `EXISTS`, which PostgreSQL plans for its first row and, trusting a
/// misestimate (46,513 confirmed stays checked out by today, at 100,000
/// listings, where there were none), answered with a sequential scan of
/// every booking (98 ms a pass).
pub const DUE_WORK: &str = "SELECT \
     ((SELECT 1 FROM bookings WHERE status = 'pending_payment' AND expires_at <= $1 \
       ORDER BY expires_at LIMIT 1) IS NOT NULL \
      OR (SELECT 1 FROM bookings WHERE status = 'awaiting_host' AND expires_at <= $1 \
          ORDER BY expires_at LIMIT 1) IS NOT NULL) AS holds, \
     (SELECT 1 FROM bookings WHERE status = 'confirmed' AND check_out <= $3 \
      ORDER BY check_out LIMIT 1) IS NOT NULL AS stays, \
     (SELECT 1 FROM bookings WHERE status = 'pending_payment' \
      AND payment_intent_id IS NULL AND created_at <= $2 ORDER BY created_at LIMIT 1) IS NOT NULL AS intents, \
     (SELECT 1 FROM jobs j JOIN bookings b ON b.id = j.booking_id \
      WHERE j.kind = 'payment.capture' AND j.status = 'done' AND NOT j.settled \
      AND j.finished_at > $4 AND b.payment_intent_id IS NOT NULL \
      ORDER BY j.finished_at LIMIT 1) IS NOT NULL AS captures, \
     (SELECT 1 FROM bookings WHERE payout_due AND check_in <= $5 \
      ORDER BY check_in LIMIT 1) IS NOT NULL AS payouts, \
     (SELECT 1 FROM bookings WHERE status = 'confirmed' AND NOT reminded \
      AND check_in = $6 LIMIT 1) IS NOT NULL AS reminders";

/// Unpaid holds and unanswered requests due: one index-ordered walk per
/// status (bookings_expiring_idx, bookings_request_expiring_idx); `status
/// IN (…)` matches neither partial index.
pub const DUE_HOLDS: &str = "SELECT id, property_id FROM ( \
     SELECT * FROM (SELECT id, property_id, expires_at FROM bookings \
                    WHERE status = 'pending_payment' AND expires_at <= $1 \
                    ORDER BY expires_at LIMIT $2) pending \
     UNION ALL \
     SELECT * FROM (SELECT id, property_id, expires_at FROM bookings \
                    WHERE status = 'awaiting_host' AND expires_at <= $1 \
                    ORDER BY expires_at LIMIT $2) requests \
     ) due ORDER BY expires_at LIMIT $2";

/// bookings_unrecorded_intent_idx: pending holds without their intent
/// (under load thousands are pending, nearly all with their intent).
pub const HOLDS_WITHOUT_INTENT: &str = "SELECT id FROM bookings WHERE status = 'pending_payment' \
     AND payment_intent_id IS NULL AND created_at <= $1 ORDER BY created_at LIMIT $2";

/// bookings_confirmed_checkout_idx.
pub const FINISHED_STAYS: &str = "SELECT id, property_id FROM bookings WHERE status = 'confirmed' \
     AND check_out <= $1 ORDER BY check_out LIMIT $2";

/// bookings_payout_due_idx holds only what is owed.
pub fn payouts_due() -> String {
    format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings \
         WHERE payout_due AND check_in <= $1 ORDER BY check_in LIMIT $2"
    )
}

/// bookings_remind_idx: confirmed and not reminded yet.
pub const CHECKINS_TO_REMIND: &str = "SELECT id, guest_id FROM bookings \
     WHERE status = 'confirmed' AND NOT reminded AND check_in = $1 LIMIT $2";

/// jobs_capture_unsettled_idx: a capture leaves it when its booking's
/// capture is posted, or once reconciled.
pub const CAPTURES_UNPOSTED: &str = "SELECT b.payment_intent_id FROM jobs j \
     JOIN bookings b ON b.id = j.booking_id \
     WHERE j.kind = 'payment.capture' AND j.status = 'done' AND NOT j.settled \
     AND j.finished_at > $1 AND b.payment_intent_id IS NOT NULL \
     ORDER BY j.finished_at LIMIT $2";

/// Retention, in batches by key, each through the index on its cutoff
/// column: one pass deletes at most `$2` rows of each.
pub const PRUNE: [&str; 5] = [
    "DELETE FROM idempotency_keys WHERE (user_id, key) IN \
     (SELECT user_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
    "DELETE FROM refresh_tokens WHERE token_hash IN \
     (SELECT token_hash FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)",
    "DELETE FROM webhook_events WHERE id IN \
     (SELECT id FROM webhook_events WHERE received_at < $1 LIMIT $2)",
    // A booking's payment jobs are its record of money moved: kept.
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
     WHERE status = 'done' AND finished_at < $1 AND booking_id IS NULL LIMIT $2)",
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
     WHERE status = 'dead' AND finished_at < $1 AND key LIKE 'every:%' LIMIT $2)",
];

/// What a periodic query is given, for the plan test's sample values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// An instant.
    Now,
    /// A date.
    Today,
    /// A row count.
    Limit,
    /// A worker's name, an intent's id: text.
    Text,
}

/// One periodic query: its name, its SQL and what it binds, in order.
#[derive(Debug, Clone)]
pub struct PeriodicQuery {
    pub name: &'static str,
    pub sql: String,
    pub params: &'static [Param],
}

/// Every query of the sweep, retention, the job queue's claim, the e-mail
/// sender and the calendar imports' claim, as the backend whose row
/// locking clause is `skip_locked` runs them; the claims' `RETURNING`
/// lists as `returning` gives them.
pub fn all(skip_locked: &str) -> Vec<PeriodicQuery> {
    use Param::{Limit, Now, Text, Today};
    let mut all = vec![
        PeriodicQuery {
            name: "due_work",
            sql: DUE_WORK.into(),
            params: &[Now, Now, Today, Now, Today, Today],
        },
        PeriodicQuery {
            name: "due_holds",
            sql: DUE_HOLDS.into(),
            params: &[Now, Limit],
        },
        PeriodicQuery {
            name: "holds_without_intent",
            sql: HOLDS_WITHOUT_INTENT.into(),
            params: &[Now, Limit],
        },
        PeriodicQuery {
            name: "finished_stays",
            sql: FINISHED_STAYS.into(),
            params: &[Today, Limit],
        },
        PeriodicQuery {
            name: "payouts_due",
            sql: payouts_due(),
            params: &[Today, Limit],
        },
        PeriodicQuery {
            name: "checkins_to_remind",
            sql: CHECKINS_TO_REMIND.into(),
            params: &[Today, Limit],
        },
        PeriodicQuery {
            name: "captures_unposted",
            sql: CAPTURES_UNPOSTED.into(),
            params: &[Now, Limit],
        },
        PeriodicQuery {
            name: "jobs_lapsed",
            sql: JOBS_LAPSED.into(),
            params: &[Now],
        },
        PeriodicQuery {
            name: "jobs_claim",
            sql: jobs_claim(skip_locked, "id"),
            params: &[Now, Text, Now, Limit],
        },
        PeriodicQuery {
            name: "emails_claim",
            sql: emails_claim(skip_locked, "id"),
            params: &[Now, Now, Now, Limit],
        },
        PeriodicQuery {
            name: "imports_claim",
            sql: imports_claim("id"),
            params: &[Now, Now, Limit],
        },
    ];
    for (i, sql) in PRUNE.iter().enumerate() {
        const NAMES: [&str; 5] = [
            "prune_idempotency_keys",
            "prune_refresh_tokens",
            "prune_webhook_events",
            "prune_done_jobs",
            "prune_dead_passes",
        ];
        all.push(PeriodicQuery {
            name: NAMES[i],
            sql: (*sql).into(),
            params: &[Now, Limit],
        });
    }
    all
}

/// A lease that lapsed with no attempts left: its worker died on the last
/// attempt (jobs_due_idx). Such a job is `dead`, but for a periodic pass
/// (`every:` keys, one attempt): the next period does its work, so it ends
/// `done` with the reason, and `innkeep jobs dead` never fills with passes
/// of a process that was stopped mid-pass. The index's own `status IN
/// (…)` is spelled out: SQLite uses a partial index only when the query
/// repeats its condition, and does not infer it from `status = 'running'`
/// (it scanned every job, finished ones included, on each poll).
pub const JOBS_LAPSED: &str = "UPDATE jobs \
     SET status = CASE WHEN key LIKE 'every:%' THEN 'done' ELSE 'dead' END, \
     finished_at = $1, worker = NULL, \
     last_error = COALESCE(last_error || '; ', '') || 'the worker stopped during the last attempt' \
     WHERE status IN ('queued', 'running') AND status = 'running' AND run_at <= $1 \
     AND attempts >= max_attempts";

/// Claims due jobs (jobs_due_idx), returning `returning`.
pub fn jobs_claim(skip_locked: &str, returning: &str) -> String {
    format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, run_at = $1, worker = $2 \
         WHERE id IN (SELECT id FROM jobs WHERE status IN ('queued', 'running') \
         AND run_at <= $3 AND attempts < max_attempts ORDER BY run_at LIMIT $4{skip_locked}) \
         RETURNING {returning}"
    )
}

/// Claims notifications to e-mail (notifications_unsent_idx), returning
/// `returning`.
pub fn emails_claim(skip_locked: &str, returning: &str) -> String {
    format!(
        "UPDATE notifications SET email_lease_until = $1 WHERE id IN \
         (SELECT id FROM notifications WHERE emailed_at IS NULL AND created_at > $2 \
          AND (email_lease_until IS NULL OR email_lease_until <= $3) \
          ORDER BY id LIMIT $4{skip_locked}) RETURNING {returning}"
    )
}

/// Claims the calendar imports due (calendar_imports_due_idx), moving
/// their next sync on to `$1`, returning `returning`.
pub fn imports_claim(returning: &str) -> String {
    format!(
        "UPDATE calendar_imports SET next_sync_at = $1 WHERE id IN \
         (SELECT id FROM calendar_imports WHERE next_sync_at <= $2 \
          ORDER BY next_sync_at LIMIT $3) \
         RETURNING {returning}"
    )
}
