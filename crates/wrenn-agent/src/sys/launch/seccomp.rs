//! The capsule's seccomp filter: an allowlist equal to Docker's default
//! profile for x86_64 (the list and every deliberate difference are in
//! `seccomp/allowed.rs`).
//!
//! Why an allowlist: a deny list lets through every call nobody thought of,
//! including each new syscall a kernel upgrade adds. Everything not listed
//! answers `EPERM`, as in Docker, so programs that probe for a newer call
//! see an error instead of a crash.
//!
//! Two programs, because a seccompiler filter has one action for matches:
//! the allowlist (`EPERM` otherwise; `clone3` is on it), then one that
//! answers `ENOSYS` to `clone3` and allows the rest. The kernel runs both
//! and takes the strictest answer, so `clone3` gets `ENOSYS` (libc then
//! falls back to `clone`, whose namespace flags the allowlist checks).
//!
//! Proof of "at least as strict as Docker": the tests run the compiled BPF
//! in a small interpreter for every syscall number (native and x32) and a
//! set of argument values, and check each allowed call against a model of
//! Docker's profile written from its JSON (`seccomp/docker.rs`).

mod allowed;
#[cfg(test)]
mod bpf_eval;
#[cfg(test)]
mod docker;

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
};

use crate::sys::launch::seccomp::allowed::{
    ALLOWED_PERSONAS, ALWAYS, CLONE, CLONE3, DENIED_SOCKET_FAMILY, NAMESPACE_FLAGS, PERSONALITY, SOCKET,
};

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

/// The two BPF programs, in installation order: the allowlist, then
/// `clone3` → `ENOSYS`.
pub(crate) fn programs() -> Result<Vec<BpfProgram>, SeccompError> {
    let arch = seccompiler::TargetArch::try_from(std::env::consts::ARCH).map_err(SeccompError::Build)?;
    let allow = SeccompFilter::new(allowlist()?, SeccompAction::Errno(libc::EPERM as u32), SeccompAction::Allow, arch)
        .map_err(SeccompError::Build)?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(CLONE3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(SeccompError::Build)?;
    [allow, clone3].into_iter().map(|filter| BpfProgram::try_from(filter).map_err(SeccompError::Build)).collect()
}

/// The allowlist's rules: an empty rule list matches any arguments, several
/// rules match if any does.
fn allowlist() -> Result<BTreeMap<i64, Vec<SeccompRule>>, SeccompError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALWAYS.iter().map(|&(_, nr)| (nr, Vec::new())).collect();
    rules.insert(CLONE3, Vec::new());
    let personas = ALLOWED_PERSONAS
        .iter()
        .map(|&persona| rule(SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, persona))
        .collect::<Result<_, _>>()?;
    rules.insert(PERSONALITY, personas);
    let family = u64::from(DENIED_SOCKET_FAMILY);
    rules.insert(SOCKET, vec![rule(SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, family)?]);
    rules.insert(CLONE, vec![rule(SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(NAMESPACE_FLAGS), 0)?]);
    Ok(rules)
}

/// A rule with one condition on the first argument.
fn rule(len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64) -> Result<SeccompRule, SeccompError> {
    let condition = SeccompCondition::new(0, len, op, value).map_err(SeccompError::Build)?;
    SeccompRule::new(vec![condition]).map_err(SeccompError::Build)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::sys::launch::seccomp::bpf_eval::{
        ARCH_OFFSET, ARG0_OFFSET, NR_OFFSET, Verdict, loaded_offsets, run_filters,
    };
    use crate::sys::launch::seccomp::docker;

    /// Highest syscall number probed: well above the x86_64 table (~470).
    const MAX_NR: u32 = 1023;
    const X32_BIT: u32 = 0x4000_0000;
    /// `<linux/audit.h>`: `EM_X86_64` and `EM_386`, little-endian, 64/32-bit.
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;

    fn our_names() -> BTreeMap<u32, &'static str> {
        let mut names: BTreeMap<u32, &str> = ALWAYS.iter().map(|&(name, nr)| (nr as u32, strip(name))).collect();
        names.insert(PERSONALITY as u32, "personality");
        names.insert(SOCKET as u32, "socket");
        names.insert(CLONE as u32, "clone");
        names.insert(CLONE3 as u32, "clone3");
        names
    }

    fn strip(name: &str) -> &str {
        name.strip_prefix("SYS_").expect("entries are libc SYS_ identifiers")
    }

    /// First-argument values that exercise every conditional rule: each
    /// namespace flag alone and mixed with harmless flags, each persona and
    /// its neighbours, socket families, and junk in the high 32 bits.
    fn probe_args() -> Vec<u64> {
        let mut args = vec![0, 1, 2, 8, 40, 41, u64::MAX, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0028];
        let harmless = (libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::SIGCHLD) as u64;
        for bit in 0..64 {
            let flag = 1u64 << bit;
            args.extend([flag, flag | harmless, flag | NAMESPACE_FLAGS]);
        }
        for &persona in ALLOWED_PERSONAS {
            args.extend([persona, persona + 1, persona | 0x40000, persona | (1 << 32)]);
        }
        args.push(harmless);
        args
    }

    /// Arguments other than the first cannot change a verdict, so probing
    /// the first one covers every call.
    #[test]
    fn the_filter_reads_only_number_architecture_and_first_argument() {
        let readable = [NR_OFFSET, ARCH_OFFSET, ARG0_OFFSET, ARG0_OFFSET + 4];
        for program in programs().unwrap() {
            for offset in loaded_offsets(&program) {
                assert!(readable.contains(&offset), "the filter reads seccomp_data at {offset}");
            }
        }
    }

    #[test]
    fn every_allowed_call_is_allowed_by_docker() {
        let programs = programs().unwrap();
        let names = our_names();
        let arch = AUDIT_ARCH_X86_64;
        let mut n_checked = 0;
        for nr in (0..=MAX_NR).chain((0..=MAX_NR).map(|nr| nr | X32_BIT)) {
            for arg0 in probe_args() {
                let verdict = run_filters(&programs, nr, arch, [arg0, 0, 0, 0, 0, 0]);
                if verdict != Verdict::Allow {
                    continue;
                }
                let name = names.get(&nr).unwrap_or_else(|| panic!("syscall {nr:#x} allowed but not on our list"));
                assert!(
                    docker::allows(name, arg0),
                    "{name} ({nr}) with first argument {arg0:#x} is allowed but Docker denies it"
                );
                n_checked += 1;
            }
        }
        assert!(n_checked > 250 * probe_args().len(), "the filter allows almost nothing: {n_checked}");
    }

    #[test]
    fn denials_answer_like_docker() {
        let programs = programs().unwrap();
        let arch = AUDIT_ARCH_X86_64;
        let eperm = Verdict::Errno(libc::EPERM as u32);
        let run = |nr: libc::c_long, arg0: u64| run_filters(&programs, nr as u32, arch, [arg0, 0, 0, 0, 0, 0]);
        let table: &[(&str, libc::c_long, u64, Verdict)] = &[
            ("clone3 falls back", libc::SYS_clone3, 0, Verdict::Errno(libc::ENOSYS as u32)),
            ("fork-like clone", libc::SYS_clone, libc::SIGCHLD as u64, Verdict::Allow),
            ("thread clone", libc::SYS_clone, 0x3d0f00, Verdict::Allow),
            ("clone into a user ns", libc::SYS_clone, libc::CLONE_NEWUSER as u64, eperm),
            ("clone into a net ns", libc::SYS_clone, (libc::CLONE_NEWNET | libc::SIGCHLD) as u64, eperm),
            ("query personality", libc::SYS_personality, 0xffff_ffff, Verdict::Allow),
            ("ADDR_NO_RANDOMIZE", libc::SYS_personality, 0x0040000, eperm),
            ("inet socket", libc::SYS_socket, libc::AF_INET as u64, Verdict::Allow),
            ("vsock", libc::SYS_socket, libc::AF_VSOCK as u64, eperm),
            ("vsock, junk high bits", libc::SYS_socket, (1 << 32) | libc::AF_VSOCK as u64, eperm),
            ("unshare", libc::SYS_unshare, 0, eperm),
            ("setns", libc::SYS_setns, 0, eperm),
            ("mount", libc::SYS_mount, 0, eperm),
            ("keyctl", libc::SYS_keyctl, 0, eperm),
            ("add_key", libc::SYS_add_key, 0, eperm),
            ("bpf", libc::SYS_bpf, 0, eperm),
            ("perf_event_open", libc::SYS_perf_event_open, 0, eperm),
            ("userfaultfd", libc::SYS_userfaultfd, 0, eperm),
            ("io_uring_setup", libc::SYS_io_uring_setup, 1, eperm),
            ("open_by_handle_at", libc::SYS_open_by_handle_at, 0, eperm),
            ("name_to_handle_at", libc::SYS_name_to_handle_at, 0, eperm),
            ("kexec_load", libc::SYS_kexec_load, 0, eperm),
            ("init_module", libc::SYS_init_module, 0, eperm),
            ("reboot", libc::SYS_reboot, 0, eperm),
            ("clock_settime", libc::SYS_clock_settime, 0, eperm),
            ("mbind (CAP_SYS_NICE)", libc::SYS_mbind, 0, eperm),
            ("kcmp (CAP_SYS_PTRACE)", libc::SYS_kcmp, 0, eperm),
            ("a number no kernel has", 1000, 0, eperm),
            ("statx", libc::SYS_statx, 0, Verdict::Allow),
            ("rseq", libc::SYS_rseq, 0, Verdict::Allow),
            ("ptrace (kernel >= 4.8)", libc::SYS_ptrace, 0, Verdict::Allow),
            ("chroot (CAP_SYS_CHROOT)", libc::SYS_chroot, 0, Verdict::Allow),
        ];
        for &(what, nr, arg0, expected) in table {
            assert_eq!(run(nr, arg0), expected, "{what}");
        }
        // x32 calls fall to the default; i386 calls kill the process.
        assert_eq!(run_filters(&programs, 39 | X32_BIT, arch, [0; 6]), eperm);
        assert_eq!(run_filters(&programs, 20, AUDIT_ARCH_I386, [0; 6]), Verdict::KillProcess);
    }

    /// Everything Docker allows unconditionally is allowed here too, except
    /// the names that do not exist on x86_64 and the documented stricter
    /// choices: programs that run under Docker run in a capsule.
    #[test]
    fn dockers_unconditional_list_is_kept() {
        let ours: BTreeSet<&str> = ALWAYS.iter().map(|&(name, _)| strip(name)).collect();
        let missing: Vec<&str> = docker::ALWAYS
            .iter()
            .copied()
            .filter(|name| !ours.contains(name))
            .filter(|name| !docker::NOT_ON_X86_64.contains(name) && !docker::STRICTER_HERE.contains(name))
            .collect();
        assert_eq!(missing, Vec::<&str>::new());
        let extra: Vec<&str> = ours.iter().copied().filter(|name| !docker::allows(name, 0)).collect();
        assert_eq!(extra, Vec::<&str>::new());
    }
}
