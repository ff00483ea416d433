//! Test harness: each test starts the real server (actix-web on a random
//! port) on a fresh database, SQLite always, PostgreSQL when
//! `TEST_POSTGRES_URL` is set (one new database per test, dropped after),
//! and Redis as the cache when `TEST_REDIS_URL` is set (one key prefix per
//! test). Tests then speak HTTP to it.

use std::path::PathBuf;
use std::str::FromStr;

use innkeep::config::{Config, StoreArgs};
use innkeep::startup::Application;
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub client: reqwest::Client,
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
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dev: true,
            calendar_idle_secs: 300,
            webhook_secret: Some(WEBHOOK_SECRET),
            stripe_api_base: None,
        }
    }
}

pub async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, Options::default()).await
}

pub async fn spawn_with(backend: Backend, options: Options) -> Option<TestApp> {
    // Server logs only when asked for (RUST_LOG=…), so failures stay readable.
    if std::env::var_os("RUST_LOG").is_some() {
        innkeep::telemetry::init();
    }
    let (database_url, guard) = match backend {
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
                eprintln!("TEST_POSTGRES_URL is not set: skipping the PostgreSQL run of this test");
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
            (
                with_database(&admin, &name),
                DbGuard::Postgres { admin, name },
            )
        }
    };
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
        ..Config::default()
    };
    if let Some(base) = options.stripe_api_base {
        config.stripe_secret_key = Some("sk_test_innkeep_fake".into());
        config.stripe_api_base = Some(base);
        config.stripe_timeout_secs = 1;
    }
    if let Ok(redis) = std::env::var("TEST_REDIS_URL") {
        config.redis_url = Some(redis);
        config.redis_prefix = format!("innkeep-test:{}:", Uuid::now_v7().simple());
    }
    let app = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("starting innkeep: {e:?}"));
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = app.server().handle();
    actix_web::rt::spawn(app.run_until_stopped());
    Some(TestApp {
        base,
        database_url,
        client: reqwest::Client::new(),
        server,
        _db: guard,
    })
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

enum DbGuard {
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

    /// Registers a fresh user; returns (access token, user id, body).
    pub async fn register(&self, name: &str) -> (String, String, Value) {
        let email = format!("{name}-{}@example.com", Uuid::now_v7().simple());
        let res = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": email, "password": "correct horse battery", "name": name}),
            )
            .await;
        let body = res.expect(201).clone();
        let token = body["access_token"].as_str().unwrap_or_default().to_owned();
        let id = body["user"]["id"].as_str().unwrap_or_default().to_owned();
        (token, id, body)
    }

    /// Signs in a user made by `register`; returns a fresh access token.
    pub async fn login(&self, email: &str) -> String {
        let res = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        res.expect(200)["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Creates a property from `overrides` laid over a valid default body.
    pub async fn create_property(&self, token: &str, overrides: Value) -> Value {
        let mut body = json!({
            "title": "Sunny loft", "description": "Near the river", "city": "Lisbon",
            "country": "Portugal", "latitude": 38.72, "longitude": -9.14,
            "price_per_night": 10_050, "currency": "EUR", "cleaning_fee": 2_500,
            "max_guests": 4, "bedrooms": 2, "amenities": ["wifi", "kitchen"],
            "cancellation_policy": "moderate", "instant_book": true,
            "min_nights": 1, "max_nights": 30
        });
        if let (Some(base), Some(extra)) = (body.as_object_mut(), overrides.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        self.post("/api/v1/properties", Some(token), body)
            .await
            .expect(201)
            .clone()
    }
}

/// Runs each named story once per store: `sqlite::name` always,
/// `postgres::name` when TEST_POSTGRES_URL is set.
#[macro_export]
macro_rules! both_stores {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $story() {
                    if let Some(app) = $crate::support::spawn($crate::support::Backend::Sqlite).await {
                        super::$story(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $story() {
                    if let Some(app) = $crate::support::spawn($crate::support::Backend::Postgres).await {
                        super::$story(app).await;
                    }
                }
            )*
        }
    };
}

impl TestApp {
    /// Runs `innkeep ledger verify` on this test's database; panics unless
    /// it exits 0.
    pub async fn assert_ledger_clean(&self) {
        let url = self.database_url.clone();
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_innkeep"))
                .args(["ledger", "verify"])
                .env("DATABASE_URL", url)
                .env("RUST_LOG", "info")
                .output()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("running innkeep ledger verify: {e}"));
        assert!(
            output.status.success(),
            "ledger verify failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs one SQL statement straight on this test's database (to count
    /// rows, or to try what the API would never do).
    pub async fn sql(&self, statement: &str) -> Result<u64, String> {
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        if self.database_url.starts_with("postgres") {
            let mut conn = sqlx::PgConnection::connect(&self.database_url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(statement)
                .execute(&mut conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
    }

    /// `SELECT COUNT(*) …` on this test's database.
    pub async fn count(&self, query: &str) -> i64 {
        let query = sqlx::AssertSqlSafe(query.to_owned());
        let result = if self.database_url.starts_with("postgres") {
            let mut conn = sqlx::PgConnection::connect(&self.database_url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sqlx::query_scalar::<_, i64>(query)
                .fetch_one(&mut conn)
                .await
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sqlx::query_scalar::<_, i64>(query)
                .fetch_one(&mut conn)
                .await
        };
        result.unwrap_or_else(|e| panic!("counting: {e}"))
    }

    /// Books `property` for [check_in, check_out) as `token`'s user.
    pub async fn book(
        &self,
        token: &str,
        property: &str,
        check_in: &str,
        check_out: &str,
    ) -> Response {
        self.post(
            "/api/v1/bookings",
            Some(token),
            json!({"property_id": property, "check_in": check_in, "check_out": check_out, "guests": 1}),
        )
        .await
    }

    /// Polls the booking (up to 10 s) until `done` holds for it; `what`
    /// names the wait in the failure.
    pub async fn wait_for_booking(
        &self,
        token: &str,
        id: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..100 {
            let b = self
                .get(&format!("/api/v1/bookings/{id}"), Some(token))
                .await
                .expect(200)
                .clone();
            if done(&b) {
                return b;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("booking {id} never reached {what}");
    }

    /// Polls the booking until its status is `status` (the sweeps run each second).
    pub async fn wait_for_status(&self, token: &str, id: &str, status: &str) -> Value {
        self.wait_for_booking(token, id, status, |b| b["status"] == status)
            .await
    }

    /// Polls the booking until its payment status is `status` (the outbox
    /// retries with backoff).
    pub async fn wait_for_payment_status(&self, token: &str, id: &str, status: &str) -> Value {
        self.wait_for_booking(token, id, status, |b| b["payment"]["status"] == status)
            .await
    }

    /// Polls `GET /users/me/balance` until `field` is `value`; returns the balance.
    pub async fn wait_for_balance(&self, token: &str, field: &str, value: i64) -> Value {
        let mut balance = Value::Null;
        for _ in 0..100 {
            balance = self
                .get("/api/v1/users/me/balance", Some(token))
                .await
                .expect(200)
                .clone();
            if balance[field] == value {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        balance
    }

    /// `POST /bookings/{id}/cancel` as `token`'s user, expecting 200.
    pub async fn cancel(&self, token: &str, booking: &Value) -> Value {
        let id = booking["id"].as_str().unwrap_or_default();
        self.post(
            &format!("/api/v1/bookings/{id}/cancel"),
            Some(token),
            json!({}),
        )
        .await
        .expect(200)
        .clone()
    }

    pub async fn unavailable(&self, property: &str, from: i64, to: i64) -> Value {
        self.get(
            &format!(
                "/api/v1/properties/{property}/availability?from={}&to={}",
                days(from),
                days(to)
            ),
            None,
        )
        .await
        .expect(200)["unavailable"]
            .clone()
    }
}

pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

pub fn days(n: i64) -> String {
    (today() + chrono::Duration::days(n)).to_string()
}

#[allow(dead_code)]
pub fn parse_uuid(v: &Value) -> Uuid {
    Uuid::from_str(v.as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("not a uuid {v}: {e}"))
}
