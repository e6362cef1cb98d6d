//! At-least-once delivery without double replies, and poison messages that end
//! in the dead-letter queue without holding up anyone else.

use std::time::{Duration, Instant};

use chrono::Utc;
use integration_tests::TestApp;
use serde_json::json;

fn inbound(message_id: &str, email: &str, body: &str) -> serde_json::Value {
    json!({
        "channel": "web_form",
        "channel_message_id": message_id,
        "sender": {"name": "Ada Byron", "email": email},
        "subject": "Password help",
        "body": body,
        "received_at": "2026-11-22T10:00:00.000Z",
        "correlation_id": format!("test-{message_id}"),
        "category": "technical",
    })
}

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_delivered_twice_gets_one_stored_message_and_one_reply() {
    let app = TestApp::spawn().await;
    let body = inbound(
        "sub-dup-1",
        "ada@analytical.example",
        "I forgot my password, how do I reset it?",
    );
    // The intake stores it once; the queue then delivers it twice, past FIFO deduplication
    // (different dedup ids), as after a re-drive more than five minutes later.
    let (_, queued) = app.stored_not_queued(&body).await.unwrap();
    app.send_fifo("InboundQueue", &queued.body, "ada", "first")
        .await
        .unwrap();
    app.send_fifo("InboundQueue", &queued.body, "ada", "second")
        .await
        .unwrap();
    wait_until("both deliveries handled", Duration::from_secs(20), || async {
        app.queue_depth("InboundQueue").await == 0
            && app.queue_depth("EmailOutboundQueue").await == 0
            && !app.sent_emails().await.unwrap().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mails = app.sent_emails().await.unwrap();
    assert_eq!(mails.len(), 1, "one email for one message");
    // One ticket with one inbound and one outbound message.
    let messages: Vec<String> = app
        .ticket_table_items("message")
        .await
        .iter()
        .map(|i| i["direction"].as_s().unwrap().clone())
        .collect();
    assert_eq!(messages, ["inbound", "outbound"]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_lands_in_the_dlq_without_holding_up_the_others() {
    let app = TestApp::spawn_with_fast_redelivery().await;
    let started = Utc::now();
    app.send_fifo("InboundQueue", "{this is not json", "mallory", "poison")
        .await
        .unwrap();
    let good = inbound(
        "sub-good-1",
        "grace@hopper.example",
        "How do I reset my password? I forgot it.",
    );
    app.deliver(&good).await.unwrap();

    wait_until("the good message is answered", Duration::from_secs(20), || async {
        app.sent_emails()
            .await
            .unwrap()
            .iter()
            .any(|m| m.contains("grace@hopper.example"))
    })
    .await;
    wait_until(
        "the poison message is dead-lettered",
        Duration::from_secs(30),
        || async { app.queue_depth("InboundDeadLetterQueue").await == 1 },
    )
    .await;
    assert_eq!(app.queue_depth("InboundQueue").await, 0);
    let dead = app
        .sqs
        .receive_message()
        .queue_url(app.queue_url("InboundDeadLetterQueue"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        dead.messages()[0].body(),
        Some("{this is not json"),
        "the message is kept as it was"
    );
    assert!(Utc::now() - started < chrono::Duration::seconds(60));
    app.shutdown().await;
}
