//! A GraphQL client for the stories: queries over HTTP, subscriptions
//! over WebSocket (`graphql-transport-ws`).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Response, TestApp};

impl TestApp {
    /// `POST /graphql` with `query` and `variables`, as `token`'s user.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Response {
        self.post(
            "/graphql",
            token,
            json!({"query": query, "variables": variables}),
        )
        .await
    }

    /// `POST /graphql` with `body` as is, sending `Accept: accept` (none
    /// when `None`).
    pub async fn gql_accepting(&self, accept: Option<&str>, body: Value) -> Response {
        let mut req = self.client.post(self.url("/graphql")).json(&body);
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        Self::read(
            req.send()
                .await
                .unwrap_or_else(|e| panic!("request /graphql: {e}")),
        )
        .await
    }

    /// The same, expecting data without errors; returns `data`.
    pub async fn gql_data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let res = self.gql(token, query, variables).await;
        assert_eq!(res.status.as_u16(), 200, "{}", res.text);
        assert!(res.body["errors"].is_null(), "errors: {}", res.text);
        res.body["data"].clone()
    }

    /// A WebSocket to `/graphql/ws`, initialised (with `token`, if any).
    pub async fn subscriber(&self, token: Option<&str>) -> Subscriber {
        subscriber_at(&self.base, token).await
    }

    /// A WebSocket to `/graphql/ws` asking for `protocol` (none when
    /// `None`), not initialised.
    pub async fn websocket(&self, protocol: Option<&str>) -> Subscriber {
        websocket_at(&self.base, protocol).await
    }
}

/// A WebSocket to the server at `base` (`http://…`), not initialised.
pub async fn websocket_at(base: &str, protocol: Option<&str>) -> Subscriber {
    let url = base.replace("http://", "ws://") + "/graphql/ws";
    let mut request = url
        .into_client_request()
        .unwrap_or_else(|e| panic!("ws request: {e}"));
    if let Some(protocol) = protocol {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            protocol.parse().unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("ws connect: {e}"));
    Subscriber { socket, next_id: 0 }
}

/// A WebSocket to the server at `base` (`http://…`), initialised.
pub async fn subscriber_at(base: &str, token: Option<&str>) -> Subscriber {
    {
        let mut subscriber = websocket_at(base, Some("graphql-transport-ws")).await;
        let payload = match token {
            Some(token) => json!({"Authorization": format!("Bearer {token}")}),
            None => json!({}),
        };
        subscriber
            .send(json!({"type": "connection_init", "payload": payload}))
            .await;
        let ack = subscriber
            .receive(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no connection_ack"));
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        subscriber
    }
}

pub struct Subscriber {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u32,
}

impl Subscriber {
    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap_or_else(|e| panic!("ws send: {e}"));
    }

    /// Sends a frame as is (a fragment, an oversized one).
    pub async fn send_message(&mut self, message: Message) {
        self.socket
            .send(message)
            .await
            .unwrap_or_else(|e| panic!("ws send: {e}"));
    }

    /// The close frame the server sends within `within`, skipping other
    /// messages; `None` if none comes (or the connection just drops).
    pub async fn closed(&mut self, within: Duration) -> Option<CloseFrame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??;
            match frame {
                Ok(Message::Close(close)) => return close,
                Ok(_) => {}
                Err(e) => panic!("the connection failed without a close frame: {e}"),
            }
        }
    }

    /// Starts a subscription; returns its id.
    pub async fn subscribe(&mut self, query: &str, variables: Value) -> String {
        self.next_id += 1;
        let id = self.next_id.to_string();
        self.send(json!({
            "id": id, "type": "subscribe",
            "payload": {"query": query, "variables": variables},
        }))
        .await;
        id
    }

    /// The next protocol message (pings answered, pongs skipped), or `None`
    /// when `within` passes or the socket closes.
    pub async fn receive(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??;
            match frame.ok()? {
                Message::Text(text) => {
                    let message: Value = serde_json::from_str(text.as_str()).ok()?;
                    match message["type"].as_str() {
                        Some("ping") => self.send(json!({"type": "pong"})).await,
                        Some("pong") => {}
                        _ => return Some(message),
                    }
                }
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// The next `next` payload's data for subscription `id`.
    pub async fn next_data(&mut self, id: &str, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.receive(left).await?;
            if message["id"] == id && message["type"] == "next" {
                return Some(message["payload"].clone());
            }
        }
    }
}
