//! `wrenn-launch`: starts one capsule init from a JSON spec on stdin (see
//! `wrenn_agent::runtime::container::launch`); `wrenn-launch restore`
//! restores a hibernated capsule instead (see
//! `wrenn_agent::runtime::container::hibernate`).

use wrenn_agent::runtime::container::{hibernate, launch};

fn main() {
    let restore = std::env::args_os().nth(1).is_some_and(|arg| arg == "restore");
    let stdin = std::io::stdin().lock();
    let err = if restore {
        match hibernate::RestoreSpec::from_reader(stdin) {
            Ok(spec) => hibernate::run_restore(&spec),
            Err(err) => err,
        }
    } else {
        match launch::LaunchSpec::from_reader(stdin) {
            Ok(spec) => launch::run(&spec),
            Err(err) => err,
        }
    };
    #[expect(clippy::print_stderr, reason = "the launcher's only error channel")]
    {
        eprintln!("wrenn-launch: {err}");
    }
    std::process::exit(2);
}
