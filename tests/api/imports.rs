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
        *self.feed.lock().unwrap_or_else(|e| e.into_inner()) = calendar(events);
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
