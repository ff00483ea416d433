//! The `innkeep` command: `serve` (the default), `worker`, `jobs`,
//! `migrate`, `seed`, `ledger verify`.

use clap::Parser;
use innkeep::config::{Cli, Command, JobsCommand, LedgerCommand, StoreArgs};
use innkeep::jobs::JobStatus;
use innkeep::store::{self, Store};

/// mimalloc: GraphQL's executor allocates per field, and glibc's malloc
/// and free were a seventh of a GraphQL read (loadtests/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::Jobs { .. })) {
        innkeep::telemetry::init_stderr();
    } else {
        innkeep::telemetry::init();
    }
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(config)) => serve(*config).await,
        Some(Command::Worker(config)) => innkeep::startup::Application::work(*config).await,
        Some(Command::Jobs { store, command }) => jobs(&store, command).await,
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

/// `innkeep jobs …`: prints JSON lines on stdout (one per job, then the
/// counts), for people and scripts alike.
async fn jobs(args: &StoreArgs, command: JobsCommand) -> anyhow::Result<()> {
    let store = open(args).await?;
    let print = |jobs: Vec<innkeep::jobs::Job>| -> anyhow::Result<()> {
        for job in jobs {
            emit(&serde_json::to_string(&job)?);
        }
        Ok(())
    };
    match command {
        JobsCommand::List { status, limit } => {
            let status = match status.as_deref() {
                None => None,
                Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
                    anyhow::anyhow!("--status {s:?}: expected queued, running, done or dead")
                })?),
            };
            print(store.jobs(status, limit).await?)?;
            emit(&serde_json::to_string(&store.job_counts().await?)?);
        }
        JobsCommand::Dead { limit } => print(store.jobs(Some(JobStatus::Dead), limit).await?)?,
        JobsCommand::Retry { id } => {
            if !store.retry_job(id, chrono::Utc::now()).await? {
                let state = store.job(id).await?.map(|j| j.status);
                anyhow::bail!(match state {
                    None => format!("no job {id}"),
                    Some(status) =>
                        format!("job {id} is {status}; only dead or queued jobs are retried"),
                });
            }
            print(store.job(id).await?.into_iter().collect())?;
        }
    }
    Ok(())
}

/// One line of a command's answer, on stdout.
fn emit(line: &str) {
    use std::io::Write;
    // A closed pipe (`innkeep jobs list | head`) is not an error worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}
