//! GraphQL over HTTP: `POST /graphql` (and `GET` for queries), the schema
//! as SDL, and the GraphiQL page with its assets served from the binary.
//!
//! A request goes: body (64 KiB at most, JSON nested at most
//! `MAX_JSON_NESTING` deep, as REST; so are GET's `variables`) → our limits
//! on the document (nesting, depth, fields, aliases, cost) → juniper's parse
//! and validation → execution. Field errors come back in `errors` with HTTP
//! 200; a document that does not run (refused by a limit, unparsable,
//! invalid, variables that do not fit) is a 400 to a client that accepts
//! `application/graphql-response+json` and a 200 to one that accepts
//! `application/json` (`media`); a bad bearer token is a 401.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use juniper::http::{GraphQLRequest, GraphQLResponse};
use juniper::{InputValue, OperationType};
use serde::Deserialize;

use super::GraphQl;
use super::context::Context;
use super::media::MediaType;
use super::prepared::Refusal;
use crate::http::extract::ApiJson;
use crate::http::metrics::Metrics;
use crate::services::Services;

pub fn error_json(message: &str, code: &str) -> serde_json::Value {
    serde_json::json!({ "message": message, "extensions": { "code": code } })
}

fn errors(status: StatusCode, media: MediaType, message: &str, code: &str) -> HttpResponse {
    let body = serde_json::json!({ "errors": [error_json(message, code)] });
    HttpResponse::build(status)
        .content_type(media.content_type())
        .body(body.to_string())
}

/// `Authorization: Bearer <token>` → who is asking: nobody without the
/// header, a 401 for a bad token (as REST).
pub fn context(
    req: &HttpRequest,
    svc: &web::Data<Services>,
    gql: &GraphQl,
    media: MediaType,
) -> Result<Context, Box<HttpResponse>> {
    let client = req.peer_addr().map(|a| a.ip());
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(Context::new(
            svc.clone(),
            gql.subscriptions.clone(),
            None,
            client,
        ));
    };
    let session = value
        .to_str()
        .ok()
        .and_then(parse_bearer)
        .and_then(|token| svc.auth.authenticate(token).ok())
        .ok_or_else(|| {
            let mut res = errors(
                StatusCode::UNAUTHORIZED,
                media,
                "invalid or expired access token",
                "UNAUTHENTICATED",
            );
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            Box::new(res)
        })?;
    Ok(Context::new(
        svc.clone(),
        gql.subscriptions.clone(),
        Some(session),
        client,
    ))
}

/// `"Bearer abc"` → `"abc"` (the scheme is case-insensitive).
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// `POST /graphql` with `{"query", "operationName", "variables"}`. One
/// operation per request: a batch (an array) is refused, as it would
/// multiply every limit.
pub async fn post(
    req: HttpRequest,
    body: ApiJson<GraphQLRequest>,
    svc: web::Data<Services>,
    gql: web::Data<GraphQl>,
    metrics: web::Data<Metrics>,
) -> HttpResponse {
    let media = MediaType::of(&req);
    let ctx = match context(&req, &svc, &gql, media) {
        Ok(ctx) => ctx,
        Err(res) => return *res,
    };
    let request = body.into_inner();
    let variables = || {
        request
            .variables
            .as_ref()
            .and_then(|v| serde_json::to_value(v).ok())
    };
    execute(&gql, &metrics, &ctx, media, &request, variables, false).await
}

#[derive(Deserialize)]
pub struct GetParams {
    query: String,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    /// JSON text.
    variables: Option<String>,
}

/// `GET /graphql?query=…`: queries only (a mutation is 405: GET must be safe).
pub async fn get(
    req: HttpRequest,
    params: web::Query<GetParams>,
    svc: web::Data<Services>,
    gql: web::Data<GraphQl>,
    metrics: web::Data<Metrics>,
) -> HttpResponse {
    let media = MediaType::of(&req);
    let ctx = match context(&req, &svc, &gql, media) {
        Ok(ctx) => ctx,
        Err(res) => return *res,
    };
    let GetParams {
        query,
        operation_name,
        variables,
    } = params.into_inner();
    let variables: Option<serde_json::Value> = match variables.as_deref() {
        None | Some("") => None,
        Some(text) => match crate::nesting::check_json(text.as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|()| serde_json::from_str(text).map_err(|e| e.to_string()))
        {
            Ok(v) => Some(v),
            Err(e) => {
                let message = format!("variables: {e}");
                return errors(StatusCode::BAD_REQUEST, media, &message, "BAD_USER_INPUT");
            }
        },
    };
    let input = match variables.clone().map(serde_json::from_value::<InputValue>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            let message = format!("variables: {e}");
            return errors(StatusCode::BAD_REQUEST, media, &message, "BAD_USER_INPUT");
        }
    };
    let request = GraphQLRequest::new(query, operation_name, input);
    execute(&gql, &metrics, &ctx, media, &request, || variables, true).await
}

fn operation_label(kind: OperationType) -> &'static str {
    match kind {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// Our limits, then juniper's parse and validation (both skipped for a
/// document prepared before), then execution.
async fn execute(
    gql: &GraphQl,
    metrics: &Metrics,
    ctx: &Context,
    media: MediaType,
    request: &GraphQLRequest,
    variables: impl FnOnce() -> Option<serde_json::Value>,
    is_get: bool,
) -> HttpResponse {
    let name = request.operation_name.as_deref();
    let prepared =
        match gql
            .prepared
            .prepare(&request.query, name, variables, &gql.limits, &gql.schema)
        {
            Ok(prepared) => prepared,
            Err(Refusal::Limits(e)) => {
                metrics.observe_graphql("refused", None);
                let body = serde_json::json!({ "errors": [e.to_graphql_error()] });
                return HttpResponse::build(media.request_error())
                    .content_type(media.content_type())
                    .body(body.to_string());
            }
            Err(Refusal::Invalid(e)) => {
                metrics.observe_graphql("invalid", None);
                let code = match e {
                    juniper::GraphQLError::ParseError(_) => "GRAPHQL_PARSE_FAILED",
                    juniper::GraphQLError::ValidationError(_) => "GRAPHQL_VALIDATION_FAILED",
                    _ => "BAD_USER_INPUT",
                };
                return request_error(e, code, media);
            }
        };
    let operation = prepared.operation();
    let kind = operation.operation_type();
    metrics.observe_graphql(operation_label(kind), name);
    match kind {
        OperationType::Mutation if is_get => {
            let mut res = errors(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                "mutations are POSTed",
                "BAD_USER_INPUT",
            );
            res.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
            return res;
        }
        OperationType::Subscription => {
            return errors(
                StatusCode::BAD_REQUEST,
                media,
                "subscriptions are served on /graphql/ws (graphql-transport-ws)",
                "BAD_USER_INPUT",
            );
        }
        _ => {}
    }
    // A document of one property's own fields: its answer is kept while
    // the property service holds the same snapshot of the property.
    let read = prepared.property_read().and_then(|read| {
        let id = read.property_id(request.variables.as_ref())?;
        Some((read, id))
    });
    let snapshot = match read {
        Some((read, id)) => match ctx.services.properties.listed_shared(id).await {
            Ok(property) => {
                if let Some(body) = gql.answers.get(read, id, &property) {
                    ctx.store_call();
                    metrics.observe_graphql_reuse();
                    return answer(gql, ctx, media, body);
                }
                Some((read, id, property))
            }
            Err(_) => None,
        },
        None => None,
    };
    // An error here, before any resolver ran, is the variables' (the
    // document was validated when prepared): they do not fit its types.
    let result = match operation.execute(&request.variables(), ctx).await {
        Ok(result) => result,
        Err(e) => return request_error(e, "BAD_USER_INPUT", media),
    };
    let complete = result.1.is_empty();
    let response = GraphQLResponse::from_result(Ok(result));
    // Serialised as is, so fields keep the order of the query.
    let body = match serde_json::to_vec(&response) {
        Ok(body) => Bytes::from(body),
        Err(e) => {
            tracing::error!(error = %e, "serialising a GraphQL response");
            return errors(
                StatusCode::INTERNAL_SERVER_ERROR,
                media,
                "something went wrong on our side",
                "INTERNAL",
            );
        }
    };
    if let Some((read, id, property)) = snapshot.filter(|_| complete) {
        // Kept only if the resolver read the snapshot taken before: the
        // property did not change while this request ran.
        let now = ctx.services.properties.listed_shared(id).await;
        if now.is_ok_and(|now| Arc::ptr_eq(&now, &property)) {
            gql.answers.keep(read, id, property, body.clone());
        }
    }
    answer(gql, ctx, media, body)
}

/// An answer (200) with `body`, and `extensions.storeCalls` where stats
/// are exposed.
fn answer(gql: &GraphQl, ctx: &Context, media: MediaType, body: Bytes) -> HttpResponse {
    let body = if gql.expose_stats && body.ends_with(b"}") {
        let calls = ctx.store_calls.load(std::sync::atomic::Ordering::Relaxed);
        let mut with = body[..body.len() - 1].to_vec();
        with.extend_from_slice(format!(r#","extensions":{{"storeCalls":{calls}}}}}"#).as_bytes());
        Bytes::from(with)
    } else {
        body
    };
    HttpResponse::Ok()
        .content_type(media.content_type())
        .body(body)
}

/// A document juniper refused (syntax or validation when preparing it, its
/// variables when executing it): its errors with `code`, and no `data`.
fn request_error(e: juniper::GraphQLError, code: &str, media: MediaType) -> HttpResponse {
    let response = GraphQLResponse::<juniper::DefaultScalarValue>::from_result(Err(e));
    let mut body = serde_json::to_value(&response).unwrap_or_default();
    if let Some(list) = body.get_mut("errors").and_then(|e| e.as_array_mut()) {
        for err in list {
            err["extensions"] = serde_json::json!({ "code": code });
        }
    }
    HttpResponse::build(media.request_error())
        .content_type(media.content_type())
        .body(body.to_string())
}

/// `GET /graphql/schema.graphql`: the schema in SDL.
pub async fn sdl(gql: web::Data<GraphQl>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(gql.sdl.clone())
}

/// GraphiQL's files, compiled into the binary (sources and licences:
/// `assets/graphiql/README.md`). Nothing is loaded from elsewhere.
const GRAPHIQL_ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/init.js"),
    ),
];

/// The browser itself refuses any request that is not to this origin.
const GRAPHIQL_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP))
        .body(&include_bytes!("../../assets/graphiql/index.html")[..])
}

pub async fn graphiql_asset(path: web::Path<String>) -> HttpResponse {
    match GRAPHIQL_ASSETS
        .iter()
        .find(|(name, _, _)| *name == path.as_str())
    {
        Some((_, content_type, bytes)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .body(*bytes),
        None => HttpResponse::NotFound().finish(),
    }
}
