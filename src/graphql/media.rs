//! The media type of a GraphQL answer over HTTP, chosen from the request's
//! `Accept` as the GraphQL-over-HTTP specification asks, and what it means
//! for the status of a request error.
//!
//! `application/graphql-response+json` is the specification's own type: a
//! document that does not run (parse, validation, our limits, variables)
//! is a 4xx there, so intermediaries and clients can tell it from an
//! answer. `application/json` is the legacy type, read by clients that
//! may throw away a non-2xx body: every GraphQL answer to a well-formed
//! request is a 200 there, its errors in `errors`. A request without
//! `Accept`, or accepting neither, gets `application/json` (the
//! specification lets a server disregard an `Accept` it cannot meet
//! rather than answer 406; a browser's `text/html, */*` then still reads
//! the answer).

use actix_web::HttpRequest;
use actix_web::http::{StatusCode, header};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`.
    GraphQlResponse,
    /// `application/json`.
    Json,
}

impl MediaType {
    pub const GRAPHQL_RESPONSE: &'static str = "application/graphql-response+json";

    /// The type `req` accepts best: the highest `q`; at equal `q` a type
    /// named beats a wildcard, and the specification's type beats
    /// `application/json`.
    pub fn of(req: &HttpRequest) -> Self {
        let mut best: Option<(u16, u8, Self)> = None;
        for value in req.headers().get_all(header::ACCEPT) {
            let Ok(value) = value.to_str() else {
                continue;
            };
            for range in value.split(',') {
                let mut parts = range.split(';');
                let essence = parts.next().unwrap_or_default().trim();
                let (kind, rank) = if essence.eq_ignore_ascii_case(Self::GRAPHQL_RESPONSE) {
                    (Self::GraphQlResponse, 3)
                } else if essence.eq_ignore_ascii_case("application/json") {
                    (Self::Json, 2)
                } else if essence == "*/*" || essence.eq_ignore_ascii_case("application/*") {
                    (Self::Json, 1)
                } else {
                    continue;
                };
                let q = parts.find_map(quality).unwrap_or(1000);
                if q > 0 && best.is_none_or(|(bq, br, _)| (q, rank) > (bq, br)) {
                    best = Some((q, rank, kind));
                }
            }
        }
        best.map_or(Self::Json, |(_, _, kind)| kind)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::GraphQlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json",
        }
    }

    /// The status of a GraphQL request error: a document that did not run.
    pub fn request_error(self) -> StatusCode {
        match self {
            Self::GraphQlResponse => StatusCode::BAD_REQUEST,
            Self::Json => StatusCode::OK,
        }
    }
}

/// `q=0.5` → 500 (thousandths, as RFC 9110 allows three decimals);
/// `None` for another parameter or a malformed weight.
fn quality(param: &str) -> Option<u16> {
    let (name, value) = param.split_once('=')?;
    if !name.trim().eq_ignore_ascii_case("q") {
        return None;
    }
    let q: f32 = value.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&q)
        .then(|| (q * 1000.0).round() as u16)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn of(accept: Option<&str>) -> MediaType {
        let mut req = TestRequest::default();
        if let Some(accept) = accept {
            req = req.insert_header((header::ACCEPT, accept));
        }
        MediaType::of(&req.to_http_request())
    }

    #[test]
    fn negotiates_as_graphql_clients_ask() {
        use MediaType::{GraphQlResponse, Json};
        for (accept, expected) in [
            (None, Json),
            (Some("application/json"), Json),
            (Some("*/*"), Json),
            (Some("text/html"), Json),
            (Some("application/graphql-response+json"), GraphQlResponse),
            // graphql-http's and Apollo Client's.
            (
                Some("application/graphql-response+json, application/json"),
                GraphQlResponse,
            ),
            (
                Some("application/json, application/graphql-response+json"),
                GraphQlResponse,
            ),
            (
                Some("application/graphql-response+json,application/json;q=0.9"),
                GraphQlResponse,
            ),
            (
                Some("application/graphql-response+json;q=0.5, application/json"),
                Json,
            ),
            (Some("application/graphql-response+json;q=0, */*"), Json),
            (
                Some("text/html, */*;q=0.1, APPLICATION/GRAPHQL-RESPONSE+JSON;charset=utf-8"),
                GraphQlResponse,
            ),
            (
                Some("application/graphql-response+json;q=oops"),
                GraphQlResponse,
            ),
        ] {
            assert_eq!(of(accept), expected, "{accept:?}");
        }
    }
}
