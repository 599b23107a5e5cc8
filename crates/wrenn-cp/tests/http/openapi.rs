//! `openapi.yaml` and the router agree: every operation of the spec is
//! routed (sent through the real `wrenn_cp::api::router`, it meets neither
//! the fallback's 404 nor a 405), and every `.route(...)` registered in the
//! API's source is in the spec. `/openapi.yaml` and `/docs` are served.
//!
//! The requests carry no API key: a protected route answers 401 from its
//! handler's extractor, which proves the route matched without running
//! anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;
use wrenn_cp::api::docs::{OPENAPI_YAML, YAML_CONTENT_TYPE, operations};
use wrenn_cp::http::AppState;

use crate::harness::Ctx;
use crate::server::{sqlite, test_app};

sqlite! {
    every_operation_of_the_spec_is_routed,
    the_spec_and_the_docs_page_are_served,
}

/// Values for the path parameters of the spec.
const PATH_VALUES: [(&str, &str); 4] = [
    ("{id}", "cl-00000000000000000000000000"),
    ("{pid}", "1"),
    ("{name}", "no-such-snapshot"),
    ("{tag}", "no-such-tag"),
];

/// The methods `.route` chains can use, as `axum::routing` names them.
const ROUTING_METHODS: [(&str, Method); 7] = [
    ("get", Method::GET),
    ("post", Method::POST),
    ("put", Method::PUT),
    ("delete", Method::DELETE),
    ("patch", Method::PATCH),
    ("head", Method::HEAD),
    ("options", Method::OPTIONS),
];

/// Calls in a `.route` chain that add no method.
const NOT_METHODS: [&str; 2] = ["layer", "route_layer"];

type Endpoint = (Method, String);

async fn every_operation_of_the_spec_is_routed(ctx: Ctx) {
    let router = wrenn_cp::api::router(AppState::new(test_app(ctx.store)));
    let spec = operations(OPENAPI_YAML).expect("openapi.yaml lists its operations");
    let mut unrouted = Vec::new();
    for operation in &spec {
        let uri = PATH_VALUES.iter().fold(operation.path.clone(), |uri, (name, value)| uri.replace(name, value));
        assert!(!uri.contains('{'), "{} {}: give its path parameter a value in PATH_VALUES", operation.method, uri);
        let (status, body) = send(&router, operation.method.clone(), &uri).await;
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|json| json["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if status == StatusCode::METHOD_NOT_ALLOWED
            || (status == StatusCode::NOT_FOUND && message.starts_with("no route for"))
        {
            unrouted.push(format!("{} {} ({uri} answered {status}: {message})", operation.method, operation.path));
        }
    }
    assert!(
        unrouted.is_empty(),
        "operations in openapi.yaml that the router does not serve:\n  {}",
        unrouted.join("\n  ")
    );
}

async fn the_spec_and_the_docs_page_are_served(ctx: Ctx) {
    let router = wrenn_cp::api::router(AppState::new(test_app(ctx.store)));

    let response = router.clone().oneshot(get("/openapi.yaml")).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], YAML_CONTENT_TYPE);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("the body");
    assert_eq!(body, OPENAPI_YAML.as_bytes());
    assert!(OPENAPI_YAML.contains("\nopenapi: 3.1.0\n"));

    let response = router.oneshot(get("/docs")).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("the body");
    let html = String::from_utf8(body.to_vec()).expect("UTF-8");
    for operation in operations(OPENAPI_YAML).expect("the operations") {
        let row = format!("<td class=\"method\">{}</td><td><code>{}</code></td>", operation.method, operation.path);
        assert!(html.contains(&row), "the page lacks {} {}", operation.method, operation.path);
    }
    assert!(html.contains("<pre>"), "the page shows the spec");
    assert!(!html.contains("<script") && !html.contains("<link"), "the page loads nothing else");
}

#[test]
fn every_registered_route_is_in_the_spec() {
    let documented: BTreeSet<Endpoint> = operations(OPENAPI_YAML)
        .expect("openapi.yaml lists its operations")
        .into_iter()
        .map(|operation| (operation.method, operation.path))
        .collect();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("http.rs"), src.join("api.rs")];
    rust_files(&src.join("api"), &mut files);
    let mut registered = BTreeSet::new();
    let mut missing = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|error| panic!("reading {}: {error}", file.display()));
        let routes = registered_routes(&text).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        for (method, path) in routes {
            if !documented.contains(&(method.clone(), path.clone())) {
                missing.push(format!("{method} {path} (registered in {})", file.display()));
            }
            registered.insert((method, path));
        }
    }
    assert!(registered.len() >= 30, "the scan found only {registered:?}");
    assert!(missing.is_empty(), "routes missing from openapi.yaml (document them):\n  {}", missing.join("\n  "));
    let stale: Vec<String> =
        documented.difference(&registered).map(|(method, path)| format!("{method} {path}")).collect();
    assert!(stale.is_empty(), "operations in openapi.yaml that no `.route(` registers:\n  {}", stale.join("\n  "));
}

#[test]
fn route_chains_are_read() {
    let source = r#"
        // .route("/commented", get(out))
        Router::new()
            .route("/v1/a", post(create).get(list))
            .route("/v1/a/{id}", axum::routing::get(one).layer(DefaultBodyLimit::max(max(1, 2))).delete(gone))
            .route(
                "/v1/b",
                put(|| async { "(" }),
            )
    "#;
    let routes = registered_routes(source).unwrap();
    let want = [
        (Method::POST, "/v1/a"),
        (Method::GET, "/v1/a"),
        (Method::GET, "/v1/a/{id}"),
        (Method::DELETE, "/v1/a/{id}"),
        (Method::PUT, "/v1/b"),
    ];
    assert_eq!(routes, want.map(|(method, path)| (method, path.to_owned())));

    for (bad, why) in [
        (r#".route(PATH, get(x))"#, "string literal"),
        (r#".route("/x", on(MethodFilter::GET, x))"#, "`on`"),
        (r#".route("/x", router)"#, "no method"),
        (r#".nest("/v2", routes())"#, ".nest("),
    ] {
        let error = registered_routes(bad).unwrap_err();
        assert!(error.contains(why), "{bad}: {error}");
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("a request")
}

/// Status and body text of one bodyless request.
async fn send(router: &Router, method: Method, uri: &str) -> (StatusCode, String) {
    let request = Request::builder().method(method).uri(uri).body(Body::empty()).expect("a request");
    let response = tokio::time::timeout(Duration::from_secs(10), router.clone().oneshot(request))
        .await
        .unwrap_or_else(|_| panic!("{uri} answers within 10 s"))
        .expect("an answer");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("the body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|error| panic!("listing {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            out.push(path);
        }
    }
}

/// The (method, path) of every `.route("<path>", <method router>)` in
/// `source`: the method routers are the calls at the top level of the
/// second argument (`post(create).get(list)`, `get(x).layer(...)`).
/// Anything the scan cannot read is an error, never a silent skip.
fn registered_routes(source: &str) -> Result<Vec<Endpoint>, String> {
    let code: String =
        source.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    for unscanned in [".nest(", ".nest_service(", ".route_service("] {
        if code.contains(unscanned) {
            return Err(format!("{unscanned} registers routes this scan does not read; teach it"));
        }
    }
    let mut routes = Vec::new();
    for (start, _) in code.match_indices(".route(") {
        let rest = code[start + ".route(".len()..].trim_start();
        let Some(rest) = rest.strip_prefix('"') else {
            return Err(format!("a route path that is not a string literal: {}", first_line(rest)));
        };
        let (path, rest) = rest.split_once('"').ok_or("an unterminated route path")?;
        let rest = rest.trim_start().strip_prefix(',').ok_or_else(|| format!("no method router after {path:?}"))?;
        let methods = top_level_calls(rest)?
            .into_iter()
            .filter(|name| !NOT_METHODS.contains(&name.as_str()))
            .map(|name| {
                ROUTING_METHODS
                    .iter()
                    .find(|(known, _)| *known == name)
                    .map(|(_, method)| method.clone())
                    .ok_or_else(|| format!("route {path:?} uses `{name}`, which this scan does not know; teach it"))
            })
            .collect::<Result<Vec<Method>, String>>()?;
        if methods.is_empty() {
            return Err(format!("route {path:?} has no method the scan can see"));
        }
        routes.extend(methods.into_iter().map(|method| (method, path.to_owned())));
    }
    Ok(routes)
}

/// The names of the calls at nesting depth 0 of `argument` (which runs up
/// to the `)` that closes `.route(`), skipping string and char literals.
fn top_level_calls(argument: &str) -> Result<Vec<String>, String> {
    let mut calls = Vec::new();
    let mut depth = 0_usize;
    let mut name = String::new();
    let mut chars = argument.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => skip_string(&mut chars),
            '(' | '[' | '{' => {
                if depth == 0 && c == '(' && !name.is_empty() {
                    calls.push(std::mem::take(&mut name));
                }
                depth += 1;
            }
            ')' | ']' | '}' if depth == 0 => return Ok(calls),
            ')' | ']' | '}' => depth -= 1,
            c if c.is_alphanumeric() || c == '_' => {
                name.push(c);
                continue;
            }
            _ => {}
        }
        name.clear();
    }
    Err(format!("an unclosed `.route(` call: {}", first_line(argument)))
}

fn skip_string(chars: &mut std::str::Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\\' => drop(chars.next()),
            '"' => return,
            _ => {}
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}
