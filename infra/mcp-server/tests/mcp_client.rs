//! support-mcp driven by the official Python MCP client (tests/mcp_client.py, `mcp` from the
//! repository's .venv) against an in-process fake of the operator API that records what it
//! was asked: the assistant's calls must reach the API as the console's would.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

const TOKEN: &str = "test-operator-token";
const SERVER: &str = env!("CARGO_BIN_EXE_support-mcp");
const TOOLS: [&str; 9] = [
    "customer_history",
    "escalate",
    "get_ticket",
    "hand_back",
    "list_tickets",
    "preview_reply",
    "reply_as_person",
    "resolve",
    "search_knowledge",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The repository's venv, where scripts/ensure-tools.sh installs `mcp` (infra/python/requirements.txt).
fn python() -> PathBuf {
    let path = workspace_root().join(".venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run scripts/ensure-tools.sh",
        path.display()
    );
    path
}

/// A request as the fake operator API received it.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    /// Path and query.
    target: String,
    authorization: Option<String>,
    idempotency_key: Option<String>,
    body: Value,
}

type Log = Arc<Mutex<Vec<Received>>>;

fn summary(id: &str, status: &str, handled_by: &str) -> Value {
    json!({"id": id, "subject": "Refund for March", "channel": "email", "status": status,
           "category": "billing", "priority": "high", "escalation_reason": "refund",
           "handled_by": handled_by, "assignee": "alice", "customer_id": "C-1",
           "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:42:00Z", "age_minutes": 42,
           "sla": {"state": "at_risk", "first_response_due": "2026-11-20T10:00:00Z",
                   "resolution_due": "2026-11-21T09:00:00Z", "first_response_at": null}})
}

fn message() -> Value {
    json!({"id": "M-1", "ticket_id": "TB-1", "direction": "inbound", "channel": "email", "author": "customer",
           "author_name": null, "body": "I was charged twice, please refund one.",
           "created_at": "2026-11-20T09:00:00Z", "delivery_status": null, "has_original": true})
}

/// The fake's answers, shaped as docs/operator-api.md describes them.
fn answer(method: &Method, path: &str) -> (StatusCode, Value) {
    match (method.as_str(), path) {
        ("GET", "/operator/knowledge") => (
            StatusCode::OK,
            json!({"hits": [{"article": "team-members", "title": "Team members", "heading": "Inviting a teammate",
                             "text": "Open Settings → Members and choose Invite.", "score": 0.91}]}),
        ),
        ("GET", "/operator/tickets") => (
            StatusCode::OK,
            json!({"tickets": [summary("TB-1", "escalated", "person")], "sla_counts": {"at_risk": 1, "breached": 0}}),
        ),
        ("GET", "/operator/tickets/TB-1") => (
            StatusCode::OK,
            json!({"ticket": summary("TB-1", "escalated", "person"),
                   "escalation": {"reason": "refund", "note": null, "summary": "Asks for a refund of a double charge.",
                                  "context": {"sentiment": -0.2}},
                   "messages": [message()],
                   "decisions": [{"id": "D-1", "ticket_id": "TB-1", "message_id": "M-1", "kind": "escalation",
                                  "value": "refund", "confidence": 0.93, "at": "2026-11-20T09:00:05Z", "verdict": null}],
                   "audit": [{"at": "2026-11-20T09:00:05Z", "actor": "agent", "action": "escalated",
                              "detail": "refund", "why": "Escalated by rule: refund."}]}),
        ),
        ("GET", "/operator/customers/C-1/history") => (
            StatusCode::OK,
            json!({"customer_id": "C-1", "tickets": [summary("TB-1", "escalated", "person")], "messages": [message()]}),
        ),
        ("POST", "/operator/tickets/TB-1/preview") => (
            StatusCode::OK,
            json!({"channel": "email", "subject": "Re: Refund for March [TB-1]",
                   "parts": ["Hi Maya,\n\nThe refund is on its way.\n\nBest regards,\n— Tandem Support"]}),
        ),
        ("POST", "/operator/tickets/TB-1/replies") => {
            (StatusCode::ACCEPTED, json!({"message_id": "M-2", "status": "queued"}))
        }
        ("POST", "/operator/tickets/TB-1/escalate") => (StatusCode::OK, summary("TB-1", "escalated", "person")),
        ("POST", "/operator/tickets/TB-1/hand-back") => (StatusCode::OK, summary("TB-1", "open", "agent")),
        ("POST", "/operator/tickets/TB-1/resolve") => (
            StatusCode::OK,
            json!({"ticket": summary("TB-1", "resolved", "person"),
                   "proposal": {"id": "P-1", "question": "I was charged twice", "answer": "Refunded the duplicate.",
                                "source_ticket": "TB-1", "status": "pending", "created_at": "2026-11-20T10:00:00Z"}}),
        ),
        ("POST", "/operator/tickets/TB-9/replies") => (
            StatusCode::CONFLICT,
            json!({"error": "the ticket is resolved: it takes no more replies"}),
        ),
        ("GET", "/operator/tickets/TB-404") => (StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
        // What the gateway answers for an expired token.
        ("GET", "/operator/customers/C-2/history") => (StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"})),
        _ => (
            StatusCode::NOT_FOUND,
            json!({"error": format!("the fake has no {method} {path}")}),
        ),
    }
}

async fn operator_api(State(log): State<Log>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    log.lock().unwrap().push(Received {
        method: method.clone(),
        target: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.to_string()),
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let (status, body) = answer(&method, uri.path());
    (status, Json(body)).into_response()
}

async fn start_fake_api() -> (String, Log) {
    let log = Log::default();
    let app = axum::Router::new().fallback(operator_api).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, log)
}

/// Runs tests/mcp_client.py with `expectations` against support-mcp configured for `api_url`.
async fn run_client(name: &str, api_url: &str, expectations: &Value) -> Output {
    run_client_as(name, api_url, TOKEN, expectations).await
}

/// Runs tests/mcp_client.py with `expectations` against support-mcp configured for `api_url`
/// and signed in with `token`.
async fn run_client_as(name: &str, api_url: &str, token: &str, expectations: &Value) -> Output {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("support-mcp-{name}.json"));
    std::fs::write(&file, expectations.to_string()).unwrap();
    let client = tokio::process::Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py"))
        .arg(&file)
        .arg("--")
        .arg(SERVER)
        .env("SUPPORT_API_URL", api_url)
        .env("SUPPORT_OPERATOR_TOKEN", token)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(120), client)
        .await
        .expect("the MCP client finishes within two minutes")
        .expect("the MCP client runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_assistant_works_the_queue_through_the_operator_api() {
    let (api_url, log) = start_fake_api().await;
    let reply = json!({"ticket_id": "TB-1", "body": "The refund is on its way."});
    let expectations = json!({
        "tools": TOOLS,
        "resources": ["skills://manifest"],
        "calls": [
            {"tool": "search_knowledge", "arguments": {"query": "invite a teammate", "limit": 3}, "is_error": false,
             "structured": {"hits": [{"article": "team-members", "score": 0.91}]}},
            {"tool": "list_tickets", "arguments": {"status": "escalated", "sla": "at_risk", "older_than_minutes": 30},
             "is_error": false, "structured": {"tickets": [{"id": "TB-1", "sla": {"state": "at_risk"}}]}},
            {"tool": "get_ticket", "arguments": {"ticket_id": "TB-1"}, "is_error": false,
             "structured": {"ticket": {"id": "TB-1"}, "escalation": {"reason": "refund"}}},
            {"tool": "customer_history", "arguments": {"customer_id": "C-1"}, "is_error": false,
             "structured": {"customer_id": "C-1"}},
            {"tool": "preview_reply", "arguments": reply, "is_error": false, "structured": {"channel": "email"}},
            {"tool": "reply_as_person", "arguments": reply, "is_error": false,
             "structured": {"message_id": "M-2", "status": "queued"}},
            // The assistant retries the same call: the API sees the same key and sends once.
            {"tool": "reply_as_person", "arguments": reply, "is_error": false},
            {"tool": "escalate", "arguments": {"ticket_id": "TB-1", "reason": "refund", "note": "Double charge in March."},
             "is_error": false, "structured": {"status": "escalated"}},
            {"tool": "hand_back", "arguments": {"ticket_id": "TB-1"}, "is_error": false,
             "structured": {"handled_by": "agent"}},
            {"tool": "resolve", "arguments": {"ticket_id": "TB-1", "notes": "Refunded the duplicate."}, "is_error": false,
             "structured": {"proposal": {"id": "P-1"}}},
            {"tool": "reply_as_person", "arguments": {"ticket_id": "TB-9", "body": "Hello again"}, "is_error": true,
             "text_contains": "the ticket is resolved: it takes no more replies"},
            {"tool": "get_ticket", "arguments": {"ticket_id": "TB-404"}, "is_error": true, "text_contains": "Not Found"},
            {"tool": "customer_history", "arguments": {"customer_id": "C-2"}, "is_error": true,
             "text_contains": "sign in again and restart the MCP server with the new token"},
        ],
    });
    let output = run_client("queue", &api_url, &expectations).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client's expectations failed:\n{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("the client prints its report as JSON");

    // What the client printed.
    let mut tools: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    tools.sort_unstable();
    assert_eq!(tools, TOOLS);
    let escalate = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "escalate")
        .unwrap();
    assert_eq!(
        escalate["input_schema"]["required"],
        json!(["ticket_id", "reason", "note"])
    );
    assert!(
        escalate["output_schema"]["properties"]["status"].is_object(),
        "results are typed: {escalate}"
    );
    let manifest = &report["resources"][0];
    assert_eq!(manifest["uri"], "skills://manifest");
    assert_eq!(manifest["mime_type"], "application/json");
    let manifest: Value = serde_json::from_str(manifest["text"].as_str().unwrap()).unwrap();
    assert_eq!(manifest["skills"].as_array().unwrap().len(), 5);
    let calls = report["calls"].as_array().unwrap();
    assert_eq!(
        calls[5]["structured"], calls[6]["structured"],
        "a retried reply gets the first answer"
    );
    assert_eq!(calls[10]["structured"], Value::Null);
    assert!(
        calls[10]["text"].as_str().unwrap().contains("409"),
        "the status is named: {}",
        calls[10]["text"]
    );

    // What the operator API received.
    let received = log.lock().unwrap().clone();
    let targets: Vec<String> = received.iter().map(|r| format!("{} {}", r.method, r.target)).collect();
    assert_eq!(
        targets,
        [
            "GET /operator/knowledge?q=invite+a+teammate&limit=3",
            "GET /operator/tickets?status=escalated&sla=at_risk&older_than=30",
            "GET /operator/tickets/TB-1",
            "GET /operator/customers/C-1/history",
            "POST /operator/tickets/TB-1/preview",
            "POST /operator/tickets/TB-1/replies",
            "POST /operator/tickets/TB-1/replies",
            "POST /operator/tickets/TB-1/escalate",
            "POST /operator/tickets/TB-1/hand-back",
            "POST /operator/tickets/TB-1/resolve",
            "POST /operator/tickets/TB-9/replies",
            "GET /operator/tickets/TB-404",
            "GET /operator/customers/C-2/history",
        ]
    );
    for request in &received {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Bearer test-operator-token"),
            "{request:?}"
        );
    }
    let key = |i: usize| received[i].idempotency_key.clone();
    assert_eq!(key(4), None, "a preview writes nothing");
    assert!(key(5).is_some_and(|k| k.starts_with("mcp-reply-")), "{:?}", key(5));
    assert_eq!(key(5), key(6), "a retried reply carries the same Idempotency-Key");
    assert_ne!(key(5), key(10), "another ticket's reply has its own key");
    for write in [7, 8, 9] {
        assert!(
            key(write).is_some(),
            "every write takes an Idempotency-Key: {:?}",
            received[write]
        );
    }
    assert_eq!(received[5].body, json!({"body": "The refund is on its way."}));
    assert_eq!(
        received[7].body,
        json!({"reason": "refund", "note": "Double charge in March."})
    );
    assert_eq!(received[8].body, json!({"note": null}));
    assert_eq!(
        received[9].body,
        json!({"notes": "Refunded the duplicate.", "question": null, "answer": null})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_api_is_a_tool_error_with_the_reason() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let expectations = json!({"calls": [
        {"tool": "list_tickets", "arguments": {}, "is_error": true, "text_contains": "could not be reached"},
    ]});
    let output = run_client("unreachable", &format!("http://127.0.0.1:{port}"), &expectations).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn missing_or_bad_configuration_exits_2_and_says_what_is_missing() {
    let run = |url: Option<&str>, token: Option<&str>| {
        let mut command = std::process::Command::new(SERVER);
        command
            .env_remove("SUPPORT_API_URL")
            .env_remove("SUPPORT_OPERATOR_TOKEN");
        if let Some(url) = url {
            command.env("SUPPORT_API_URL", url);
        }
        if let Some(token) = token {
            command.env("SUPPORT_OPERATOR_TOKEN", token);
        }
        // stdin closed: a server that started anyway would see EOF and exit 0.
        let output = command.stdin(std::process::Stdio::null()).output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
            output.stdout,
        )
    };
    let (code, stderr, stdout) = run(Some("http://127.0.0.1:3000"), None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("SUPPORT_OPERATOR_TOKEN not set"), "{stderr}");
    assert!(stdout.is_empty(), "stdout is the protocol's");
    let (code, stderr, _) = run(None, Some(" "));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("SUPPORT_API_URL and SUPPORT_OPERATOR_TOKEN not set"),
        "{stderr}"
    );
    let (code, stderr, _) = run(Some("ftp://example.com"), Some("t"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("is not an http(s) URL"), "{stderr}");
}

/// The assistant on the real system: the local stack's gateway checks the operator's token
/// (moto's user pool), the operator-api function works a ticket the agent escalated, and the
/// person's reply reaches the customer by email, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assistant_works_a_real_escalated_ticket_on_the_local_stack() {
    use integration_tests::{valid_form, TestApp};

    let app = TestApp::spawn().await;
    let mut form = valid_form();
    form["message"] = json!("I was charged twice this month. Please refund the second charge.");
    let ticket = app.submit_ok(&form).await;
    app.ticket_until(&ticket, |t| t["status"] == "escalated").await;
    app.wait_for_emails(1).await;

    let reply = json!({"ticket_id": ticket, "body": "I have refunded the second charge."});
    let expectations = json!({
        "tools": TOOLS,
        "calls": [
            {"tool": "search_knowledge", "arguments": {"query": "How do I reset my password?", "limit": 3},
             "is_error": false},
            {"tool": "list_tickets", "arguments": {"status": "escalated"}, "is_error": false,
             "structured": {"tickets": [{"id": ticket, "escalation_reason": "refund"}]}},
            {"tool": "get_ticket", "arguments": {"ticket_id": ticket}, "is_error": false,
             "structured": {"ticket": {"id": ticket}, "escalation": {"reason": "refund"}}},
            {"tool": "preview_reply", "arguments": reply, "is_error": false, "structured": {"channel": "web_form"}},
            {"tool": "reply_as_person", "arguments": reply, "is_error": false, "structured": {"status": "queued"}},
            // A retried call is the same request: the customer gets one reply.
            {"tool": "reply_as_person", "arguments": reply, "is_error": false, "structured": {"status": "queued"}},
            {"tool": "get_ticket", "arguments": {"ticket_id": "tkt_00000000000000000000000000000000"},
             "is_error": true, "text_contains": "No such ticket"},
        ],
    });
    let output = run_client_as("stack", &app.base_url, &app.operator_token().await, &expectations).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client's expectations failed:\n{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let hits = &report["calls"][0]["structured"]["hits"];
    assert!(
        hits.as_array()
            .is_some_and(|h| h.iter().any(|h| h["article"] == "reset-password")),
        "the knowledge base answers a password question: {hits}"
    );
    let mails = app.wait_for_emails(2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.sent_emails().await.unwrap().len(), 2, "one person's reply");
    assert!(mails.iter().any(|m| m.contains("refunded the second charge")));
    app.shutdown().await;
}
