//! The plans of the periodic work (issue 29): on a seeded PostgreSQL, every
//! query a periodic job makes (`innkeep::store::periodic_sql`, the very
//! text the stores run) is EXPLAINed, and none may read one of the tables
//! that grow with the platform by a sequential scan. The cost of
//! background work must follow what is due, not what is stored.

use serde_json::Value;
use sqlx::Connection;

use crate::support::{Backend, spawn};
use innkeep::store::periodic_sql::{self, PG_SKIP_LOCKED, Param};

/// The tables that grow with the platform.
const LARGE: [&str; 6] = [
    "bookings",
    "calendar_entries",
    "ledger_entries",
    "ledger_transactions",
    "jobs",
    "notifications",
];

/// Listings seeded: some 26,000 bookings, 50,000 ledger transactions,
/// enough for the planner to choose as it would on a real database.
const LISTINGS: &str = "10000";

/// The relations a plan (EXPLAIN's JSON) reads by a sequential scan.
fn seq_scans(plan: &Value, found: &mut Vec<String>) {
    if plan["Node Type"] == "Seq Scan"
        && let Some(relation) = plan["Relation Name"].as_str()
    {
        found.push(relation.to_owned());
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        seq_scans(child, found);
    }
}

#[actix_web::test]
async fn no_periodic_query_scans_a_growing_table() {
    let Some(app) = spawn(Backend::Postgres).await else {
        // Counted as skipped by `spawn`.
        return;
    };
    app.command(&["seed", "--properties", LISTINGS]).await;
    let mut conn = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Every booking has told its guest and its host (the seed writes no
    // notifications); all e-mailed but the newest.
    for user in ["guest_id", "host_id"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO notifications (id, user_id, kind, booking_id, title, body, created_at, emailed_at) \
             SELECT gen_random_uuid(), {user}, 'booking_confirmed', id, 'Booking confirmed', 'seeded', \
                    created_at, created_at FROM bookings"
        )))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    sqlx::query("ANALYZE")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bookings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bookings")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(bookings > 20_000, "only {bookings} bookings seeded");
    let now = chrono::Utc::now();
    // As the sweep reads: with the periodic settings (index scans).
    let mut conn = conn.begin().await.unwrap_or_else(|e| panic!("{e}"));
    for (name, value) in periodic_sql::PG_PERIODIC_SETTINGS {
        sqlx::query(sqlx::AssertSqlSafe(format!("SET LOCAL {name} = '{value}'")))
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut failures = Vec::new();
    let queries = periodic_sql::all(PG_SKIP_LOCKED);
    assert!(queries.len() >= 15, "{} queries", queries.len());
    for query in queries {
        let explain = sqlx::AssertSqlSafe(format!("EXPLAIN (FORMAT JSON) {}", query.sql));
        let mut explained = sqlx::query_scalar::<_, sqlx::types::Json<Value>>(explain);
        for param in query.params {
            explained = match param {
                Param::Now => explained.bind(now),
                Param::Today => explained.bind(now.date_naive()),
                Param::Limit => explained.bind(500_i64),
                Param::Text => explained.bind("plan-test"),
            };
        }
        let plan = explained
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", query.name));
        let mut scanned = Vec::new();
        seq_scans(&plan.0[0]["Plan"], &mut scanned);
        scanned.retain(|table| LARGE.contains(&table.as_str()));
        if !scanned.is_empty() {
            failures.push(format!("{} scans {scanned:?}:\n{:#}", query.name, plan.0));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
