//! The filesystem service over the wire.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use connectrpc::client::{CallOptions, HttpClient};
use connectrpc::{ConnectError, ErrorCode};
use wrenn_proto::envd::filesystem as pb;
use wrenn_proto::envd::filesystem::__buffa::oneof::watch_dir_response::Event;

use crate::harness::{self, TestEnvd};

type Client = pb::FilesystemClient<HttpClient>;

fn text(path: &Path) -> String {
    path.display().to_string()
}

async fn stat(client: &Client, path: &str) -> Result<pb::EntryInfo, ConnectError> {
    let request = pb::StatRequest { path: path.to_owned(), ..Default::default() };
    Ok(client.stat(request).await?.into_owned().entry.into_option().expect("entry"))
}

async fn list(client: &Client, path: &str, depth: u32) -> Result<Vec<pb::EntryInfo>, ConnectError> {
    let request = pb::ListDirRequest { path: path.to_owned(), depth, ..Default::default() };
    Ok(client.list_dir(request).await?.into_owned().entries)
}

async fn make_dir(client: &Client, path: &str) -> Result<pb::EntryInfo, ConnectError> {
    let request = pb::MakeDirRequest { path: path.to_owned(), ..Default::default() };
    Ok(client.make_dir(request).await?.into_owned().entry.into_option().expect("entry"))
}

async fn rename(client: &Client, from: &str, to: &str) -> Result<pb::EntryInfo, ConnectError> {
    let request = pb::MoveRequest { source: from.to_owned(), destination: to.to_owned(), ..Default::default() };
    Ok(client.r#move(request).await?.into_owned().entry.into_option().expect("entry"))
}

async fn remove(client: &Client, path: &str) -> Result<(), ConnectError> {
    client.remove(pb::RemoveRequest { path: path.to_owned(), ..Default::default() }).await?;
    Ok(())
}

async fn create_watcher(client: &Client, path: &str, recursive: bool) -> Result<String, ConnectError> {
    let request =
        pb::CreateWatcherRequest { path: path.to_owned(), recursive, include_entry: true, ..Default::default() };
    Ok(client.create_watcher(request).await?.into_owned().watcher_id)
}

async fn watcher_events(client: &Client, id: &str) -> Result<Vec<pb::FilesystemEvent>, ConnectError> {
    let request = pb::GetWatcherEventsRequest { watcher_id: id.to_owned(), ..Default::default() };
    Ok(client.get_watcher_events(request).await?.into_owned().events)
}

async fn remove_watcher(client: &Client, id: &str) -> Result<(), ConnectError> {
    client.remove_watcher(pb::RemoveWatcherRequest { watcher_id: id.to_owned(), ..Default::default() }).await?;
    Ok(())
}

fn has(events: &[pb::FilesystemEvent], name: &str, kind: pb::EventType) -> bool {
    events.iter().any(|e| e.name == name && e.r#type.as_known() == Some(kind))
}

fn summary(events: &[pb::FilesystemEvent]) -> Vec<(String, Option<pb::EventType>)> {
    events.iter().map(|e| (e.name.clone(), e.r#type.as_known())).collect()
}

/// Polls a watcher until `done` holds for everything seen so far.
async fn poll_until(
    client: &Client,
    id: &str,
    done: impl Fn(&[pb::FilesystemEvent]) -> bool,
) -> Vec<pb::FilesystemEvent> {
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen.extend(watcher_events(client, id).await.unwrap());
        if done(&seen) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected events never arrived; saw {:?}", summary(&seen));
}

/// How many inotify watches of this process are on `dir`, from
/// `/proc/self/fdinfo`; envd runs inside the test process.
fn n_watches_on(dir: &Path) -> usize {
    let needle = format!(" ino:{:x} ", std::fs::metadata(dir).unwrap().ino());
    let mut n = 0;
    for fd in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        if std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == "anon_inode:inotify") {
            let info = std::fs::read_to_string(Path::new("/proc/self/fdinfo").join(fd.file_name())).unwrap_or_default();
            n += info.lines().filter(|line| line.starts_with("inotify ") && line.contains(&needle)).count();
        }
    }
    n
}

async fn wait_for_no_watches_on(dir: &Path) {
    for _ in 0..200 {
        if n_watches_on(dir) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} is still watched", dir.display());
}

#[tokio::test]
async fn stat_describes_files_directories_and_symlinks() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    let file = envd.path("docs/a.txt");
    harness::write(&file, b"hello");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink(&file, envd.path("link")).unwrap();
    std::os::unix::fs::symlink("nowhere", envd.path("dangling")).unwrap();

    let entry = stat(&fs, &text(&file)).await.unwrap();
    assert_eq!((entry.name.as_str(), entry.path.clone()), ("a.txt", text(&file)));
    assert_eq!(entry.r#type.as_known(), Some(pb::FileType::FILE_TYPE_FILE));
    assert_eq!((entry.size, entry.mode, entry.permissions.as_str()), (5, 0o640, "-rw-r-----"));
    let me = std::fs::metadata(&file).unwrap();
    assert!(!entry.owner.is_empty() && !entry.group.is_empty());
    if harness::is_root() {
        assert_eq!((entry.owner.as_str(), entry.group.as_str(), me.uid()), ("root", "root", 0));
    }
    let modified = entry.modified_time.as_option().expect("modified time");
    assert_eq!(modified.seconds, me.mtime());
    assert_eq!((entry.is_symlink, entry.symlink_target), (false, None));

    // Relative paths resolve against the user's home (the test root).
    let relative = stat(&fs, "docs").await.unwrap();
    assert_eq!(relative.r#type.as_known(), Some(pb::FileType::FILE_TYPE_DIRECTORY));
    assert_eq!(relative.path, text(&envd.path("docs")));
    assert!(relative.permissions.starts_with('d'));
    assert_eq!(stat(&fs, "").await.unwrap().path, text(&envd.root()), "empty path is the home");

    let link = stat(&fs, "link").await.unwrap();
    assert_eq!(link.r#type.as_known(), Some(pb::FileType::FILE_TYPE_FILE), "a symlink reports its target's type");
    assert!(link.is_symlink);
    assert_eq!((link.mode, link.permissions.as_str()), (0o640, "Lrwxrwxrwx"));
    assert_eq!(link.symlink_target.as_deref(), Some(text(&file).as_str()));

    let dangling = stat(&fs, "dangling").await.unwrap();
    assert_eq!(dangling.r#type.as_known(), Some(pb::FileType::FILE_TYPE_SYMLINK));
    assert!(dangling.is_symlink);
    assert_eq!(dangling.symlink_target.as_deref(), Some(text(&envd.path("nowhere")).as_str()));

    assert_eq!(stat(&fs, "missing").await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(stat(&fs, "docs/a.txt/below").await.unwrap_err().code, ErrorCode::InvalidArgument);
    envd.stop().await;
}

#[tokio::test]
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
async fn stat_reports_user_metadata_from_xattrs() {
    let envd = TestEnvd::start().await;
    let file = envd.path("tagged.txt");
    harness::write(&file, b"x");
    let c_path = std::ffi::CString::new(text(&file)).unwrap();
    // SAFETY: both strings are NUL-terminated and the value is a live slice.
    let rc = unsafe { libc::setxattr(c_path.as_ptr(), c"user.e2b.author".as_ptr(), b"me".as_ptr().cast(), 2, 0) };
    if rc != 0 {
        eprintln!("skipped (no user xattrs on the temp filesystem)");
        return;
    }
    let entry = stat(&envd.filesystem(), "tagged.txt").await.unwrap();
    assert_eq!(entry.metadata.get("author").map(String::as_str), Some("me"));
    assert_eq!(entry.metadata.len(), 1);
}

#[tokio::test]
async fn make_dir_creates_parents_and_refuses_existing_paths() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    let made = make_dir(&fs, "a/b/c").await.unwrap();
    assert_eq!((made.name.as_str(), made.path.clone()), ("c", text(&envd.path("a/b/c"))));
    assert_eq!(made.r#type.as_known(), Some(pb::FileType::FILE_TYPE_DIRECTORY));
    assert!(envd.path("a/b/c").is_dir());

    assert_eq!(make_dir(&fs, "a/b").await.unwrap_err().code, ErrorCode::AlreadyExists);
    harness::write(&envd.path("file"), b"");
    assert_eq!(make_dir(&fs, "file").await.unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(make_dir(&fs, "file/sub").await.unwrap_err().code, ErrorCode::InvalidArgument);
    envd.stop().await;
}

#[tokio::test]
async fn move_renames_into_new_parents() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    harness::write(&envd.path("src.txt"), b"data");
    let moved = rename(&fs, "src.txt", "x/y/dst.txt").await.unwrap();
    assert_eq!((moved.name.as_str(), moved.path.clone(), moved.size), ("dst.txt", text(&envd.path("x/y/dst.txt")), 4));
    assert!(!envd.path("src.txt").exists());
    assert_eq!(std::fs::read(envd.path("x/y/dst.txt")).unwrap(), b"data");

    // Directories move whole.
    harness::write(&envd.path("dir/inner.txt"), b"i");
    rename(&fs, "dir", "x/dir2").await.unwrap();
    assert!(envd.path("x/dir2/inner.txt").is_file());

    assert_eq!(rename(&fs, "src.txt", "z.txt").await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(rename(&fs, "x", "x/y/inside").await.unwrap_err().code, ErrorCode::InvalidArgument);
    envd.stop().await;
}

#[tokio::test]
async fn list_dir_walks_to_the_requested_depth() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    for file in ["tree/a/b/deep.txt", "tree/a/one.txt", "tree/top.txt", "elsewhere/far.txt"] {
        harness::write(&envd.path(file), file.as_bytes());
    }
    std::os::unix::fs::symlink(envd.path("elsewhere"), envd.path("tree/link")).unwrap();
    std::os::unix::fs::symlink("missing", envd.path("tree/dangling")).unwrap();
    let names = |entries: &[pb::EntryInfo]| -> Vec<String> {
        let tree = text(&envd.path("tree"));
        entries.iter().map(|e| e.path.strip_prefix(&format!("{tree}/")).unwrap().to_owned()).collect()
    };

    let one = list(&fs, "tree", 0).await.unwrap();
    assert_eq!(names(&one), ["a", "dangling", "link", "top.txt"], "depth 0 means 1");
    let link = &one[2];
    assert_eq!(link.r#type.as_known(), Some(pb::FileType::FILE_TYPE_DIRECTORY));
    assert!(link.is_symlink);
    let dangling = &one[1];
    assert_eq!(dangling.r#type.as_known(), Some(pb::FileType::FILE_TYPE_SYMLINK), "kept by the SDK");

    let all = list(&fs, "tree", u32::MAX).await.unwrap();
    assert_eq!(names(&all), ["a", "a/b", "a/b/deep.txt", "a/one.txt", "dangling", "link", "top.txt"]);
    assert_eq!(names(&list(&fs, "tree", 2).await.unwrap()), ["a", "a/b", "a/one.txt", "dangling", "link", "top.txt"]);

    // A symlinked root is followed and paths stay under the requested path.
    let via_link = list(&fs, "tree/link", 1).await.unwrap();
    assert_eq!(via_link.iter().map(|e| e.path.clone()).collect::<Vec<_>>(), [text(&envd.path("tree/link/far.txt"))]);

    assert_eq!(list(&fs, "tree/top.txt", 1).await.unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(list(&fs, "missing", 1).await.unwrap_err().code, ErrorCode::NotFound);
    assert!(list(&fs, "tree/a/b/deep.txt/..", 1).await.is_err());
    envd.stop().await;
}

#[tokio::test]
async fn remove_is_recursive_and_ignores_missing_paths() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    harness::write(&envd.path("gone/a/b.txt"), b"");
    harness::write(&envd.path("kept/file.txt"), b"");
    std::os::unix::fs::symlink(envd.path("kept"), envd.path("link")).unwrap();

    remove(&fs, "gone").await.unwrap();
    assert!(!envd.path("gone").exists());
    remove(&fs, "link").await.unwrap();
    assert!(envd.path("kept/file.txt").exists(), "removing a symlink leaves its target alone");
    remove(&fs, "kept/file.txt").await.unwrap();
    assert!(!envd.path("kept/file.txt").exists());
    remove(&fs, "never-there").await.unwrap();
    envd.stop().await;
}

#[tokio::test]
async fn bad_input_gets_clear_errors() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    for result in [
        stat(&fs, "a\0b").await.map(drop),
        list(&fs, "a\0b", 1).await.map(drop),
        make_dir(&fs, "a\0b").await.map(drop),
        rename(&fs, "a", "b\0").await.map(drop),
        remove(&fs, "\0").await,
        create_watcher(&fs, "x\0", false).await.map(drop),
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{err:?}");
        assert!(err.message.unwrap().contains("NUL"));
    }
    let long = "x/".repeat(3000);
    let err = stat(&fs, &long).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.message.unwrap().len() < 200, "the path is not echoed back");
    let name_too_long = "n".repeat(300);
    assert_eq!(stat(&fs, &name_too_long).await.unwrap_err().code, ErrorCode::InvalidArgument);

    let stranger = envd.filesystem_as("no-such-user-xyz");
    assert_eq!(stat(&stranger, "").await.unwrap_err().code, ErrorCode::Unauthenticated);
    assert_eq!(create_watcher(&stranger, "", false).await.unwrap_err().code, ErrorCode::Unauthenticated);

    // Symlink loops are the caller's problem, not envd's.
    std::os::unix::fs::symlink(envd.path("loop"), envd.path("loop")).unwrap();
    assert_eq!(list(&fs, "loop", 1).await.unwrap_err().code, ErrorCode::InvalidArgument);
    envd.stop().await;
}

#[tokio::test]
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
async fn operations_respect_the_acting_users_permissions() {
    if !harness::is_root() {
        eprintln!("skipped (needs root to act as nobody)");
        return;
    }
    let envd = TestEnvd::start().await;
    std::fs::set_permissions(envd.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = envd.path("secret");
    harness::write(&secret.join("file.txt"), b"s");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o700)).unwrap();
    let shared = envd.path("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let secret_file = text(&secret.join("file.txt"));

    let nobody = envd.filesystem_as("nobody");
    let denied = |result: Result<(), ConnectError>| {
        let err = result.unwrap_err();
        assert_eq!(err.code, ErrorCode::PermissionDenied, "{err:?}");
    };
    denied(stat(&nobody, &secret_file).await.map(drop));
    denied(list(&nobody, &text(&secret), 1).await.map(drop));
    denied(make_dir(&nobody, &text(&secret.join("new"))).await.map(drop));
    denied(rename(&nobody, &secret_file, &text(&shared.join("stolen.txt"))).await.map(drop));
    denied(remove(&nobody, &secret_file).await);
    denied(create_watcher(&nobody, &text(&secret), false).await.map(drop));
    assert!(secret.join("file.txt").exists());

    // What nobody creates belongs to nobody, parents included.
    let made = make_dir(&nobody, &text(&shared.join("a/b"))).await.unwrap();
    assert_eq!(made.owner, "nobody");
    let nobody_uid = std::fs::metadata(shared.join("a/b")).unwrap().uid();
    assert_ne!(nobody_uid, 0);
    assert_eq!(std::fs::metadata(shared.join("a")).unwrap().uid(), nobody_uid);

    // The listing as nobody shows the secret directory but not inside it.
    let listed = list(&nobody, &text(&envd.root()), 3).await.unwrap();
    assert!(listed.iter().any(|e| e.path == text(&secret)));
    assert!(!listed.iter().any(|e| e.path == secret_file));

    // Root is unaffected by what nobody's requests did to envd's threads.
    let root = envd.filesystem_as("root");
    for _ in 0..8 {
        assert_eq!(stat(&root, &secret_file).await.unwrap().owner, "root");
    }
    envd.stop().await;
}

#[tokio::test]
async fn polled_watcher_reports_changes_and_new_subdirectories() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    let dir = envd.path("watched");
    harness::write(&dir.join("existing.txt"), b"1");
    let id = create_watcher(&fs, "watched", true).await.unwrap();
    assert!(id.len() > 16);
    assert!(watcher_events(&fs, &id).await.unwrap().is_empty());

    harness::write(&dir.join("new.txt"), b"hello");
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("existing.txt"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"2"))
        .unwrap();
    std::fs::rename(dir.join("new.txt"), dir.join("renamed.txt")).unwrap();
    std::fs::set_permissions(dir.join("renamed.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::remove_file(dir.join("existing.txt")).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    harness::write(&dir.join("sub/deep.txt"), b"d");

    use pb::EventType::*;
    let events = poll_until(&fs, &id, |e| {
        has(e, "sub/deep.txt", EVENT_TYPE_CREATE) && has(e, "existing.txt", EVENT_TYPE_REMOVE)
    })
    .await;
    for (name, kind) in [
        ("new.txt", EVENT_TYPE_CREATE),
        ("new.txt", EVENT_TYPE_WRITE),
        ("existing.txt", EVENT_TYPE_WRITE),
        ("new.txt", EVENT_TYPE_RENAME),
        ("renamed.txt", EVENT_TYPE_CREATE),
        ("renamed.txt", EVENT_TYPE_CHMOD),
        ("existing.txt", EVENT_TYPE_REMOVE),
        ("sub", EVENT_TYPE_CREATE),
    ] {
        assert!(has(&events, name, kind), "{name} {kind:?} missing from {:?}", summary(&events));
    }
    let renamed = events.iter().find(|e| e.name == "renamed.txt").unwrap();
    let entry = renamed.entry.as_option().expect("include_entry attaches existing entries");
    assert_eq!((entry.path.clone(), entry.mode), (text(&dir.join("renamed.txt")), 0o600));
    let removed = events.iter().find(|e| e.name == "existing.txt" && e.r#type.as_known() == Some(EVENT_TYPE_REMOVE));
    assert!(removed.unwrap().entry.as_option().is_none(), "no entry for what is gone");

    // Drained: a second poll sees only what happened since.
    remove(&fs, "watched/renamed.txt").await.unwrap();
    let later = poll_until(&fs, &id, |e| has(e, "renamed.txt", EVENT_TYPE_REMOVE)).await;
    assert!(!has(&later, "sub", EVENT_TYPE_CREATE), "{:?}", summary(&later));

    remove_watcher(&fs, &id).await.unwrap();
    assert_eq!(watcher_events(&fs, &id).await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(remove_watcher(&fs, &id).await.unwrap_err().code, ErrorCode::NotFound);
    wait_for_no_watches_on(&dir).await;
    wait_for_no_watches_on(&dir.join("sub")).await;
    envd.stop().await;
}

#[tokio::test]
async fn non_recursive_watcher_ignores_subdirectories() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    let dir = envd.path("flat");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let id = create_watcher(&fs, "flat", false).await.unwrap();
    harness::write(&dir.join("sub/hidden.txt"), b"");
    harness::write(&dir.join("seen.txt"), b"");
    let events = poll_until(&fs, &id, |e| has(e, "seen.txt", pb::EventType::EVENT_TYPE_CREATE)).await;
    assert!(!events.iter().any(|e| e.name.contains("hidden")), "{:?}", summary(&events));
    remove_watcher(&fs, &id).await.unwrap();
    envd.stop().await;
}

#[tokio::test]
async fn watcher_errors() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    harness::write(&envd.path("file.txt"), b"");
    assert_eq!(create_watcher(&fs, "missing", true).await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(create_watcher(&fs, "file.txt", true).await.unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(watcher_events(&fs, "w-unknown").await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(watcher_events(&fs, "").await.unwrap_err().code, ErrorCode::NotFound);
    assert_eq!(remove_watcher(&fs, "w-unknown").await.unwrap_err().code, ErrorCode::NotFound);

    let watch_dir = pb::WatchDirRequest { path: "missing".to_owned(), ..Default::default() };
    let err = match fs.watch_dir(watch_dir).await {
        Err(err) => err,
        Ok(mut stream) => stream.message::<pb::WatchDirResponse>().await.expect_err("missing path"),
    };
    assert_eq!(err.code, ErrorCode::NotFound);

    // Two watchers on one directory are independent.
    let a = create_watcher(&fs, "", false).await.unwrap();
    let b = create_watcher(&fs, "", false).await.unwrap();
    assert_ne!(a, b);
    remove_watcher(&fs, &a).await.unwrap();
    harness::write(&envd.path("after.txt"), b"");
    poll_until(&fs, &b, |e| has(e, "after.txt", pb::EventType::EVENT_TYPE_CREATE)).await;
    envd.stop().await;
}

type WatchStream = connectrpc::client::ServerStream<
    <HttpClient as connectrpc::client::ClientTransport>::ResponseBody,
    pb::__buffa::view::WatchDirResponseView<'static>,
>;

async fn next_event(stream: &mut WatchStream) -> Event {
    let message = tokio::time::timeout(Duration::from_secs(10), stream.message::<pb::WatchDirResponse>())
        .await
        .expect("an event in time")
        .expect("stream ok")
        .expect("stream open");
    message.to_owned_message().event.expect("event set")
}

#[tokio::test]
async fn watch_dir_streams_start_events_and_keepalives() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    let dir = envd.path("streamed");
    std::fs::create_dir(&dir).unwrap();
    let request = pb::WatchDirRequest { path: text(&dir), recursive: true, include_entry: true, ..Default::default() };
    let options = CallOptions::default().with_header("keepalive-ping-interval", "1");
    let mut stream = fs.watch_dir_with_options(request, options).await.unwrap();
    assert!(matches!(next_event(&mut stream).await, Event::Start(_)), "start comes first");

    std::fs::create_dir(dir.join("sub")).unwrap();
    harness::write(&dir.join("sub/file.txt"), b"x");
    let mut seen = Vec::new();
    let mut n_keepalives = 0;
    while !has(&seen, "sub/file.txt", pb::EventType::EVENT_TYPE_CREATE) {
        match next_event(&mut stream).await {
            Event::Filesystem(event) => seen.push(*event),
            Event::Keepalive(_) => n_keepalives += 1,
            Event::Start(_) => panic!("a second start event"),
        }
    }
    let sub = seen.iter().find(|e| e.name == "sub").expect("sub created");
    assert_eq!(sub.entry.as_option().map(|e| e.r#type.as_known()), Some(Some(pb::FileType::FILE_TYPE_DIRECTORY)));

    // Quiet directory: keepalives at the requested interval.
    while n_keepalives < 2 {
        if let Event::Keepalive(_) = next_event(&mut stream).await {
            n_keepalives += 1;
        }
    }
    envd.stop().await;
}

#[tokio::test]
async fn watch_dir_is_released_when_the_client_goes_away() {
    let envd = TestEnvd::start().await;
    let fs = envd.filesystem();
    let dir = envd.path("abandoned");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let request = pb::WatchDirRequest { path: text(&dir), recursive: true, ..Default::default() };
    let options = CallOptions::default().with_header("keepalive-ping-interval", "1");
    let mut stream = fs.watch_dir_with_options(request, options).await.unwrap();
    assert!(matches!(next_event(&mut stream).await, Event::Start(_)));
    assert_eq!(n_watches_on(&dir), 1);
    assert_eq!(n_watches_on(&dir.join("sub")), 1);

    drop(stream);
    wait_for_no_watches_on(&dir).await;
    wait_for_no_watches_on(&dir.join("sub")).await;

    // envd keeps serving, and new watches work.
    assert!(stat(&fs, "abandoned").await.is_ok());
    let id = create_watcher(&fs, "abandoned", false).await.unwrap();
    assert_eq!(n_watches_on(&dir), 1);
    remove_watcher(&fs, &id).await.unwrap();
    wait_for_no_watches_on(&dir).await;
    envd.stop().await;
}
