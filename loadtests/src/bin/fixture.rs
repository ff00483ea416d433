//! Prints guest tokens and property ids as shell assignments, for the wrk
//! scripts in `loadtests/wrk/`:
//!
//! eval "$(cargo run --release -p innkeep-loadtests --bin fixture -- --host http://127.0.0.1:8080)"
//! wrk -t2 -c100 -d20s --latency "$INNKEEP/api/v1/properties/$PROPERTY"
//!
//! `--guests G --properties P` make G guests and P properties: `TOKEN` and
//! `PROPERTY` are the first, `TOKENS` and `PROPERTIES` all of them, comma
//! separated (`wrk/book_spread.lua`).
#![allow(clippy::print_stdout)] // its output is the point

use innkeep_loadtests::{prepare, target_host};

fn count(flag: &str) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let fixture = prepare(count("--guests"), count("--properties"), true).await?;
    let first = |all: &[String]| all.first().cloned().unwrap_or_default();
    println!("export INNKEEP='{}'", target_host());
    println!("export TOKEN='{}'", first(&fixture.guest_tokens));
    println!("export PROPERTY='{}'", first(&fixture.properties));
    println!("export TOKENS='{}'", fixture.guest_tokens.join(","));
    println!("export PROPERTIES='{}'", fixture.properties.join(","));
    Ok(())
}
