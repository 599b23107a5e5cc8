//! How client commands print: JSON documents for scripts (`--json`),
//! aligned tables and coloured states for people, progress and spinners on
//! stderr (drawn only on a terminal, so pipes and tests see clean output).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::CliError;

/// Where and how a command prints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Output {
        Output { json }
    }

    /// True when the command should print one JSON document.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a value as pretty JSON on stdout.
    pub(crate) fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), CliError> {
        let text =
            serde_json::to_string_pretty(value).map_err(|err| CliError::new(format!("cannot encode JSON: {err}")))?;
        write_stdout(&format!("{text}\n"))
    }

    /// Prints a line for people on stdout.
    pub(crate) fn line(&self, text: &str) -> Result<(), CliError> {
        let mut out = anstream::stdout();
        writeln!(out, "{text}").map_err(stdout_error)
    }

    /// Prints rows under a header, each column as wide as its widest cell.
    pub(crate) fn table(&self, headers: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
        self.line(&render_table(headers, rows))
    }

    /// A list: the items as a JSON array with `--json`, else a table with
    /// one row per item, or `empty` when there are none.
    pub(crate) fn listing<T: Serialize>(
        &self,
        items: &[T],
        empty: &str,
        headers: &[&str],
        row: impl Fn(&T) -> Vec<String>,
    ) -> Result<(), CliError> {
        if self.json {
            return self.json(items);
        }
        if items.is_empty() {
            return self.line(empty);
        }
        let rows: Vec<Vec<String>> = items.iter().map(row).collect();
        self.table(headers, &rows)
    }

    /// A spinner on stderr while something takes a moment; `None` when
    /// stderr is not a terminal (stdout, where JSON goes, is never touched).
    pub(crate) fn spinner(&self, message: impl Into<String>) -> Option<ProgressBar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let spinner = ProgressBar::new_spinner().with_message(message.into());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.enable_steady_tick(Duration::from_millis(80));
        Some(spinner)
    }

    /// A byte progress bar on stderr (hidden when stderr is not a terminal).
    pub(crate) fn bytes_bar(&self, total: u64, message: impl Into<String>) -> ProgressBar {
        if !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total).with_message(message.into());
        let template = "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    }
}

/// A capsule state, coloured by what it means.
pub(crate) fn status_cell(status: &str) -> String {
    let color = match status {
        "running" => AnsiColor::Green,
        "paused" | "hibernated" => AnsiColor::Blue,
        "error" | "missing" => AnsiColor::Red,
        "stopped" => AnsiColor::BrightBlack,
        _ => AnsiColor::Yellow,
    };
    let style = Style::new().fg_color(Some(color.into()));
    format!("{style}{status}{style:#}")
}

/// Writes to stdout, stripping colours when it is not a terminal.
fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(stdout_error)
}

#[expect(clippy::needless_pass_by_value, reason = "the shape `map_err` takes")]
fn stdout_error(err: std::io::Error) -> CliError {
    CliError::new(format!("cannot write to stdout: {err}"))
}

/// The text without its colour escapes (`ESC … m`).
pub(crate) fn strip_styles(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_escape = false;
    for ch in text.chars() {
        match (in_escape, ch) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, ch) => out.push(ch),
        }
    }
    out
}

/// The visible width of a cell (escape sequences take no room).
fn visible_width(cell: &str) -> usize {
    strip_styles(cell).chars().count()
}

/// The table as text: a bold header, two spaces between columns, no
/// trailing spaces.
pub(crate) fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|header| header.len()).collect();
    for row in rows {
        for (column, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(column) {
                *width = (*width).max(visible_width(cell));
            }
        }
    }
    let bold = Style::new().bold();
    let mut lines = Vec::with_capacity(rows.len() + 1);
    let header: Vec<String> = headers.iter().map(|header| format!("{bold}{header}{bold:#}")).collect();
    lines.push(join_row(&header, &widths));
    for row in rows {
        lines.push(join_row(row, &widths));
    }
    lines.join("\n")
}

fn join_row(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (column, cell) in cells.iter().enumerate() {
        if column > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        if column + 1 < cells.len() {
            let pad = widths.get(column).copied().unwrap_or(0).saturating_sub(visible_width(cell));
            line.push_str(&" ".repeat(pad));
        }
    }
    line
}

/// MiB for people (saturating: a server's number never overflows here).
pub(crate) fn human_mib(mib: u64) -> String {
    human_bytes(mib.saturating_mul(1024 * 1024))
}

/// Bytes for people: `512 B`, `1.5 KiB`, `2.0 GiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_on_visible_width() {
        let rows =
            vec![vec!["cl-1".to_owned(), status_cell("running")], vec!["cl-22".to_owned(), status_cell("paused")]];
        let text = render_table(&["ID", "STATUS"], &rows);
        let plain: Vec<String> = text.lines().map(strip_styles).collect();
        assert_eq!(plain, ["ID     STATUS", "cl-1   running", "cl-22  paused"]);
    }

    #[test]
    fn bytes_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(2 * 1024 * 1024 * 1024), "2.0 GiB");
        assert_eq!(human_mib(256), "256.0 MiB");
        assert_eq!(human_mib(u64::MAX), human_bytes(u64::MAX));
    }
}
