//! Prints a guest token and property ids as shell assignments, for the wrk
//! scripts in `loadtests/wrk/`:
//!
//! eval "$(cargo run --release -p innkeep-loadtests --bin fixture -- --host http://127.0.0.1:8080)"
//! wrk -t2 -c100 -d20s --latency "$INNKEEP/api/v1/properties/$PROPERTY"
#![allow(clippy::print_stdout)] // its output is the point

use innkeep_loadtests::{prepare, target_host};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let fixture = prepare(1, 1, true).await?;
    println!("export INNKEEP='{}'", target_host());
    println!("export TOKEN='{}'", fixture.guest_tokens[0]);
    println!("export PROPERTY='{}'", fixture.properties[0]);
    Ok(())
}
