//! Wakes N calendar actors (default 10,000) by reading each property's
//! availability, then prints the server's `innkeep_live_calendars` gauge.
//! Read the server's RSS beside it (`ps -o rss= -p <pid>`); wait out
//! `INNKEEP_CALENDAR_IDLE_SECS` and read both again to see passivation.
//!
//! cargo run --release -p innkeep-loadtests --bin calendars -- --host http://127.0.0.1:8080 10000
#![allow(clippy::print_stdout)] // its output is the point

use futures_util::StreamExt;
use innkeep_loadtests::{days_from_today, prepare, target_host};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let count = std::env::args()
        .filter_map(|a| a.parse::<usize>().ok())
        .next()
        .unwrap_or(10_000);
    let base = target_host();
    let fixture = prepare(1, count, true).await?;
    let client = reqwest::Client::new();
    let (from, to) = (days_from_today(0), days_from_today(90));
    let failures = futures_util::stream::iter(&fixture.properties)
        .map(|id| {
            let url = format!("{base}/api/v1/properties/{id}/availability?from={from}&to={to}");
            let client = client.clone();
            async move {
                match client.get(url).send().await {
                    Ok(r) if r.status().is_success() => 0usize,
                    _ => 1,
                }
            }
        })
        .buffer_unordered(64)
        .fold(0, |acc, f| async move { acc + f })
        .await;
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let live = metrics
        .lines()
        .find(|l| l.starts_with("innkeep_live_calendars"))
        .unwrap_or("innkeep_live_calendars (missing)");
    println!("woke {count} calendars ({failures} failed reads); {live}");
    Ok(())
}
