//! A one-connection WebSocket server on loopback for the unit tests of the
//! stream and terminal clients: it checks the upgrade's path and key, then
//! hands the socket to the test, which plays the server's side.

use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use crate::client::Client;

pub(crate) const KEY: &str = "wrn_unit_test_key";

/// The server's side of one connection.
pub(crate) type ServerSocket = WebSocketStream<TcpStream>;

/// A listener and a client pointed at it.
pub(crate) async fn start() -> (TcpListener, Client) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = Client::builder().base_url(format!("http://127.0.0.1:{port}")).api_key(KEY).build().unwrap();
    (listener, client)
}

/// Accepts one upgrade to `path` with the key; anything else is refused
/// with `404 not_found`.
#[allow(clippy::result_large_err, reason = "tungstenite's handshake callback returns its error response by value")]
pub(crate) async fn accept(listener: &TcpListener, path: &str) -> ServerSocket {
    let (stream, _) = listener.accept().await.unwrap();
    let path = path.to_owned();
    let check = move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let key_ok = request.headers().get(crate::API_KEY_HEADER).is_some_and(|key| key == KEY);
        if key_ok && request.uri().path() == path {
            return Ok(response);
        }
        let body = r#"{"error":{"code":"not_found","message":"capsule not found"}}"#.to_owned();
        Err(http::Response::builder().status(404).body(Some(body)).unwrap())
    };
    match tokio_tungstenite::accept_hdr_async(stream, check).await {
        Ok(socket) => socket,
        // A refused upgrade: the test expects no socket.
        Err(err) => panic!("upgrade refused: {err}"),
    }
}

/// Refuses one upgrade as a missing capsule does.
#[allow(clippy::result_large_err, reason = "tungstenite's handshake callback returns its error response by value")]
pub(crate) async fn refuse(listener: &TcpListener) {
    let (stream, _) = listener.accept().await.unwrap();
    let refuse = |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
        let body = r#"{"error":{"code":"not_found","message":"capsule cl-x not found"}}"#.to_owned();
        Err(http::Response::builder().status(404).body(Some(body)).unwrap())
    };
    assert!(tokio_tungstenite::accept_hdr_async(stream, refuse).await.is_err());
}

/// The next data message (Pings and Pongs skipped); `None` at the end.
pub(crate) async fn next(socket: &mut ServerSocket) -> Option<Message> {
    use futures::StreamExt;
    loop {
        match socket.next().await? {
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(message) => return Some(message),
            Err(_) => return None,
        }
    }
}

/// The next message as JSON; panics on anything else.
pub(crate) async fn next_json(socket: &mut ServerSocket) -> serde_json::Value {
    match next(socket).await {
        Some(Message::Text(text)) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("expected a JSON text frame, got {other:?}"),
    }
}

/// Sends a JSON text frame.
pub(crate) async fn send_json(socket: &mut ServerSocket, value: serde_json::Value) {
    use futures::SinkExt;
    socket.send(Message::text(value.to_string())).await.unwrap();
}
