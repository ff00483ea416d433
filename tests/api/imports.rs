//! Calendar imports against a feed served by the test itself on loopback
//! (allowed in dev mode only): a feed becomes blocks and follows its
//! changes; an event over a booking is a conflict and cancels nothing;
//! removing an import frees its nights, even while a sync of it runs; bad
//! URLs are 422 and bad feeds a `failed` status. No test connects anywhere
//! but loopback: private and metadata addresses are only ever given to the
//! filter (here, as a URL or a redirect target it must refuse before
//! connecting).

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::both_stores;
use crate::support::{Options, TestApp, User, days, eventually, id, spawn_sqlite};

both_stores!(
    a_feed_becomes_blocks_and_follows_its_changes,
    feed_urls_are_checked_and_bad_feeds_fail,
    an_import_deleted_while_it_syncs_leaves_no_block,
    a_nested_feed_fails_on_the_request_and_the_worker_path,
    real_platforms_feeds_block_their_nights_and_say_what_they_skipped,
);

/// A feed server on a loopback port: `/feed.ics` serves `feed` (once the
/// gate lets it: see `hold`); the other paths serve the ways a feed goes
/// wrong.
struct FeedServer {
    base: String,
    feed: Arc<Mutex<String>>,
    gate: Arc<tokio::sync::RwLock<()>>,
    asked: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

impl FeedServer {
    fn start() -> FeedServer {
        let feed = Arc::new(Mutex::new(calendar(&[])));
        let gate = Arc::new(tokio::sync::RwLock::new(()));
        let asked = Arc::new(AtomicUsize::new(0));
        let (gate_in, asked_in) = (gate.clone(), asked.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let shared = feed.clone();
        let server = HttpServer::new(move || {
            let feed = shared.clone();
            let (gate, asked) = (gate_in.clone(), asked_in.clone());
            App::new()
                .route(
                    "/feed.ics",
                    web::get().to(move || {
                        let (feed, gate) = (feed.clone(), gate.clone());
                        asked.fetch_add(1, Ordering::SeqCst);
                        async move {
                            let _open = gate.read().await;
                            let body = feed.lock().unwrap_or_else(|e| e.into_inner()).clone();
                            HttpResponse::Ok().content_type("text/calendar").body(body)
                        }
                    }),
                )
                .route(
                    "/html",
                    web::get()
                        .to(|| async { HttpResponse::Ok().body("<html>not a calendar</html>") }),
                )
                .route(
                    "/big.ics",
                    web::get().to(|| async {
                        HttpResponse::Ok().body("BEGIN:VCALENDAR\r\n".repeat(150_000))
                    }),
                )
                .route(
                    // A redirect to the cloud metadata address: the filter
                    // must refuse it without connecting.
                    "/to-metadata",
                    web::get().to(|| async {
                        HttpResponse::Found()
                            .insert_header(("Location", "http://169.254.169.254/latest/meta-data/"))
                            .finish()
                    }),
                )
                .route(
                    "/hop/{n}",
                    web::get().to(|n: web::Path<u32>| async move {
                        let n = n.into_inner();
                        let next = if n == 0 {
                            "/feed.ics".to_owned()
                        } else {
                            format!("/hop/{}", n - 1)
                        };
                        HttpResponse::Found()
                            .insert_header(("Location", next))
                            .finish()
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap_or_else(|e| panic!("{e}"))
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        FeedServer {
            base: format!("http://127.0.0.1:{port}"),
            feed,
            gate,
            asked,
            handle,
        }
    }

    /// Holds every answer of `/feed.ics` until the guard is dropped.
    async fn hold(&self) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        self.gate.clone().write_owned().await
    }

    /// How many times `/feed.ics` was asked for.
    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }

    fn serve(&self, events: &[(i64, i64)]) {
        self.serve_text(calendar(events));
    }

    fn serve_text(&self, text: String) {
        *self.feed.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// An iCal feed of all-day events, as other sites export them.
fn calendar(events: &[(i64, i64)]) -> String {
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//elsewhere//EN\r\n");
    for (i, (start, end)) in events.iter().enumerate() {
        let date = |d: i64| days(d).replace('-', "");
        out.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:ev{i}@elsewhere\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n",
            date(*start),
            date(*end)
        ));
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

fn span(start: i64, end: i64) -> Value {
    json!({"start": days(start), "end": days(end)})
}

async fn import(app: &TestApp, host: &User, property: &str, url: &str) -> crate::support::Response {
    app.post(
        &format!("/api/v1/properties/{property}/calendar-imports"),
        Some(&host.token),
        json!({ "url": url }),
    )
    .await
}

async fn a_feed_becomes_blocks_and_follows_its_changes(app: TestApp) {
    let feeds = FeedServer::start();
    let (host, guest, property) = app.listing(json!({})).await;
    feeds.serve(&[(20, 23), (40, 41)]);
    let created = import(&app, &host, &property, &format!("{}/feed.ics", feeds.base))
        .await
        .expect(201)
        .clone();
    assert_eq!(created["status"], "ok", "{created}");
    assert_eq!(created["conflicts"], json!([]));
    assert!(created["last_synced_at"].is_string());
    assert_eq!(
        app.unavailable(&property, 0, 60).await,
        json!([span(20, 23), span(40, 41)])
    );
    // The other site moves one stay and drops the other.
    feeds.serve(&[(25, 27)]);
    let path = format!(
        "/api/v1/properties/{property}/calendar-imports/{}",
        id(&created)
    );
    let refreshed = app
        .post(&format!("{path}/refresh"), Some(&host.token), json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(refreshed["status"], "ok");
    assert_eq!(
        app.unavailable(&property, 0, 60).await,
        json!([span(25, 27)])
    );
    // A guest books here; the other site then sells overlapping nights:
    // a conflict, and the booking stands.
    let booking = app.booked(&guest.token, &property, 30..32).await;
    feeds.serve(&[(25, 27), (31, 33)]);
    let refreshed = app
        .post(&format!("{path}/refresh"), Some(&host.token), json!({}))
        .await
        .expect(200)
        .clone();
    assert_eq!(refreshed["conflicts"], json!([span(31, 33)]), "{refreshed}");
    assert_eq!(
        app.booking(&guest.token, &booking).await["status"],
        booking["status"]
    );
    assert_eq!(
        app.unavailable(&property, 0, 60).await,
        json!([span(25, 27), span(30, 32)])
    );
    // The list shows it; only the host may see it.
    let list = app
        .get(
            &format!("/api/v1/properties/{property}/calendar-imports"),
            Some(&host.token),
        )
        .await
        .expect(200)
        .clone();
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["data"][0]["url"], format!("{}/feed.ics", feeds.base));
    app.get(
        &format!("/api/v1/properties/{property}/calendar-imports"),
        Some(&guest.token),
    )
    .await
    .expect(403);
    // Removing the import frees its nights, not the booking's.
    app.delete(&path, Some(&host.token)).await.expect(204);
    assert_eq!(
        app.unavailable(&property, 0, 60).await,
        json!([span(30, 32)])
    );
    app.delete(&path, Some(&host.token)).await.expect(404);
}

/// A sync that is still fetching when the host deletes the import must not
/// leave the nights it goes on to block behind: the delete frees what the
/// import blocked, and the sync, finding the import gone after its writes,
/// takes back its own.
async fn an_import_deleted_while_it_syncs_leaves_no_block(app: TestApp) {
    let feeds = FeedServer::start();
    let (host, _guest, property) = app.listing(json!({})).await;
    feeds.serve(&[(20, 23)]);
    let created = import(&app, &host, &property, &format!("{}/feed.ics", feeds.base))
        .await
        .expect(201)
        .clone();
    assert_eq!(
        app.unavailable(&property, 0, 60).await,
        json!([span(20, 23)])
    );
    let path = format!(
        "/api/v1/properties/{property}/calendar-imports/{}",
        id(&created)
    );
    // The other site moves the stay; the next sync waits at the fetch
    // while the host deletes the import, then goes on.
    feeds.serve(&[(30, 33)]);
    let held = feeds.hold().await;
    let before = feeds.asked();
    let refresh = format!("{path}/refresh");
    let refreshing = app.post(&refresh, Some(&host.token), json!({}));
    let deleting = async {
        let fetching = eventually(200, Duration::from_millis(25), async || {
            feeds.asked() > before
        })
        .await;
        assert!(fetching, "the refresh never fetched the feed");
        let deleted = app.delete(&path, Some(&host.token)).await;
        drop(held);
        deleted
    };
    let (refreshed, deleted) = tokio::join!(refreshing, deleting);
    deleted.expect(204);
    refreshed.expect(404);
    assert_eq!(app.unavailable(&property, 0, 60).await, json!([]));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM calendar_entries WHERE active AND reason LIKE 'import:%'")
            .await,
        0
    );
}

async fn feed_urls_are_checked_and_bad_feeds_fail(app: TestApp) {
    let feeds = FeedServer::start();
    let (host, guest, property) = app.listing(json!({})).await;
    // Not http(s) at all: refused as given.
    for url in [
        "file:///etc/passwd",
        "ftp://example.com/cal.ics",
        "not a url",
        "",
        // PostgreSQL refuses a NUL in text: refused before it is stored.
        "http://\u{1f}x\u{0}y/cal.ics",
        "https://example.com/a\nb",
    ] {
        let refused = import(&app, &host, &property, url).await;
        refused.expect(422);
        assert_eq!(refused.body["errors"][0]["field"], "url", "{url}");
    }
    // Addresses refused before any connection: the import failed, and says
    // why.
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/cal.ics",
        "http://[fd00:ec2::254]/",
        "http:///no-host",
    ] {
        let failed = import(&app, &host, &property, url)
            .await
            .expect(201)
            .clone();
        assert_eq!(failed["status"], "failed", "{url}: {failed}");
        assert!(failed["last_error"].is_string(), "{failed}");
    }
    // Fetched, and failed: the import says why; nothing is blocked.
    for (path, why) in [
        ("/to-metadata", "not allowed"),
        ("/hop/4", "redirect"),
        ("/html", "not an iCalendar feed"),
        ("/big.ics", "larger than 1 MiB"),
        ("/missing.ics", "404"),
    ] {
        let failed = import(&app, &host, &property, &format!("{}{path}", feeds.base))
            .await
            .expect(201)
            .clone();
        assert_eq!(failed["status"], "failed", "{path}: {failed}");
        let error = failed["last_error"].as_str().unwrap_or_default();
        assert!(error.contains(why), "{path}: {error}");
    }
    // Three redirects are followed.
    feeds.serve(&[(10, 12)]);
    let hopped = import(&app, &host, &property, &format!("{}/hop/2", feeds.base))
        .await
        .expect(201)
        .clone();
    assert_eq!(hopped["status"], "ok", "{hopped}");
    assert_eq!(
        app.unavailable(&property, 0, 30).await,
        json!([span(10, 12)])
    );
    // Not the host, or no such property.
    import(&app, &guest, &property, &format!("{}/feed.ics", feeds.base))
        .await
        .expect(403);
    import(
        &app,
        &host,
        &uuid::Uuid::now_v7().to_string(),
        &format!("{}/feed.ics", feeds.base),
    )
    .await
    .expect(404);
}

#[actix_web::test]
async fn outside_dev_mode_a_loopback_feed_is_refused() {
    let app = spawn_sqlite(Options {
        dev: false,
        ..Options::default()
    })
    .await;
    let feeds = FeedServer::start();
    let host = app.register("host").await;
    let property = app.list_property(&host, json!({})).await;
    for url in [
        format!("{}/feed.ics", feeds.base),
        "http://localhost/feed.ics".to_owned(),
    ] {
        let failed = import(&app, &host, &property, &url)
            .await
            .expect(201)
            .clone();
        assert_eq!(failed["status"], "failed", "{url}: {failed}");
        let error = failed["last_error"].as_str().unwrap_or_default();
        assert!(error.contains("not allowed"), "{url}: {error}");
    }
}

/// A feed of `levels` components nested in its calendar.
fn nested(levels: usize) -> String {
    format!(
        "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
        "BEGIN:X\r\n".repeat(levels),
        "END:X\r\n".repeat(levels)
    )
}

/// The attack of issue 28: a feed nested thousands deep overflowed the
/// parser's stack and aborted the process, on the request thread and, once
/// restarted, in the periodic job. Now components nest 16 levels at most:
/// at 10× and 1,000× that the import fails with its reason, nothing it
/// blocked moves, and the server goes on answering.
async fn a_nested_feed_fails_on_the_request_and_the_worker_path(app: TestApp) {
    use innkeep::imports::ical::MAX_NESTING;
    let feeds = FeedServer::start();
    let (host, _guest, property) = app.listing(json!({})).await;
    let url = format!("{}/feed.ics", feeds.base);
    for levels in [MAX_NESTING * 10, MAX_NESTING * 1_000] {
        feeds.serve_text(nested(levels));
        let failed = import(&app, &host, &property, &url)
            .await
            .expect(201)
            .clone();
        assert_eq!(failed["status"], "failed", "{levels}: {failed}");
        let error = failed["last_error"].as_str().unwrap_or_default();
        assert!(
            error.contains("nested deeper than 16 levels"),
            "{levels}: {error}"
        );
        app.get("/healthz", None).await.expect(200);
    }
    // The worker path: a good sync, then the feed turns hostile and the
    // periodic job syncs it.
    feeds.serve(&[(20, 23)]);
    let created = import(&app, &host, &property, &url)
        .await
        .expect(201)
        .clone();
    assert_eq!(created["status"], "ok", "{created}");
    feeds.serve_text(nested(MAX_NESTING * 1_000));
    // Due again (as 15 minutes after its last sync).
    app.sql("UPDATE calendar_imports SET next_sync_at = last_synced_at")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = crate::support::store_of(&app).await;
    let job = innkeep::jobs::NewJob::new(
        innkeep::workers::IMPORTS,
        "test:imports:nested",
        Value::Null,
    );
    assert_eq!(
        store.enqueue(&job, chrono::Utc::now()).await.ok(),
        Some(true)
    );
    let path = format!("/api/v1/properties/{property}/calendar-imports");
    let synced = eventually(100, Duration::from_millis(100), async || {
        let list = app.get(&path, Some(&host.token)).await.expect(200).clone();
        list["data"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["id"] == created["id"] && i["status"] == "failed")
    })
    .await;
    assert!(synced, "the periodic job never synced the import");
    // The import is recorded inside the job; the job is done just after.
    let job_status =
        "SELECT COUNT(*) FROM jobs WHERE key = 'test:imports:nested' AND status = 'done'";
    let done = eventually(50, Duration::from_millis(100), async || {
        app.count(job_status).await == 1
    })
    .await;
    assert!(done, "the periodic job must finish, not die");
    // What the last good sync blocked stays blocked.
    assert_eq!(
        app.unavailable(&property, 0, 60).await,
        json!([span(20, 23)])
    );
    app.get("/healthz", None).await.expect(200);
}

/// Feeds as Airbnb, Vrbo, Booking.com, Google and Outlook export them
/// (`tests/fixtures/ical`), imported as of 2027-01-01: the nights of each,
/// recurring events expanded, and what each read said on the import.
async fn real_platforms_feeds_block_their_nights_and_say_what_they_skipped(app: TestApp) {
    let today = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default();
    app.set_clock(today.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc())
        .await;
    let feeds = FeedServer::start();
    let host = app.register("host").await;
    let unreadable = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{}{}{}{}END:VCALENDAR\r\n",
        "BEGIN:VEVENT\r\nUID:m13\r\nDTSTART;VALUE=DATE:20271301\r\nEND:VEVENT\r\n",
        "BEGIN:VEVENT\r\nUID:y1800\r\nDTSTART;VALUE=DATE:18000101\r\nEND:VEVENT\r\n",
        "BEGIN:VEVENT\r\nUID:rev\r\nDTSTART;VALUE=DATE:20270310\r\nDTEND;VALUE=DATE:20270305\r\nEND:VEVENT\r\n",
        "BEGIN:VEVENT\r\nUID:ok\r\nDTSTART;VALUE=DATE:20270401\r\nDTEND;VALUE=DATE:20270403\r\nEND:VEVENT\r\n",
    );
    let cases: [(&str, String, i64, i64, Value); 6] = [
        (
            "airbnb",
            fixture("airbnb.ics"),
            3,
            0,
            json!([["2027-01-10", "2027-01-15"], ["2027-02-25", "2027-03-01"]]),
        ),
        (
            "vrbo",
            fixture("vrbo.ics"),
            2,
            0,
            json!([["2027-01-20", "2027-01-26"]]),
        ),
        (
            "booking.com",
            fixture("booking_com.ics"),
            2,
            0,
            json!([["2027-02-05", "2027-02-07"], ["2027-02-10", "2027-02-11"]]),
        ),
        (
            "google",
            fixture("google.ics"),
            5,
            0,
            json!([
                ["2027-01-08", "2027-01-10"],
                ["2027-01-15", "2027-01-17"],
                ["2027-01-30", "2027-02-01"],
                ["2027-02-12", "2027-02-14"],
                ["2027-03-16", "2027-03-17"]
            ]),
        ),
        (
            "outlook",
            fixture("outlook.ics"),
            4,
            0,
            json!([
                ["2027-02-01", "2027-02-02"],
                ["2027-02-20", "2027-02-22"],
                ["2027-03-01", "2027-03-02"],
                ["2027-03-10", "2027-03-11"],
                ["2027-03-12", "2027-03-13"],
                ["2027-04-01", "2027-04-02"]
            ]),
        ),
        (
            "unreadable",
            unreadable,
            1,
            3,
            json!([["2027-04-01", "2027-04-03"]]),
        ),
    ];
    for (name, text, events, skipped, nights) in cases {
        let property = app.list_property(&host, json!({})).await;
        feeds.serve_text(text);
        let imported = import(&app, &host, &property, &format!("{}/feed.ics", feeds.base))
            .await
            .expect(201)
            .clone();
        assert_eq!(imported["status"], "ok", "{name}: {imported}");
        assert_eq!(imported["events"], events, "{name}: {imported}");
        assert_eq!(imported["skipped"], skipped, "{name}: {imported}");
        let warnings = imported["warnings"].as_array().map(Vec::len);
        assert_eq!(warnings, Some(skipped as usize), "{name}: {imported}");
        let taken = app
            .get(
                &format!(
                    "/api/v1/properties/{property}/availability?from=2027-01-01&to=2027-05-01"
                ),
                None,
            )
            .await
            .expect(200)["unavailable"]
            .clone();
        let taken: Vec<Value> = taken
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| json!([r["start"], r["end"]]))
            .collect();
        assert_eq!(Value::from(taken), nights, "{name}");
    }
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/ical/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
