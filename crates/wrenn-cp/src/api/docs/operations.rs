//! The operations of `openapi.yaml`, read with a line scanner.
//!
//! The workspace has no YAML parser, and the docs page needs only the
//! `paths` section, so this reads that section line by line under the
//! layout rules written at the top of `openapi.yaml`: two spaces per level,
//! a path at indent 2, its methods at indent 4, an operation's one-line
//! `summary`, `operationId` and `security` at indent 6. Whatever else sits
//! at indent 4 or 2 is refused rather than guessed at, so a spec edit that
//! breaks the layout fails the unit tests here instead of silently dropping
//! an operation from the page (and from the router test, which reads the
//! spec through this scanner too).

use axum::http::Method;

/// One operation of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub method: Method,
    /// As written in the spec, e.g. `/v1/capsules/{id}`.
    pub path: String,
    pub operation_id: Option<String>,
    pub summary: Option<String>,
    /// `security: []`: callable without an API key.
    pub public: bool,
}

/// Why the `paths` section could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("the spec has no top-level `paths:` section")]
    NoPaths,
    #[error("line {line}: expected a path (`/...:`) at indent 2, found {text:?}")]
    NotAPath { line: usize, text: String },
    #[error("line {line}: unexpected key {key:?} in path {path} (not a method or a path item field)")]
    UnexpectedPathKey { line: usize, path: String, key: String },
    #[error("line {line}: {field} of {method} {path} must be a one-line value")]
    MultiLineField { line: usize, method: Method, path: String, field: String },
    #[error("line {line}: {method} {path} is listed twice")]
    Duplicate { line: usize, method: Method, path: String },
    #[error("line {line}: tabs are not allowed in YAML indentation")]
    Tab { line: usize },
}

/// The keys at indent 4 that are methods, with their methods.
const METHODS: [(&str, Method); 8] = [
    ("get", Method::GET),
    ("put", Method::PUT),
    ("post", Method::POST),
    ("delete", Method::DELETE),
    ("options", Method::OPTIONS),
    ("head", Method::HEAD),
    ("patch", Method::PATCH),
    ("trace", Method::TRACE),
];

/// The other keys a path item may have at indent 4.
const PATH_ITEM_KEYS: [&str; 4] = ["parameters", "summary", "description", "servers"];

/// Every operation of `spec`'s `paths` section, in the spec's order.
pub fn operations(spec: &str) -> Result<Vec<Operation>, SpecError> {
    let mut lines = spec.lines().enumerate().map(|(index, text)| (index + 1, text));
    if !lines.by_ref().any(|(_, text)| text.trim_end() == "paths:") {
        return Err(SpecError::NoPaths);
    }
    let mut found: Vec<Operation> = Vec::new();
    let mut path: Option<String> = None;
    // Whether indent-6 lines belong to the last operation in `found`.
    let mut in_operation = false;
    for (line, text) in lines {
        let content = text.trim_start_matches(' ');
        if content.starts_with('\t') {
            return Err(SpecError::Tab { line });
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        match text.len() - content.len() {
            0 => break,
            2 => {
                path = Some(path_key(content).ok_or_else(|| SpecError::NotAPath { line, text: content.to_owned() })?);
                in_operation = false;
            }
            4 => {
                let Some(path) = &path else { return Err(SpecError::NotAPath { line, text: content.to_owned() }) };
                let (key, _) = key_value(content);
                in_operation = false;
                if let Some((_, method)) = METHODS.iter().find(|(name, _)| *name == key) {
                    if found.iter().any(|operation| operation.method == method && operation.path == *path) {
                        return Err(SpecError::Duplicate { line, method: method.clone(), path: path.clone() });
                    }
                    found.push(Operation {
                        method: method.clone(),
                        path: path.clone(),
                        operation_id: None,
                        summary: None,
                        public: false,
                    });
                    in_operation = true;
                } else if !PATH_ITEM_KEYS.contains(&key) {
                    return Err(SpecError::UnexpectedPathKey { line, path: path.clone(), key: key.to_owned() });
                }
            }
            6 if in_operation => {
                if let Some(operation) = found.last_mut() {
                    operation_field(operation, line, content)?;
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

/// Records `summary`, `operationId` or `security: []`; other fields are
/// for the reader of the spec only.
fn operation_field(operation: &mut Operation, line: usize, content: &str) -> Result<(), SpecError> {
    let (key, value) = key_value(content);
    if !matches!(key, "summary" | "operationId" | "security") {
        return Ok(());
    }
    if key != "security" && (value.is_empty() || value.starts_with(['|', '>'])) {
        return Err(SpecError::MultiLineField {
            line,
            method: operation.method.clone(),
            path: operation.path.clone(),
            field: key.to_owned(),
        });
    }
    match key {
        "summary" => operation.summary = Some(unquote(value)),
        "operationId" => operation.operation_id = Some(unquote(value)),
        _ => operation.public = value == "[]",
    }
    Ok(())
}

/// `/v1/x/{id}:` → `/v1/x/{id}`, quoted or not.
fn path_key(content: &str) -> Option<String> {
    let key = unquote(content.strip_suffix(':')?);
    key.starts_with('/').then_some(key)
}

/// `key: value` → (`key`, `value`), the value trimmed (and empty when absent).
fn key_value(content: &str) -> (&str, &str) {
    match content.split_once(':') {
        Some((key, value)) => (key.trim(), value.trim()),
        None => (content.trim(), ""),
    }
}

/// A plain, single-quoted or double-quoted one-line scalar's text.
fn unquote(value: &str) -> String {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('\'').and_then(|rest| rest.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    if let Some(inner) = value.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) {
        return inner.replace("\\\"", "\"");
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "\
openapi: 3.1.0
info:
  title: x
  description: |
    paths:
      /not-a-path:
paths:
  /health:
    get:
      operationId: health
      summary: Liveness and version
      security: []
      responses:
        '200':
          description: ok
  # a comment
  '/v1/capsules/{id}':
    parameters:
      - $ref: '#/components/parameters/CapsuleId'
    description: the capsule
    get:
      summary: 'Get a capsule''s state'
      description: |
        summary: not this one
      security:
        - ApiKey: []
    delete:
      operationId: destroyCapsule

components:
  schemas: {}
";

    #[test]
    fn the_paths_section_gives_every_operation() {
        let found = operations(SPEC).unwrap();
        let summary = |index: usize| found[index].summary.as_deref();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert_eq!((&found[0].method, found[0].path.as_str()), (&Method::GET, "/health"));
        assert_eq!(found[0].operation_id.as_deref(), Some("health"));
        assert_eq!(summary(0), Some("Liveness and version"));
        assert!(found[0].public);
        assert_eq!((&found[1].method, found[1].path.as_str()), (&Method::GET, "/v1/capsules/{id}"));
        assert_eq!(summary(1), Some("Get a capsule's state"));
        assert!(!found[1].public);
        assert_eq!((&found[2].method, found[2].operation_id.as_deref()), (&Method::DELETE, Some("destroyCapsule")));
        assert_eq!(summary(2), None);
    }

    #[test]
    fn layouts_it_cannot_read_are_refused() {
        let cases = [
            ("openapi: 3.1.0\n", SpecError::NoPaths),
            ("paths:\n  health:\n    get: {}\n", SpecError::NotAPath { line: 2, text: "health:".into() }),
            (
                "paths:\n  /a:\n    gett:\n",
                SpecError::UnexpectedPathKey { line: 3, path: "/a".into(), key: "gett".into() },
            ),
            (
                "paths:\n  /a:\n    get:\n      summary: |\n        two\n",
                SpecError::MultiLineField { line: 4, method: Method::GET, path: "/a".into(), field: "summary".into() },
            ),
            (
                "paths:\n  /a:\n    get:\n    get:\n",
                SpecError::Duplicate { line: 4, method: Method::GET, path: "/a".into() },
            ),
            ("paths:\n  /a:\n\tget:\n", SpecError::Tab { line: 3 }),
            ("paths:\n    get:\n", SpecError::NotAPath { line: 2, text: "get:".into() }),
        ];
        for (spec, want) in cases {
            assert_eq!(operations(spec), Err(want), "{spec:?}");
        }
    }

    #[test]
    fn the_served_spec_is_readable_and_complete() {
        let found = operations(crate::api::docs::OPENAPI_YAML).unwrap();
        assert!(found.len() >= 30, "only {} operations: {found:#?}", found.len());
        for operation in &found {
            assert!(operation.summary.is_some(), "{} {} has no summary", operation.method, operation.path);
            assert!(operation.operation_id.is_some(), "{} {} has no operationId", operation.method, operation.path);
        }
        let public: Vec<&str> = found.iter().filter(|op| op.public).map(|op| op.path.as_str()).collect();
        // Agents register and refresh with the token in the body.
        assert_eq!(public, ["/health", "/openapi.yaml", "/docs", "/v1/hosts/register", "/v1/hosts/auth/refresh"]);
    }
}
