//! User database lookups (getpwnam, getgrouplist) and own credentials.

use std::ffi::CString;
use std::path::PathBuf;

use nix::unistd::{Gid, Group, Uid, User, getgrouplist};

use crate::users::Identity;

pub(crate) fn lookup(name: &str) -> Option<Identity> {
    let user = User::from_name(name).ok().flatten()?;
    Some(identity_of(user))
}

pub(crate) fn current() -> Identity {
    let uid = Uid::effective();
    match User::from_uid(uid).ok().flatten() {
        Some(user) => identity_of(user),
        // A uid without a passwd entry (possible in minimal containers).
        None => Identity {
            name: uid.to_string(),
            uid: uid.as_raw(),
            gid: Gid::effective().as_raw(),
            groups: vec![Gid::effective().as_raw()],
            home: PathBuf::from("/"),
            shell: "/bin/sh".to_owned(),
        },
    }
}

pub(crate) fn effective_uid() -> u32 {
    Uid::effective().as_raw()
}

pub(crate) fn effective_gid() -> u32 {
    Gid::effective().as_raw()
}

/// Name of a uid, or the number when it has no passwd entry.
pub(crate) fn user_name(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// Name of a gid, or the number when it has no group entry.
pub(crate) fn group_name(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(group)) => group.name,
        _ => gid.to_string(),
    }
}

fn identity_of(user: User) -> Identity {
    let groups = CString::new(user.name.clone())
        .ok()
        .and_then(|cname| getgrouplist(&cname, user.gid).ok())
        .map(|gids| gids.into_iter().map(Gid::as_raw).collect())
        .unwrap_or_else(|| vec![user.gid.as_raw()]);
    Identity {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        groups,
        home: user.dir,
        shell: user.shell.to_string_lossy().into_owned(),
    }
}
