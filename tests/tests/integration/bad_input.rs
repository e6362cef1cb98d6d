//! Every rejected request gets a clear 4xx, and nothing is stored or queued.

use integration_tests::{valid_form, TestApp};
use serde_json::{json, Value};

async fn assert_nothing_kept(app: &TestApp) {
    assert_eq!(app.item_count("CustomersTable").await, 0, "no customer stored");
    assert_eq!(app.item_count("TicketsTable").await, 0, "no ticket stored");
    assert_eq!(app.queue_depth("InboundQueue").await, 0, "nothing queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_fields_get_422_with_every_field_error() {
    let app = TestApp::spawn().await;
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "empty object",
            json!({}),
            &["name", "email", "subject", "category", "message"],
        ),
        ("short name", json!({"name": "A"}), &["name"]),
        ("long name", json!({"name": "n".repeat(101)}), &["name"]),
        ("bad email", json!({"email": "maya@"}), &["email"]),
        ("short subject", json!({"subject": "Help"}), &["subject"]),
        ("long subject", json!({"subject": "s".repeat(201)}), &["subject"]),
        ("unknown category", json!({"category": "sales"}), &["category"]),
        ("short message", json!({"message": "too short"}), &["message"]),
        ("long message", json!({"message": "m".repeat(5001)}), &["message"]),
        ("unknown priority", json!({"priority": "urgent"}), &["priority"]),
        ("wrong type", json!({"name": ["Maya"]}), &["name"]),
    ];
    for (case, change, expected) in cases {
        let mut form = if change.as_object().unwrap().is_empty() {
            json!({})
        } else {
            valid_form()
        };
        for (k, v) in change.as_object().unwrap() {
            form[k] = v.clone();
        }
        let response = app.submit(&form).await;
        assert_eq!(response.status(), 422, "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "validation_failed", "{case}");
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, expected, "{case}");
        assert!(body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty())));
    }
    assert_nothing_kept(&app).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_a_clear_4xx() {
    let app = TestApp::spawn().await;
    let big = json!({"name": "Maya Lin", "message": "x".repeat(70_000)}).to_string();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "malformed JSON",
            "application/json",
            b"{\"name\": ".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "JSON that is not an object",
            "application/json",
            b"[1,2]".to_vec(),
            400,
            "malformed_json",
        ),
        ("empty body", "application/json", Vec::new(), 400, "malformed_json"),
        (
            "form encoding",
            "application/x-www-form-urlencoded",
            b"name=Maya".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "plain text",
            "text/plain",
            valid_form().to_string().into_bytes(),
            415,
            "unsupported_media_type",
        ),
        (
            "body over 64 KB",
            "application/json",
            big.into_bytes(),
            413,
            "payload_too_large",
        ),
    ];
    for (case, content_type, body, status, code) in cases {
        let response = app.post("/support/submit", content_type, body).await;
        assert_eq!(response.status(), status, "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], code, "{case}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{case}");
    }
    let wrong_method = app.get("/support/submit").await;
    assert_eq!(
        wrong_method.status(),
        404,
        "only the declared routes exist, as in API Gateway"
    );
    assert_nothing_kept(&app).await;
    app.shutdown().await;
}
