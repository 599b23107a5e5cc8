//! A classic-BPF interpreter for seccomp programs, so the tests can ask the
//! compiled filter what it decides instead of trusting how it was built.
//!
//! Only the instructions seccompiler emits are implemented (word loads from
//! `seccomp_data`, `and`, the `K` jumps, `ret`); any other opcode fails the
//! test. The kernel's rule for several filters is reproduced: each runs,
//! the action with the highest precedence wins, ties go to the most
//! recently installed filter (`kernel/seccomp.c`, `seccomp_run_filters`).

use seccompiler::sock_filter;

/// Offsets in `struct seccomp_data`.
pub(super) const NR_OFFSET: u32 = 0;
pub(super) const ARCH_OFFSET: u32 = 4;
pub(super) const ARG0_OFFSET: u32 = 16;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_ALU_AND_K: u16 = 0x54;
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGT_K: u16 = 0x25;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_JMP_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;

const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
const SECCOMP_RET_DATA: u32 = 0x0000_ffff;

/// What the kernel does with the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Allow,
    Errno(u32),
    KillProcess,
    Other(u32),
}

impl Verdict {
    fn of(ret: u32) -> Verdict {
        match ret & SECCOMP_RET_ACTION_FULL {
            libc::SECCOMP_RET_ALLOW => Verdict::Allow,
            libc::SECCOMP_RET_ERRNO => Verdict::Errno(ret & SECCOMP_RET_DATA),
            libc::SECCOMP_RET_KILL_PROCESS => Verdict::KillProcess,
            _ => Verdict::Other(ret),
        }
    }
}

/// The verdict of `programs` (in installation order) for one call.
pub(super) fn run_filters(programs: &[Vec<sock_filter>], nr: u32, arch: u32, args: [u64; 6]) -> Verdict {
    let data = seccomp_data(nr, arch, args);
    let mut ret = libc::SECCOMP_RET_ALLOW;
    for program in programs.iter().rev() {
        let current = run(program, &data);
        // The kernel compares the actions as signed numbers: kill < errno < allow.
        if ((current & SECCOMP_RET_ACTION_FULL) as i32) < ((ret & SECCOMP_RET_ACTION_FULL) as i32) {
            ret = current;
        }
    }
    Verdict::of(ret)
}

/// Every offset of `seccomp_data` the program reads.
pub(super) fn loaded_offsets(program: &[sock_filter]) -> Vec<u32> {
    program.iter().filter(|insn| insn.code == BPF_LD_W_ABS).map(|insn| insn.k).collect()
}

fn seccomp_data(nr: u32, arch: u32, args: [u64; 6]) -> [u8; 64] {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_ne_bytes());
    data[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, arg) in args.iter().enumerate() {
        let at = ARG0_OFFSET as usize + 8 * i;
        data[at..at + 8].copy_from_slice(&arg.to_ne_bytes());
    }
    data
}

fn run(program: &[sock_filter], data: &[u8; 64]) -> u32 {
    let mut acc = 0u32;
    let mut pc = 0usize;
    loop {
        let insn = program.get(pc).unwrap_or_else(|| panic!("ran off the end of the program at {pc}"));
        pc += 1;
        let jump = |taken: bool| usize::from(if taken { insn.jt } else { insn.jf });
        match insn.code {
            BPF_LD_W_ABS => {
                let at = insn.k as usize;
                assert!(at.is_multiple_of(4) && at + 4 <= data.len(), "load from offset {at}");
                acc = u32::from_ne_bytes(data[at..at + 4].try_into().unwrap());
            }
            BPF_ALU_AND_K => acc &= insn.k,
            BPF_JMP_JA => pc += insn.k as usize,
            BPF_JMP_JEQ_K => pc += jump(acc == insn.k),
            BPF_JMP_JGT_K => pc += jump(acc > insn.k),
            BPF_JMP_JGE_K => pc += jump(acc >= insn.k),
            BPF_JMP_JSET_K => pc += jump(acc & insn.k != 0),
            BPF_RET_K => return insn.k,
            code => panic!("instruction {code:#x} at {} is not interpreted", pc - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(code: u16, k: u32) -> sock_filter {
        sock_filter { code, jt: 0, jf: 0, k }
    }

    fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
        sock_filter { code, jt, jf, k }
    }

    #[test]
    fn interprets_a_hand_written_filter() {
        // nr == 7 && (arg0 & 0xf0) == 0x20 → allow; nr == 9 → errno 5;
        // else kill.
        let program = vec![
            stmt(BPF_LD_W_ABS, NR_OFFSET),
            jump(BPF_JMP_JEQ_K, 7, 0, 4),
            stmt(BPF_LD_W_ABS, ARG0_OFFSET),
            stmt(BPF_ALU_AND_K, 0xf0),
            jump(BPF_JMP_JEQ_K, 0x20, 0, 3),
            stmt(BPF_RET_K, libc::SECCOMP_RET_ALLOW),
            jump(BPF_JMP_JEQ_K, 9, 0, 1),
            stmt(BPF_RET_K, libc::SECCOMP_RET_ERRNO | 5),
            stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        ];
        let programs = [program];
        assert_eq!(run_filters(&programs, 7, 0, [0x25, 0, 0, 0, 0, 0]), Verdict::Allow);
        assert_eq!(run_filters(&programs, 7, 0, [0x35, 0, 0, 0, 0, 0]), Verdict::KillProcess);
        assert_eq!(run_filters(&programs, 9, 0, [0; 6]), Verdict::Errno(5));
        assert_eq!(run_filters(&programs, 8, 0, [0; 6]), Verdict::KillProcess);
        assert_eq!(loaded_offsets(&programs[0]), [NR_OFFSET, ARG0_OFFSET]);
    }

    #[test]
    fn the_strictest_filter_wins_and_ties_go_to_the_newest() {
        let ret = |k| vec![stmt(BPF_RET_K, k)];
        let errno = |e| ret(libc::SECCOMP_RET_ERRNO | e);
        let cases = [
            (vec![ret(libc::SECCOMP_RET_ALLOW), errno(38)], Verdict::Errno(38)),
            (vec![errno(1), ret(libc::SECCOMP_RET_ALLOW)], Verdict::Errno(1)),
            (vec![errno(1), errno(38)], Verdict::Errno(38)),
            (vec![ret(libc::SECCOMP_RET_KILL_PROCESS), errno(38)], Verdict::KillProcess),
        ];
        for (programs, expected) in cases {
            assert_eq!(run_filters(&programs, 0, 0, [0; 6]), expected);
        }
    }
}
