//! A fake Stripe API for the tests: Stripe's wire format (form-encoded
//! requests, JSON objects and errors, `Authorization: Bearer`, the
//! `Idempotency-Key` header replaying the first response) for the calls
//! innkeep makes: PaymentIntents create/retrieve/capture/cancel, Refunds,
//! Transfers. innkeep's real async-stripe client talks to it through
//! `STRIPE_API_BASE`. Tests play the card holder (`pay`, `decline`) and
//! inject failures: a 500 before anything happens, or a timeout after the
//! work is done (the answer arrives too late), so retries are exercised
//! where they hurt.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 api_error, nothing done (as a failure before the API ran).
    ServerError,
    /// The work is done and remembered under the idempotency key, but the
    /// answer comes after innkeep's client has given up.
    Timeout,
    /// 400 invalid_request_error, nothing done and nothing remembered (as
    /// Stripe answers a request it refuses before running it).
    Refused,
}

#[derive(Default)]
struct Books {
    next: u64,
    intents: HashMap<String, Value>,
    refunds: Vec<Value>,
    transfers: Vec<Value>,
    /// Idempotency key → (status, body) of the first response.
    replies: HashMap<String, (u16, Value)>,
    faults: VecDeque<Fault>,
    /// POST requests received, replays and faults included.
    posts: usize,
}

pub struct FakeStripe {
    pub base: String,
    books: Arc<Mutex<Books>>,
    server: actix_web::dev::ServerHandle,
}

/// How long a `Timeout` fault holds its answer (innkeep's test client
/// gives up after 1 s).
const LATE: Duration = Duration::from_millis(2_500);

fn error(status: u16, kind: &str, code: &str, message: &str) -> (u16, Value) {
    (
        status,
        json!({"error": {"type": kind, "code": code, "message": message}}),
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Books {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_fake{:08}", self.next)
    }

    /// Runs one API call on the books.
    fn call(&mut self, method: &str, path: &str, form: &HashMap<String, String>) -> (u16, Value) {
        let segments: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
        let amount = |name: &str| form.get(name).and_then(|v| v.parse::<i64>().ok());
        match (method, segments.as_slice()) {
            ("POST", ["payment_intents"]) => {
                let (Some(amount), Some(currency)) = (amount("amount"), form.get("currency"))
                else {
                    return error(
                        400,
                        "invalid_request_error",
                        "parameter_missing",
                        "amount and currency are required",
                    );
                };
                let id = self.id("pi");
                let metadata: HashMap<&str, &String> = form
                    .iter()
                    .filter_map(|(k, v)| {
                        k.strip_prefix("metadata[")
                            .and_then(|k| k.strip_suffix(']'))
                            .map(|k| (k, v))
                    })
                    .collect();
                let intent = json!({
                    "id": id, "object": "payment_intent", "amount": amount,
                    "amount_capturable": 0, "amount_received": 0,
                    "capture_method": form.get("capture_method").map_or("automatic", String::as_str),
                    "client_secret": format!("{id}_secret_fake"),
                    "confirmation_method": "automatic", "created": now(),
                    "currency": currency, "livemode": false, "metadata": metadata,
                    "payment_method_types": ["card"], "status": "requires_payment_method"
                });
                self.intents.insert(id, intent.clone());
                (200, intent)
            }
            ("GET", ["payment_intents", id]) => match self.intents.get(*id) {
                Some(intent) => (200, intent.clone()),
                None => error(
                    404,
                    "invalid_request_error",
                    "resource_missing",
                    "No such payment_intent",
                ),
            },
            ("POST", ["payment_intents", id, action]) => {
                let Some(intent) = self.intents.get_mut(*id) else {
                    return error(
                        404,
                        "invalid_request_error",
                        "resource_missing",
                        "No such payment_intent",
                    );
                };
                let status = intent["status"].as_str().unwrap_or_default().to_owned();
                match (*action, status.as_str()) {
                    ("capture", "requires_capture") => {
                        intent["status"] = json!("succeeded");
                        intent["amount_received"] = intent["amount"].clone();
                        intent["amount_capturable"] = json!(0);
                        (200, intent.clone())
                    }
                    (
                        "cancel",
                        "requires_payment_method"
                        | "requires_capture"
                        | "requires_confirmation"
                        | "requires_action",
                    ) => {
                        intent["status"] = json!("canceled");
                        intent["amount_capturable"] = json!(0);
                        (200, intent.clone())
                    }
                    _ => error(
                        400,
                        "invalid_request_error",
                        "payment_intent_unexpected_state",
                        &format!(
                            "You cannot {action} this PaymentIntent because it has a status of {status}."
                        ),
                    ),
                }
            }
            ("POST", ["refunds"]) => {
                let Some(intent_id) = form.get("payment_intent") else {
                    return error(
                        400,
                        "invalid_request_error",
                        "parameter_missing",
                        "payment_intent is required",
                    );
                };
                let Some(intent) = self.intents.get(intent_id) else {
                    return error(
                        404,
                        "invalid_request_error",
                        "resource_missing",
                        "No such payment_intent",
                    );
                };
                let received = intent["amount_received"].as_i64().unwrap_or(0);
                let refunded: i64 = self
                    .refunds
                    .iter()
                    .filter(|r| r["payment_intent"] == intent_id.as_str())
                    .filter_map(|r| r["amount"].as_i64())
                    .sum();
                let amount = amount("amount").unwrap_or(received - refunded);
                if intent["status"] != "succeeded" || amount <= 0 || refunded + amount > received {
                    return error(
                        400,
                        "invalid_request_error",
                        "charge_already_refunded",
                        "This charge cannot be refunded that much.",
                    );
                }
                let currency = intent["currency"].clone();
                let refund = json!({
                    "id": self.id("re"), "object": "refund", "amount": amount,
                    "created": now(), "currency": currency, "metadata": {},
                    "payment_intent": intent_id, "status": "succeeded"
                });
                self.refunds.push(refund.clone());
                (200, refund)
            }
            ("POST", ["transfers"]) => {
                let (Some(amount), Some(currency), Some(destination)) = (
                    amount("amount"),
                    form.get("currency"),
                    form.get("destination"),
                ) else {
                    return error(
                        400,
                        "invalid_request_error",
                        "parameter_missing",
                        "amount, currency and destination are required",
                    );
                };
                let id = self.id("tr");
                let transfer = json!({
                    "id": id, "object": "transfer", "amount": amount, "amount_reversed": 0,
                    "created": now(), "currency": currency, "destination": destination,
                    "livemode": false, "metadata": {}, "reversed": false,
                    "reversals": {"object": "list", "data": [], "has_more": false,
                                  "url": format!("/v1/transfers/{id}/reversals")}
                });
                self.transfers.push(transfer.clone());
                (200, transfer)
            }
            _ => error(
                404,
                "invalid_request_error",
                "resource_missing",
                "Unrecognized request URL",
            ),
        }
    }
}

async fn api(
    books: web::Data<Arc<Mutex<Books>>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let reply = |(status, body): (u16, Value)| {
        HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
        )
        .json(body)
    };
    let authorised = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.starts_with("Bearer sk_test_"));
    if !authorised {
        return reply(error(
            401,
            "invalid_request_error",
            "api_key_invalid",
            "Invalid API Key provided",
        ));
    }
    let form: HashMap<String, String> =
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map(|pairs| pairs.into_iter().collect())
            .unwrap_or_default();
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let method = req.method().as_str().to_owned();
    let path = req.path().to_owned();
    let (answer, late) = {
        let mut books = lock(&books);
        if method == "POST" {
            books.posts += 1;
        }
        let fault = if method == "POST" {
            books.faults.pop_front()
        } else {
            None
        };
        if let Some(replayed) = key.as_ref().and_then(|k| books.replies.get(k)) {
            (replayed.clone(), false)
        } else if fault == Some(Fault::ServerError) {
            (
                error(500, "api_error", "", "An unknown error occurred (fake)"),
                false,
            )
        } else if fault == Some(Fault::Refused) {
            (
                error(
                    400,
                    "invalid_request_error",
                    "refused_fake",
                    "This request was refused (fake)",
                ),
                false,
            )
        } else {
            let answer = books.call(&method, &path, &form);
            if let Some(k) = key {
                books.replies.insert(k, answer.clone());
            }
            (answer, fault == Some(Fault::Timeout))
        }
    };
    if late {
        tokio::time::sleep(LATE).await;
    }
    reply(answer)
}

fn lock(books: &Mutex<Books>) -> MutexGuard<'_, Books> {
    books.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let books = Arc::new(Mutex::new(Books::default()));
        let data = web::Data::new(books.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(api))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("fake Stripe: {e}"));
        let port = server.addrs().first().map(|a| a.port()).unwrap_or(0);
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        FakeStripe {
            base: format!("http://127.0.0.1:{port}/"),
            books,
            server: handle,
        }
    }

    pub fn fail_next(&self, faults: &[Fault]) {
        lock(&self.books).faults.extend(faults.iter().copied());
    }

    /// The card holder pays: the intent succeeds, or for manual capture is
    /// authorised. Returns the intent as a webhook carries it.
    pub fn pay(&self, intent_id: &str) -> Value {
        let mut books = lock(&self.books);
        let Some(intent) = books.intents.get_mut(intent_id) else {
            panic!("no intent {intent_id}");
        };
        if intent["capture_method"] == "manual" {
            intent["status"] = json!("requires_capture");
            intent["amount_capturable"] = intent["amount"].clone();
        } else {
            intent["status"] = json!("succeeded");
            intent["amount_received"] = intent["amount"].clone();
        }
        intent.clone()
    }

    /// The intent is captured at Stripe without innkeep hearing back (as
    /// when innkeep's process stops right after its capture call).
    pub fn capture_unheard(&self, intent_id: &str) -> Value {
        let mut books = lock(&self.books);
        let Some(intent) = books.intents.get_mut(intent_id) else {
            panic!("no intent {intent_id}");
        };
        intent["status"] = json!("succeeded");
        intent["amount_received"] = intent["amount"].clone();
        intent["amount_capturable"] = json!(0);
        intent.clone()
    }

    /// The card is declined.
    pub fn decline(&self, intent_id: &str) -> Value {
        let mut books = lock(&self.books);
        let Some(intent) = books.intents.get_mut(intent_id) else {
            panic!("no intent {intent_id}");
        };
        intent["last_payment_error"] = json!({"type": "card_error", "code": "card_declined", "message": "Your card was declined."});
        intent.clone()
    }

    pub fn intent(&self, id: &str) -> Value {
        lock(&self.books)
            .intents
            .get(id)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn intent_count(&self) -> usize {
        lock(&self.books).intents.len()
    }

    pub fn refunds(&self) -> Vec<Value> {
        lock(&self.books).refunds.clone()
    }

    pub fn transfers(&self) -> Vec<Value> {
        lock(&self.books).transfers.clone()
    }

    pub fn posts(&self) -> usize {
        lock(&self.books).posts
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        let server = self.server.clone();
        actix_web::rt::spawn(async move { server.stop(false).await });
    }
}
