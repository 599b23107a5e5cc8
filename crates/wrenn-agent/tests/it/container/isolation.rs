//! What a capsule can see and do.

use crate::container::{Fixture, is_root};

const SCRIPT: &str = r#"
exec > /out 2>&1
echo "pid=$$"
echo "cmdline=$(tr '\0' ' ' < /proc/1/cmdline)"
echo "procs=$(ls /proc | grep -E '^[0-9]+$' | tr '\n' ' ')"
echo "hostname=$(hostname)"
ls /work >/dev/null 2>&1 && echo "host_work=visible" || echo "host_work=hidden"
mknod /blk b 8 0 2>/dev/null && echo "mknod=ok" || echo "mknod=denied"
unshare -U true 2>/dev/null && echo "unshare=ok" || echo "unshare=denied"
mount -t tmpfs none /mnt 2>/dev/null && echo "mount=ok" || echo "mount=denied"
echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo "proc_sys=writable" || echo "proc_sys=read-only"
echo "keys=$(wc -c < /proc/keys)"
echo "uid=$(id -u)"
grep CapEff /proc/self/status | tr '\t' ' '
echo "mountinfo_host_paths=$(grep -c HOSTDIR /proc/self/mountinfo)"
ls /dev | tr '\n' ' '; echo
echo changed > /etc/template-file
echo new > /etc/new-file
: > /done
exec sleep 600
"#;

#[tokio::test(flavor = "multi_thread")]
async fn capsule_sees_only_itself_and_maps_root_away() {
    if !is_root() {
        return;
    }
    let host_hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    // The fixture's temp dir must not appear in the capsule's mountinfo.
    let probe = Fixture::new("true");
    let host_dir = probe.dir.path().to_string_lossy().into_owned();
    drop(probe);
    let fixture = Fixture::new(&SCRIPT.replace("HOSTDIR", &host_dir));
    let spec = fixture.spec(256);
    let (id, pid) = (spec.id, fixture.start_spec(&spec).await);
    fixture.wait_done(&id);
    let out = fixture.read_upper(&id, "out");
    eprintln!("{out}");

    assert!(out.contains("pid=1\n"), "{out}");
    assert!(out.contains("cmdline=/bin/sh -c"), "{out}");
    let procs = out.lines().find_map(|line| line.strip_prefix("procs=")).unwrap();
    let procs: Vec<u32> = procs.split_whitespace().map(|p| p.parse().unwrap()).collect();
    assert!(procs.contains(&1) && procs.iter().all(|&p| p < 100), "host processes visible: {procs:?}");
    assert!(out.contains("hostname=capsule-test\n"), "{out}");
    assert!(out.contains("host_work=hidden"), "{out}");
    assert!(out.contains("mknod=denied"), "{out}");
    assert!(out.contains("unshare=denied"), "{out}");
    assert!(out.contains("mount=denied"), "{out}");
    assert!(out.contains("proc_sys=read-only"), "{out}");
    assert!(out.contains("keys=0\n"), "/proc/keys not masked: {out}");
    assert!(out.contains("uid=0\n"), "{out}");
    // Docker's default capability set, nothing more.
    assert!(out.contains("CapEff: 00000000a80425fb"), "{out}");
    assert!(out.contains("mountinfo_host_paths=0"), "{out}");
    assert!(out.contains("null") && out.contains("pts") && out.contains("ptmx"), "{out}");

    // Writes land in the upper layer; the template is untouched.
    let upper = fixture.upper(&id);
    assert_eq!(std::fs::read_to_string(upper.join("etc/template-file")).unwrap(), "changed\n");
    assert!(upper.join("etc/new-file").exists());
    assert_eq!(std::fs::read_to_string(fixture.template().join("etc/template-file")).unwrap(), "from the template\n");
    assert!(!fixture.template().join("etc/new-file").exists());

    // Root inside is the capsule's base uid outside.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|line| line.starts_with("Uid:")).unwrap();
    assert_eq!(uid_line.split_whitespace().nth(1), Some(spec.uid_base.to_string().as_str()), "{uid_line}");
    assert_eq!(std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(), host_hostname);

    fixture.destroy_and_check(&id, pid).await;
}
