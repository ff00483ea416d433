//! Tracing set-up: `RUST_LOG` filter (default `info`), JSON lines when stdout
//! is not a terminal (containers, CI), human-readable otherwise.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Logs on stdout (the server, the worker).
pub fn init() {
    init_with(std::io::stdout);
}

/// Logs on stderr, for commands whose answer is stdout (`innkeep jobs`).
pub fn init_stderr() {
    init_with(std::io::stderr);
}

fn init_with<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // `try_init`: tests call this from many places; only the first one wins.
    let _ = if std::io::stdout().is_terminal() {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}
