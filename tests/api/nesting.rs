//! Untrusted input nests only so deep before anything recursive reads it
//! (issue 28): REST bodies, GraphQL documents and variables (POST and GET),
//! WebSocket messages, signed Stripe events and the headers of bearer
//! tokens (read before the signature is checked), each sent 10× and 1,000×
//! as deep as its bound, and as deep as the size limit lets a body reach
//! the parser. Each is a clear 4xx, and the server answers after each.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::{SinkExt, StreamExt};
use innkeep::graphql::limits::QueryLimits;
use innkeep::http::extract::JSON_LIMIT;
use innkeep::nesting::MAX_JSON_NESTING;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::both_stores;
use crate::support::{Options, PASSWORD, Response, TestApp, event, signed_now, spawn_sqlite};

both_stores!(
    rest_bodies_nest_at_most_64_deep,
    stripe_events_nest_at_most_64_deep
);

/// The message of a JSON body refused for its nesting.
const TOO_DEEP: &str = "JSON nested more than 64 levels deep";

/// The largest WebSocket message the server reads (64 KiB).
const MAX_MESSAGE: usize = 64 * 1024;

/// The Stripe webhook's body limit (actix's default for `Bytes`).
const WEBHOOK_LIMIT: usize = 256 * 1024;

/// `prefix`, `depth` opening `open`s and, with a `suffix`, as many closing
/// `close`s and the suffix (without one the text stays open, so that the
/// deepest text fits the size limit).
fn nested(prefix: &str, (open, close): (char, char), depth: usize, suffix: Option<&str>) -> String {
    let mut text = String::with_capacity(prefix.len() + 2 * depth + 16);
    text.push_str(prefix);
    text.extend(std::iter::repeat_n(open, depth));
    if let Some(suffix) = suffix {
        text.extend(std::iter::repeat_n(close, depth));
        text.push_str(suffix);
    }
    text
}

const ARRAYS: (char, char) = ('[', ']');
const BRACES: (char, char) = ('{', '}');

/// How deep the document limits let a GraphQL document's brackets nest.
fn document_bound() -> usize {
    QueryLimits::default().max_nesting
}

/// The server still answers: `/healthz` is 200.
async fn still_answers(app: &TestApp, after: &str) {
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status.as_u16(), 200, "after {after}: {}", res.text);
}

#[track_caller]
fn refused_as_too_deep(res: &Response, case: &str) {
    let problem = res.expect(400);
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(TOO_DEEP), "{case}: {}", res.text);
}

#[track_caller]
fn graphql_refusal(res: &Response, code: &str, case: &str) {
    graphql_refusal_with(res, 400, code, case);
}

/// A document that does not run, to a client that did not ask for
/// `application/graphql-response+json`: 200 with `errors`, as GraphQL over
/// HTTP says for `application/json`.
#[track_caller]
fn document_refusal(res: &Response, code: &str, case: &str) {
    graphql_refusal_with(res, 200, code, case);
}

#[track_caller]
fn graphql_refusal_with(res: &Response, status: u16, code: &str, case: &str) {
    assert_eq!(res.status.as_u16(), status, "{case}: {}", res.text);
    assert_eq!(
        res.body["errors"][0]["extensions"]["code"], code,
        "{case}: {}",
        res.text
    );
}

async fn rest_bodies_nest_at_most_64_deep(app: TestApp) {
    let path = "/api/v1/auth/register";
    // The body is one level; `email` holds the rest.
    let prefix = format!(r#"{{"name": "Deep", "password": "{PASSWORD}", "email": "#);
    let send = |body: String| app.post_raw(path, None, "application/json", body.into_bytes());

    // At the bound the body reaches validation (an array is no e-mail)...
    let at_bound = nested(&prefix, ARRAYS, MAX_JSON_NESTING - 1, Some("}"));
    let res = send(at_bound).await;
    assert_eq!(
        res.expect(422)["errors"][0]["field"],
        "email",
        "{}",
        res.text
    );
    // ... one more level does not.
    let over = nested(&prefix, ARRAYS, MAX_JSON_NESTING, Some("}"));
    refused_as_too_deep(&send(over).await, "one over the bound");
    still_answers(&app, "one over the bound").await;

    for (case, depth, closed) in [
        ("10×", 10 * MAX_JSON_NESTING, true),
        ("1,000×, open", 1_000 * MAX_JSON_NESTING, false),
        ("as deep as 64 KiB allows", JSON_LIMIT - prefix.len(), false),
    ] {
        let body = nested(&prefix, ARRAYS, depth, closed.then_some("}"));
        assert!(body.len() <= JSON_LIMIT, "{case} reaches the parser");
        refused_as_too_deep(&send(body).await, case);
        still_answers(&app, case).await;
    }
    // 1,000× closed is twice 64 KiB: refused for its size.
    let body = nested(&prefix, ARRAYS, 1_000 * MAX_JSON_NESTING, Some("}"));
    send(body).await.expect(413);
    still_answers(&app, "1,000× closed").await;

    app.register("after").await;
}

#[actix_web::test]
async fn graphql_documents_nest_at_most_64_deep_over_post() {
    let app = spawn_sqlite(Options::default()).await;
    let bound = document_bound();
    let envelope = r#"{"query": ""}"#.len();
    let send = |query: String| {
        let body = json!({ "query": query }).to_string();
        app.post_raw("/graphql", None, "application/json", body.into_bytes())
    };
    for (case, query) in [
        ("10×", nested("", BRACES, 10 * bound, Some(""))),
        ("1,000×, open", nested("", BRACES, 1_000 * bound, None)),
        (
            "as deep as 64 KiB allows",
            nested("", BRACES, JSON_LIMIT - envelope, None),
        ),
        // Lists in an argument count as selections do.
        ("10× in a list", nested("{ a(x: ", ARRAYS, 10 * bound, None)),
        // Comments end at a carriage return, as the parsers end them: the
        // braces after one are counted.
        (
            "10× after a comment",
            nested("# hidden?\r", BRACES, 10 * bound, None),
        ),
    ] {
        document_refusal(&send(query).await, "QUERY_TOO_DEEP", case);
        still_answers(&app, case).await;
    }
    // 1,000× closed is twice 64 KiB: refused for its size, as REST.
    let query = nested("", BRACES, 1_000 * bound, Some(""));
    send(query).await.expect(413);
    still_answers(&app, "1,000× closed").await;
    app.gql_data(None, "{ __typename }", json!({})).await;
}

#[actix_web::test]
async fn graphql_variables_nest_at_most_64_deep_over_post() {
    let app = spawn_sqlite(Options::default()).await;
    // The body and `variables` are two levels; `v` holds the rest.
    let prefix =
        r#"{"query": "query($v: String!) { __type(name: $v) { name } }", "variables": {"v": "#;
    let send = |body: String| app.post_raw("/graphql", None, "application/json", body.into_bytes());
    for (case, depth, closed) in [
        ("10×", 10 * MAX_JSON_NESTING, true),
        ("1,000×, open", 1_000 * MAX_JSON_NESTING, false),
        ("as deep as 64 KiB allows", JSON_LIMIT - prefix.len(), false),
    ] {
        let body = nested(prefix, ARRAYS, depth, closed.then_some("}}"));
        refused_as_too_deep(&send(body).await, case);
        still_answers(&app, case).await;
    }
    let body = nested(prefix, ARRAYS, 1_000 * MAX_JSON_NESTING, Some("}}"));
    send(body).await.expect(413);
    still_answers(&app, "1,000× closed").await;
    let query = "query($v: String!) { __type(name: $v) { name } }";
    let data = app.gql_data(None, query, json!({"v": "Query"})).await;
    assert_eq!(data["__type"]["name"], "Query");
}

/// `GET /graphql?{query}` with the query string sent as is: reqwest's URL
/// keeps brackets unescaped, so a URL of 64 KiB holds 64,000 of them.
async fn get_raw(app: &TestApp, query: &str) -> Response {
    let res = app
        .client
        .get(format!("{}/graphql?{query}", app.base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /graphql: {e}"));
    TestApp::read(res).await
}

/// The longest URL the HTTP client sends (`http`'s `Uri` holds less than
/// 64 KiB).
const MAX_URL: usize = u16::MAX as usize - 1;

/// The status of `GET {target}` sent over a plain socket, for a request
/// line longer than the HTTP client sends.
async fn raw_get_status(app: &TestApp, target: &str) -> u16 {
    let address = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("connecting to {address}: {e}"));
    let request = format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    // The server may answer (and close) before it has read it all.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let head = String::from_utf8_lossy(&answer);
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {:?}", head.get(..200)))
}

#[actix_web::test]
async fn graphql_documents_nest_at_most_64_deep_over_get() {
    let app = spawn_sqlite(Options::default()).await;
    let bound = document_bound();
    let room = MAX_URL - format!("{}/graphql?query=", app.base).len();
    for (case, depth) in [
        ("10×", 10 * bound),
        ("1,000×", 1_000 * bound),
        ("as deep as a URL allows", room),
    ] {
        let query = nested("query=", BRACES, depth, None);
        document_refusal(&get_raw(&app, &query).await, "QUERY_TOO_DEEP", case);
        still_answers(&app, case).await;
    }
    // 1,000× closed is longer than a request line may be: a 4xx.
    let target = nested("/graphql?query=", BRACES, 1_000 * bound, Some(""));
    let status = raw_get_status(&app, &target).await;
    assert!((400..500).contains(&status), "{status}");
    still_answers(&app, "1,000× closed").await;
    let ok = get_raw(&app, "query={__typename}").await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
}

#[actix_web::test]
async fn graphql_variables_nest_at_most_64_deep_over_get() {
    let app = spawn_sqlite(Options::default()).await;
    let prefix = "query={__typename}&variables=";
    let room = MAX_URL - format!("{}/graphql?{prefix}", app.base).len();
    for (case, depth, closed) in [
        ("10×", 10 * MAX_JSON_NESTING, true),
        ("1,000×, open", 1_000 * MAX_JSON_NESTING, false),
        ("as deep as a URL allows", room, false),
    ] {
        let query = nested(prefix, ARRAYS, depth, closed.then_some(""));
        let res = get_raw(&app, &query).await;
        graphql_refusal(&res, "BAD_USER_INPUT", case);
        let message = res.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(TOO_DEEP), "{case}: {message}");
        still_answers(&app, case).await;
    }
    let target = nested(
        &format!("/graphql?{prefix}"),
        ARRAYS,
        1_000 * MAX_JSON_NESTING,
        Some(""),
    );
    let status = raw_get_status(&app, &target).await;
    assert!((400..500).contains(&status), "{status}");
    still_answers(&app, "1,000× closed").await;
    let ok = get_raw(&app, "query={__typename}&variables={}").await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A socket to `/graphql/ws`, initialised (`connection_ack` received).
async fn socket(app: &TestApp) -> Socket {
    let url = app.base.replace("http://", "ws://") + "/graphql/ws";
    let mut request = url
        .into_client_request()
        .unwrap_or_else(|e| panic!("ws request: {e}"));
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("ws connect: {e}"));
    send(
        &mut socket,
        r#"{"type": "connection_init", "payload": {}}"#.into(),
    )
    .await;
    match next(&mut socket).await {
        Frame::Message(ack) if ack["type"] == "connection_ack" => socket,
        other => panic!("no connection_ack: {other:?}"),
    }
}

async fn send(socket: &mut Socket, text: String) {
    socket
        .send(Message::text(text))
        .await
        .unwrap_or_else(|e| panic!("ws send: {e}"));
}

#[derive(Debug)]
enum Frame {
    Message(Value),
    /// The server closed the socket: the code and reason, if it sent them.
    Closed(Option<(u16, String)>),
}

/// The next protocol message (keep-alive pings and pongs skipped) or the
/// close, within 5 s.
async fn next(socket: &mut Socket) -> Frame {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap_or_else(|_| panic!("nothing from the server within 5 s"));
        match frame {
            Some(Ok(Message::Text(text))) => {
                let message: Value =
                    serde_json::from_str(text.as_str()).unwrap_or_else(|e| panic!("{e}: {text}"));
                if !matches!(message["type"].as_str(), Some("ping" | "pong")) {
                    return Frame::Message(message);
                }
            }
            Some(Ok(Message::Close(close))) => {
                return Frame::Closed(close.map(|c| (u16::from(c.code), c.reason.to_string())));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Frame::Closed(None),
        }
    }
}

#[actix_web::test]
async fn websocket_documents_nest_at_most_64_deep() {
    let app = spawn_sqlite(Options::default()).await;
    let bound = document_bound();
    let prefix = r#"{"id": "deep", "type": "subscribe", "payload": {"query": ""#;
    let mut socket = socket(&app).await;
    for (case, depth) in [
        ("10×", 10 * bound),
        ("1,000×", 1_000 * bound),
        (
            "as deep as a message allows",
            MAX_MESSAGE - prefix.len() - 3,
        ),
    ] {
        let message = nested(prefix, BRACES, depth, None) + r#""}}"#;
        assert!(message.len() <= MAX_MESSAGE, "{case} reaches the limits");
        send(&mut socket, message).await;
        // That operation is refused; the socket stays open.
        match next(&mut socket).await {
            Frame::Message(m) if m["type"] == "error" && m["id"] == "deep" => {
                assert_eq!(
                    m["payload"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
                    "{case}"
                );
            }
            other => panic!("{case}: {other:?}"),
        }
        still_answers(&app, case).await;
    }
    // The same socket still speaks: a `ping` is answered with a `pong`.
    send(&mut socket, r#"{"type": "ping"}"#.into()).await;
    let pong = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Text(text) = frame
                && text.as_str().contains("pong")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(pong, Ok(true), "no pong after the refusals");
}

#[actix_web::test]
async fn websocket_messages_nest_at_most_64_deep() {
    let app = spawn_sqlite(Options::default()).await;
    // The message, its payload and `variables` are three levels.
    let prefix = r#"{"id": "1", "type": "subscribe", "payload": {"query": "subscription { x }", "variables": {"v": "#;
    for (case, depth, closed) in [
        ("10×", 10 * MAX_JSON_NESTING, true),
        ("1,000×, open", 1_000 * MAX_JSON_NESTING, false),
        (
            "as deep as a message allows",
            MAX_MESSAGE - prefix.len(),
            false,
        ),
    ] {
        let mut socket = socket(&app).await;
        let message = nested(prefix, ARRAYS, depth, closed.then_some("}}}"));
        assert!(message.len() <= MAX_MESSAGE, "{case} reaches the parser");
        send(&mut socket, message).await;
        // Not a message this server reads: closed with 4400, as the
        // protocol says, naming why.
        match next(&mut socket).await {
            Frame::Closed(Some((4400, reason))) => {
                assert!(reason.contains(TOO_DEEP), "{case}: {reason}");
            }
            other => panic!("{case}: {other:?}"),
        }
        still_answers(&app, case).await;
    }
    // 1,000× closed is twice the largest message: the socket is closed
    // (perhaps before the client has sent it all).
    let mut too_large = socket(&app).await;
    let message = nested(prefix, ARRAYS, 1_000 * MAX_JSON_NESTING, Some("}}}"));
    let _ = too_large.send(Message::text(message)).await;
    assert!(matches!(next(&mut too_large).await, Frame::Closed(_)));
    still_answers(&app, "1,000× closed").await;
    // A new socket is served.
    socket(&app).await;
}

async fn stripe_events_nest_at_most_64_deep(app: TestApp) {
    // The event, `data` and `data.object` are three levels.
    let prefix = r#"{"id": "evt_deep", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_deep", "metadata": "#;
    for (case, depth, closed) in [
        ("10×", 10 * MAX_JSON_NESTING, true),
        ("1,000×", 1_000 * MAX_JSON_NESTING, true),
        (
            "as deep as 256 KiB allows",
            WEBHOOK_LIMIT - prefix.len(),
            false,
        ),
    ] {
        let body = nested(prefix, ARRAYS, depth, closed.then_some("}}}"));
        assert!(body.len() <= WEBHOOK_LIMIT, "{case} reaches the parser");
        // Signed: the event gets past the signature to the parser.
        let res = app.deliver_signed(body.as_bytes()).await;
        refused_as_too_deep(&res, case);
        still_answers(&app, case).await;
    }
    // Larger than the webhook's body limit: refused for its size.
    let body = nested(prefix, ARRAYS, WEBHOOK_LIMIT, None);
    app.deliver(body.as_bytes(), Some(signed_now(body.as_bytes())))
        .await
        .expect(413);
    still_answers(&app, "over 256 KiB").await;
    // Events are still handled.
    let ignored = event("evt_after", "customer.created", json!({"id": "cus_1"}));
    let res = app.deliver_signed(&ignored).await;
    assert_eq!(res.expect(200)["received"], true, "{}", res.text);
}

#[actix_web::test]
async fn bearer_token_headers_nest_at_most_64_deep() {
    let app = spawn_sqlite(Options::default()).await;
    let prefix = r#"{"alg": "HS256", "typ": "JWT", "x": "#;
    let token = |depth: usize, closed: bool| {
        let header = nested(prefix, ARRAYS, depth, closed.then_some("}"));
        format!("{}.e30.c2lnbmF0dXJl", URL_SAFE_NO_PAD.encode(header))
    };
    for (case, depth, closed) in [
        ("10×", 10 * MAX_JSON_NESTING, true),
        ("1,000×, open", 1_000 * MAX_JSON_NESTING, false),
    ] {
        let token = token(depth, closed);
        app.get("/api/v1/users/me", Some(&token)).await.expect(401);
        let res = app.gql(Some(&token), "{ __typename }", json!({})).await;
        graphql_refusal_with(&res, 401, "UNAUTHENTICATED", case);
        still_answers(&app, case).await;
    }
    // (1,000× closed, 170 KB of base64, is more than a request's head may
    // hold, 128 KiB: actix refuses it with 431 before anything reads it.)
    let user = app.register("after").await;
    app.get("/api/v1/users/me", Some(&user.token))
        .await
        .expect(200);
}
