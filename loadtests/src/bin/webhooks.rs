//! Webhook throughput, end to end: creates N unpaid bookings (one night
//! each, spread over properties), then posts N signed
//! `payment_intent.succeeded` events, C at a time, as Stripe would. Each
//! one is verified, applied (booking confirmed, capture posted in the
//! ledger) and recorded. Prints events/s and latency percentiles, then
//! checks through the host's balance that every event reached the ledger.
//!
//! The server needs STRIPE_WEBHOOK_SECRET set to the same value as here:
//!
//! STRIPE_WEBHOOK_SECRET=whsec_load cargo run --release -p innkeep-loadtests --bin webhooks -- \
//!     --host http://127.0.0.1:8080 --events 5000 --concurrency 64
#![allow(clippy::print_stdout)] // its output is the point

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use innkeep_loadtests::{SetupError, create_property, days_from_today, register, target_host};
use serde_json::{Value, json};
use sha2::Sha256;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sign(payload: &[u8], secret: &str, timestamp: i64) -> Result<String, SetupError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("t={timestamp},v1={hex}"))
}

/// What the host earns from a booking, as design.md prices it.
fn host_share(booking: &Value) -> i64 {
    let subtotal = booking["subtotal"].as_i64().unwrap_or(0);
    let cleaning = booking["cleaning_fee"].as_i64().unwrap_or(0);
    subtotal + cleaning - (subtotal * 3 + 50) / 100
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1_000.0
}

#[tokio::main]
async fn main() -> Result<(), SetupError> {
    let events = arg("--events", 5_000);
    let concurrency = arg("--concurrency", 64).max(1);
    let properties = arg("--properties", 500).max(1);
    let secret = std::env::var("STRIPE_WEBHOOK_SECRET").unwrap_or_else(|_| "whsec_load".into());
    let base = target_host();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let run = chrono::Utc::now().timestamp_millis();
    let host = register(&client, &base, &format!("wh-host-{run}")).await?;
    let guest = register(&client, &base, &format!("wh-guest-{run}")).await?;
    let ids: Vec<Result<String, SetupError>> = futures_util::stream::iter(0..properties)
        .map(|i| create_property(&client, &base, &host, i, true))
        .buffer_unordered(32)
        .collect()
        .await;
    let ids = ids.into_iter().collect::<Result<Vec<_>, _>>()?;

    let booked: Vec<Result<Value, SetupError>> = futures_util::stream::iter(0..events)
        .map(|n| {
            let (client, base, guest) = (&client, &base, &guest);
            let property = ids[n % ids.len()].clone();
            let night = 1 + (n / ids.len()) as u64;
            async move {
                let check_in = days_from_today(night);
                let check_out = days_from_today(night + 1);
                let response = client
                    .post(format!("{base}/api/v1/bookings"))
                    .bearer_auth(guest)
                    .json(&json!({"property_id": property, "check_in": check_in,
                                  "check_out": check_out, "guests": 1}))
                    .send()
                    .await?
                    .error_for_status()?;
                Ok(response.json::<Value>().await?)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let booked = booked.into_iter().collect::<Result<Vec<_>, _>>()?;
    let expected: i64 = booked.iter().map(host_share).sum();
    println!(
        "prepared {} unpaid bookings on {} properties",
        booked.len(),
        ids.len()
    );

    let started = Instant::now();
    let results: Vec<Result<(u16, Duration), SetupError>> = futures_util::stream::iter(&booked)
        .map(|booking| {
            let (client, base, secret) = (&client, &base, &secret);
            async move {
                let intent = booking["payment"]["payment_intent_id"].as_str().unwrap_or_default();
                let body = json!({
                    "id": format!("evt_load_{intent}"), "object": "event", "type": "payment_intent.succeeded",
                    "created": chrono::Utc::now().timestamp(), "livemode": false,
                    "data": {"object": {"id": intent, "object": "payment_intent", "status": "succeeded",
                                        "amount": booking["total"]}}
                })
                .to_string();
                let signature = sign(body.as_bytes(), secret, chrono::Utc::now().timestamp())?;
                let sent = Instant::now();
                let response = client
                    .post(format!("{base}/webhooks/stripe"))
                    .header("content-type", "application/json")
                    .header("Stripe-Signature", signature)
                    .body(body)
                    .send()
                    .await?;
                Ok((response.status().as_u16(), sent.elapsed()))
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut latencies = Vec::with_capacity(results.len());
    let mut failed = 0usize;
    for result in results {
        match result {
            Ok((200, latency)) => latencies.push(latency),
            _ => failed += 1,
        }
    }
    latencies.sort();
    println!(
        "{} events in {:.2} s: {:.0} events/s, {} failed; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (concurrency {concurrency})",
        latencies.len() + failed,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        failed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    let balance: Value = client
        .get(format!("{base}/api/v1/users/me/balance"))
        .bearer_auth(&host)
        .send()
        .await?
        .json()
        .await?;
    let pending = balance["pending"].as_i64().unwrap_or(0);
    println!(
        "ledger: host pending {pending}, expected {expected} from {} captures: {}",
        booked.len(),
        if pending == expected {
            "every event posted once"
        } else {
            "MISMATCH"
        }
    );
    Ok(())
}
