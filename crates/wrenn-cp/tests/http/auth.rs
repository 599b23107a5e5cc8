//! `X-API-Key` against keys created through the store, on both backends.

use axum::http::StatusCode;
use serde_json::json;
use wrenn_cp::store::{NewApiKey, generate_api_key};

use crate::harness::{Ctx, both, team};
use crate::server::{TestServer, client, error_body, json_of};

both! {
    api_keys_authenticate_requests,
}

async fn api_keys_authenticate_requests(ctx: Ctx) {
    let store = ctx.store.clone();
    let team = team(&store).await;
    let secret = generate_api_key().unwrap();
    let key = store
        .create_api_key(NewApiKey { team_id: team.id, name: "ci", secret: &secret, created_by: None })
        .await
        .unwrap();
    let server = TestServer::standard(store.clone()).await;
    let client = client();
    let protected = server.url("/test/protected");

    let (status, _, body) = json_of(client.get(&protected).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, error_body("unauthorized", "missing API key: send it in the X-API-Key header"));

    for wrong in ["wrn_00000000000000000000000000000000", "", &"x".repeat(300)] {
        let (status, _, body) = json_of(client.get(&protected).header("x-api-key", wrong).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "key {wrong:?}");
        assert_eq!(body, error_body("unauthorized", "invalid API key"));
    }

    let (status, _, body) = json_of(client.get(&protected).header("X-API-Key", &secret).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"team_id": team.id.to_string(), "api_key_id": key.id.to_string(), "key_name": "ci"}));
    let whoami = server.url("/test/group/whoami");
    let (status, _, body) = json_of(client.get(&whoami).send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let (status, _, body) = json_of(client.get(&whoami).header("x-api-key", &secret).send().await.unwrap()).await;
    assert_eq!(
        (status, body["key_name"].as_str()),
        (StatusCode::OK, Some("ci")),
        "the layer's result reaches the handler"
    );
    let listed = store.list_api_keys(team.id).await.unwrap();
    assert!(listed[0].last_used_at.is_some(), "the use is recorded");

    let response = client.get(server.url("/health")).header("x-api-key", "wrong").send().await.unwrap();
    assert_eq!(response.status(), 200, "public routes ignore the key");

    assert!(store.delete_api_key(team.id, key.id).await.unwrap());
    let (status, _, _) = json_of(client.get(&protected).header("x-api-key", &secret).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a deleted key no longer works");
    server.stop().await;
}
