//! A TCP proxy on 127.0.0.1 that delivers everything the upstream sends a
//! fixed time late (requests go through at once). TLS passes through
//! untouched: the agent's certificate names 127.0.0.1, whatever the port.
//! It makes "the agent answered, and the answer is still travelling"
//! last as long as a test needs.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct DelayingProxy {
    pub(crate) address: String,
    accepting: JoinHandle<()>,
}

impl DelayingProxy {
    pub(crate) async fn start(upstream: &str, delay: Duration) -> DelayingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let address = listener.local_addr().expect("the proxy's address").to_string();
        let upstream = upstream.to_owned();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                tokio::spawn(relay(client, server, delay));
            }
        });
        DelayingProxy { address, accepting }
    }
}

impl Drop for DelayingProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Client → server at once; server → client each byte `delay` after it
/// arrived, in order.
async fn relay(client: TcpStream, server: TcpStream, delay: Duration) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });
    let (chunks, mut delayed) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reading = tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(read) = server_read.read(&mut buffer).await {
            if read == 0 || chunks.send((Instant::now() + delay, buffer[..read].to_vec())).is_err() {
                break;
            }
        }
    });
    while let Some((due, chunk)) = delayed.recv().await {
        tokio::time::sleep_until(due).await;
        if client_write.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = client_write.shutdown().await;
    reading.abort();
    upstream.abort();
}
