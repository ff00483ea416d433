//! Test harness: each test starts the real server (actix-web on a random
//! port) on a fresh database, SQLite always, PostgreSQL when
//! `TEST_POSTGRES_URL` is set (one new database per test, dropped after),
//! and Redis as the cache when `TEST_REDIS_URL` is set (one key prefix per
//! test). Tests then speak HTTP to it.
//!
//! Here: the server, HTTP, the database behind it and `both_stores!`.
//! `arrange` holds what stories start from (users, listings, bookings,
//! payments, the clock); `stripe_events` what Stripe sends.

mod arrange;
mod graphql;
pub mod skips;
mod stripe_events;

pub use arrange::*;
pub use graphql::*;
pub use stripe_events::*;

use std::path::PathBuf;
use std::sync::Arc;

use innkeep::config::{Config, StoreArgs};
use innkeep::startup::Application;
use innkeep_actors::DevClock;
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;
use sqlx::Connection;
use uuid::Uuid;

use crate::fake_stripe::FakeStripe;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub client: reqwest::Client,
    /// The server's clock, which the test moves (`set_clock`).
    pub clock: Arc<DevClock>,
    server: actix_web::dev::ServerHandle,
    _db: DbGuard,
}

/// The secret every test server (and process) signs tokens with.
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// The Stripe webhook secret of every test server, unless a test says none.
pub const WEBHOOK_SECRET: &str = "whsec_innkeep_test_0123456789";

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status, and for errors that the body is problem+json.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        if status >= 400 {
            assert_eq!(
                self.content_type(),
                "application/problem+json",
                "body: {}",
                self.text
            );
            assert_eq!(
                self.body["status"], status,
                "problem status; body: {}",
                self.text
            );
        }
        &self.body
    }
}

pub struct Options {
    pub dev: bool,
    pub calendar_idle_secs: u64,
    pub webhook_secret: Option<&'static str>,
    /// A (fake) Stripe API base: the Stripe gateway instead of the dev one.
    pub stripe_api_base: Option<String>,
    /// Any other setting, laid over the test configuration last.
    pub tweak: fn(&mut Config),
    /// Reach PostgreSQL through this loopback port (a `TcpProxy` the test
    /// owns) instead of directly.
    pub postgres_via: Option<u16>,
    /// Reach Redis through this loopback port, likewise.
    pub redis_via: Option<u16>,
    /// Send notification e-mail through this SMTP server.
    pub smtp_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dev: true,
            calendar_idle_secs: 300,
            webhook_secret: Some(WEBHOOK_SECRET),
            stripe_api_base: None,
            tweak: |_| {},
            postgres_via: None,
            redis_via: None,
            smtp_url: None,
        }
    }
}

/// Limits for stories that make many bookings as few guests (storms):
/// as a load test would set them.
pub fn storm_limits(config: &mut Config) {
    config.max_holds = 100_000;
    config.bookings_per_minute = 0;
}

pub async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, Options::default()).await
}

/// A server on SQLite (always there, unlike PostgreSQL) with `options`,
/// for the stories that need one store only.
pub async fn spawn_sqlite(options: Options) -> TestApp {
    spawn_with(Backend::Sqlite, options)
        .await
        .unwrap_or_else(|| panic!("SQLite needs no configuration"))
}

/// A new database of `backend` for one test, gone with its guard (SQLite:
/// a file not yet created); `None` for PostgreSQL when TEST_POSTGRES_URL is
/// unset. `postgres_via`: the URL reaches it through this port (a test's
/// proxy).
pub async fn fresh_database(
    backend: Backend,
    postgres_via: Option<u16>,
) -> Option<(String, DbGuard)> {
    Some(match backend {
        Backend::Sqlite => {
            let path =
                std::env::temp_dir().join(format!("innkeep-test-{}.db", Uuid::now_v7().simple()));
            (
                format!("sqlite://{}", path.display()),
                DbGuard::Sqlite(path),
            )
        }
        Backend::Postgres => {
            let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
                skips::skip("TEST_POSTGRES_URL", "a PostgreSQL run");
                return None;
            };
            let name = format!("innkeep_t_{}", Uuid::now_v7().simple());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("TEST_POSTGRES_URL {admin}: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
            let server_url = match postgres_via {
                Some(port) => with_port(&with_database(&admin, &name), port),
                None => with_database(&admin, &name),
            };
            (server_url, DbGuard::Postgres { admin, name })
        }
    })
}

pub async fn spawn_with(backend: Backend, options: Options) -> Option<TestApp> {
    // Server logs only when asked for (RUST_LOG=…), so failures stay readable.
    if std::env::var_os("RUST_LOG").is_some() {
        innkeep::telemetry::init();
    }
    let (database_url, guard) = fresh_database(backend, options.postgres_via).await?;
    let clock = Arc::new(DevClock::new());
    // Built from the defaults, never from the developer's environment.
    let mut config = Config {
        bind: "127.0.0.1:0".into(),
        store: StoreArgs {
            database_url: database_url.clone(),
            db_pool: 8,
        },
        jwt_secret: Some(JWT_SECRET.into()),
        dev: options.dev,
        workers: Some(2),
        calendar_idle_secs: options.calendar_idle_secs,
        stripe_webhook_secret: options.webhook_secret.map(str::to_owned),
        clock: Some(clock.clone()),
        ..Config::default()
    };
    config.smtp_url = options.smtp_url;
    // Calendar feeds from loopback only: no test reaches the outside.
    config.fetch_loopback_only = true;
    if let Some(base) = options.stripe_api_base {
        config.stripe_secret_key = Some("sk_test_innkeep_fake".into());
        config.stripe_api_base = Some(base);
        config.stripe_timeout_secs = 1;
    }
    if let Ok(redis) = std::env::var("TEST_REDIS_URL") {
        config.redis_url = Some(match options.redis_via {
            Some(port) => with_port(&redis, port),
            None => redis,
        });
        config.redis_prefix = format!("innkeep-test:{}:", Uuid::now_v7().simple());
    }
    (options.tweak)(&mut config);
    let app = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("starting innkeep: {e:?}"));
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = app.server().handle();
    actix_web::rt::spawn(app.run_until_stopped());
    Some(TestApp {
        base,
        database_url,
        client: http_client(),
        clock,
        server,
        _db: guard,
    })
}

/// An HTTP client for the test servers that ignores the developer's proxy
/// settings (HTTP_PROXY, ALL_PROXY, …): tests read no environment but
/// TEST_POSTGRES_URL, TEST_REDIS_URL and RUST_LOG.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|e| panic!("building the HTTP client: {e}"))
}

/// `scheme://user@host:port/…` with the port replaced (the host becomes
/// loopback: a test proxy listens there).
pub fn with_port(url: &str, port: u16) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!(
        "{}{}127.0.0.1:{port}{tail}",
        &url[..scheme_end],
        user.unwrap_or_default()
    )
}

/// `postgres://…/db?x` with the database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let base = match head[scheme_end..].find('/') {
        Some(slash) => &head[..scheme_end + slash],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

pub enum DbGuard {
    Sqlite(PathBuf),
    Postgres { admin: String, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        match self {
            Self::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Self::Postgres { admin, name } => {
                let (admin, name) = (admin.clone(), name.clone());
                // Drop runs inside the test's runtime: use a thread of our own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                                let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                                    .execute(&mut conn)
                                    .await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the database guard then removes the database.
        drop(self.server.stop(false));
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {path}: {e}"));
        Self::read(res).await
    }

    pub async fn read(res: reqwest::Response) -> Response {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.send(Method::DELETE, path, token, None).await
    }

    /// A raw body with a given content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        let mut req = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::read(
            req.send()
                .await
                .unwrap_or_else(|e| panic!("request {path}: {e}")),
        )
        .await
    }
}

/// Spawns a server on `backend` and runs `story` against it; nothing when
/// that store is not configured.
pub async fn run<Fut>(backend: Backend, story: impl FnOnce(TestApp) -> Fut)
where
    Fut: Future<Output = ()>,
{
    if let Some(app) = spawn(backend).await {
        story(app).await;
    }
}

/// The same on a server spawned with `options`.
async fn run_with_options<Fut>(
    backend: Backend,
    options: Options,
    story: impl FnOnce(TestApp) -> Fut,
) where
    Fut: Future<Output = ()>,
{
    if let Some(app) = spawn_with(backend, options).await {
        story(app).await;
    }
}

/// The same with the per-guest limits raised as a load test raises them
/// (`storm_limits`), for stories that book a lot as few guests.
pub async fn run_storm<Fut>(backend: Backend, story: impl FnOnce(TestApp) -> Fut)
where
    Fut: Future<Output = ()>,
{
    let options = Options {
        tweak: storm_limits,
        ..Options::default()
    };
    run_with_options(backend, options, story).await;
}

/// The same with calendars that passivate after a second idle, for
/// stories that must see what the store answers without a live calendar.
pub async fn run_passivating<Fut>(backend: Backend, story: impl FnOnce(TestApp) -> Fut)
where
    Fut: Future<Output = ()>,
{
    let options = Options {
        calendar_idle_secs: 1,
        ..Options::default()
    };
    run_with_options(backend, options, story).await;
}

/// The same with no job workers in the server (`--no-workers`), for
/// stories that run workers of their own on its database.
pub async fn run_no_workers<Fut>(backend: Backend, story: impl FnOnce(TestApp) -> Fut)
where
    Fut: Future<Output = ()>,
{
    let options = Options {
        tweak: |config| config.no_workers = true,
        ..Options::default()
    };
    run_with_options(backend, options, story).await;
}

/// The same with the Stripe gateway pointed at a fresh fake Stripe, which
/// the story gets too (to play the card holder and to inject faults).
pub async fn run_with_fake_stripe<Fut>(
    backend: Backend,
    story: impl FnOnce(TestApp, FakeStripe) -> Fut,
) where
    Fut: Future<Output = ()>,
{
    let stripe = FakeStripe::start().await;
    // The dev endpoints never run beside a Stripe key; the test moves the
    // clock directly (`TestApp::clock`).
    let options = Options {
        dev: false,
        stripe_api_base: Some(stripe.base.clone()),
        ..Options::default()
    };
    if let Some(app) = spawn_with(backend, options).await {
        story(app, stripe).await;
    }
}

/// Runs each named story once per store: `sqlite::name` always,
/// `postgres::name` when TEST_POSTGRES_URL is set.
///
/// `both_stores!(a, b)` gives each story a `TestApp` on the dev gateway;
/// `both_stores!(fake_stripe: a, b)` a `TestApp` on the Stripe gateway and
/// the `FakeStripe` behind it (see `run_with_fake_stripe`).
#[macro_export]
macro_rules! both_stores {
    (@store $store:ident, $backend:ident, $run:path; $($story:ident),*) => {
        mod $store {
            $(
                #[actix_web::test]
                async fn $story() {
                    $run($crate::support::Backend::$backend, super::$story).await;
                }
            )*
        }
    };
    (@each $run:path; $($story:ident),*) => {
        $crate::both_stores!(@store sqlite, Sqlite, $run; $($story),*);
        $crate::both_stores!(@store postgres, Postgres, $run; $($story),*);
    };
    (fake_stripe: $($story:ident),* $(,)?) => {
        $crate::both_stores!(@each $crate::support::run_with_fake_stripe; $($story),*);
    };
    (storm: $($story:ident),* $(,)?) => {
        $crate::both_stores!(@store sqlite_storm, Sqlite, $crate::support::run_storm; $($story),*);
        $crate::both_stores!(@store postgres_storm, Postgres, $crate::support::run_storm; $($story),*);
    };
    (no_workers: $($story:ident),* $(,)?) => {
        $crate::both_stores!(@store sqlite_no_workers, Sqlite, $crate::support::run_no_workers; $($story),*);
        $crate::both_stores!(@store postgres_no_workers, Postgres, $crate::support::run_no_workers; $($story),*);
    };
    (passivating: $($story:ident),* $(,)?) => {
        $crate::both_stores!(@store sqlite_passivating, Sqlite, $crate::support::run_passivating; $($story),*);
        $crate::both_stores!(@store postgres_passivating, Postgres, $crate::support::run_passivating; $($story),*);
    };
    ($($story:ident),* $(,)?) => {
        $crate::both_stores!(@each $crate::support::run; $($story),*);
    };
}

/// Binds `$conn` to a new connection to the database at `$url`, PostgreSQL
/// or SQLite, and evaluates `$body` with it; connection errors are returned
/// as `Err(String)`.
macro_rules! on_database {
    ($url:expr, |$conn:ident| $body:expr) => {
        if $url.starts_with("postgres") {
            let mut $conn = sqlx::PgConnection::connect($url)
                .await
                .map_err(|e| e.to_string())?;
            $body
        } else {
            let mut $conn = sqlx::SqliteConnection::connect($url)
                .await
                .map_err(|e| e.to_string())?;
            $body
        }
    };
}

impl TestApp {
    /// Runs `innkeep ledger verify` on this test's database; panics unless
    /// it exits 0.
    pub async fn assert_ledger_clean(&self) {
        self.command(&["ledger", "verify"]).await;
    }

    /// Runs the `innkeep` command with `args` on this test's database, in a
    /// clean environment (only what the command needs); panics unless it
    /// exits 0. Returns what it logged.
    pub async fn command(&self, args: &[&str]) -> String {
        let url = self.database_url.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let shown = args.join(" ");
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_innkeep"))
                .args(&args)
                .env_clear()
                .env("DATABASE_URL", url)
                .env("RUST_LOG", "info")
                .output()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("running innkeep {shown}: {e}"));
        let logged = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "innkeep {shown} failed:\n{logged}");
        logged
    }

    /// Runs one SQL statement straight on this test's database (to count
    /// rows, or to try what the API would never do).
    pub async fn sql(&self, statement: &str) -> Result<u64, String> {
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        on_database!(&self.database_url, |conn| sqlx::query(statement)
            .execute(&mut conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string()))
    }

    /// `SELECT COUNT(*) …` (or any one BIGINT) on this test's database.
    pub async fn count(&self, query: &str) -> i64 {
        self.scalar(query)
            .await
            .unwrap_or_else(|e| panic!("counting with {query}: {e}"))
    }

    /// How many ledger transactions there are, of any kind.
    pub async fn transactions(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM ledger_transactions").await
    }

    /// How many ledger transactions of `kind` (capture, refund_sent,
    /// payout, …) there are.
    pub async fn transactions_of(&self, kind: &str) -> i64 {
        self.count(&format!(
            "SELECT COUNT(*) FROM ledger_transactions WHERE kind = '{kind}'"
        ))
        .await
    }

    /// How many times the outbox tried its (one) job of `kind` (refund,
    /// capture, …).
    pub async fn job_attempts(&self, kind: &str) -> i64 {
        self.count(&format!(
            "SELECT CAST(attempts AS BIGINT) FROM jobs WHERE kind = 'payment.{kind}'"
        ))
        .await
    }

    async fn scalar(&self, query: &str) -> Result<i64, String> {
        let query = sqlx::AssertSqlSafe(query.to_owned());
        on_database!(&self.database_url, |conn| sqlx::query_scalar::<_, i64>(
            query
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string()))
    }
}

/// The jobs an `innkeep jobs …` command printed as JSON lines (logs go to
/// stderr, and `command` joins both, so only lines that parse as jobs
/// count).
pub fn printed_jobs(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("key").is_some() && v.get("attempts").is_some())
        .collect()
}

/// Counts the active calendar ranges of one property that overlap
/// another: must be 0.
pub const OVERLAPS: &str = "SELECT count(*) FROM calendar_entries a JOIN calendar_entries b \
    ON a.property_id = b.property_id AND a.id < b.id \
    WHERE a.active AND b.active AND a.start_date < b.end_date AND b.start_date < a.end_date";

/// A store of the test's own on the server's database: another process's
/// view of it (to write behind the server's back, or run workers).
pub async fn store_of(app: &TestApp) -> Arc<dyn innkeep::store::Store> {
    innkeep::store::connect(&innkeep::store::StoreConfig {
        database_url: app.database_url.clone(),
        connections: 8,
    })
    .await
    .unwrap_or_else(|e| panic!("connecting to the test database: {e}"))
}
