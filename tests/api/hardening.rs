//! Abuse limits and refusals (api.md, "Limits and refusals"): each story
//! here is an attack or a mistake that got through before, and what it
//! gets now.

use std::net::{IpAddr, Ipv4Addr};

use futures_util::future::join_all;
use serde_json::json;
use sqlx::Connection;

use crate::both_stores;
use crate::support::{Backend, Options, PASSWORD, TestApp, days, id, spawn_sqlite, spawn_with};

both_stores!(
    concurrent_wrong_passwords_count_one_by_one,
    one_address_guessing_many_accounts_is_stopped,
    the_owner_keeps_an_allowance_when_others_guess,
    metrics_labels_stay_bounded,
    dates_out_of_range_are_refused,
    holds_per_guest_are_capped_even_when_sent_at_once,
    a_booking_cannot_be_removed_as_a_block,
    common_passwords_and_made_up_currencies_are_refused,
    wrong_methods_are_405_with_allow_and_pages_are_at_most_100,
    one_broken_booking_does_not_stop_the_sweep,
    kept_records_are_pruned_on_time,
);

/// A client whose requests come from `127.0.0.<n>`: loopback, but another
/// address as far as the server can tell.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

async fn login_from(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> u16 {
    client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("login: {e}"))
}

async fn concurrent_wrong_passwords_count_one_by_one(app: TestApp) {
    let user = app.register("target").await;
    let attempts = (0..20).map(|_| app.login_as(&user.email, "not the password"));
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    let tried = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(tried + refused, 20, "{statuses:?}");
    assert!(
        tried <= 5,
        "{tried} guesses were checked at once: {statuses:?}"
    );
    let next = app.login_as(&user.email, PASSWORD).await;
    next.expect(429);
    assert!(next.headers.contains_key("retry-after"));
}

async fn one_address_guessing_many_accounts_is_stopped(app: TestApp) {
    let client = client_from(21);
    let mut statuses = Vec::new();
    for i in 0..55 {
        let email = format!("nobody-{i}@example.com");
        statuses.push(login_from(&app, &client, &email, "some password").await);
    }
    assert!(statuses[..50].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[50..].iter().all(|s| *s == 429), "{statuses:?}");
    // Another address is not affected.
    let other = client_from(22);
    assert_eq!(
        login_from(&app, &other, "nobody-0@example.com", "some password").await,
        401
    );
}

async fn the_owner_keeps_an_allowance_when_others_guess(app: TestApp) {
    let user = app.register("owner").await;
    // Four addresses guess five times each: 20 failures on one account.
    for n in 30..34 {
        let attacker = client_from(n);
        for _ in 0..5 {
            assert_eq!(login_from(&app, &attacker, &user.email, "guess").await, 401);
        }
        // Each attacking address is now out.
        assert_eq!(login_from(&app, &attacker, &user.email, "guess").await, 429);
    }
    // The account is over its limit: a new address gets two tries, no more.
    let stranger = client_from(40);
    assert_eq!(login_from(&app, &stranger, &user.email, "guess").await, 401);
    assert_eq!(login_from(&app, &stranger, &user.email, "guess").await, 401);
    assert_eq!(login_from(&app, &stranger, &user.email, "guess").await, 429);
    // ...and the owner, at home, signs in with the right password.
    let owner = client_from(41);
    assert_eq!(login_from(&app, &owner, &user.email, PASSWORD).await, 200);
}

async fn metrics_labels_stay_bounded(app: TestApp) {
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("WEIRD{i}").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let res = app.send(method, "/api/v1/properties", None, None).await;
        assert!(res.status.is_client_error(), "{}", res.status);
    }
    let metrics = app.get("/metrics", None).await;
    assert!(
        !metrics.text.contains("WEIRD"),
        "a raw method became a label"
    );
    assert!(
        metrics.text.contains("method=\"other\""),
        "{}",
        metrics.text
    );
}

async fn dates_out_of_range_are_refused(app: TestApp) {
    let (host, guest, property) = app.listing(json!({})).await;
    for date in [
        "%2B262142-12-01",
        "10000-01-01",
        "1899-12-31",
        "-0001-01-01",
    ] {
        let path = format!("/api/v1/properties/{property}/availability?from={date}");
        let problem = app.get(&path, None).await;
        assert_eq!(problem.expect(422)["errors"][0]["field"], "from", "{date}");
        let quote =
            format!("/api/v1/properties/{property}/quote?check_in={date}&check_out=2030-01-02");
        app.get(&quote, None).await.expect(422);
        let search = format!("/api/v1/properties?check_in=2030-01-01&check_out={date}");
        app.get(&search, None).await.expect(422);
    }
    for date in ["10000-01-01", "1800-06-01", "+262142-12-01"] {
        let booking = app.book(&guest.token, &property, date, &days(3)).await;
        assert_eq!(booking.expect(422)["errors"][0]["field"], "check_in");
        let block = app
            .post(
                &format!("/api/v1/properties/{property}/blocks"),
                Some(&host.token),
                json!({"start": days(1), "end": date}),
            )
            .await;
        assert_eq!(block.expect(422)["errors"][0]["field"], "end");
    }
    // The server is still up and answering.
    app.get("/healthz", None).await.expect(200);
}

async fn holds_per_guest_are_capped_even_when_sent_at_once(app: TestApp) {
    let host = app.register("host").await;
    let guest = app.register("guest").await;
    let properties = app.list_properties(&host, 15, json!({})).await;
    let (check_in, check_out) = (days(10), days(12));
    let attempts = properties
        .iter()
        .map(|p| app.book(&guest.token, p, &check_in, &check_out));
    let answers = join_all(attempts).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    let capped: Vec<_> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!(created, 10, "INNKEEP_MAX_HOLDS defaults to 10");
    assert_eq!(capped.len(), 5);
    for refusal in capped {
        assert_eq!(
            refusal.expect(429)["type"],
            "https://innkeep.dev/problems/too-many-holds"
        );
        assert!(refusal.headers.contains_key("retry-after"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM bookings WHERE status = 'pending_payment'")
            .await,
        10
    );
    // Paying one frees a place.
    let held = answers
        .iter()
        .position(|r| r.status == 201)
        .unwrap_or_default();
    let refused = answers
        .iter()
        .position(|r| r.status == 429)
        .unwrap_or_default();
    app.dev_pay(&answers[held].body).await;
    app.book(&guest.token, &properties[refused], &check_in, &check_out)
        .await
        .expect(201);
}

async fn a_booking_cannot_be_removed_as_a_block(app: TestApp) {
    let (host, guest, property) = app.listing(json!({})).await;
    let booking = app.booked(&guest.token, &property, 5..8).await;
    let path = format!("/api/v1/properties/{property}/blocks/{}", id(&booking));
    app.delete(&path, Some(&host.token)).await.expect(404);
    // The nights stay taken, in memory as in the store.
    assert_eq!(
        app.unavailable(&property, 0, 30).await,
        json!([{"start": days(5), "end": days(8)}])
    );
    app.book(&guest.token, &property, &days(6), &days(7))
        .await
        .expect(409);
}

async fn common_passwords_and_made_up_currencies_are_refused(app: TestApp) {
    for password in ["password", "Password123", "12345678", "qwerty123"] {
        let res = app.register_as("weak@example.com", password, "Weak").await;
        assert_eq!(
            res.expect(422)["errors"][0]["field"],
            "password",
            "{password}"
        );
    }
    let host = app.register("host").await;
    for currency in ["ABC", "XXX", "EURO"] {
        let res = app
            .post(
                "/api/v1/properties",
                Some(&host.token),
                json!({"title": "T", "city": "C", "country": "P", "price_per_night": 100,
                       "currency": currency, "max_guests": 2}),
            )
            .await;
        assert_eq!(
            res.expect(422)["errors"][0]["field"],
            "currency",
            "{currency}"
        );
    }
}

async fn wrong_methods_are_405_with_allow_and_pages_are_at_most_100(app: TestApp) {
    let res = app
        .send(reqwest::Method::TRACE, "/api/v1/properties", None, None)
        .await;
    res.expect(405);
    let allow = res
        .headers
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(allow, "GET, POST");
    app.send(
        reqwest::Method::PUT,
        "/api/v1/bookings/00000000-0000-0000-0000-000000000000",
        None,
        None,
    )
    .await
    .expect(405);
    // Unknown paths are still 404.
    app.get("/api/v1/nowhere", None).await.expect(404);
    // The document says at most 100 a page: more is refused, not trimmed.
    let res = app.get("/api/v1/properties?limit=2147483648", None).await;
    assert_eq!(res.expect(422)["errors"][0]["field"], "limit");
    let guest = app.register("guest").await;
    app.get("/api/v1/bookings?limit=101", Some(&guest.token))
        .await
        .expect(422);
}

async fn one_broken_booking_does_not_stop_the_sweep(app: TestApp) {
    let (_, guest, property) = app.listing(json!({})).await;
    let broken = app.booked(&guest.token, &property, 3..5).await;
    let fine = app.booked(&guest.token, &property, 10..12).await;
    // The first to expire (booked first) can no longer be read: its
    // currency is not one any more.
    app.sql(&format!(
        "UPDATE bookings SET currency = 'XXX' WHERE id = '{}'",
        id(&broken)
    ))
    .await
    .unwrap_or_else(|e| panic!("breaking a booking: {e}"));
    app.set_clock(chrono::Utc::now() + chrono::Duration::minutes(16))
        .await;
    let mut guest = guest;
    app.sign_in_again(&mut guest).await;
    let expired = app.wait_for_status(&guest.token, &fine, "expired").await;
    assert_eq!(expired["status"], "expired");
}

/// Writes an idempotency key and a webhook event id 40 days old
/// (`old-key`, `evt_old`) and a fresh one of each (`new-key`, `evt_new`).
async fn old_and_new_records(app: &TestApp) {
    let old = (chrono::Utc::now() - chrono::Duration::days(40)).to_rfc3339();
    let guest = app.register("guest").await;
    let insert = |table: &str, columns: &str, values: String| {
        format!("INSERT INTO {table} ({columns}) VALUES ({values})")
    };
    let key_values = |key: &str, at: &str| format!("'{}', '{key}', X'00', '{at}'", guest.id);
    let blob: fn(String) -> String = if app.database_url.starts_with("postgres") {
        |v| v.replace("X'00'", "'\\x00'::bytea")
    } else {
        |v| v
    };
    let now = chrono::Utc::now().to_rfc3339();
    for (key, at) in [("old-key", old.as_str()), ("new-key", now.as_str())] {
        app.sql(&insert(
            "idempotency_keys",
            "user_id, key, request_hash, created_at",
            blob(key_values(key, at)),
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    for (event, at) in [("evt_old", old.as_str()), ("evt_new", now.as_str())] {
        app.sql(&insert(
            "webhook_events",
            "id, type, received_at",
            format!("'{event}', 'payment_intent.succeeded', '{at}'"),
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Polls `query` (a count) every 100 ms for up to 10 s until it is `n`.
async fn counts(app: &TestApp, query: &str, n: i64) -> bool {
    crate::support::eventually(100, std::time::Duration::from_millis(100), async || {
        app.count(query).await == n
    })
    .await
}

async fn kept_records_are_pruned_on_time(app: TestApp) {
    old_and_new_records(&app).await;
    // The sweep prunes every ten minutes (and once at start, before these
    // rows existed).
    app.set_clock(chrono::Utc::now() + chrono::Duration::minutes(11))
        .await;
    assert!(
        counts(
            &app,
            "SELECT COUNT(*) FROM idempotency_keys WHERE key = 'old-key'",
            0
        )
        .await,
        "an idempotency key 40 days old was kept"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'new-key'")
            .await,
        1
    );
    assert!(
        counts(
            &app,
            "SELECT COUNT(*) FROM webhook_events WHERE id = 'evt_old'",
            0
        )
        .await,
        "a webhook event id 40 days old was kept"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_events WHERE id = 'evt_new'")
            .await,
        1
    );
}

/// A prune that fails (here: its DELETE waits on a lock past the statement
/// timeout) is tried again by the next pass, not ten minutes later.
#[actix_web::test]
async fn a_failed_prune_is_tried_again_next_pass() {
    let Some(app) = spawn_with(Backend::Postgres, Options::default()).await else {
        return;
    };
    old_and_new_records(&app).await;
    let mut locker = sqlx::PgConnection::connect(&app.database_url)
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    sqlx::query("BEGIN")
        .execute(&mut locker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.set_clock(chrono::Utc::now() + chrono::Duration::minutes(11))
        .await;
    // The prune runs (the keys go) and waits on the lock until its
    // statement times out; the next pass must try again.
    let waiting = "FROM pg_stat_activity WHERE datname = current_database() \
                   AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM webhook_events%'";
    assert!(
        counts(
            &app,
            "SELECT COUNT(*) FROM idempotency_keys WHERE key = 'old-key'",
            0
        )
        .await,
        "the prune never ran"
    );
    assert!(
        counts(&app, &format!("SELECT COUNT(*) {waiting}"), 1).await,
        "the prune never waited on the lock"
    );
    let first = app
        .count(&format!(
            "SELECT CAST(MAX(EXTRACT(EPOCH FROM query_start)) * 1000000 AS BIGINT) {waiting}"
        ))
        .await;
    let again = format!(
        "SELECT COUNT(*) {waiting} AND EXTRACT(EPOCH FROM query_start) * 1000000 > {first}"
    );
    assert!(
        counts(&app, &again, 1).await,
        "the prune that timed out was not tried again"
    );
    sqlx::query("ROLLBACK")
        .execute(&mut locker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        counts(
            &app,
            "SELECT COUNT(*) FROM webhook_events WHERE id = 'evt_old'",
            0
        )
        .await,
        "the retried prune did not finish"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_events WHERE id = 'evt_new'")
            .await,
        1
    );
}

#[actix_web::test]
async fn bookings_and_sign_ups_are_rate_limited_as_configured() {
    let app = spawn_sqlite(Options {
        tweak: |config| {
            config.bookings_per_minute = 3;
            config.registrations_per_hour = 4;
        },
        ..Options::default()
    })
    .await;
    let (_, guest, property) = app.listing(json!({})).await;
    // Two sign-ups so far; two more are allowed, the fifth is not.
    app.register("third").await;
    app.register("fourth").await;
    let fifth = app
        .register_as("fifth@example.com", PASSWORD, "Fifth")
        .await;
    fifth.expect(429);
    assert!(fifth.headers.contains_key("retry-after"));
    for n in 0..3 {
        app.booked(&guest.token, &property, (10 + 2 * n)..(11 + 2 * n))
            .await;
    }
    let fourth = app
        .book(&guest.token, &property, &days(30), &days(31))
        .await;
    fourth.expect(429);
    // Taken dates are refused as such, whatever the rate: they cost nothing.
    app.book(&guest.token, &property, &days(10), &days(11))
        .await
        .expect(409);
}

#[actix_web::test]
async fn the_database_file_is_private() {
    let app = spawn_sqlite(Options::default()).await;
    let path = app
        .database_url
        .strip_prefix("sqlite://")
        .unwrap_or_else(|| panic!("SQLite"))
        .to_owned();
    use std::os::unix::fs::PermissionsExt;
    // The database itself must be there (WAL mode: so are its -wal and
    // -shm files once the server has written, which spawning it did).
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        let meta = match std::fs::metadata(&file) {
            Ok(meta) => meta,
            Err(e) if suffix.is_empty() => panic!("{file}: {e}"),
            Err(_) => continue,
        };
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{file} is readable by others"
        );
    }
}

#[actix_web::test]
async fn dev_endpoints_never_start_beside_a_stripe_key() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_innkeep"))
        .arg("serve")
        .env_clear()
        .env("INNKEEP_BIND", "127.0.0.1:0")
        .env("DATABASE_URL", "sqlite::memory:")
        .env("INNKEEP_DEV", "1")
        .env("STRIPE_SECRET_KEY", "sk_live_not_really")
        .output()
        .unwrap_or_else(|e| panic!("running innkeep: {e}"));
    assert!(!output.status.success(), "it started");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("INNKEEP_DEV"), "{said}");
}

/// PostgreSQL goes away in the middle of a booking load and comes back:
/// 503 with `Retry-After` while it is away (fast), never a 500, no answered
/// booking lost, no overlap, and normal service again within seconds.
#[actix_web::test]
async fn postgres_away_and_back_mid_load() {
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        crate::support::skips::skip("TEST_POSTGRES_URL", "postgres_away_and_back_mid_load");
        return;
    };
    let target = crate::proxy::loopback_target(&admin, 5432);
    let proxy = crate::proxy::TcpProxy::start(target).await;
    let options = Options {
        postgres_via: Some(proxy.port),
        tweak: crate::support::storm_limits,
        ..Options::default()
    };
    let Some(app) = spawn_with(Backend::Postgres, options).await else {
        return;
    };
    let (_, guest, property) = app.listing(json!({})).await;
    let mut created = Vec::new();
    let mut statuses = Vec::new();
    for round in 0..60_i64 {
        if round == 15 {
            proxy.cut();
        }
        if round == 35 {
            proxy.restore();
        }
        let started = std::time::Instant::now();
        let res = app
            .book(
                &guest.token,
                &property,
                &days(2 * round + 1),
                &days(2 * round + 2),
            )
            .await;
        let took = started.elapsed();
        match res.status.as_u16() {
            201 => created.push(id(&res.body)),
            503 => {
                assert!(res.headers.contains_key("retry-after"), "{}", res.text);
                assert!(
                    took < std::time::Duration::from_secs(5),
                    "a 503 took {took:?}"
                );
            }
            other => panic!("round {round}: {other} {}", res.text),
        }
        statuses.push(res.status.as_u16());
        if (15..35).contains(&round) {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    assert!(statuses[15..35].contains(&503), "{statuses:?}");
    // Back to normal within seconds of the database's return.
    assert!(
        statuses[45..].iter().all(|s| *s == 201),
        "not recovered: {statuses:?}"
    );
    for booking in &created {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM bookings WHERE id = '{booking}'"
            ))
            .await,
            1,
            "an answered booking is missing"
        );
    }
    app.get("/readyz", None).await.expect(200);
}

/// Redis goes away while the server runs: no 5xx, and sign-in limits keep
/// counting (in process) until it is back.
#[actix_web::test]
async fn redis_away_keeps_limits_and_serves() {
    let Ok(redis) = std::env::var("TEST_REDIS_URL") else {
        crate::support::skips::skip("TEST_REDIS_URL", "redis_away_keeps_limits_and_serves");
        return;
    };
    let target = crate::proxy::loopback_target(&redis, 6379);
    let proxy = crate::proxy::TcpProxy::start(target).await;
    let app = spawn_sqlite(Options {
        redis_via: Some(proxy.port),
        ..Options::default()
    })
    .await;
    let (host, _, property) = app.listing(json!({})).await;
    proxy.cut();
    app.get(&format!("/api/v1/properties/{property}"), None)
        .await
        .expect(200);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            app.login_as(&host.email, "a wrong guess")
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 401, 429, 429],
        "while Redis is away"
    );
    proxy.restore();
    app.get(&format!("/api/v1/properties/{property}"), None)
        .await
        .expect(200);
}
