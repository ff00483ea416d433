//! The `innkeep` command: `serve` (the default), `migrate`, `seed`,
//! `ledger verify`.

use clap::Parser;
use innkeep::config::{Cli, Command, LedgerCommand, StoreArgs};
use innkeep::store::{self, Store};

/// mimalloc: GraphQL's executor allocates per field, and glibc's malloc
/// and free were a seventh of a GraphQL read (loadtests/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    innkeep::telemetry::init();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(config)) => serve(*config).await,
        Some(Command::Migrate(args)) => {
            let store = open(&args).await?;
            tracing::info!(backend = store.backend(), "migrations applied");
            Ok(())
        }
        Some(Command::Seed { store, properties }) => {
            let store = open(&store).await?;
            innkeep::seed::run(store, properties).await.map(|_| ())
        }
        Some(Command::Ledger {
            command: LedgerCommand::Verify(args),
        }) => verify_ledger(&args).await,
    }
}

async fn serve(config: innkeep::config::Config) -> anyhow::Result<()> {
    let app = innkeep::startup::Application::build(config).await?;
    app.run_until_stopped().await?;
    Ok(())
}

/// The store, migrated.
async fn open(args: &StoreArgs) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    let store = store::connect(&args.store_config()).await?;
    store.migrate().await?;
    Ok(store)
}

async fn verify_ledger(args: &StoreArgs) -> anyhow::Result<()> {
    let store = open(args).await?;
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
    Ok(())
}
