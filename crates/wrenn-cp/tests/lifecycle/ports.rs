//! Port traffic to a real capsule: a small HTTP server (perl, which every
//! Debian template has) listens on port 8000 inside a `minimal` capsule,
//! and the test reaches it through the API's host routing
//! (`8000-{capsule_id}.localhost`), the control plane's mTLS client and the
//! agent's port proxy: plain requests, credentials, an upgraded connection
//! spliced end to end, a port nothing listens on, and a paused capsule.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HOST;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use wrenn_cp::http::{self, AppState};
use wrenn_cp::store::{CapsuleStatus, NewApiKey, generate_api_key};
use wrenn_types::CapsuleId;

use crate::harness::{Ctx, PATIENCE, both};

both!(ports_of_a_running_capsule_are_reachable);

const PORT: u16 = 8000;

/// Answers each request with its own head after a greeting; `Upgrade:
/// echo` switches protocols and echoes lines. One connection at a time.
const SERVER: &str = r#"
use strict;
use IO::Socket::INET;
my $server = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $ARGV[0], Listen => 16, ReuseAddr => 1)
    or die "listen: $!";
while (my $client = $server->accept) {
    $client->autoflush(1);
    my ($head, $line) = ('', '');
    while (defined($line = <$client>)) { $head .= $line; last if $line eq "\r\n"; }
    if ($head =~ /^upgrade:\s*echo/mi) {
        print $client "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n";
        while (defined($line = <$client>)) { print $client "echo: $line"; }
    } else {
        my $body = "hello from the capsule\n$head";
        print $client "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " . length($body)
            . "\r\nConnection: close\r\n\r\n$body";
    }
    close $client;
}
"#;

async fn ports_of_a_running_capsule_are_reachable(ctx: Ctx) {
    let capsule = ctx.running_capsule().await;
    let script = format!(
        "cat > /tmp/serve.pl <<'EOF'\n{SERVER}\nEOF\nsetsid perl /tmp/serve.pl {PORT} </dev/null >/tmp/serve.log 2>&1 &"
    );
    Ctx::exec(&ctx.agent, capsule.id, &script).await;

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the API");
    let api = listener.local_addr().expect("the API's address");
    let router = wrenn_cp::api::router(AppState::new(ctx.app.clone()));
    let serving = tokio::spawn(http::serve(listener, router, std::future::pending()));
    let key = generate_api_key().unwrap();
    let new_key = NewApiKey { team_id: ctx.caller.team_id, name: "ports", secret: &key, created_by: None };
    ctx.store().create_api_key(new_key).await.expect("create an API key");
    let host = |port: u16| format!("{port}-{}.localhost:{}", capsule.id, api.port());
    let get = |port: u16, headers: Vec<(&'static str, String)>| {
        let mut request = reqwest::Client::builder().no_proxy().build().unwrap().get(format!("http://{api}/hi?x=1"));
        request = request.header(HOST, host(port));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move { request.send().await.expect("a response") }
    };

    // The server takes a moment to listen: 502 until then.
    let served = until_served(|| get(PORT, vec![("x-api-key", key.clone())]), capsule.id).await;
    let text = served.text().await.unwrap();
    assert!(text.starts_with("hello from the capsule\nGET /hi?x=1 HTTP/1.1\r\n"), "{text}");
    let head = text.to_ascii_lowercase();
    assert!(head.contains(&format!("x-forwarded-host: {}\r\n", host(PORT).to_ascii_lowercase())), "{text}");
    assert!(!head.contains("x-api-key"), "the API key reached the capsule: {text}");

    assert_eq!(get(PORT, vec![]).await.status(), StatusCode::UNAUTHORIZED);
    let token = ctx.app.issue_traffic_token(ctx.caller.team_id, capsule.id).await.expect("issue a traffic token");
    let response = get(PORT, vec![("x-wrenn-traffic-token", token.clone())]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.text().await.unwrap().to_ascii_lowercase().contains(&token), "the token reached the capsule");

    // An upgraded connection, spliced from the client to the capsule.
    let socket = TcpStream::connect(api).await.unwrap();
    let mut socket = BufReader::new(socket);
    let upgrade = format!(
        "GET /raw HTTP/1.1\r\nHost: {}\r\nX-API-Key: {key}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
        host(PORT)
    );
    socket.get_mut().write_all(upgrade.as_bytes()).await.unwrap();
    let status = read_line(&mut socket).await;
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    while read_line(&mut socket).await != "\r\n" {}
    for line in ["ping\n", "and again\n"] {
        socket.get_mut().write_all(line.as_bytes()).await.unwrap();
        assert_eq!(read_line(&mut socket).await, format!("echo: {line}"));
    }
    drop(socket);

    // Nothing listens on 8009: the agent's 502 (clients retry on 5xx).
    assert_eq!(get(8009, vec![("x-api-key", key.clone())]).await.status(), StatusCode::BAD_GATEWAY);

    ctx.app.pause_capsule(&ctx.caller, capsule.id).await.expect("pause");
    ctx.wait_for(capsule.id, "paused", |status| status == CapsuleStatus::Paused).await;
    let response = get(PORT, vec![("x-api-key", key.clone())]).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    serving.abort();
}

/// Repeats `request` while it answers 5xx, up to [`PATIENCE`].
async fn until_served<F, Fut>(request: F, capsule: CapsuleId) -> reqwest::Response
where
    F: Fn() -> Fut,
    Fut: Future<Output = reqwest::Response>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let response = request().await;
        if !response.status().is_server_error() {
            assert_eq!(response.status(), StatusCode::OK, "capsule {capsule}");
            return response;
        }
        assert!(tokio::time::Instant::now() < deadline, "port {PORT} of {capsule} still answers {}", response.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn read_line(socket: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_line(&mut line))
        .await
        .expect("a line within 10 s")
        .expect("read a line");
    line
}
