//! `GET /graphql/ws`: subscriptions over WebSocket, speaking
//! `graphql-transport-ws` (juniper_graphql_ws) over actix-ws.
//!
//! The glue is ours rather than juniper_actix's so that every `subscribe`
//! goes through the same document limits as HTTP, WebSocket ping frames
//! are answered and fragmented messages reassembled (juniper_actix closes
//! the socket on either), and a client that never sends `connection_init`
//! is closed after 10 s. A message nested deeper than `MAX_JSON_NESTING`
//! closes the socket with 4400, as one that is not JSON. Authentication is
//! the `Authorization` key of the `connection_init` payload (any case),
//! checked like the HTTP header: a bad token closes the socket with 4403.
//!
//! The protocol's other closes are here too (juniper_graphql_ws leaves
//! them to the transport): 4406 for an upgrade that does not ask for
//! `graphql-transport-ws` (accepted first, as the protocol says, so the
//! client reads why), 4429 for a second `connection_init`, and 1009 for a
//! message over 64 KiB (a close frame, not a dropped connection, so the
//! client can tell it from a network failure).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Item, Message, MessageStream, ProtocolError};
use futures_util::{SinkExt as _, StreamExt as _, future};
use juniper::{DefaultScalarValue, ScalarValue as _, Variables};
use juniper_graphql_ws::graphql_transport_ws::{ClientMessage, Connection, Input, Output};
use juniper_graphql_ws::{ArcSchema, ConnectionConfig};

use super::context::Context;
use super::http::parse_bearer;
use super::{GraphQl, SUBSCRIPTIONS_PER_CONNECTION, limits};
use crate::services::Services;

const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest message a client may send (the same 64 KiB as a body).
const MAX_MESSAGE: usize = 64 * 1024;
const PROTOCOL: &str = "graphql-transport-ws";

/// Why a `connection_init` was refused (the close reason, code 4403).
#[derive(Debug)]
pub struct Refused(&'static str);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Refused {}

/// Runs on `connection_init`, with its payload: who the connection speaks
/// for (nobody without an `Authorization` key; a wrong one is refused).
fn on_init(
    services: web::Data<Services>,
    gql: web::Data<GraphQl>,
    client: Option<IpAddr>,
) -> impl FnOnce(
    Variables,
) -> future::Ready<Result<ConnectionConfig<Context, DefaultScalarValue>, Refused>>
+ Unpin
+ 'static {
    move |payload: Variables| {
        let auth = payload
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.as_scalar().and_then(|s| s.try_as_str()));
        let viewer = match auth {
            None => None,
            Some(value) => match value
                .and_then(parse_bearer)
                .and_then(|token| services.auth.authenticate(token).ok())
            {
                Some(session) => Some(session),
                None => return future::ready(Err(Refused("invalid or expired access token"))),
            },
        };
        let context = Context::new(services, gql.subscriptions.clone(), viewer, client);
        let config = ConnectionConfig::new(context)
            // A `pong` every 15 s keeps proxies from closing an idle socket;
            // clients need not ping (graphql-ws clients do not by default).
            .with_keep_alive_interval(Duration::from_secs(15))
            .with_keep_alive_timeout(Duration::ZERO)
            .with_max_in_flight_operations(SUBSCRIPTIONS_PER_CONNECTION);
        future::ready(Ok(config))
    }
}

/// Whether the upgrade asks for `graphql-transport-ws` among its
/// subprotocols (actix-ws then names it in the answer).
fn asks_for_protocol(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim() == PROTOCOL)
}

/// One whole message from the client.
enum Incoming {
    Text(String),
    Ping(Bytes),
    /// Over [`MAX_MESSAGE`], in one frame or in fragments.
    TooBig,
    /// Closed, or no longer speaking WebSocket.
    Gone,
}

/// The client's frames as whole messages: fragments reassembled, at most
/// [`MAX_MESSAGE`] in all (actix-ws's codec refuses a single larger frame
/// from its header, before reading it).
struct Inbox {
    messages: MessageStream,
    partial: Option<Vec<u8>>,
}

impl Inbox {
    async fn next(&mut self) -> Incoming {
        loop {
            let message = match self.messages.recv().await {
                Some(Ok(message)) => message,
                Some(Err(ProtocolError::Overflow)) => return Incoming::TooBig,
                Some(Err(_)) | None => return Incoming::Gone,
            };
            let (first, last, bytes) = match message {
                Message::Text(text) => return Incoming::Text(text.to_string()),
                Message::Binary(bytes) => return Incoming::Text(lossy(&bytes)),
                Message::Ping(bytes) => return Incoming::Ping(bytes),
                Message::Pong(_) | Message::Nop => continue,
                Message::Close(_) => return Incoming::Gone,
                Message::Continuation(Item::FirstText(b) | Item::FirstBinary(b)) => {
                    (true, false, b)
                }
                Message::Continuation(Item::Continue(b)) => (false, false, b),
                Message::Continuation(Item::Last(b)) => (false, true, b),
            };
            if first {
                self.partial = Some(Vec::new());
            }
            // A fragment with no first one before it is no WebSocket.
            let Some(partial) = self.partial.as_mut() else {
                return Incoming::Gone;
            };
            if partial.len() + bytes.len() > MAX_MESSAGE {
                self.partial = None;
                return Incoming::TooBig;
            }
            partial.extend_from_slice(&bytes);
            if last {
                let whole = self.partial.take().unwrap_or_default();
                return Incoming::Text(lossy(&whole));
            }
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn close(code: u16, why: &str) -> Option<CloseReason> {
    Some(CloseReason {
        code: CloseCode::Other(code),
        description: Some(why.to_owned()),
    })
}

pub async fn subscriptions(
    req: HttpRequest,
    stream: web::Payload,
    services: web::Data<Services>,
    gql: web::Data<GraphQl>,
) -> Result<HttpResponse, actix_web::Error> {
    let client = req.peer_addr().map(|a| a.ip());
    let (response, session, messages) = actix_ws::handle_with_protocols(&req, stream, &[PROTOCOL])?;
    if !asks_for_protocol(&req) {
        // Nothing is read: the close frame ends the answer and the socket.
        actix_web::rt::spawn(async move {
            let _ = session
                .close(close(4406, "Subprotocol not acceptable"))
                .await;
            drop(messages);
        });
        return Ok(response);
    }
    let mut messages = Inbox {
        messages: messages.max_frame_size(MAX_MESSAGE),
        partial: None,
    };
    let limits = gql.limits;
    let connection = Connection::new(
        ArcSchema(gql.schema.clone()),
        on_init(services, gql.clone(), client),
    );
    let (mut to_juniper, mut from_juniper) = connection.split();

    let mut reader_session = session.clone();
    let reader = async move {
        let deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
        let mut initialised = false;
        loop {
            let next = if initialised {
                messages.next().await
            } else {
                match tokio::time::timeout_at(deadline, messages.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        let why = "Connection initialisation timeout";
                        let _ = reader_session.close(close(4408, why)).await;
                        return;
                    }
                }
            };
            let text = match next {
                Incoming::Text(text) => text,
                Incoming::Ping(bytes) => {
                    let _ = reader_session.pong(&bytes).await;
                    continue;
                }
                Incoming::TooBig => {
                    let reason = CloseReason {
                        code: CloseCode::Size,
                        description: Some(format!("Message too big: over {MAX_MESSAGE} bytes")),
                    };
                    let _ = to_juniper.send(Input::Close).await;
                    let _ = reader_session.close(Some(reason)).await;
                    return;
                }
                Incoming::Gone => {
                    let _ = to_juniper.send(Input::Close).await;
                    return;
                }
            };
            // A message nested too deep is refused before serde_json and
            // juniper's `InputValue` recurse into it, as one that is not JSON.
            let parsed = crate::nesting::check_json(text.as_bytes())
                .map_err(|e| e.to_string())
                .and_then(|()| serde_json::from_str(&text).map_err(|e| e.to_string()));
            let message: ClientMessage<DefaultScalarValue> = match parsed {
                Ok(message) => message,
                Err(e) => {
                    let _ = reader_session.close(close(4400, &e)).await;
                    return;
                }
            };
            match &message {
                // Once per socket, acknowledged or not yet.
                ClientMessage::ConnectionInit { .. } if initialised => {
                    let why = "Too many initialisation requests";
                    let _ = to_juniper.send(Input::Close).await;
                    let _ = reader_session.close(close(4429, why)).await;
                    return;
                }
                ClientMessage::ConnectionInit { .. } => initialised = true,
                ClientMessage::Subscribe { id, payload } => {
                    let variables = serde_json::to_value(&payload.variables).ok();
                    if let Err(e) = limits::check_query(&payload.query, variables.as_ref(), &limits)
                    {
                        // Ends this operation only; the connection stays.
                        let frame = serde_json::json!({
                            "type": "error", "id": id, "payload": [e.to_graphql_error()],
                        });
                        if reader_session.text(frame.to_string()).await.is_err() {
                            return;
                        }
                        continue;
                    }
                }
                _ => {}
            }
            if to_juniper.send(Input::Message(message)).await.is_err() {
                return;
            }
        }
    };

    let mut writer_session = session;
    let writer = async move {
        while let Some(output) = from_juniper.next().await {
            match output {
                Output::Message(message) => {
                    let Ok(text) = serde_json::to_string(&message) else {
                        break;
                    };
                    if writer_session.text(text).await.is_err() {
                        return;
                    }
                }
                Output::Close { code, message } => {
                    let reason = CloseReason {
                        code: code.into(),
                        description: Some(message),
                    };
                    let _ = writer_session.close(Some(reason)).await;
                    return;
                }
            }
        }
        let _ = writer_session.close(Some(CloseCode::Normal.into())).await;
    };

    actix_web::rt::spawn(async move {
        future::select(std::pin::pin!(reader), std::pin::pin!(writer)).await;
    });
    Ok(response)
}
