//! `GET /openapi.yaml` and `GET /docs`: the API described by itself.
//!
//! The spec is the hand-written `crates/wrenn-cp/openapi.yaml`, compiled in
//! (`include_str!`), so the binary serves the description of exactly the
//! routes it has; `tests/http/openapi.rs` fails when the two disagree.
//! `/docs` is one self-contained HTML page (no scripts, no external
//! resources, so it works offline and behind any proxy): a table of the
//! operations, read from the spec by `docs::operations`, above the spec
//! itself. Both routes are public, like `/health`.

mod operations;

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;

pub use crate::api::docs::operations::{Operation, SpecError, operations};
use crate::http::AppState;

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// The media type of the document (RFC 9512).
pub const YAML_CONTENT_TYPE: &str = "application/yaml";

/// The page, rendered on first use: the spec cannot change while we run.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let listed = operations(OPENAPI_YAML);
    if let Err(error) = &listed {
        tracing::error!(%error, "the operations of openapi.yaml cannot be listed");
    }
    page(OPENAPI_YAML, listed)
});

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/openapi.yaml", get(openapi_yaml)).route("/docs", get(docs_page))
}

async fn openapi_yaml() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, YAML_CONTENT_TYPE)], OPENAPI_YAML)
}

async fn docs_page() -> Html<&'static str> {
    Html(PAGE.as_str())
}

/// The HTML page: the operations' table (or why there is none), then the
/// spec.
fn page(spec: &str, listed: Result<Vec<Operation>, SpecError>) -> String {
    let table = match listed {
        Ok(operations) => operations_table(&operations),
        Err(error) => {
            format!("<p class=\"error\">The operations could not be listed: {}</p>\n", escape(&error.to_string()))
        }
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Wrenn control plane API</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Wrenn control plane API</h1>\n\
         <p>The OpenAPI 3.1 document is <a href=\"openapi.yaml\">openapi.yaml</a>. \
         Every operation marked so needs a team API key in the <code>X-API-Key</code> header.</p>\n\
         {table}<h2 id=\"spec\">openapi.yaml</h2>\n<pre>{}</pre>\n</body>\n</html>\n",
        escape(spec)
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}\
td.method{font-weight:bold;font-family:monospace}pre{background:#f6f6f6;padding:1rem;overflow-x:auto}\
.error{color:#a00}";

fn operations_table(operations: &[Operation]) -> String {
    let mut rows = String::new();
    for operation in operations {
        rows.push_str(&format!(
            "<tr><td class=\"method\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            operation.method,
            escape(&operation.path),
            escape(operation.summary.as_deref().unwrap_or("")),
            escape(operation.operation_id.as_deref().unwrap_or("")),
            if operation.public { "no" } else { "yes" },
        ));
    }
    format!(
        "<table>\n<thead><tr><th>Method</th><th>Path</th><th>Summary</th><th>operationId</th>\
         <th>API key</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n"
    )
}

/// Text as HTML text or attribute content.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_page_lists_operations_above_the_escaped_spec() {
        let operation = Operation {
            method: Method::DELETE,
            path: "/v1/capsules/{id}".into(),
            operation_id: Some("destroyCapsule".into()),
            summary: Some("Destroy <it>".into()),
            public: false,
        };
        let html = page("a: '<b>'", Ok(vec![operation]));
        assert!(html.contains(
            "<tr><td class=\"method\">DELETE</td><td><code>/v1/capsules/{id}</code></td><td>Destroy &lt;it&gt;</td>\
             <td>destroyCapsule</td><td>yes</td></tr>"
        ));
        assert!(html.contains("<pre>a: &#39;&lt;b&gt;&#39;</pre>"), "{html}");
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("://"), "{html}");
    }

    #[test]
    fn a_spec_that_cannot_be_listed_still_gives_a_page() {
        let html = page("openapi: 3.1.0", Err(SpecError::NoPaths));
        assert!(html.contains("could not be listed: the spec has no top-level `paths:` section"), "{html}");
        assert!(html.contains("<pre>openapi: 3.1.0</pre>"));
    }
}
