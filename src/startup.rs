//! Building the application once, for `main` and the tests alike: open the
//! store, migrate, assemble the state and routes, bind, serve.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, ErrorHandlers, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::error::AppError;
use crate::http::{self, extract, metrics, openapi, problem};
use crate::state::AppState;
use crate::store;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let config = config.normalised();
        let store = store::connect(&config).await?;
        store.migrate().await?;
        let listener =
            TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState::build(config, store).await?);
        let server = serve(listener, state.clone())?;
        let calendars = state.calendars.clone();
        let properties = state.properties.clone();
        state
            .store
            .watch_calendars(std::sync::Arc::new(move |property_id| {
                calendars.invalidate(property_id);
                properties.invalidate(&property_id);
            }))
            .await?;
        crate::bookings::jobs::spawn(state.clone());
        tracing::info!(
            address = %format!("{}", state.config.bind),
            port,
            store = state.store.backend(),
            cache = state.cache.backend(),
            payments = http::ops::payments_label(&state),
            dev = state.config.dev,
            "innkeep listening"
        );
        if http::ops::payments_label(&state) == "dev" {
            tracing::warn!("payments use the DEV gateway: recorded locally, no money moves");
        }
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn serve(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let doc = openapi::document(http::ops::payments_label(&state));
    let workers = state.config.workers;
    let dev = state.config.dev;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(extract::path_config())
            .wrap(ErrorHandlers::new().default_handler(problem::ensure_problem))
            .wrap(from_fn(metrics::track))
            .wrap(Compress::default())
            .service(web::scope("/api/v1").configure(|cfg| http::api_v1(cfg, dev)))
            .configure(http::root)
            .route(
                "/docs",
                web::get().to(|| async {
                    HttpResponse::PermanentRedirect()
                        .insert_header(("Location", "/docs/"))
                        .finish()
                }),
            )
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc.clone()))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(AppError::NotFound("resource"))
            }))
    })
    .shutdown_timeout(30)
    .listen(listener)?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    Ok(server.run())
}
