//! Audit entries and their pagination.

use std::collections::BTreeSet;

use wrenn_cp::store::NewAuditEntry;
use wrenn_types::TeamId;

use crate::harness::{Ctx, both, team};

both! {
    pages_cover_entries_with_equal_timestamps_exactly_once,
}

fn entry(team_id: TeamId, n: usize) -> NewAuditEntry {
    NewAuditEntry {
        team_id,
        actor_type: "api_key".to_owned(),
        actor_id: Some("key-0000000000000000000000001".to_owned()),
        actor_name: "ci".to_owned(),
        resource_type: "capsule".to_owned(),
        resource_id: Some(format!("cl-{n:025}")),
        action: "create".to_owned(),
        scope: "team".to_owned(),
        status: "success".to_owned(),
        metadata: serde_json::json!({ "n": n }),
    }
}

async fn pages_cover_entries_with_equal_timestamps_exactly_once(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    let other = crate::harness::team(store).await;
    // 25 entries in one millisecond, then 5 later ones.
    for n in 0..25 {
        store.append_audit(entry(team.id, n)).await.unwrap();
    }
    store.append_audit(entry(other.id, 99)).await.unwrap();
    ctx.clock.advance(1);
    for n in 25..30 {
        store.append_audit(entry(team.id, n)).await.unwrap();
    }

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_audit(team.id, 7, cursor).await.unwrap();
        assert!(page.entries.len() <= 7);
        seen.extend(page.entries);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30);
    let ids: BTreeSet<_> = seen.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 30, "no entry twice");
    assert!(seen.windows(2).all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id)), "newest first");
    assert!(seen[..5].iter().all(|e| e.created_at == crate::harness::T0 + 1));
    assert!(seen.iter().all(|e| e.entry.team_id == team.id));
    let first = seen.iter().find(|e| e.entry.resource_id.as_deref() == Some(&format!("cl-{:025}", 3))).unwrap();
    assert_eq!(first.entry, entry(team.id, 3));
}
