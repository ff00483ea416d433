//! The `innkeep` command: `serve` (default), `migrate`, `seed`, `ledger verify`.

use clap::Parser;
use innkeep::config::{Cli, Command, LedgerCommand};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    innkeep::telemetry::init();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = innkeep::startup::Application::build(cli.config).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let store = innkeep::store::connect(&cli.config).await?;
            store.migrate().await?;
            tracing::info!(backend = store.backend(), "migrations applied");
        }
        Command::Seed { properties } => {
            let store = innkeep::store::connect(&cli.config).await?;
            store.migrate().await?;
            innkeep::seed::run(store.as_ref(), properties).await?;
        }
        Command::Ledger {
            command: LedgerCommand::Verify,
        } => {
            let store = innkeep::store::connect(&cli.config).await?;
            store.migrate().await?;
            let report = innkeep::payments::ledger::verify(store.as_ref())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for problem in &report.problems {
                tracing::error!(problem = %problem, "ledger");
            }
            tracing::info!(
                transactions = report.transactions,
                bookings = report.bookings,
                refunds_owed = report.refunds_owed,
                problems = report.problems.len(),
                "ledger verify"
            );
            if !report.is_clean() {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
