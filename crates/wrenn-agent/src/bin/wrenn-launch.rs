//! `wrenn-launch`: starts one capsule init from a JSON spec on stdin. See
//! `wrenn_agent::runtime::container::launch`.

fn main() {
    let spec = match wrenn_agent::runtime::container::launch::LaunchSpec::from_reader(std::io::stdin().lock()) {
        Ok(spec) => spec,
        Err(err) => {
            #[expect(clippy::print_stderr, reason = "the launcher's only error channel")]
            {
                eprintln!("wrenn-launch: {err}");
            }
            std::process::exit(2);
        }
    };
    wrenn_agent::runtime::container::launch::run(&spec)
}
