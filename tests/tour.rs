//! The README's "first five minutes" runs as written: its shell block is
//! taken out of README.md and run by bash in an empty directory, with
//! `cargo run --` standing for the built binary and port 8080 for a free
//! one. Every command must succeed (`set -euo pipefail`, `curl -f`), and
//! what it prints must show a confirmed booking, the host's balance and a
//! clean ledger.

#[path = "api/support/skips.rs"]
mod skips;

use std::net::TcpListener;
use std::process::Command;

/// The first ```sh block after the tour's heading.
fn tour_script(readme: &str) -> Option<String> {
    let section = readme.split("## A first five minutes").nth(1)?;
    let block = section.split("```sh\n").nth(1)?;
    Some(block.split("```").next()?.to_owned())
}

fn tool_missing(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map_or(true, |o| !o.status.success())
}

#[test]
fn the_readme_tour_runs_as_written() {
    for tool in ["bash", "curl", "jq"] {
        if tool_missing(tool) {
            // CI installs them (.ci/run): there a missing one fails.
            skips::skip(tool, "the README tour");
            return;
        }
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .unwrap_or_else(|e| panic!("reading README.md: {e}"));
    let script = tour_script(&readme).unwrap_or_else(|| panic!("no tour block in README.md"));
    assert!(script.contains("cargo run"), "the tour starts the server");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"));
    let script = script
        .replace("cargo run --", "\"$INNKEEP\"")
        .replace("cargo run", "\"$INNKEEP\"")
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    let dir = std::env::temp_dir().join(format!("innkeep-tour-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&dir)
        .env("INNKEEP", env!("CARGO_BIN_EXE_innkeep"))
        .env("INNKEEP_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("JWT_SECRET")
        .output()
        .unwrap_or_else(|e| panic!("running the tour: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the tour failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for expected in [
        "\"ready\"",
        "\"Quiet flat\"",
        "\"pending_payment\"",
        "\"confirmed\"",
        "\"pending\":26190",
    ] {
        assert!(
            stdout.contains(expected),
            "the tour did not print {expected}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("ledger verify") || stderr.contains("ledger verify"),
        "ledger verify said nothing:\n{stdout}\n{stderr}"
    );
}
