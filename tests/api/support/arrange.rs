//! What stories start from: users, listings, bookings, payments through
//! the dev gateway, the dev clock, balances, and waiting for the sweeps.
//! Each helper asserts the answer it needs (a 201 for a booking it makes,
//! say), so a story's own lines are about what it tests.

use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::join_all;
use rand::Rng;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Response, TestApp};

/// The password of every user `register` makes.
pub const PASSWORD: &str = "correct horse battery";

/// A registered user: the token to act as them, and what signs them in again.
pub struct User {
    pub token: String,
    pub id: String,
    pub email: String,
    /// The `register` answer (tokens and profile).
    pub registered: Value,
}

/// The `id` of an API object.
pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// The payment intent a booking is paid through.
pub fn intent(booking: &Value) -> String {
    booking["payment"]["payment_intent_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Lays each field of `overrides` over `body` (both JSON objects).
pub fn merge(body: &mut Value, overrides: &Value) {
    if let (Some(base), Some(extra)) = (body.as_object_mut(), overrides.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The date `n` days from today, as the API writes it.
pub fn days(n: i64) -> String {
    (today() + chrono::Duration::days(n)).to_string()
}

/// `hour`:00 UTC, `n` days from today (check-in is at 15:00).
pub fn day_at(n: i64, hour: u32) -> DateTime<Utc> {
    (today() + chrono::Duration::days(n))
        .and_hms_opt(hour, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(|| panic!("no {hour}:00 on day {n}"))
}

/// `count` random stays (property index, first day, last day exclusive)
/// over `properties` properties, starting within `starts`, lasting a
/// number of nights within `nights`.
pub fn random_stays(
    count: usize,
    properties: usize,
    starts: Range<i64>,
    nights: Range<i64>,
) -> Vec<(usize, i64, i64)> {
    let mut rng = rand::rng();
    (0..count)
        .map(|_| {
            let start = rng.random_range(starts.clone());
            let property = rng.random_range(0..properties);
            (property, start, start + rng.random_range(nights.clone()))
        })
        .collect()
}

/// The periodic `kind`'s sample of metric `name` in a `/metrics` text.
pub fn periodic_metric(metrics: &str, name: &str, kind: &str) -> Option<f64> {
    let prefix = format!("{name}{{kind=\"{kind}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.parse::<f64>().ok())
}

/// Checks `done` up to `tries` times, waiting `every` after each miss,
/// until it holds; says whether it did.
pub async fn eventually(
    tries: usize,
    every: Duration,
    mut done: impl AsyncFnMut() -> bool,
) -> bool {
    for _ in 0..tries {
        if done().await {
            return true;
        }
        tokio::time::sleep(every).await;
    }
    false
}

#[allow(dead_code)]
pub fn parse_uuid(v: &Value) -> Uuid {
    Uuid::from_str(v.as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("not a uuid {v}: {e}"))
}

/// People and listings.
impl TestApp {
    /// `POST /auth/register` as is.
    pub async fn register_as(&self, email: &str, password: &str, name: &str) -> Response {
        self.post(
            "/api/v1/auth/register",
            None,
            json!({"email": email, "password": password, "name": name}),
        )
        .await
    }

    /// `POST /auth/login` as is.
    pub async fn login_as(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// `POST /auth/refresh` with `refresh_token` as is.
    pub async fn refresh(&self, refresh_token: &Value) -> Response {
        self.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// Registers a fresh user called `name` (a unique e-mail, `PASSWORD`).
    pub async fn register(&self, name: &str) -> User {
        let email = format!("{name}-{}@example.com", Uuid::now_v7().simple());
        let registered = self
            .register_as(&email, PASSWORD, name)
            .await
            .expect(201)
            .clone();
        User {
            token: registered["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            id: registered["user"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            email: registered["user"]["email"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            registered,
        }
    }

    /// Registers a user for each of `names`, all at once; returns their
    /// access tokens.
    pub async fn register_all(&self, names: impl IntoIterator<Item = &str>) -> Vec<String> {
        join_all(names.into_iter().map(|name| self.register(name)))
            .await
            .into_iter()
            .map(|user| user.token)
            .collect()
    }

    /// Signs in a user made by `register`; returns a fresh access token.
    pub async fn login(&self, email: &str) -> String {
        self.login_as(email, PASSWORD).await.expect(200)["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Signs `user` in again: access tokens last 15 minutes, so a story
    /// that moves the clock further needs fresh ones.
    pub async fn sign_in_again(&self, user: &mut User) {
        user.token = self.login(&user.email).await;
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
        merge(&mut body, &overrides);
        self.post("/api/v1/properties", Some(token), body)
            .await
            .expect(201)
            .clone()
    }

    /// `host` lists a property (`create_property`); returns its id.
    pub async fn list_property(&self, host: &User, overrides: Value) -> String {
        id(&self.create_property(&host.token, overrides).await)
    }

    /// `host` lists `count` properties made from `overrides`, all at once;
    /// returns their ids.
    pub async fn list_properties(
        &self,
        host: &User,
        count: usize,
        overrides: Value,
    ) -> Vec<String> {
        join_all((0..count).map(|_| self.create_property(&host.token, overrides.clone())))
            .await
            .iter()
            .map(id)
            .collect()
    }

    /// The start of most stories: (host, guest, property id), a host
    /// ("host") with one property made from `overrides` listed, and a guest
    /// ("guest") to book it.
    pub async fn listing(&self, overrides: Value) -> (User, User, String) {
        let host = self.register("host").await;
        let guest = self.register("guest").await;
        let property = self.list_property(&host, overrides).await;
        (host, guest, property)
    }

    /// `POST /properties/{property}/blocks` for the nights `nights` (days
    /// from today) as `token`'s user.
    pub async fn block(&self, token: &str, property: &str, nights: Range<i64>) -> Response {
        self.post(
            &format!("/api/v1/properties/{property}/blocks"),
            Some(token),
            json!({"start": days(nights.start), "end": days(nights.end)}),
        )
        .await
    }

    /// `GET /properties/{property}/availability` from day `from` to day `to`.
    pub async fn availability(&self, property: &str, from: i64, to: i64) -> Response {
        self.get(
            &format!(
                "/api/v1/properties/{property}/availability?from={}&to={}",
                days(from),
                days(to)
            ),
            None,
        )
        .await
    }

    /// The ranges `availability` reports taken, expecting 200.
    pub async fn unavailable(&self, property: &str, from: i64, to: i64) -> Value {
        self.availability(property, from, to).await.expect(200)["unavailable"].clone()
    }

    /// How many calendar actors are live, from `/metrics`.
    pub async fn live_calendars(&self) -> Option<i64> {
        let text = self.get("/metrics", None).await.text;
        text.lines()
            .find(|l| l.starts_with("innkeep_live_calendars "))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|n| n.parse::<i64>().ok())
    }

    /// Waits (up to 5 s) until every calendar actor has passivated (an app
    /// spawned with `calendar_idle_secs: 1`); whether they did.
    pub async fn all_calendars_passivated(&self) -> bool {
        for _ in 0..50 {
            if self.live_calendars().await == Some(0) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }
}

/// Bookings and the dev gateway.
impl TestApp {
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

    /// Books the nights `nights` (days from today) as `token`'s user,
    /// expecting 201; returns the new booking (pending payment).
    pub async fn booked(&self, token: &str, property: &str, nights: Range<i64>) -> Value {
        self.book(token, property, &days(nights.start), &days(nights.end))
            .await
            .expect(201)
            .clone()
    }

    /// The dev gateway's card holder acts on the booking's intent:
    /// `outcome` is "succeed" or "fail".
    pub async fn dev_intent(&self, booking: &Value, outcome: &str) -> Response {
        self.post(
            &format!("/api/v1/dev/payment_intents/{}/{outcome}", intent(booking)),
            None,
            json!({}),
        )
        .await
    }

    /// The dev gateway's card holder pays (expects 200): instant book
    /// confirms, request to book awaits the host. Returns the intent, its
    /// booking under "booking".
    pub async fn dev_pay(&self, booking: &Value) -> Value {
        self.dev_intent(booking, "succeed")
            .await
            .expect(200)
            .clone()
    }

    /// `booked` and `dev_pay`; returns the booking as it was made.
    pub async fn paid_booking(&self, token: &str, property: &str, nights: Range<i64>) -> Value {
        let booking = self.booked(token, property, nights).await;
        self.dev_pay(&booking).await;
        booking
    }

    /// Stays that happened: each of `nights` booked and paid by `guest`
    /// (instant book), then the clock moved to noon the day after the last
    /// check-out and every stay seen `completed` by the sweep. The guest
    /// and `others` are signed in again (the jump outlives their tokens).
    /// Returns the bookings as they are now.
    pub async fn completed_stays(
        &self,
        guest: &mut User,
        others: &mut [&mut User],
        property: &str,
        nights: &[Range<i64>],
    ) -> Vec<Value> {
        let mut stays = Vec::new();
        for stay in nights {
            stays.push(
                self.paid_booking(&guest.token, property, stay.clone())
                    .await,
            );
        }
        let last = nights.iter().map(|n| n.end).max().unwrap_or(1);
        self.set_clock(day_at(last + 1, 12)).await;
        self.sign_in_again(guest).await;
        for other in others.iter_mut() {
            self.sign_in_again(other).await;
        }
        let mut done = Vec::new();
        for stay in &stays {
            done.push(self.wait_for_status(&guest.token, stay, "completed").await);
        }
        done
    }

    /// One paid stay over `nights`, completed as [`Self::completed_stays`] does.
    pub async fn completed_stay(
        &self,
        guest: &mut User,
        others: &mut [&mut User],
        property: &str,
        nights: Range<i64>,
    ) -> Value {
        let mut stays = self
            .completed_stays(guest, others, property, &[nights])
            .await;
        stays.remove(0)
    }

    /// The next `n` calls to the dev gateway time out.
    pub async fn gateway_faults(&self, n: u32) {
        self.post("/api/v1/dev/gateway/faults", None, json!({"transient": n}))
            .await
            .expect(200);
    }

    /// `GET /bookings/{id}` as `token`'s user, expecting 200.
    pub async fn booking(&self, token: &str, booking: &Value) -> Value {
        self.get(&format!("/api/v1/bookings/{}", id(booking)), Some(token))
            .await
            .expect(200)
            .clone()
    }

    /// `POST /bookings/{id}/{action}` (cancel, accept, decline) as `token`'s user.
    pub async fn booking_action(&self, token: &str, booking: &Value, action: &str) -> Response {
        self.post(
            &format!("/api/v1/bookings/{}/{action}", id(booking)),
            Some(token),
            json!({}),
        )
        .await
    }

    /// The host accepts a request to book.
    pub async fn accept(&self, token: &str, booking: &Value) -> Response {
        self.booking_action(token, booking, "accept").await
    }

    /// The host declines a request to book.
    pub async fn decline(&self, token: &str, booking: &Value) -> Response {
        self.booking_action(token, booking, "decline").await
    }

    /// `POST /bookings/{id}/cancel` as `token`'s user, expecting 200.
    pub async fn cancel(&self, token: &str, booking: &Value) -> Value {
        self.booking_action(token, booking, "cancel")
            .await
            .expect(200)
            .clone()
    }

    /// Polls the booking (up to 10 s) until `done` holds for it; `what`
    /// names the wait in the failure.
    pub async fn wait_for_booking(
        &self,
        token: &str,
        booking: &Value,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..100 {
            let b = self.booking(token, booking).await;
            if done(&b) {
                return b;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("booking {} never reached {what}", id(booking));
    }

    /// Polls the booking until its status is `status` (the sweeps run each second).
    pub async fn wait_for_status(&self, token: &str, booking: &Value, status: &str) -> Value {
        self.wait_for_booking(token, booking, status, |b| b["status"] == status)
            .await
    }

    /// Polls the booking until its payment status is `status` (the outbox
    /// retries with backoff).
    pub async fn wait_for_payment_status(
        &self,
        token: &str,
        booking: &Value,
        status: &str,
    ) -> Value {
        self.wait_for_booking(token, booking, status, |b| b["payment"]["status"] == status)
            .await
    }
}

/// Money and time.
impl TestApp {
    /// `GET /users/me/balance` as `token`'s user, expecting 200.
    pub async fn balance(&self, token: &str) -> Value {
        self.get("/api/v1/users/me/balance", Some(token))
            .await
            .expect(200)
            .clone()
    }

    /// Polls the balance (up to 10 s) until `field` is `value`; returns the
    /// last balance read, whether or not it got there.
    pub async fn wait_for_balance(&self, token: &str, field: &str, value: i64) -> Value {
        let mut balance = Value::Null;
        for _ in 0..100 {
            balance = self.balance(token).await;
            if balance[field] == value {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        balance
    }

    /// How many passes of the periodic `kind` (`bookings.sweep`,
    /// `notifications.email`) this server has finished, from `/metrics`.
    pub async fn passes(&self, kind: &str) -> u64 {
        let metrics = self.get("/metrics", None).await.text;
        periodic_metric(&metrics, "innkeep_periodic_passes_total", kind).map_or(0, |v| v as u64)
    }

    /// Waits (up to 30 s, else panics) until two more passes of `kind`
    /// have finished: at least one of them started after this call, so
    /// whatever it would have done by now is done. What "nothing happened"
    /// checks wait for, rather than a fixed sleep a slow machine outruns.
    pub async fn wait_for_a_whole_pass(&self, kind: &str) {
        let before = self.passes(kind).await;
        let passed = eventually(300, Duration::from_millis(100), async || {
            self.passes(kind).await >= before + 2
        })
        .await;
        assert!(
            passed,
            "no whole {kind} pass in 30 s (from {before} passes)"
        );
    }

    /// `PUT /dev/clock` to `now` as is.
    pub async fn put_clock(&self, now: DateTime<Utc>) -> Response {
        self.send(
            reqwest::Method::PUT,
            "/api/v1/dev/clock",
            None,
            Some(json!({"now": now.to_rfc3339()})),
        )
        .await
    }

    /// Moves the server's clock to `now` (it goes on from there). Access
    /// tokens issued before may lapse with the jump: see `sign_in_again`.
    pub async fn set_clock(&self, now: DateTime<Utc>) {
        self.clock.set(now);
    }
}
