//! Schema, teams, users and API keys.

use wrenn_cp::Store;
use wrenn_cp::store::{NewApiKey, generate_api_key};
use wrenn_types::TeamId;

use crate::harness::{Ctx, both, is_conflict, team};

both! {
    migrations_are_idempotent,
    api_keys_authenticate_by_hash,
    unique_violations_are_conflicts,
}

async fn migrations_are_idempotent(ctx: Ctx) {
    ctx.store.migrate().await.unwrap();
    let again = Store::connect_with_clock(&ctx.url, ctx.clock.clone()).await.unwrap();
    again.migrate().await.unwrap();
    let platform = again.get_team(TeamId::PLATFORM).await.unwrap().unwrap();
    assert_eq!((platform.name.as_str(), platform.slug.as_str()), ("Platform", "platform"));
    again.close().await;
}

async fn api_keys_authenticate_by_hash(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    let admin = store.create_user("admin@example.test", "Admin", None, true).await.unwrap();
    store.add_team_member(team.id, admin.id, "owner", true).await.unwrap();
    assert_eq!(store.get_user_by_email("admin@example.test").await.unwrap(), Some(admin.clone()));

    let secret = generate_api_key().unwrap();
    let key = store
        .create_api_key(NewApiKey { team_id: team.id, name: "bootstrap", secret: &secret, created_by: Some(admin.id) })
        .await
        .unwrap();
    assert_eq!(key.key_prefix, secret[..10]);
    assert_eq!(store.list_api_keys(team.id).await.unwrap(), std::slice::from_ref(&key));

    ctx.clock.advance(1234);
    let found = store.authenticate_api_key(&secret).await.unwrap().unwrap();
    assert_eq!((found.key_id, found.team_id, found.name.as_str()), (key.id, team.id, "bootstrap"));
    let listed = &store.list_api_keys(team.id).await.unwrap()[0];
    assert_eq!(listed.last_used_at, Some(crate::harness::T0 + 1234));
    assert_eq!(store.authenticate_api_key("wrn_0000").await.unwrap(), None);

    assert!(store.delete_api_key(team.id, key.id).await.unwrap());
    assert_eq!(store.authenticate_api_key(&secret).await.unwrap(), None);
}

async fn unique_violations_are_conflicts(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    assert!(is_conflict(&store.create_team("Another", &team.slug, false).await));
    store.create_user("a@example.test", "A", None, false).await.unwrap();
    assert!(is_conflict(&store.create_user("a@example.test", "A again", None, false).await));
    let secret = generate_api_key().unwrap();
    let new = NewApiKey { team_id: team.id, name: "k", secret: &secret, created_by: None };
    store.create_api_key(new).await.unwrap();
    assert!(is_conflict(&store.create_api_key(new).await));
}
