//! Templates: platform and team visibility, the name rule, upserts;
//! persisted metric points.

use wrenn_cp::store::{MetricPoint, MetricTier, NewTemplate, TemplateKind};
use wrenn_types::{CapsuleId, TeamId};

use crate::harness::{Ctx, both, is_conflict, team};

both! {
    teams_see_their_templates_and_the_platforms,
    metric_points_are_kept_once,
}

fn template(team_id: TeamId, name: &str, kind: TemplateKind) -> NewTemplate {
    NewTemplate {
        team_id,
        name: name.to_owned(),
        kind,
        vcpus: 1,
        memory_mb: 512,
        size_bytes: 0,
        default_user: "root".to_owned(),
        default_env: [("LANG".to_owned(), "C.UTF-8".to_owned())].into(),
        metadata: Default::default(),
        host_id: None,
    }
}

async fn teams_see_their_templates_and_the_platforms(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    let other = crate::harness::team(store).await;
    let minimal = store.upsert_template(&template(TeamId::PLATFORM, "minimal", TemplateKind::Base)).await.unwrap();
    let mut bigger = template(TeamId::PLATFORM, "minimal", TemplateKind::Base);
    bigger.size_bytes = 1 << 30;
    let updated = store.upsert_template(&bigger).await.unwrap();
    assert_eq!((updated.id, updated.size_bytes), (minimal.id, 1 << 30), "an upsert keeps the id");

    let snap = store.upsert_template(&template(team.id, "my-snap", TemplateKind::Snapshot)).await.unwrap();
    assert!(is_conflict(&store.upsert_template(&template(team.id, "minimal", TemplateKind::Snapshot)).await));

    let names = |list: Vec<wrenn_cp::store::Template>| list.into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(names(store.list_templates(team.id).await.unwrap()), ["minimal", "my-snap"]);
    assert_eq!(names(store.list_templates(other.id).await.unwrap()), ["minimal"]);
    assert_eq!(store.get_template(team.id, "minimal").await.unwrap().unwrap().id, minimal.id);
    assert_eq!(store.get_template(team.id, "my-snap").await.unwrap(), Some(snap));
    assert_eq!(store.get_template(other.id, "my-snap").await.unwrap(), None);
    assert!(!store.delete_template(other.id, "my-snap").await.unwrap());
    assert!(store.delete_template(team.id, "my-snap").await.unwrap());
    assert_eq!(store.get_template(team.id, "my-snap").await.unwrap(), None);
}

async fn metric_points_are_kept_once(ctx: Ctx) {
    let store = &ctx.store;
    let capsule_id = CapsuleId::from_u128(42);
    let points: Vec<MetricPoint> = (0..5)
        .map(|i| MetricPoint {
            ts: 1_790_000_000 + i,
            cpu_pct: 12.5 * i as f64,
            mem_bytes: 1 << 20,
            disk_bytes: 1 << 30,
        })
        .collect();
    store.save_metric_points(capsule_id, MetricTier::TenMinutes, &points).await.unwrap();
    store.save_metric_points(capsule_id, MetricTier::TenMinutes, &points[3..]).await.unwrap();
    assert_eq!(store.list_metric_points(capsule_id, MetricTier::TenMinutes).await.unwrap(), points);
    assert!(store.list_metric_points(capsule_id, MetricTier::Day).await.unwrap().is_empty());
}
