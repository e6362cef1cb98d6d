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
        // Addresses SES would refuse when the reply is sent: only bare ones are accepted.
        ("display name", json!({"email": "Eve <eve@evil.example>"}), &["email"]),
        ("IP literal", json!({"email": "bob@[127.0.0.1]"}), &["email"]),
        ("no public domain", json!({"email": "first.last@localhost"}), &["email"]),
        // Text hygiene: NUL refused, invisible-only names and subjects are empty.
        (
            "NUL in the message",
            json!({"message": "Hello\u{0000}, my board is broken"}),
            &["message"],
        ),
        ("zero-width name", json!({"name": "\u{200b}\u{200d}"}), &["name"]),
        (
            "zero-width subject",
            json!({"subject": "\u{200b}\u{2060}\u{feff}\u{200b}\u{200b}"}),
            &["subject"],
        ),
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
    let bad_key = app
        .http
        .post(format!("{}/support/submit", app.base_url))
        .header("idempotency-key", "no spaces or slashes/ allowed")
        .json(&valid_form())
        .send()
        .await
        .unwrap();
    assert_eq!(bad_key.status(), 400, "a malformed Idempotency-Key");
    let body: Value = bad_key.json().await.unwrap();
    assert_eq!(body["error"], "invalid_idempotency_key");
    let wrong_method = app.get("/support/submit").await;
    assert_eq!(
        wrong_method.status(),
        404,
        "only the declared routes exist, as in API Gateway"
    );
    assert_nothing_kept(&app).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_submission_sent_twenty_times_at_once_is_one_ticket_and_one_email() {
    let app = TestApp::spawn().await;
    let send = || {
        app.http
            .post(format!("{}/support/submit", app.base_url))
            .header("idempotency-key", "double-click-7f3a2c")
            .json(&valid_form())
            .send()
    };
    let answers = futures::future::join_all((0..20).map(|_| send())).await;
    let mut ticket_ids = Vec::new();
    for answer in answers {
        let mut answer = answer.unwrap();
        // A 503 asks the form to send again with the same key, as it does. (Under load moto
        // can answer one: it rolls a cancelled transaction back by restoring its copy of the
        // table, over a concurrent duplicate's writes; DynamoDB does not.)
        for _ in 0..3 {
            if answer.status() != 503 {
                break;
            }
            answer = send().await.unwrap();
        }
        assert!(matches!(answer.status().as_u16(), 200 | 201), "{}", answer.status());
        let body: Value = answer.json().await.unwrap();
        ticket_ids.push(body["ticket_id"].as_str().unwrap().to_owned());
    }
    ticket_ids.dedup();
    assert_eq!(ticket_ids.len(), 1, "one ticket: {ticket_ids:?}");
    app.wait_for_sent_reply(&ticket_ids[0], std::time::Duration::from_secs(30))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(app.sent_emails().await.unwrap().len(), 1, "one email");
    assert_eq!(app.ticket_table_items("ticket").await.len(), 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_characters_never_reach_a_header_and_the_greeting_uses_this_messages_name() {
    let app = TestApp::spawn().await;
    let mut first = valid_form();
    first["name"] = "URGENT call +1-555-0100 now".into();
    let first = app.submit_ok(&first).await;
    app.wait_for_sent_reply(&first, std::time::Duration::from_secs(30))
        .await
        .unwrap();

    let mut second = valid_form();
    second["name"] = "Maya Lin".into();
    second["subject"] = "Invoice \u{202e}fdp.exe question".into();
    let response = app
        .http
        .post(format!("{}/support/submit", app.base_url))
        .header("x-correlation-id", "ok-123")
        .json(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let second: Value = response.json().await.unwrap();
    let second = second["ticket_id"].as_str().unwrap().to_owned();
    let ticket = app
        .wait_for_sent_reply(&second, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        ticket["subject"], "Invoice fdp.exe question",
        "bidirectional controls removed"
    );
    assert!(
        ticket.get("sentiment").is_none(),
        "the public status shows no internal score: {ticket}"
    );
    let mails = app.sent_emails().await.unwrap();
    let reply = mails.iter().find(|m| m.contains(&second)).expect("the second reply");
    assert!(!reply.contains('\u{202e}'), "no bidi control in the mail");
    assert!(
        reply.contains("Hello Maya,"),
        "greeted with the name given with this message: {reply}"
    );
    assert!(!reply.contains("URGENT"), "{reply}");
    app.shutdown().await;
}
