//! Real `innkeep` processes: two servers sharing one PostgreSQL database
//! still sell a night once, a server killed with SIGKILL mid-storm loses
//! no acknowledged booking and leaves no overlap behind, one stopped with
//! SIGTERM mid-storm exits cleanly, and `innkeep worker` processes run the
//! job queue of a web-only server.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::json;

use crate::support::{
    Backend, JWT_SECRET, OVERLAPS, Options, TestApp, days, eventually, http_client, id, intent,
    random_stays, spawn, spawn_with,
};

// The test's own server runs no job worker: the process's worker alone
// takes the queue the test fills.
crate::both_stores!(no_workers: terminated_mid_storm_exits_cleanly);

crate::both_stores!(
    killed_mid_storm_keeps_every_acknowledged_booking,
    a_refund_owed_when_the_server_dies_is_sent_after_restart,
);

/// A server process on a random port.
struct Server {
    child: Child,
    base: String,
    /// What the process wrote to stderr so far (a panic's message), and
    /// the thread reading it (done once the process has exited).
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(database_url: &str) -> Server {
        Self::start_with(database_url, false)
    }

    /// With `dev`, the dev endpoints (dev gateway controls) are mounted.
    /// The process gets a clean environment: none of the developer's
    /// INNKEEP_*, REDIS_URL or STRIPE_* settings reach it.
    fn start_with(database_url: &str, dev: bool) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_innkeep"));
        command
            .arg("serve")
            .env_clear()
            .env("INNKEEP_BIND", "127.0.0.1:0")
            .env("DATABASE_URL", database_url)
            .env("JWT_SECRET", JWT_SECRET)
            .env("RUST_LOG", "info")
            .env("INNKEEP_WORKERS", "2")
            // Storms of a few guests: the per-guest limits raised as a
            // load test raises them.
            .env("INNKEEP_MAX_HOLDS", "100000")
            .env("INNKEEP_BOOKINGS_PER_MINUTE", "0");
        if dev {
            command.env("INNKEEP_DEV", "1");
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting innkeep: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let stderr_pipe = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let written = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                if let Ok(mut written) = written.lock() {
                    written.push_str(&line);
                    written.push('\n');
                }
            }
        });
        let (tx, rx) = mpsc::channel();
        // Keeps draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("innkeep listening") {
                    let port = serde_json::from_str::<serde_json::Value>(&line)
                        .ok()
                        .and_then(|v| v["port"].as_u64());
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("innkeep did not start"));
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    fn kill(mut self) {
        // SIGKILL: no graceful shutdown, no flush.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (up to `within`) for the process to exit:
    /// its exit status (all its stderr read by then), or `None` if it was
    /// still running.
    fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("running kill: {e}"));
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                if let Some(reader) = self.stderr_reader.take() {
                    let _ = reader.join();
                }
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn book(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    property: &str,
    a: i64,
    b: i64,
) -> (u16, String) {
    let res = client
        .post(format!("{base}/api/v1/bookings"))
        .bearer_auth(token)
        .json(&json!({"property_id": property, "check_in": days(a), "check_out": days(b), "guests": 1}))
        .send()
        .await;
    match res {
        Ok(r) => {
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            (status, id(&body))
        }
        Err(_) => (0, String::new()), // the server died under us
    }
}

/// The status a server answers `request` with; 0 when it does not answer
/// (it died under us).
async fn status_of(request: reqwest::RequestBuilder) -> u16 {
    request
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[actix_web::test]
async fn two_servers_on_one_postgres_sell_a_night_once() {
    let Some(app) = spawn(Backend::Postgres).await else {
        return;
    };
    let host = app.register("host").await;
    let guests = app.register_all(["guest"; 6]).await;
    let property = app.list_property(&host, json!({})).await;
    let servers = [
        Server::start(&app.database_url),
        Server::start(&app.database_url),
    ];
    let client = http_client();
    for round in 0..3 {
        let (a, b) = (10 + round * 10, 13 + round * 10);
        let storm = (0..200).map(|i| {
            let base = &servers[i % 2].base;
            book(&client, base, &guests[i % guests.len()], &property, a, b)
        });
        let results = join_all(storm).await;
        let won: Vec<_> = results.iter().filter(|r| r.0 == 201).collect();
        let lost = results.iter().filter(|r| r.0 == 409).count();
        assert_eq!(
            (won.len(), lost),
            (1, 199),
            "round {round}: {:?}",
            results.iter().map(|r| r.0).collect::<Vec<_>>()
        );
    }
    // A cancellation on one server frees the nights on the other (LISTEN/NOTIFY).
    let (status, winner) = book(&client, &servers[0].base, &guests[0], &property, 100, 102).await;
    assert_eq!(status, 201);
    let (status, _) = book(&client, &servers[1].base, &guests[1], &property, 100, 102).await;
    assert_eq!(status, 409);
    let cancel = format!("{}/api/v1/bookings/{winner}/cancel", servers[0].base);
    let cancelled = status_of(client.post(cancel).bearer_auth(&guests[0])).await;
    assert_eq!(cancelled, 200);
    let freed = eventually(50, Duration::from_millis(100), async || {
        book(&client, &servers[1].base, &guests[1], &property, 100, 102)
            .await
            .0
            == 201
    })
    .await;
    assert!(freed, "the other server never learnt the nights were free");
    assert_eq!(app.count(OVERLAPS).await, 0);

    // A price change on one server reaches the other's quotes (and so its
    // charges) at once: its cached copy of the property is dropped.
    let quote = |base: &str| {
        let url = format!(
            "{base}/api/v1/properties/{property}/quote?check_in={}&check_out={}&guests=1",
            days(200),
            days(202)
        );
        let client = client.clone();
        async move {
            let body: serde_json::Value = client
                .get(url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .json()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            body["subtotal"].as_i64()
        }
    };
    assert_eq!(quote(&servers[1].base).await, Some(20_100));
    let patched = status_of(
        client
            .patch(format!("{}/api/v1/properties/{property}", servers[0].base))
            .bearer_auth(&host.token)
            .json(&json!({"price_per_night": 20_000})),
    )
    .await;
    assert_eq!(patched, 200);
    let repriced = eventually(50, Duration::from_millis(20), async || {
        quote(&servers[1].base).await == Some(40_000)
    })
    .await;
    assert!(repriced, "the other server kept quoting the old price");
}

/// A storm's fixture: six guests, a host's five listings, and 600 random
/// stays over them.
struct Storm {
    guests: Vec<String>,
    properties: Vec<String>,
    stays: Vec<(usize, i64, i64)>,
}

impl Storm {
    async fn new(app: &TestApp) -> Storm {
        let host = app.register("host").await;
        let guests = app.register_all(["guest"; 6]).await;
        let properties = app
            .list_properties(&host, 5, json!({"max_nights": 30}))
            .await;
        let stays = random_stays(600, properties.len(), 1..150, 1..6);
        Storm {
            guests,
            properties,
            stays,
        }
    }

    /// Starts a server process on `app`'s database and books the stays
    /// there, 50 at once, the n-th by guest `n % 6`. At the 150th answer
    /// `midway` is handed the server (to kill or stop it) while the rest
    /// are in flight. The bookings answered 201 (id, guest index, stay),
    /// and what `midway` returned.
    async fn run<T>(
        &self,
        app: &TestApp,
        client: &reqwest::Client,
        midway: impl FnOnce(Server) -> T,
    ) -> (Vec<(String, usize, (usize, i64, i64))>, T) {
        let server = Server::start(&app.database_url);
        let base = server.base.clone();
        let base = base.as_str();
        let mut midway = Some((server, midway));
        let mut answers = futures_util::stream::iter(self.stays.iter().enumerate())
            .map(|(n, &(p, a, b))| async move {
                let guest = n % self.guests.len();
                let answer =
                    book(client, base, &self.guests[guest], &self.properties[p], a, b).await;
                (answer, guest, (p, a, b))
            })
            .buffer_unordered(50);
        let mut acknowledged = Vec::new();
        let mut answered = 0;
        let mut outcome = None;
        while let Some(((status, booking), guest, stay)) = answers.next().await {
            answered += 1;
            if status == 201 {
                acknowledged.push((booking, guest, stay));
            }
            if answered == 150
                && let Some((server, midway)) = midway.take()
            {
                outcome = Some(midway(server));
            }
        }
        let outcome = outcome.unwrap_or_else(|| panic!("the storm ended before its midway"));
        (acknowledged, outcome)
    }

    /// After the first server's end (`how`): a server restarted on `app`'s
    /// database shows each acknowledged booking to its guest, and no two
    /// stays overlap. The restarted server.
    async fn assert_kept(
        &self,
        app: &TestApp,
        client: &reqwest::Client,
        acknowledged: &[(String, usize, (usize, i64, i64))],
        how: &str,
    ) -> Server {
        assert!(!acknowledged.is_empty());
        let restarted = Server::start(&app.database_url);
        for (booking, guest, _) in acknowledged {
            let url = format!("{}/api/v1/bookings/{booking}", restarted.base);
            let found = status_of(client.get(&url).bearer_auth(&self.guests[*guest])).await;
            assert_eq!(found, 200, "acknowledged booking {booking} lost {how}");
        }
        assert_eq!(app.count(OVERLAPS).await, 0);
        restarted
    }
}

async fn killed_mid_storm_keeps_every_acknowledged_booking(app: TestApp) {
    let storm = Storm::new(&app).await;
    let client = http_client();
    let (acknowledged, ()) = storm.run(&app, &client, Server::kill).await;
    let restarted = storm
        .assert_kept(&app, &client, &acknowledged, "in the crash")
        .await;
    // And the restarted server still refuses what is taken.
    for &(_, _, (p, a, b)) in acknowledged.iter().take(20) {
        let (status, _) = book(
            &client,
            &restarted.base,
            &storm.guests[0],
            &storm.properties[p],
            a,
            b,
        )
        .await;
        assert_eq!(
            status, 409,
            "({a}, {b}) on property {p} was sold again after the restart"
        );
    }
}

/// SIGTERM in the middle of a booking storm (what an orchestrator sends on
/// every deploy): the server stops taking connections, answers what it
/// has accepted, stops its background tasks while its runtime still runs,
/// and exits 0 with no panic on the way out. Its job worker is kept busy
/// with a long queue of no-op jobs, so SIGTERM finds it inside a claim or
/// a completion: a connection it held, dropped by the runtime's teardown,
/// once panicked here. Every booking the server acknowledged is there
/// after a restart, and no two stays overlap.
async fn terminated_mid_storm_exits_cleanly(app: TestApp) {
    let store = innkeep::store::connect(&innkeep::store::StoreConfig {
        database_url: app.database_url.clone(),
        connections: 2,
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let jobs: Vec<innkeep::jobs::NewJob> = (0..30_000)
        .map(|i| innkeep::jobs::NewJob::new("noop", format!("busy:{i}"), json!({})))
        .collect();
    store
        .enqueue_many(&jobs, chrono::Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let storm = Storm::new(&app).await;
    let client = http_client();
    let (acknowledged, stopping) = storm
        .run(&app, &client, |mut server| {
            // Waited for off this thread: the storm goes on meanwhile.
            tokio::task::spawn_blocking(move || {
                let exit = server.terminate(Duration::from_secs(45));
                (exit, server.stderr())
            })
        })
        .await;
    let (exit, stderr) = stopping
        .await
        .unwrap_or_else(|e| panic!("waiting for the exit: {e}"));
    assert!(
        !stderr.contains("panicked"),
        "the server panicked on SIGTERM:\n{stderr}"
    );
    let exit = exit.unwrap_or_else(|| panic!("still running 45 s after SIGTERM:\n{stderr}"));
    assert!(exit.success(), "exit {exit} after SIGTERM:\n{stderr}");
    storm
        .assert_kept(&app, &client, &acknowledged, "on SIGTERM")
        .await;
}

/// The outbox is durable: a refund decided, failing at the gateway, then
/// the process killed (SIGKILL) is carried out by the next process, once.
async fn a_refund_owed_when_the_server_dies_is_sent_after_restart(app: TestApp) {
    let (_, guest, property) = app
        .listing(json!({"cancellation_policy": "flexible"}))
        .await;
    let guest = guest.token;
    let client = http_client();
    let first = Server::start_with(&app.database_url, true);
    let post = |base: String, path: String, token: Option<String>, body: serde_json::Value| {
        let client = client.clone();
        async move {
            let mut req = client.post(format!("{base}{path}")).json(&body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
            let status = res.status().as_u16();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            (status, body)
        }
    };
    let (status, booking) = post(
        first.base.clone(),
        "/api/v1/bookings".into(),
        Some(guest.clone()),
        json!({"property_id": property, "check_in": days(30), "check_out": days(33), "guests": 1}),
    )
    .await;
    assert_eq!(status, 201, "{booking}");
    let (status, _) = post(
        first.base.clone(),
        format!("/api/v1/dev/payment_intents/{}/succeed", intent(&booking)),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    // Every gateway call of this process fails from now on.
    let (status, _) = post(
        first.base.clone(),
        "/api/v1/dev/gateway/faults".into(),
        None,
        json!({"transient": 1000}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, cancelled) = post(
        first.base.clone(),
        format!("/api/v1/bookings/{}/cancel", id(&booking)),
        Some(guest.clone()),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(cancelled["payment"]["status"], "succeeded", "refund owed");
    first.kill();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'payment.refund' AND status IN ('queued', 'running')")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM dev_refunds").await, 0);

    // A new process (no faults) finds the job and sends the refund once.
    let second = Server::start_with(&app.database_url, true);
    let refunded = eventually(100, Duration::from_millis(100), async || {
        let booking = client
            .get(format!("{}/api/v1/bookings/{}", second.base, id(&booking)))
            .bearer_auth(&guest)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json::<serde_json::Value>()
            .await
            .unwrap_or_default();
        booking["payment"]["status"] == "refunded"
    })
    .await;
    assert!(refunded, "the refund was never sent after the restart");
    assert_eq!(app.count("SELECT COUNT(*) FROM dev_refunds").await, 1);
    drop(second);
    app.assert_ledger_clean().await;
}

/// Two servers on one PostgreSQL, no Redis: a GraphQL subscriber on one
/// sees a booking made on the other (PostgreSQL's notifications), and a
/// listing changed on one is served changed by the other at once (its
/// cached JSON is dropped with the notice, not left to its TTL).
#[actix_web::test]
async fn changes_on_one_server_reach_the_other() {
    let Some(app) = spawn(Backend::Postgres).await else {
        return;
    };
    let host = app.register("host").await;
    let guest = app.register("guest").await;
    let property = app.list_property(&host, json!({"title": "Before"})).await;
    let servers = [
        Server::start(&app.database_url),
        Server::start(&app.database_url),
    ];
    let client = http_client();
    let listing = |base: &str| {
        let url = format!("{base}/api/v1/properties/{property}");
        let client = client.clone();
        async move {
            let body: serde_json::Value = client
                .get(url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .json()
                .await
                .unwrap_or_default();
            body["title"].as_str().unwrap_or_default().to_owned()
        }
    };
    assert_eq!(listing(&servers[1].base).await, "Before"); // cached there now
    let mut watcher = crate::support::subscriber_at(&servers[1].base, None).await;
    let sub = watcher
        .subscribe(
            "subscription($p: ID!) { availabilityChanged(propertyId: $p) { unavailable { start end } } }",
            json!({"p": property}),
        )
        .await;
    let first = watcher.next_data(&sub, Duration::from_secs(3)).await;
    assert!(first.is_some(), "no first push");
    let (status, _) = book(&client, &servers[0].base, &guest.token, &property, 10, 12).await;
    assert_eq!(status, 201);
    let pushed = watcher
        .next_data(&sub, Duration::from_secs(2))
        .await
        .unwrap_or_else(|| panic!("the other server's subscriber heard nothing"));
    assert_eq!(
        pushed["data"]["availabilityChanged"]["unavailable"],
        json!([{"start": days(10), "end": days(12)}])
    );
    let patched = client
        .patch(format!("{}/api/v1/properties/{property}", servers[0].base))
        .bearer_auth(&host.token)
        .json(&json!({"title": "After"}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert_eq!(patched, 200);
    // 5 s: far below the 60 s a stale copy would be kept, and room for a
    // NOTIFY on a machine busy with every other test.
    let fresh = eventually(100, Duration::from_millis(50), async || {
        listing(&servers[1].base).await == "After"
    })
    .await;
    assert!(fresh, "the other server kept serving the old listing");
}

/// A web-only server (`--no-workers`) on a fresh PostgreSQL database, and
/// its store for the test to enqueue jobs with; `None` without PostgreSQL.
async fn web_only_server() -> Option<(TestApp, std::sync::Arc<dyn innkeep::store::Store>)> {
    let options = Options {
        tweak: |config| config.no_workers = true,
        ..Options::default()
    };
    let app = spawn_with(Backend::Postgres, options).await?;
    let store = innkeep::store::connect(&innkeep::store::StoreConfig {
        database_url: app.database_url.clone(),
        connections: 2,
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    Some((app, store))
}

/// An `innkeep worker` process on `database_url`, with `env` on top.
fn worker_process(database_url: &str, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_innkeep"))
        .arg("worker")
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting innkeep worker: {e}"))
}

#[actix_web::test]
async fn worker_processes_run_the_queue_of_a_web_only_server() {
    let Some((app, store)) = web_only_server().await else {
        return;
    };
    let mut workers = [
        worker_process(&app.database_url, &[]),
        worker_process(&app.database_url, &[]),
    ];
    let jobs: Vec<innkeep::jobs::NewJob> = (0..500)
        .map(|i| innkeep::jobs::NewJob::new("noop", format!("noop:{i}"), json!(null)))
        .collect();
    let added = store
        .enqueue_many(&jobs, chrono::Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(added, 500);
    let drained = eventually(150, Duration::from_millis(100), async || {
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'noop' AND status = 'done'")
            .await
            == 500
            && app
                .count(
                    "SELECT COUNT(*) FROM jobs WHERE kind = 'bookings.sweep' AND status = 'done'",
                )
                .await
                >= 2
    })
    .await;
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    assert!(
        drained,
        "the workers left {} noop jobs and ran {} sweeps",
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'noop' AND status <> 'done'")
            .await,
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'bookings.sweep' AND status = 'done'")
            .await
    );
    // Each noop ran in one attempt: no job was claimed by both.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'noop' AND attempts <> 1")
            .await,
        0
    );

    // A SQLite database belongs to its one server: no worker process.
    let sqlite = std::env::temp_dir().join(format!("innkeep-worker-{}.db", uuid::Uuid::now_v7()));
    let refused = Command::new(env!("CARGO_BIN_EXE_innkeep"))
        .arg("worker")
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", sqlite.display()))
        .env("JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!refused.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(said.contains("needs PostgreSQL"), "{said}");
    assert!(!sqlite.exists(), "the refused worker created the database");
}

/// A worker killed with SIGKILL in the middle of 1,000 jobs: after a
/// restart every job is done, each once (its row reaches `done` once), the
/// ones it was running are run again after their lease (attempt 2), and
/// none is lost or dead.
#[actix_web::test]
async fn a_worker_killed_mid_queue_leaves_every_job_done_once_after_restart() {
    let Some((app, store)) = web_only_server().await else {
        return;
    };
    let worker = || worker_process(&app.database_url, &[("INNKEEP_JOB_LEASE_SECS", "2")]);
    // Each job takes 50 ms: a batch of 256 runs 32 at a time for ~0.4 s.
    let jobs: Vec<innkeep::jobs::NewJob> = (0..1_000)
        .map(|i| innkeep::jobs::NewJob::new("noop", format!("slow:{i}"), json!({"ms": 50})))
        .collect();
    store
        .enqueue_many(&jobs, chrono::Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let count = |status: &'static str| {
        let app = &app;
        async move {
            app.count(&format!(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'noop' AND status = '{status}'"
            ))
            .await
        }
    };
    let mut first = worker();
    let midway = eventually(300, Duration::from_millis(20), async || {
        count("done").await >= 200 && count("running").await > 0
    })
    .await;
    let _ = first.kill();
    let _ = first.wait();
    assert!(midway, "the worker never got midway");
    let (done_at_kill, running_at_kill) = (count("done").await, count("running").await);
    assert!(
        done_at_kill < 1_000 && running_at_kill > 0,
        "{done_at_kill} done, {running_at_kill} running"
    );
    let mut second = worker();
    let finished = eventually(300, Duration::from_millis(100), async || {
        count("done").await == 1_000
    })
    .await;
    let _ = second.kill();
    let _ = second.wait();
    assert!(
        finished,
        "after the restart: {} done, {} running, {} queued, {} dead",
        count("done").await,
        count("running").await,
        count("queued").await,
        count("dead").await
    );
    assert_eq!(count("dead").await, 0);
    // The jobs the killed worker held ran again (a second attempt), no job
    // a third time, and each job is one row, done once.
    let retried = app
        .count("SELECT COUNT(*) FROM jobs WHERE kind = 'noop' AND attempts = 2")
        .await;
    assert!(
        retried >= running_at_kill,
        "{retried} retried of {running_at_kill} running at the kill"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'noop' AND attempts > 2")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(DISTINCT key) FROM jobs WHERE kind = 'noop' AND status = 'done'")
            .await,
        1_000
    );
}
