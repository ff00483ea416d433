//! The service layer, assembled once: every service with the dependencies
//! it names (its store traits, the cache, the calendars, the outbox, the
//! clock). REST handlers, GraphQL resolvers and the background sweep all
//! call these; none of them reaches a store or an actor directly.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr};

use innkeep_actors::calendar::{CommitStats, SharedCommits};
use innkeep_actors::ports::PaymentGateway;
use innkeep_actors::{CalendarRegistry, Clock, DevClock, PaymentsActor, SystemClock};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::limits::Limiter;
use crate::auth::password::{self, Passwords};
use crate::auth::{AuthService, TokenService};
use crate::bookings::BookingService;
use crate::bookings::service::{BookingDeps, BookingRules};
use crate::bookings::sweep::Sweeper;
use crate::cache::{Cache, LocalCache, RedisCache};
use crate::config::Config;
use crate::idempotency::Idempotency;
use crate::imports::ImportService;
use crate::imports::fetch::Reach;
use crate::jobs::Periodic;
use crate::jobs::worker::{Handlers, Worker, WorkerSettings};
use crate::memory;
use crate::notifications::NotificationService;
use crate::notifications::email::Mailer;
use crate::payments::dev::DevGateway;
use crate::payments::ledger::Ledger;
use crate::payments::outbox::Outbox;
use crate::payments::stripe::StripeGateway;
use crate::payments::webhook::Webhooks;
use crate::properties::PropertyService;
use crate::reviews::ReviewService;
use crate::store::Store;
use crate::users::service::UserService;
use crate::workers::JobDeps;

/// What only `INNKEEP_DEV=1` mounts.
pub struct DevControls {
    /// The clock `PUT /dev/clock` moves.
    pub clock: Arc<DevClock>,
    /// The dev gateway's card-holder stand-in and fault injection, when it
    /// is the gateway in use.
    pub gateway: Option<Arc<DevGateway>>,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    /// `postgres` or `sqlite`.
    pub store: &'static str,
    /// `redis` or `in-process`.
    pub cache: &'static str,
    /// `stripe` or `dev` (the dev gateway never moves money).
    pub payments: &'static str,
}

/// How often a process looks whether it has gone quiet
/// (`Services::release_memory_when_quiet`).
const QUIET_CHECK: Duration = Duration::from_secs(5);

/// Shared transactions in flight at once on PostgreSQL
/// (`INNKEEP_COMMITTERS` overrides it). With the database on the same two
/// cores, 1 and 2 committed the most bookings and 4 about 8 % fewer (the
/// seventh sitting in `loadtests/README.md`); 2 keeps one transaction
/// filling while another waits for its fsync.
const DEFAULT_PG_COMMITTERS: usize = 2;

pub struct Services {
    pub auth: AuthService,
    pub users: UserService,
    pub properties: PropertyService,
    pub bookings: BookingService,
    pub reviews: ReviewService,
    pub notifications: NotificationService,
    pub imports: ImportService,
    pub ledger: Ledger,
    pub webhooks: Webhooks,
    pub idempotency: Idempotency,
    pub dev: Option<DevControls>,
    sweeper: Sweeper,
    /// The job handlers, periodic work and settings, when this process runs
    /// workers.
    workers: Option<(Handlers, Vec<Periodic>, WorkerSettings)>,
    store: Arc<dyn Store>,
    cache: Arc<dyn Cache>,
    calendars: Arc<CalendarRegistry>,
    commits: Arc<CommitStats>,
    /// The periodic passes of this process's worker.
    periodic_stats: Arc<crate::jobs::PeriodicStats>,
    /// The threads whose heaps are collected once the process is quiet.
    threads: Arc<memory::Threads>,
    payments: &'static str,
    /// The background tasks `start_background` spawned, stopped by
    /// `stop_background` while the runtime still runs.
    background: std::sync::Mutex<Vec<actix_web::rt::task::JoinHandle<()>>>,
}

impl Services {
    /// Builds every service over `store` (migrated by the caller). Must run
    /// inside an actix system: it starts the calendars' arbiters and the
    /// PaymentsActor.
    pub async fn build(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let cache: Arc<dyn Cache> = match &config.redis_url {
            Some(url) => Arc::new(RedisCache::connect(url, &config.redis_prefix).await?),
            None => Arc::new(LocalCache::new(100_000)),
        };
        // A clock that moves: the one a test hands in, or, with
        // INNKEEP_DEV=1, the one `PUT /dev/clock` moves.
        let movable = match (&config.clock, config.dev) {
            (Some(clock), _) => Some(clock.clone()),
            (None, true) => Some(Arc::new(DevClock::new())),
            (None, false) => None,
        };
        let clock: Arc<dyn Clock> = match &movable {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        };
        let dev_clock = movable.filter(|_| config.dev);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        // Calendar actors decide; their accepted changes are committed
        // across properties in shared transactions. SQLite has one writer:
        // one transaction at a time; PostgreSQL commits several at once.
        let committers = match (store.backend(), config.committers) {
            // Each holds a connection while it commits: at most half the
            // pool, so the requests' own queries keep the other half.
            ("postgres", n) => n
                .unwrap_or(DEFAULT_PG_COMMITTERS)
                .clamp(1, (config.store.db_pool as usize / 2).max(1)),
            _ => 1,
        };
        let commits = SharedCommits::start(store.clone(), committers, 512);
        let commit_stats = commits.stats();
        let memory_threads = Arc::new(memory::Threads::default());
        memory_threads.register(commits.thread());
        let calendars = CalendarRegistry::new(
            commits,
            clock.clone(),
            Duration::from_secs(config.calendar_idle_secs.max(1)),
            config.calendar_threads.unwrap_or(threads).max(1),
        );
        for thread in calendars.threads() {
            memory_threads.register(thread);
        }
        let (gateway, dev_gateway): (Arc<dyn PaymentGateway>, _) = match &config.stripe_secret_key {
            Some(secret) => (
                Arc::new(StripeGateway::new(
                    secret,
                    config.stripe_api_base.as_deref(),
                    Duration::from_secs(config.stripe_timeout_secs.max(1)),
                )?),
                None,
            ),
            None => {
                let dev = Arc::new(DevGateway::new(store.clone(), clock.clone()));
                (dev.clone(), Some(dev))
            }
        };
        let payments = gateway.provider();
        let actor: Addr<PaymentsActor> =
            PaymentsActor::new(store.clone(), gateway.clone(), clock.clone()).start();
        let outbox = Outbox::new(actor, store.clone(), clock.clone(), payments);
        let ledger = Ledger::new(store.clone(), clock.clone());
        let tokens = TokenService::new(
            crate::auth::tokens::secret_for(
                config.jwt_secret.as_deref(),
                &config.store.database_url,
            )?
            .as_bytes(),
        );
        let limiter = Arc::new(Limiter::new(cache.clone()));
        let passwords = Arc::new(Passwords::start(
            config.password_threads.unwrap_or(2 * threads),
            password::QUEUE,
        )?);
        let properties = PropertyService::new(
            store.clone(),
            cache.clone(),
            calendars.clone(),
            clock.clone(),
        );
        let bookings = BookingService::new(
            BookingDeps {
                store: store.clone(),
                properties: properties.clone(),
                calendars: calendars.clone(),
                outbox,
                ledger: ledger.clone(),
                limiter: limiter.clone(),
                clock: clock.clone(),
            },
            BookingRules {
                hold_minutes: config.hold_minutes,
                max_holds: config.max_holds,
                per_minute: config.bookings_per_minute,
            },
        );
        let sweeper = Sweeper::new(bookings.clone(), store.clone(), clock.clone());
        // Loopback feeds only in dev mode (the tests serve theirs locally).
        let imports = ImportService::new(
            store.clone(),
            properties.clone(),
            calendars.clone(),
            clock.clone(),
            Reach {
                loopback: config.dev,
                loopback_only: config.fetch_loopback_only,
            },
        )?;
        let mailer = match &config.smtp_url {
            Some(url) => Some(Arc::new(Mailer::new(
                url,
                &config.smtp_from,
                store.clone(),
            )?)),
            None => None,
        };
        let email = mailer.is_some();
        let workers = (!config.no_workers).then(|| {
            (
                crate::workers::handlers(JobDeps {
                    sweeper: sweeper.clone(),
                    payment_jobs: store.clone(),
                    gateway,
                    clock: clock.clone(),
                    mailer,
                    imports: imports.clone(),
                }),
                crate::workers::periodic(email),
                WorkerSettings {
                    lease: Duration::from_secs(config.job_lease_secs.max(1)),
                    ..WorkerSettings::default()
                },
            )
        });
        Ok(Self {
            auth: AuthService::new(
                store.clone(),
                tokens,
                passwords,
                limiter,
                config.registrations_per_hour,
                clock.clone(),
            ),
            users: UserService::new(store.clone(), clock.clone()),
            notifications: NotificationService::new(store.clone(), clock.clone()),
            imports,
            sweeper,
            workers,
            reviews: ReviewService::new(
                store.clone(),
                store.clone(),
                properties.clone(),
                clock.clone(),
            ),
            properties,
            bookings,
            ledger,
            webhooks: Webhooks::new(
                config.stripe_webhook_secret.clone(),
                store.clone(),
                clock.clone(),
            ),
            idempotency: Idempotency::new(store.clone(), clock.clone()),
            dev: dev_clock.map(|clock| DevControls {
                clock,
                gateway: dev_gateway,
            }),
            store,
            cache,
            calendars,
            commits: commit_stats,
            periodic_stats: Arc::default(),
            threads: memory_threads,
            payments,
            background: std::sync::Mutex::default(),
        })
    }

    /// Starts the background work of this process: listening for other
    /// processes' calendar changes, and the job workers unless
    /// `--no-workers`.
    pub async fn start_background(&self) -> anyhow::Result<()> {
        let calendars = self.calendars.clone();
        let properties = self.properties.clone();
        self.store
            .watch_calendars(Arc::new(move |property_id: Uuid| {
                calendars.invalidate(property_id);
                // Dropped in the background; the generation is bumped now.
                drop(properties.changed_elsewhere(property_id));
            }))
            .await?;
        let mut tasks = vec![self.release_memory_when_quiet()];
        if let Some((handlers, periodic, settings)) = &self.workers {
            tasks.push(
                Worker::new(
                    self.store.clone(),
                    handlers.clone(),
                    periodic.clone(),
                    settings.clone(),
                )
                .with_stats(self.periodic_stats.clone())
                .spawn(),
            );
        }
        if let Ok(mut background) = self.background.lock() {
            background.extend(tasks);
        }
        Ok(())
    }

    /// Stops the background tasks and waits until they are gone, on the
    /// runtime: a task left to the runtime's own teardown drops what it
    /// holds (a pooled connection mid-`BEGIN`, say) where sqlx can no
    /// longer spawn the connection's return, and panics.
    pub async fn stop_background(&self) {
        let tasks = match self.background.lock() {
            Ok(mut background) => std::mem::take(&mut *background),
            Err(_) => return,
        };
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // Cancelled is the expected answer.
            let _ = task.await;
        }
    }

    /// Once every calendar has passivated after a busy spell (checked every
    /// [`QUIET_CHECK`]), the store gives back its caches
    /// (`Store::release_memory`), so an idle server's memory comes back
    /// near its idle figure, and every thread that served the spell gives
    /// back the pages its allocator kept (`memory::Threads::give_back`).
    fn release_memory_when_quiet(&self) -> actix_web::rt::task::JoinHandle<()> {
        let calendars = self.calendars.clone();
        let store = self.store.clone();
        let threads = self.threads.clone();
        actix_web::rt::spawn(async move {
            let mut busy = false;
            let mut every = tokio::time::interval(QUIET_CHECK);
            loop {
                every.tick().await;
                let live = calendars.live();
                if live > 0 {
                    busy = true;
                } else if busy {
                    busy = false;
                    if let Err(e) = store.release_memory().await {
                        tracing::warn!(error = %e, "releasing the store's caches failed");
                    }
                    let asked = threads.give_back();
                    tracing::debug!(
                        threads = asked,
                        "calendars all passivated: memory given back"
                    );
                }
            }
        })
    }

    /// Called on each HTTP worker thread as it builds its `App`: its heap
    /// is collected with the others' once the process is quiet.
    pub fn register_http_worker(&self) {
        self.threads.register_current();
    }

    /// The sweep, for tests and operators that run one pass by hand.
    pub fn sweeper(&self) -> &Sweeper {
        &self.sweeper
    }

    /// `stripe` or `dev`.
    pub fn payments_provider(&self) -> &'static str {
        self.payments
    }

    pub fn store_backend(&self) -> &'static str {
        self.store.backend()
    }

    pub fn cache_backend(&self) -> &'static str {
        self.cache.backend()
    }

    /// Jobs queued, running and dead.
    pub async fn job_backlog(&self) -> anyhow::Result<crate::jobs::JobCounts> {
        Ok(self.store.job_backlog().await?)
    }

    /// Calendars in memory now.
    pub fn live_calendars(&self) -> usize {
        self.calendars.live()
    }

    /// What the calendars' committer has committed since start.
    pub fn commit_stats(&self) -> &CommitStats {
        &self.commits
    }

    pub fn periodic_stats(&self) -> &crate::jobs::PeriodicStats {
        &self.periodic_stats
    }

    /// Whether the store (and Redis, when configured) answer.
    pub async fn readiness(&self) -> Result<Readiness, &'static str> {
        if let Err(e) = self.store.ping().await {
            tracing::warn!(error = %e, "readiness: store unreachable");
            return Err("the store is unreachable");
        }
        if let Err(e) = self.cache.ping().await {
            tracing::warn!(error = %e, "readiness: cache unreachable");
            return Err("the cache is unreachable");
        }
        Ok(Readiness {
            status: "ready",
            store: self.store.backend(),
            cache: self.cache.backend(),
            payments: self.payments,
        })
    }
}
