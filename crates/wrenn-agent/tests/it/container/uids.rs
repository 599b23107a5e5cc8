//! Every capsule's root is an unprivileged host user of its own, and the
//! template, stored canonical, looks as it should inside every capsule.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use wrenn_agent::layout::Layout;
use wrenn_agent::runtime::Runtime;
use wrenn_agent::uid_range::{FIRST_BASE, IDS_PER_CAPSULE};

use crate::container::{Fixture, is_root};

const SCRIPT: &str = r#"
exec > /out 2>&1
echo "id=$(id -u):$(id -g)"
stat -c 'template %n %u:%g %a' /etc/shadow /home/user /home/user/notes /bin/busybox /
echo root-data > /root-file
echo user-data > /home/user/user-file && chown 1000:1000 /home/user/user-file
echo 'more:*:19000:0:99999:7:::' >> /etc/shadow
stat -c 'written %n %u:%g %a' /etc/shadow /home/user/user-file /root-file
: > /done
exec sleep 600
"#;

#[tokio::test(flavor = "multi_thread")]
async fn each_capsule_maps_root_to_its_own_host_range() {
    if !is_root() {
        return;
    }
    let fixture = Fixture::new(SCRIPT);
    // Templates are root's alone: the capsule never resolves their path.
    let templates_dir = Layout::new(fixture.dir.path()).templates_dir();
    std::fs::set_permissions(&templates_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let a = fixture.spec(64);
    // One on a plain directory layer, one on a disk image.
    let b = wrenn_agent::runtime::CapsuleSpec { disk_mb: 0, ..fixture.spec(64) };
    assert_ne!(a.uid_base, b.uid_base);
    assert!(a.uid_base.abs_diff(b.uid_base) >= IDS_PER_CAPSULE, "ranges overlap");
    let (pid_a, pid_b) = (fixture.start_spec(&a).await, fixture.start_spec(&b).await);
    for (spec, pid) in [(&a, pid_a), (&b, pid_b)] {
        let base = spec.uid_base;
        assert!(base >= FIRST_BASE + IDS_PER_CAPSULE, "{base}");
        fixture.wait_done(&spec.id);
        let out = fixture.read_upper(&spec.id, "out");
        eprintln!("{out}");

        // Seen from the host: root and its groups are the capsule's base.
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        for key in ["Uid:", "Gid:"] {
            let line = status.lines().find(|line| line.starts_with(key)).unwrap();
            let ids: Vec<u32> = line.split_whitespace().skip(1).map(|id| id.parse().unwrap()).collect();
            assert_eq!(ids, [base; 4], "{line}");
        }

        // Seen from inside: the template's owners as they are stored.
        assert!(out.contains("id=0:0\n"), "{out}");
        for line in [
            "template /etc/shadow 0:42 640",
            "template /home/user 1000:1000 755",
            "template /home/user/notes 1000:1000 644",
            "template /bin/busybox 0:0 755",
            "template / 0:0 755",
            "written /etc/shadow 0:42 640",
            "written /home/user/user-file 1000:1000 644",
            "written /root-file 0:0 644",
        ] {
            assert!(out.contains(line), "{line:?} missing in\n{out}");
        }

        // On the host, what the capsule wrote belongs to its range.
        let upper = fixture.upper(&spec.id);
        assert_eq!(owner(&upper.join("root-file")), (base, base));
        assert_eq!(owner(&upper.join("home/user")), (base + 1000, base + 1000));
        assert_eq!(owner(&upper.join("home/user/user-file")), (base + 1000, base + 1000));
        assert_eq!(owner(&upper.join("etc/shadow")), (base, base + 42));
        let shadow_mode = std::fs::metadata(upper.join("etc/shadow")).unwrap().permissions().mode();
        assert_eq!(shadow_mode & 0o7777, 0o640);
        // And so does everything the runtime made for it.
        let capsule_dir = Layout::new(fixture.dir.path()).capsule_dir(&spec.id.to_string());
        for sub in ["", "layer", "layer/upper", "layer/work", "console.log"] {
            assert_eq!(owner(&capsule_dir.join(sub)), (base, base), "{sub}");
        }
    }
    // The template itself is untouched and stays canonical.
    let template = fixture.template();
    assert_eq!(owner(&template.join("etc/shadow")), (0, 42));
    assert_eq!(std::fs::read_to_string(template.join("etc/shadow")).unwrap().lines().count(), 1);
    assert!(!template.join("root-file").exists());

    fixture.destroy_and_check(&a.id, pid_a).await;
    fixture.destroy_and_check(&b.id, pid_b).await;
}

fn owner(path: &Path) -> (u32, u32) {
    let meta = std::fs::symlink_metadata(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    (meta.uid(), meta.gid())
}

/// The launcher's parent makes the idmapped template; when it cannot, the
/// create fails with the reason and leaves nothing behind.
#[tokio::test(flavor = "multi_thread")]
async fn a_template_that_cannot_be_mapped_fails_cleanly() {
    if !is_root() {
        return;
    }
    let fixture = Fixture::new("sleep 600");
    let spec = wrenn_agent::runtime::CapsuleSpec {
        template_rootfs: fixture.dir.path().join("no/such/template"),
        ..fixture.spec(64)
    };
    let started = std::time::Instant::now();
    let err = fixture.runtime.create(&spec).await.unwrap_err();
    let chain = format!("{err:?}");
    assert!(chain.contains("could not map the template"), "{chain}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    crate::container::assert_cleaned(fixture.dir.path(), &spec.id, u32::MAX);
}
