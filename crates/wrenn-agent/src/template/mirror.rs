//! Finding the Debian mirror the host's apt already uses, so that template
//! builds go where this machine is allowed to go (CI hosts reach one mirror
//! and nothing else). Never hard-coded; `TemplateStoreOptions::mirror`
//! overrides it.
//!
//! The parsers are pure: apt's one-line `.list` format and the deb822
//! `.sources` format, read in apt's order (`sources.list`, then
//! `sources.list.d/` sorted by name).

use std::io;
use std::path::Path;

/// One source entry, in either format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceEntry {
    pub(crate) types: Vec<String>,
    pub(crate) uris: Vec<String>,
    pub(crate) suites: Vec<String>,
    pub(crate) enabled: bool,
}

/// The two formats apt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourcesFormat {
    /// `deb [options] uri suite [component…]` (`*.list`).
    OneLine,
    /// RFC 822 paragraphs with `Types:`, `URIs:`, `Suites:` (`*.sources`).
    Deb822,
}

/// Reads the mirror for `suite` from the apt configuration under `etc_apt`
/// (normally `/etc/apt`). `Ok(None)` when no entry qualifies.
pub(crate) fn read_apt_mirror(etc_apt: &Path, suite: &str) -> io::Result<Option<String>> {
    let mut entries = Vec::new();
    let main_list = etc_apt.join("sources.list");
    if main_list.exists() {
        entries.extend(parse(&std::fs::read_to_string(&main_list)?, SourcesFormat::OneLine));
    }
    let parts_dir = etc_apt.join("sources.list.d");
    if parts_dir.is_dir() {
        let mut parts: Vec<_> =
            std::fs::read_dir(&parts_dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
        parts.sort();
        for path in parts {
            let format = match path.extension().and_then(|e| e.to_str()) {
                Some("list") => SourcesFormat::OneLine,
                Some("sources") => SourcesFormat::Deb822,
                _ => continue,
            };
            entries.extend(parse(&std::fs::read_to_string(&path)?, format));
        }
    }
    Ok(pick_mirror(&entries, suite))
}

/// Parses one sources file.
pub(crate) fn parse(text: &str, format: SourcesFormat) -> Vec<SourceEntry> {
    match format {
        SourcesFormat::OneLine => text.lines().filter_map(parse_one_line).collect(),
        SourcesFormat::Deb822 => parse_deb822(text),
    }
}

/// The mirror of the first enabled binary (`deb`) entry that carries
/// `suite`; failing that, of the first one carrying any plain release (a
/// suite without `-`, so never `-security`, `-updates` or `-backports`, which
/// may live on other hosts). Trailing slashes are dropped.
pub(crate) fn pick_mirror(entries: &[SourceEntry], suite: &str) -> Option<String> {
    let binary = || {
        entries.iter().filter(|e| e.enabled && e.types.iter().any(|t| t == "deb")).filter(|e| {
            e.uris.iter().any(|u| ["http://", "https://", "file:/"].iter().any(|scheme| u.starts_with(scheme)))
        })
    };
    let chosen = binary()
        .find(|e| e.suites.iter().any(|s| s == suite))
        .or_else(|| binary().find(|e| e.suites.iter().any(|s| !s.contains('-') && !s.contains('/'))))?;
    chosen.uris.first().map(|uri| uri.trim_end_matches('/').to_owned())
}

fn parse_one_line(line: &str) -> Option<SourceEntry> {
    let line = line.split('#').next().unwrap_or("").trim();
    let (kind, rest) = line.split_once(char::is_whitespace)?;
    if kind != "deb" && kind != "deb-src" {
        return None;
    }
    let mut rest = rest.trim_start();
    let mut enabled = true;
    if let Some(options) = rest.strip_prefix('[') {
        let (options, after) = options.split_once(']')?;
        enabled = !options.split_whitespace().any(|o| o.eq_ignore_ascii_case("enabled=no"));
        rest = after;
    }
    let mut words = rest.split_whitespace();
    let uri = words.next()?;
    let suite = words.next()?;
    Some(SourceEntry {
        types: vec![kind.to_owned()],
        uris: vec![uri.to_owned()],
        suites: vec![suite.to_owned()],
        enabled,
    })
}

fn parse_deb822(text: &str) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut flush = |fields: &mut Vec<(String, String)>| {
        if fields.is_empty() {
            return;
        }
        let words = |name: &str| -> Vec<String> {
            fields
                .iter()
                .filter(|(key, _)| key.eq_ignore_ascii_case(name))
                .flat_map(|(_, value)| value.split_whitespace().map(str::to_owned))
                .collect()
        };
        let enabled = !words("Enabled").iter().any(|v| v.eq_ignore_ascii_case("no"));
        let entry = SourceEntry { types: words("Types"), uris: words("URIs"), suites: words("Suites"), enabled };
        if !entry.types.is_empty() && !entry.uris.is_empty() {
            entries.push(entry);
        }
        fields.clear();
    };
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut fields);
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    flush(&mut fields);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    const THIS_HOST: &str = "\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
";

    #[test]
    fn picks_the_mirror_from_either_format() {
        use SourcesFormat::{Deb822, OneLine};
        let cases: &[(&str, SourcesFormat, &str, Option<&str>)] = &[
            (THIS_HOST, Deb822, "bookworm", Some("http://deb.debian.org/debian")),
            // Another release on the host: the plain-release entry, never security.
            (THIS_HOST, Deb822, "trixie", Some("http://deb.debian.org/debian")),
            ("Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n", Deb822, "bookworm", None),
            ("Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n", Deb822, "bookworm", None),
            (
                "Types: deb deb-src\nURIs:\n http://a.example/debian/\n http://b.example/debian\nSuites: bookworm\n",
                Deb822,
                "bookworm",
                Some("http://a.example/debian"),
            ),
            (
                "deb http://ftp.de.debian.org/debian bookworm main\n",
                OneLine,
                "bookworm",
                Some("http://ftp.de.debian.org/debian"),
            ),
            ("# deb http://commented.example/debian bookworm main\n", OneLine, "bookworm", None),
            (
                "deb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] https://m.example/debian/ bookworm main # x\n",
                OneLine,
                "bookworm",
                Some("https://m.example/debian"),
            ),
            ("deb [enabled=no] http://off.example/debian bookworm main\n", OneLine, "bookworm", None),
            (
                "deb http://security.example/ bookworm-security main\ndeb cdrom:[Debian]/ bookworm main\n",
                OneLine,
                "bookworm",
                None,
            ),
            ("deb file:/srv/mirror bookworm main\n", OneLine, "bookworm", Some("file:/srv/mirror")),
            ("deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n", OneLine, "bookworm", None),
            ("", OneLine, "bookworm", None),
        ];
        for (text, format, suite, expected) in cases {
            let got = pick_mirror(&parse(text, *format), suite);
            assert_eq!(got.as_deref(), *expected, "{format:?} {suite}: {text}");
        }
    }

    #[test]
    fn reads_in_apt_order_and_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let parts = dir.path().join("sources.list.d");
        std::fs::create_dir(&parts).unwrap();
        std::fs::write(parts.join("b.sources"), "Types: deb\nURIs: http://b.example/debian\nSuites: bookworm\n")
            .unwrap();
        std::fs::write(parts.join("a.list.disabled"), "deb http://disabled.example/debian bookworm main\n").unwrap();
        std::fs::write(parts.join("c.list"), "deb http://c.example/debian bookworm main\n").unwrap();
        assert_eq!(read_apt_mirror(dir.path(), "bookworm").unwrap().as_deref(), Some("http://b.example/debian"));
        std::fs::write(dir.path().join("sources.list"), "deb http://main.example/debian bookworm main\n").unwrap();
        assert_eq!(read_apt_mirror(dir.path(), "bookworm").unwrap().as_deref(), Some("http://main.example/debian"));
    }
}
