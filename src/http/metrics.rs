//! Prometheus metrics: request counts and latency histograms per route
//! pattern. Every label has a bounded set of values: the route pattern
//! (never the raw path) or `unmatched`, a standard method or `other`, and
//! the status code.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// Calendars in memory, set when metrics are read.
    pub live_calendars: prometheus::IntGauge,
    /// Jobs queued, running and dead, set when metrics are read.
    pub jobs: prometheus::IntGaugeVec,
    /// The calendar committer's totals since start, set when metrics are
    /// read.
    pub calendar_commits: prometheus::IntGaugeVec,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Periodic passes and failures per kind, brought up to the workers'
    /// counts when metrics are read (`observe_periodic`).
    periodic_passes: IntCounterVec,
    periodic_failures: IntCounterVec,
    periodic_last_success: prometheus::GaugeVec,
    periodic_pass_seconds: prometheus::GaugeVec,
    graphql: IntCounterVec,
    /// GraphQL answers served again without execution (`graphql::answers`).
    graphql_reused: prometheus::IntCounter,
    /// The GraphQL operation names given a label of their own: the first
    /// [`OPERATION_NAMES`] seen; any other is `other`.
    operation_names: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Route patterns by path shape (see [`shape`]): actix finds a
    /// request's pattern by matching its path against every route again,
    /// a regex run for each pattern tried, on every request.
    routes: std::sync::RwLock<std::collections::HashMap<String, std::sync::Arc<str>>>,
}

/// How many path shapes get their route remembered (the API has about
/// forty routes; junk paths that match one must not grow the map).
const SHAPES: usize = 512;

/// The path with each segment that is a UUID replaced by `{}`: every path
/// of one shape matches the same route, since no route tells one UUID from
/// another.
fn shape(path: &str) -> std::borrow::Cow<'_, str> {
    let is_id = |segment: &str| segment.len() == 36 && uuid::Uuid::try_parse(segment).is_ok();
    if !path.split('/').any(is_id) {
        return std::borrow::Cow::Borrowed(path);
    }
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| if is_id(segment) { "{}" } else { segment })
        .collect();
    std::borrow::Cow::Owned(segments.join("/"))
}

/// How many distinct GraphQL operation names get a label.
pub const OPERATION_NAMES: usize = 100;

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("innkeep".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        let live_calendars =
            prometheus::IntGauge::new("live_calendars", "Property calendar actors in memory")?;
        registry.register(Box::new(live_calendars.clone()))?;
        let jobs = prometheus::IntGaugeVec::new(
            Opts::new(
                "jobs",
                "Jobs in the queue by status (queued, running, dead)",
            ),
            &["status"],
        )?;
        registry.register(Box::new(jobs.clone()))?;
        let calendar_commits = prometheus::IntGaugeVec::new(
            Opts::new(
                "calendar_commits",
                "Since start: the calendar committer's store transactions, the property batches and changes \
                 they committed, and shared transactions split after a failure",
            ),
            &["count"],
        )?;
        registry.register(Box::new(calendar_commits.clone()))?;
        let graphql = IntCounterVec::new(
            Opts::new(
                "graphql_operations_total",
                "GraphQL operations by type (query, mutation, subscription; refused, invalid) and name",
            ),
            &["type", "operation"],
        )?;
        registry.register(Box::new(graphql.clone()))?;
        let graphql_reused = prometheus::IntCounter::new(
            "graphql_answers_reused_total",
            "GraphQL answers served again, without execution, for an unchanged property",
        )?;
        registry.register(Box::new(graphql_reused.clone()))?;
        let periodic_passes = IntCounterVec::new(
            Opts::new(
                "periodic_passes_total",
                "Passes of each periodic job kind this process ran (failed ones included)",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(periodic_passes.clone()))?;
        let periodic_failures = IntCounterVec::new(
            Opts::new(
                "periodic_failures_total",
                "Passes of each periodic job kind that failed (the next period runs again)",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(periodic_failures.clone()))?;
        let periodic_last_success = prometheus::GaugeVec::new(
            Opts::new(
                "periodic_last_success_seconds",
                "When a pass of each periodic job kind last succeeded here (Unix time)",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(periodic_last_success.clone()))?;
        let periodic_pass_seconds = prometheus::GaugeVec::new(
            Opts::new(
                "periodic_pass_seconds",
                "How long the latest passes of each periodic job kind took here (quantiles of the last 600)",
            ),
            &["kind", "quantile"],
        )?;
        registry.register(Box::new(periodic_pass_seconds.clone()))?;
        Ok(Self {
            periodic_passes,
            periodic_failures,
            periodic_last_success,
            periodic_pass_seconds,
            registry,
            live_calendars,
            jobs,
            calendar_commits,
            requests,
            latency,
            graphql,
            graphql_reused,
            operation_names: std::sync::Mutex::new(std::collections::HashSet::new()),
            routes: std::sync::RwLock::new(std::collections::HashMap::new()),
        })
    }

    /// The route pattern that served `req`, or `unmatched`.
    pub fn route(&self, req: &actix_web::HttpRequest) -> std::sync::Arc<str> {
        let shape = shape(req.path());
        let known = self
            .routes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(shape.as_ref())
            .cloned();
        if let Some(route) = known {
            return route;
        }
        let Some(pattern) = req.match_pattern() else {
            return std::sync::Arc::from("unmatched");
        };
        let route: std::sync::Arc<str> = std::sync::Arc::from(pattern);
        let mut routes = self
            .routes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if routes.len() < SHAPES {
            routes.insert(shape.into_owned(), route.clone());
        }
        route
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Counts a GraphQL operation. Names are the client's to choose, so
    /// only the first [`OPERATION_NAMES`] become labels.
    pub fn observe_graphql(&self, kind: &str, name: Option<&str>) {
        let label = match name {
            None => "anonymous",
            Some(name) if name.len() <= 64 => {
                let mut names = self
                    .operation_names
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if names.contains(name) {
                    return self.graphql.with_label_values(&[kind, name]).inc();
                }
                if names.len() < OPERATION_NAMES {
                    names.insert(name.to_owned());
                    return self.graphql.with_label_values(&[kind, name]).inc();
                }
                "other"
            }
            Some(_) => "other",
        };
        self.graphql.with_label_values(&[kind, label]).inc();
    }

    /// Counts a GraphQL answer served again without execution.
    pub fn observe_graphql_reuse(&self) {
        self.graphql_reused.inc();
    }

    /// The text exposition format.
    /// Brings the periodic metrics of `kind` up to the workers' count.
    pub fn observe_periodic(&self, kind: &str, count: &crate::jobs::PeriodicCount) {
        for (counter, total) in [
            (&self.periodic_passes, count.passes),
            (&self.periodic_failures, count.failures),
        ] {
            let counter = counter.with_label_values(&[kind]);
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        for (label, q) in [("0.5", 0.5), ("0.99", 0.99), ("1", 1.0)] {
            if let Some(seconds) = count.quantile(q) {
                self.periodic_pass_seconds
                    .with_label_values(&[kind, label])
                    .set(seconds);
            }
        }
        if let Some(at) = count.last_success {
            self.periodic_last_success
                .with_label_values(&[kind])
                .set(at.timestamp_millis() as f64 / 1000.0);
        }
    }

    pub fn render(&self) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(out)
    }
}

/// The method as a label: one of the standard ones, or `other` (any token
/// is a valid method, so a client could otherwise mint labels at will).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Middleware: time every request and count it under its route pattern.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(req.method());
    let res = next.call(req).await?;
    let Some(metrics) = metrics else {
        return Ok(res);
    };
    let route = metrics.route(res.request());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    metrics.observe(method, &route, status, elapsed.as_secs_f64());
    if status >= 500 {
        tracing::warn!(method, %route, status, latency_ms = elapsed.as_secs_f64() * 1e3, "request failed");
    } else {
        tracing::debug!(method, %route, status, latency_ms = elapsed.as_secs_f64() * 1e3, "request");
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::shape;

    #[test]
    fn a_shape_hides_ids_and_nothing_else() {
        let id = "0192f1a4-7c3e-7d2a-9b1e-3f4a5b6c7d8e";
        assert_eq!(
            shape(&format!("/api/v1/properties/{id}/availability")),
            "/api/v1/properties/{}/availability"
        );
        assert_eq!(
            shape(&format!("/api/v1/properties/{id}/blocks/{id}")),
            "/api/v1/properties/{}/blocks/{}"
        );
        assert_eq!(shape("/api/v1/properties"), "/api/v1/properties");
        // Not an id: kept as it is, so it can match another route.
        assert_eq!(
            shape("/api/v1/properties/search/availability"),
            "/api/v1/properties/search/availability"
        );
        assert_eq!(shape(&id[1..]), &id[1..]);
    }
}
