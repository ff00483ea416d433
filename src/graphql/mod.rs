//! GraphQL (juniper) over the same service layer as REST: every resolver
//! calls the service functions REST calls, so validation, limits,
//! idempotency, privacy and authentication are the same on both.
//!
//! - `POST /graphql`, `GET /graphql` (queries), `GET /graphql/schema.graphql`
//!   (SDL), `GET /graphiql` (offline, assets in the binary), and
//!   subscriptions over WebSocket at `/graphql/ws` (`graphql-transport-ws`).
//! - Every document is checked against `limits` (depth, fields, aliases,
//!   cost) before juniper sees it; bodies are capped as REST's.
//! - Nested lookups are batched per request (`context`'s loaders).

pub mod answers;
pub mod context;
pub mod errors;
pub mod http;
pub mod limits;
pub mod media;
pub mod mutation;
pub mod prepared;
pub mod query;
pub mod scalars;
pub mod seats;
pub mod subscription;
pub mod types;
pub mod ws;

use std::sync::Arc;

use actix_web::web;
use juniper::RootNode;

use self::mutation::Mutation;
use self::query::Query;
use self::seats::SubscriptionCounts;
use self::subscription::Subscription;

pub type Schema = RootNode<Query, Mutation, Subscription>;

/// Open subscriptions one user (or anonymous address) may hold, across
/// connections.
pub const SUBSCRIPTIONS_PER_SUBSCRIBER: usize = 50;
/// Operations one WebSocket connection may run at once.
pub const SUBSCRIPTIONS_PER_CONNECTION: usize = 20;

/// juniper's own document limits, a second line behind `limits`: they
/// apply wherever a document is parsed, WebSocket included.
pub fn schema() -> Schema {
    Schema::new(Query, Mutation, Subscription)
        .limit_depth(32)
        .limit_tokens(10_000)
        .limit_fields(1_000)
}

/// What the GraphQL endpoints share.
pub struct GraphQl {
    pub schema: Arc<Schema>,
    /// The schema in SDL, printed once.
    pub sdl: String,
    pub limits: limits::QueryLimits,
    /// Documents that passed `limits` and juniper's validation over
    /// HTTP, not parsed or validated again.
    pub prepared: prepared::PreparedDocuments,
    /// Answers of documents that read one property's own fields.
    pub answers: answers::Answers,
    pub subscriptions: Arc<SubscriptionCounts>,
    /// Answers carry `extensions.storeCalls` (with `INNKEEP_DEV=1`).
    pub expose_stats: bool,
}

impl GraphQl {
    pub fn new(expose_stats: bool) -> Self {
        let schema = Arc::new(schema());
        let sdl = schema.as_sdl();
        Self {
            schema,
            sdl,
            limits: limits::QueryLimits::default(),
            prepared: prepared::PreparedDocuments::new(),
            answers: answers::Answers::new(),
            subscriptions: SubscriptionCounts::new(SUBSCRIPTIONS_PER_SUBSCRIBER),
            expose_stats,
        }
    }
}

/// The GraphQL routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(http::post))
            .route(web::get().to(http::get)),
    )
    .route("/graphql/ws", web::get().to(ws::subscriptions))
    .route("/graphql/schema.graphql", web::get().to(http::sdl))
    .route("/graphiql", web::get().to(http::graphiql))
    .route(
        "/graphiql/assets/{file}",
        web::get().to(http::graphiql_asset),
    );
}
