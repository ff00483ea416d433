//! What stories start from: users, listings, bookings, payments through
//! the dev gateway, the dev clock, balances, and waiting for the sweeps.

use std::str::FromStr;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Response, TestApp};

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

/// The e-mail address in a `register` body.
pub fn email(registered: &Value) -> String {
    registered["user"]["email"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

impl TestApp {
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

    /// `GET /bookings/{id}` as `token`'s user, expecting 200.
    pub async fn booking(&self, token: &str, booking: &Value) -> Value {
        self.get(&format!("/api/v1/bookings/{}", id(booking)), Some(token))
            .await
            .expect(200)
            .clone()
    }

    /// `GET /users/me/balance` as `token`'s user.
    pub async fn balance(&self, token: &str) -> Value {
        self.get("/api/v1/users/me/balance", Some(token))
            .await
            .expect(200)
            .clone()
    }

    /// Moves the server's clock (dev mode) to `now`.
    pub async fn set_clock(&self, now: chrono::DateTime<chrono::Utc>) {
        self.send(
            reqwest::Method::PUT,
            "/api/v1/dev/clock",
            None,
            Some(json!({"now": now.to_rfc3339()})),
        )
        .await
        .expect(200);
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
