//! Answers people approved from resolved tickets are searched with the
//! articles; answers still waiting for approval are not.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::TestApp;
use serde_json::{json, Value};

async fn learned(app: &TestApp, id: &str, question: &str, answer: &str, status: &str) {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    app.dynamodb
        .put_item()
        .table_name(app.table_name("TicketsTable"))
        .item("pk", s("LEARNED"))
        .item("sk", s(id))
        .item("entity", s("learned_answer"))
        .item("question", s(question))
        .item("answer", s(answer))
        .item("category", s("technical"))
        .item("review_status", s(status))
        .send()
        .await
        .unwrap();
}

async fn ask(app: &TestApp, id: &str, body: &str) -> Value {
    let message = json!({
        "channel": "email", "channel_message_id": id, "body": body, "subject": null,
        "sender": {"name": "Noor Haddad", "email": "noor@haddad.example"},
        "received_at": chrono::Utc::now(), "correlation_id": id,
    });
    let ticket_id = app.deliver(&message).await.unwrap();
    app.decided_ticket(&ticket_id, Duration::from_secs(30)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_learned_answers_answer_and_pending_ones_do_not() {
    let app = TestApp::spawn().await;
    learned(
        &app,
        "figma-preview",
        "How do I show a Figma design on a card?",
        "Paste the Figma share link into the card description: Tandem shows a live Figma preview on the card.",
        "approved",
    )
    .await;
    learned(
        &app,
        "miro-embed",
        "Can I embed a Miro whiteboard in a card?",
        "Yes: paste the Miro board link and it embeds.",
        "pending",
    )
    .await;

    let figma = ask(&app, "figma", "How can I show our Figma design on a Tandem card?").await;
    assert_eq!(figma["status"], "answered");
    let reply = figma["messages"][1]["body"].as_str().unwrap();
    assert!(reply.contains("live Figma preview"), "{reply}");

    let miro = ask(&app, "miro", "Can I embed a Miro whiteboard in a card?").await;
    let reply = miro["messages"][1]["body"].as_str().unwrap();
    assert!(
        !reply.contains("it embeds"),
        "an unapproved answer is never used: {reply}"
    );
    app.shutdown().await;
}
