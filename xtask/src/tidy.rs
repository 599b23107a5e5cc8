//! Architecture rules that reviewers should not have to remember.
//!
//! - every Rust file (outside generated code) starts with a `//!` doc;
//! - no `mod.rs` files: `foo.rs` + `foo/`;
//! - in envd and the agent, only `src/sys/` touches `nix` or `libc`, and
//!   only `sys/` spawns processes (`Command::new`);
//! - no file grows past 1,000 lines.

use std::path::{Path, PathBuf};

use anyhow::bail;

const MAX_LINES: usize = 1000;

pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let problems = problems(root);
    if problems.is_empty() {
        println!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

fn problems(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for dir in ["crates", "xtask"] {
        collect_rust_files(&root.join(dir), &mut files);
    }
    for file in files {
        let relative = file.strip_prefix(root).unwrap_or(&file).to_string_lossy().into_owned();
        if relative.contains("/generated/") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            problems.push(format!("{relative}: unreadable"));
            continue;
        };
        let in_src = relative.contains("/src/");
        if in_src && !text.starts_with("//!") {
            problems.push(format!("{relative}: must start with a `//!` module doc"));
        }
        if file.file_name().is_some_and(|n| n == "mod.rs") {
            problems.push(format!("{relative}: use `foo.rs` + `foo/` instead of `mod.rs`"));
        }
        let n_lines = text.lines().count();
        if n_lines > MAX_LINES {
            problems.push(format!("{relative}: {n_lines} lines; split it by noun (limit {MAX_LINES})"));
        }
        let envd_core =
            relative.starts_with("crates/wrenn-envd/src/") && !relative.starts_with("crates/wrenn-envd/src/sys");
        if envd_core {
            for (n, line) in code_lines(&text) {
                if uses_path(line, "libc") || uses_path(line, "nix") {
                    problems.push(format!("{relative}:{n}: nix/libc belong in src/sys/"));
                }
                if line.contains("Command::new") {
                    problems.push(format!("{relative}:{n}: spawn processes through src/sys/"));
                }
            }
        }
    }
    problems
}

/// Whether `line` names a path in crate `name` (`nix::x`, not `unix::x`).
fn uses_path(line: &str, name: &str) -> bool {
    let needle = format!("{name}::");
    line.match_indices(&needle)
        .any(|(at, _)| line[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_')))
}

/// Lines outside `#[cfg(test)]` modules, with 1-based numbers; comments skipped.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start() == "#[cfg(test)]" {
            break;
        }
        if !line.trim_start().starts_with("//") {
            lines.push((i + 1, line));
        }
    }
    lines
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_is_tidy() {
        let root = crate::repo_root();
        let problems = problems(&root);
        assert!(problems.is_empty(), "tidy problems:\n{}", problems.join("\n"));
    }

    #[test]
    fn crate_paths_are_told_apart_from_suffixes() {
        assert!(uses_path("use nix::unistd;", "nix"));
        assert!(uses_path("x(libc::SIGKILL)", "libc"));
        assert!(!uses_path("use std::os::unix::fs;", "nix"));
        assert!(!uses_path("my_libc::x", "libc"));
    }

    #[test]
    fn code_lines_stop_at_tests_and_skip_comments() {
        let text = "//! doc\nuse a;\n// libc:: in a comment\nfn f() {}\n#[cfg(test)]\nmod tests { libc::x }\n";
        assert_eq!(code_lines(text), vec![(2, "use a;"), (4, "fn f() {}")]);
    }
}
