//! The `innkeep` command: `serve` (default), `migrate`, `seed`.

use clap::Parser;
use innkeep::config::{Cli, Command};

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
    }
    Ok(())
}
