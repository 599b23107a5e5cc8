//! Every error answer is `{"error":{"code","message"}}` in JSON: unknown
//! routes, wrong methods, bad bodies, bad parameters, panics.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::Ctx;
use crate::server::{TestServer, client, error_body, json_of, sqlite};

sqlite! {
    health_is_public_and_versioned,
    unknown_routes_and_methods_answer_json,
    bad_bodies_and_parameters_are_invalid_requests,
    a_panic_is_a_json_500_and_the_server_goes_on,
    request_ids_are_echoed_or_generated,
}

async fn health_is_public_and_versioned(ctx: Ctx) {
    let server = TestServer::standard(ctx.store).await;
    let (status, _, body) = json_of(client().get(server.url("/health")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}));

    // The same port speaks h2c to a client that knows it.
    let h2 = reqwest::Client::builder().no_proxy().http2_prior_knowledge().build().unwrap();
    let response = h2.get(server.url("/health")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let (status, _, body) = json_of(response).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    server.stop().await;
}

async fn unknown_routes_and_methods_answer_json(ctx: Ctx) {
    let server = TestServer::standard(ctx.store).await;
    let client = client();

    let (status, _, body) = json_of(client.get(server.url("/v1/nope?x=1")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, error_body("not_found", "no route for GET /v1/nope"));

    let (status, headers, body) = json_of(client.delete(server.url("/health")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body, error_body("method_not_allowed", "method DELETE is not allowed on /health"));
    assert!(headers["allow"].to_str().unwrap().contains("GET"), "Allow survives: {headers:?}");
    server.stop().await;
}

async fn bad_bodies_and_parameters_are_invalid_requests(ctx: Ctx) {
    let server = TestServer::standard(ctx.store).await;
    let client = client();
    let echo = server.url("/test/echo");
    let post_json = |body: Vec<u8>| client.post(&echo).header("content-type", "application/json").body(body).send();

    let (status, _, body) = json_of(post_json(br#"{"text":"hi"}"#.to_vec()).await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"text": "hi"})));

    let (status, _, body) = json_of(post_json(b"{not json".to_vec()).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("invalid JSON body: "), "{body}");

    let (status, _, body) = json_of(post_json(br#"{"text":5}"#.to_vec()).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a type error is a 400 too, not axum's 422");
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("text"), "names the field: {body}");

    let response = client.post(&echo).body(r#"{"text":"hi"}"#).send().await.unwrap();
    let (status, _, body) = json_of(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["error"]["code"], "invalid_request");

    let mut big = br#"{"text":""#.to_vec();
    big.resize(2 * 1024 * 1024, b'a');
    big.extend_from_slice(br#""}"#);
    let (status, _, body) = json_of(post_json(big).await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, error_body("too_large", "request body is too large"));

    let (status, _, body) = json_of(client.get(server.url("/test/items/abc")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("invalid path parameter"), "{body}");

    let (status, _, body) = json_of(client.get(server.url("/test/slow?ms=x")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("invalid query string"), "{body}");
    server.stop().await;
}

async fn a_panic_is_a_json_500_and_the_server_goes_on(ctx: Ctx) {
    let server = TestServer::standard(ctx.store).await;
    let client = client();
    let (status, headers, body) = json_of(client.get(server.url("/test/panic")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, error_body("internal_error", "internal error"), "the panic text is not sent");
    assert!(headers.contains_key("x-request-id"));
    for _ in 0..3 {
        let response = client.get(server.url("/health")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    server.stop().await;
}

async fn request_ids_are_echoed_or_generated(ctx: Ctx) {
    let server = TestServer::standard(ctx.store).await;
    let client = client();
    let id_of = |response: &reqwest::Response| response.headers()["x-request-id"].to_str().unwrap().to_owned();

    let response = client.get(server.url("/health")).header("x-request-id", "trace-42.a_b:c").send().await;
    assert_eq!(id_of(&response.unwrap()), "trace-42.a_b:c");

    let first = id_of(&client.get(server.url("/health")).send().await.unwrap());
    let second = id_of(&client.get(server.url("/nope")).send().await.unwrap());
    for id in [&first, &second] {
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(first, second);

    let response = client.get(server.url("/health")).header("x-request-id", "no spaces allowed").send().await;
    let replaced = id_of(&response.unwrap());
    assert_ne!(replaced, "no spaces allowed");
    assert_eq!(replaced.len(), 32);
    server.stop().await;
}
