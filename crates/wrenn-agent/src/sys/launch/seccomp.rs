//! The capsule's seccomp filter: Docker's default profile, expressed as a
//! deny list, plus a few denials Docker makes only when a capability is
//! missing (we keep no `CAP_SYS_ADMIN`-class capability anyway).
//!
//! Why a deny list: Docker's allowlist is ~350 names long and has to chase
//! every new syscall; the kernel's own checks (user namespace, dropped
//! capabilities) already refuse most privileged calls. The filter exists to
//! shrink the kernel attack surface reachable from a capsule, so it names
//! the calls that matter: module and kexec loading, keyrings, bpf, perf,
//! userfaultfd, handle-based opens, mount and namespace creation, clock
//! setting, io_uring. `clone3` answers `ENOSYS` (as in Docker) so that libc
//! falls back to `clone`, whose flags a classic BPF filter can inspect.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
};

/// Denied outright with `EPERM`.
const DENIED: &[libc::c_long] = &[
    libc::SYS_acct,
    libc::SYS_add_key,
    libc::SYS_bpf,
    libc::SYS_clock_adjtime,
    libc::SYS_clock_settime,
    libc::SYS_delete_module,
    libc::SYS_finit_module,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fsopen,
    libc::SYS_fspick,
    libc::SYS_init_module,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_io_uring_setup,
    libc::SYS_ioperm,
    libc::SYS_iopl,
    libc::SYS_kexec_file_load,
    libc::SYS_kexec_load,
    libc::SYS_keyctl,
    libc::SYS_lookup_dcookie,
    libc::SYS_mount,
    libc::SYS_mount_setattr,
    libc::SYS_move_mount,
    libc::SYS_name_to_handle_at,
    libc::SYS_nfsservctl,
    libc::SYS_open_by_handle_at,
    libc::SYS_open_tree,
    libc::SYS_perf_event_open,
    libc::SYS_pivot_root,
    libc::SYS_quotactl,
    libc::SYS_reboot,
    libc::SYS_request_key,
    libc::SYS_setns,
    libc::SYS_settimeofday,
    libc::SYS_swapoff,
    libc::SYS_swapon,
    libc::SYS_syslog,
    libc::SYS__sysctl,
    libc::SYS_sysfs,
    libc::SYS_umount2,
    libc::SYS_unshare,
    libc::SYS_uselib,
    libc::SYS_userfaultfd,
    libc::SYS_ustat,
    libc::SYS_vhangup,
];

/// `clone` flags that create namespaces; `clone` with any of them is denied.
const NAMESPACE_FLAGS: &[libc::c_int] = &[
    libc::CLONE_NEWNS,
    libc::CLONE_NEWCGROUP,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
];

#[derive(Debug, thiserror::Error)]
pub(crate) enum SeccompError {
    #[error("could not build the seccomp filter")]
    Build(#[source] seccompiler::BackendError),
    #[error("could not install the seccomp filter")]
    Install(#[source] seccompiler::Error),
}

/// Installs the filters on the calling thread (and sets no_new_privs, which
/// seccomp requires without `CAP_SYS_ADMIN`). Inherited across exec.
pub(crate) fn install() -> Result<(), SeccompError> {
    for program in programs()? {
        seccompiler::apply_filter(&program).map_err(SeccompError::Install)?;
    }
    Ok(())
}

/// The two BPF programs: the deny list (`EPERM`) and `clone3` (`ENOSYS`).
pub(crate) fn programs() -> Result<Vec<BpfProgram>, SeccompError> {
    let arch = seccompiler::TargetArch::try_from(std::env::consts::ARCH).map_err(SeccompError::Build)?;
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> = DENIED.iter().map(|&nr| (nr, Vec::new())).collect();
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let flag = flag as u64;
            let condition = SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(flag), flag)?;
            SeccompRule::new(vec![condition])
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(SeccompError::Build)?;
    denied.insert(libc::SYS_clone, clone_rules);
    let deny = SeccompFilter::new(denied, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
        .map_err(SeccompError::Build)?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(SeccompError::Build)?;
    [deny, clone3].into_iter().map(|filter| BpfProgram::try_from(filter).map_err(SeccompError::Build)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile() {
        let programs = programs().unwrap();
        assert_eq!(programs.len(), 2);
        assert!(programs.iter().all(|p| !p.is_empty()));
    }
}
