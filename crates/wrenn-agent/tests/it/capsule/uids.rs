//! Capsules from the real `minimal` template: each has a host uid range of
//! its own, Debian's ownership looks right inside, and a snapshot carries
//! the owners the capsule saw into the new template.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use wrenn_agent::capsule::CreateCapsule;
use wrenn_agent::template::CANONICAL_UID_BASE;
use wrenn_agent::uid_range::UidRange;

use crate::capsule::{harness, request};
use crate::container::unique_id;

#[tokio::test(flavor = "multi_thread")]
async fn capsules_have_their_own_uids_and_snapshots_keep_owners() {
    let Some(harness) = harness(|_| {}).await else { return };
    let manager = harness.manager();
    let (a, b) = (unique_id(), unique_id());
    let info_a = manager.create(request(a)).await.unwrap();
    let info_b = manager.create(request(b)).await.unwrap();
    let (base_a, base_b) = (UidRange::for_slot(info_a.slot).base, UidRange::for_slot(info_b.slot).base);
    assert_ne!(base_a, base_b);
    assert_eq!(host_uid(info_a.init_pid.unwrap()), base_a);
    assert_eq!(host_uid(info_b.init_pid.unwrap()), base_b);

    // Inside, the template is owned as Debian made it.
    let addr = info_a.envd_addr.unwrap();
    let out =
        harness.exec(addr, "id -u; stat -c '%n %U:%G %a' /etc/shadow /usr/bin/sudo /root /usr/local/bin/envd /").await;
    for line in [
        "0",
        "/etc/shadow root:shadow 640",
        "/usr/bin/sudo root:root 4755",
        "/root root:root 700",
        "/usr/local/bin/envd root:root 755",
        "/ root:root 755",
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} missing in\n{out}");
    }

    // What it writes belongs to its range on the host.
    let script = "echo x > /root/mine && chgrp shadow /root/mine \
                  && mkdir -p /srv/app && echo y > /srv/app/data && chown -R 1000:1000 /srv/app";
    harness.exec(addr, script).await;
    let upper = harness.layout.capsule_dir(&a.to_string()).join("layer/upper");
    assert_eq!(owner(&upper.join("root/mine")), (base_a, base_a + 42));
    assert_eq!(owner(&upper.join("srv/app/data")), (base_a + 1000, base_a + 1000));

    // A snapshot is canonical again: any capsule can start from it.
    let template = manager.snapshot(a, "uids-snap").await.unwrap();
    assert_eq!(template.manifest.uid_base, CANONICAL_UID_BASE);
    let rootfs = &template.rootfs;
    assert_eq!(owner(&rootfs.join("root/mine")), (0, 42));
    assert_eq!(owner(&rootfs.join("srv/app/data")), (1000, 1000));
    assert_eq!(owner(&rootfs.join("etc/shadow")), (0, 42));
    assert_eq!(owner(rootfs), (0, 0));
    let sudo = std::fs::metadata(rootfs.join("usr/bin/sudo")).unwrap();
    assert_eq!((sudo.uid(), sudo.permissions().mode() & 0o7777), (0, 0o4755));

    let c = unique_id();
    let info_c = manager.create(CreateCapsule { template: "uids-snap".into(), ..request(c) }).await.unwrap();
    let base_c = UidRange::for_slot(info_c.slot).base;
    assert!(base_c != base_a && base_c != base_b);
    let out = harness.exec(info_c.envd_addr.unwrap(), "stat -c '%n %u:%g' /root/mine /srv/app/data /etc/shadow").await;
    for line in ["/root/mine 0:42", "/srv/app/data 1000:1000", "/etc/shadow 0:42"] {
        assert!(out.lines().any(|l| l == line), "{line:?} missing in\n{out}");
    }

    for (id, info) in [(a, info_a), (b, info_b), (c, info_c)] {
        manager.destroy(id).await.unwrap();
        harness.assert_gone(&info);
    }
}

/// The effective uid of `pid` as the host sees it.
fn host_uid(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

fn owner(path: &Path) -> (u32, u32) {
    let meta = std::fs::symlink_metadata(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    (meta.uid(), meta.gid())
}
