//! Building the application once, for `main` and the tests alike: open the
//! store, migrate, assemble the services and routes, bind, serve.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, ErrorHandlers, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::graphql::{self, GraphQl};
use crate::http::metrics::Metrics;
use crate::http::{self, extract, fallback, metrics, openapi, problem};
use crate::services::Services;
use crate::store;

pub struct Application {
    port: u16,
    server: Server,
    services: web::Data<Services>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let config = config.normalised();
        config.check()?;
        let store = store::connect(&config.store.store_config()).await?;
        store.migrate().await?;
        let listener =
            TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let services = web::Data::new(Services::build(&config, store).await?);
        let server = serve(listener, services.clone(), &config)?;
        services.start_background().await?;
        tracing::info!(
            address = %config.bind,
            port,
            store = services.store_backend(),
            cache = services.cache_backend(),
            payments = services.payments_provider(),
            dev = config.dev,
            "innkeep listening"
        );
        if services.payments_provider() == "dev" {
            tracing::warn!("payments use the DEV gateway: recorded locally, no money moves");
        }
        Ok(Self {
            port,
            server,
            services,
        })
    }

    /// `innkeep worker`: the services and the job workers, no HTTP, until
    /// SIGINT/SIGTERM. PostgreSQL only: a SQLite file belongs to the one
    /// process that serves it, which runs its workers itself.
    pub async fn work(config: Config) -> anyhow::Result<()> {
        let config = config.normalised();
        config.check()?;
        if !config.is_postgres() {
            anyhow::bail!(
                "`innkeep worker` needs PostgreSQL: a SQLite database belongs to the one \
                 `innkeep serve` process, which runs the job workers itself"
            );
        }
        if config.no_workers {
            anyhow::bail!("`innkeep worker --no-workers` would do nothing");
        }
        let store = store::connect(&config.store.store_config()).await?;
        store.migrate().await?;
        let services = Services::build(&config, store).await?;
        services.start_background().await?;
        tracing::info!(
            store = services.store_backend(),
            payments = services.payments_provider(),
            "innkeep worker running"
        );
        let stopped = stopped().await;
        services.stop_background().await;
        stopped
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests and
    /// stops the background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.services.stop_background().await;
        served
    }
}

fn serve(
    listener: TcpListener,
    services: web::Data<Services>,
    config: &Config,
) -> anyhow::Result<Server> {
    let dev = config.dev;
    let doc = openapi::document(services.payments_provider(), dev)?;
    let metrics = web::Data::new(Metrics::new()?);
    let known = std::sync::Arc::new(fallback::KnownPaths::from_doc(&doc));
    let graphql = web::Data::new(GraphQl::new(dev));
    let mut server = HttpServer::new(move || {
        services.register_http_worker();
        App::new()
            .app_data(services.clone())
            .app_data(metrics.clone())
            .app_data(graphql.clone())
            .app_data(extract::path_config())
            .wrap(ErrorHandlers::new().default_handler(problem::ensure_problem))
            .wrap(from_fn(metrics::track))
            .wrap(Compress::default())
            .service(web::scope("/api/v1").configure(|cfg| http::api_v1(cfg, dev)))
            .configure(http::root)
            .configure(graphql::routes)
            .route(
                "/docs",
                web::get().to(|| async {
                    HttpResponse::PermanentRedirect()
                        .insert_header(("Location", "/docs/"))
                        .finish()
                }),
            )
            .service(
                SwaggerUi::new("/docs/{_:.*}").external_url_unchecked("/openapi.json", doc.clone()),
            )
            .default_service(web::to({
                let known = known.clone();
                move |req: HttpRequest| {
                    let answer = known.answer(&req);
                    async move { answer }
                }
            }))
    })
    .shutdown_timeout(30)
    .listen(listener)?;
    if let Some(n) = config.workers {
        server = server.workers(n);
    }
    Ok(server.run())
}

/// Resolves at SIGINT or SIGTERM.
async fn stopped() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
    Ok(())
}
