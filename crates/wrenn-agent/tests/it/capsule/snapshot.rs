//! A capsule's disk becomes a template; the capsule keeps running and a new
//! capsule from the template sees the files.

use std::time::Duration;

use wrenn_agent::capsule::{CapsuleError, CapsuleState, CreateCapsule};

use crate::capsule::{harness, request};
use crate::container::unique_id;

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_into_a_template_and_start_from_it() {
    let Some(harness) = harness(|_| {}).await else { return };
    let manager = harness.manager();
    let id = unique_id();
    let info = manager.create(request(id)).await.unwrap();
    let addr = info.envd_addr.unwrap();
    let upload = harness
        .http
        .post(format!("http://{addr}/files?path=/root/snapshot.txt&username=root"))
        .header("content-type", "application/octet-stream")
        .body("written before the snapshot\n")
        .send()
        .await
        .unwrap();
    assert!(upload.status().is_success(), "{}", upload.status());

    let template = manager.snapshot(id, "snap-test").await.unwrap();
    assert_eq!(template.manifest.parent.as_deref(), Some("minimal"));
    assert!(template.rootfs.join("root/snapshot.txt").is_file());
    assert_eq!(manager.get(id).unwrap().state, CapsuleState::Running);
    assert_eq!(harness.health(addr, Duration::from_secs(2)).await.unwrap(), 200);

    let copy = unique_id();
    let copy_info = manager.create(CreateCapsule { template: "snap-test".into(), ..request(copy) }).await.unwrap();
    let download = harness
        .http
        .get(format!("http://{}/files?path=/root/snapshot.txt&username=root", copy_info.envd_addr.unwrap()))
        .send()
        .await
        .unwrap();
    assert!(download.status().is_success(), "{}", download.status());
    assert_eq!(download.text().await.unwrap(), "written before the snapshot\n");

    // A template with a capsule on it stays.
    match manager.delete_template("snap-test").await {
        Err(CapsuleError::TemplateInUse { capsules, .. }) => assert_eq!(capsules, vec![copy]),
        other => panic!("deleting a template in use: {other:?}"),
    }
    assert!(template.rootfs.join("root/snapshot.txt").is_file());

    // Oldest first: the copy's mount namespace must not pin the original's disk.
    for (id, info) in [(id, info), (copy, copy_info)] {
        manager.destroy(id).await.unwrap();
        harness.assert_gone(&info);
    }
    manager.delete_template("snap-test").await.unwrap();
    assert!(!template.rootfs.exists());
    assert!(matches!(
        manager.create(CreateCapsule { template: "snap-test".into(), ..request(unique_id()) }).await,
        Err(CapsuleError::UnknownTemplate { .. })
    ));
}
