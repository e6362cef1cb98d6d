//! What one message costs in AWS calls, end to end (web form: form API, agent, email sender;
//! WhatsApp: webhook, agent, WhatsApp sender and Twilio's status callbacks), counted where the
//! calls reach the AWS endpoint; the event source's own receives and deletes are not the
//! functions' calls and are left out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use integration_tests::aws_calls::EVENT_SOURCE_OPERATIONS;
use integration_tests::{valid_form, TestApp};

/// The target of the restructuring issue.
const MAX_CALLS_PER_MESSAGE: usize = 12;

async fn calls_for_one_message(app: &TestApp, form: serde_json::Value) -> Vec<String> {
    let counter = app.aws_calls.as_ref().expect("counting");
    counter.take();
    let mails_before = app.sent_emails().await.unwrap().len();
    let response = app.submit(&form).await;
    assert_eq!(response.status(), 201);
    let ticket: serde_json::Value = response.json().await.unwrap();
    let ticket_id = ticket["ticket_id"].as_str().unwrap();
    // Waits through moto's own API and the test's direct client: neither is counted.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = app.sent_emails().await.unwrap().len() > mails_before;
        if sent
            && app
                .reply_provider_ids(ticket_id)
                .await
                .unwrap()
                .iter()
                .any(Option::is_some)
        {
            break;
        }
        assert!(Instant::now() < deadline, "no reply sent for {ticket_id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    functions_calls(counter).await
}

/// The functions' calls since the counter was last taken, once the event source deleted
/// what it handled (its receives and deletes are not the functions' calls).
async fn functions_calls(counter: &integration_tests::aws_calls::CallCounter) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    counter
        .take()
        .into_iter()
        .filter(|op| !EVENT_SOURCE_OPERATIONS.contains(&op.as_str()))
        .collect()
}

fn breakdown(calls: &[String]) -> String {
    let mut counts = BTreeMap::new();
    for call in calls {
        *counts.entry(call.as_str()).or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(op, n)| format!("{n} {op}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints the calls of two messages of a kind, and checks each against its ceiling.
fn report(kind: &str, measured: [(&str, &Vec<String>); 2], max: usize) {
    let figures: Vec<String> = measured
        .iter()
        .map(|(case, calls)| format!("{case} {} ({})", calls.len(), breakdown(calls)))
        .collect();
    println!("AWS calls per {kind}: {}", figures.join("; "));
    for (case, calls) in measured {
        assert!(calls.len() <= max, "{case}: {}", breakdown(calls));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_form_message_costs_at_most_twelve_aws_calls() {
    let app = TestApp::spawn_counting_aws_calls().await;
    // A new customer on a fresh agent (its learned answers not yet cached), then the same
    // customer again: the most and the usual.
    let first = calls_for_one_message(&app, valid_form()).await;
    let mut again = valid_form();
    again["subject"] = "Reset my password".into();
    again["message"] = "How do I reset my password?".into();
    let second = calls_for_one_message(&app, again).await;
    report(
        "web-form message",
        [("new customer, cold agent", &first), ("returning customer", &second)],
        MAX_CALLS_PER_MESSAGE,
    );
    app.shutdown().await;
}

/// A WhatsApp message's ceiling: the webhook (identity, conversation, the intake's write,
/// queue, outbox cleared), the agent (history read twice around the burst wait, its write, the
/// reply queued), the sender (claim, the part's SID, sent) and Twilio's two callbacks.
const MAX_CALLS_PER_WHATSAPP_MESSAGE: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_message_costs_at_most_sixteen_aws_calls() {
    let app = TestApp::spawn_counting_aws_calls().await;
    let counter = app.aws_calls.as_ref().expect("counting");
    let mut measured = Vec::new();
    for (sid, phone) in [
        ("SM00000000000000000000000000000001", "+5511987650101"),
        ("SM00000000000000000000000000000002", "+5511987650101"),
    ] {
        counter.take();
        assert_eq!(
            app.whatsapp(sid, phone, "How do I reset my password?").await.status(),
            200
        );
        let ticket = loop {
            if let Some(ticket) = app.ticket_of(&format!("whatsapp#{sid}")).await {
                break ticket;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // Waits through the test's direct client (the status page's calls would count).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let items = app.ticket_items(&ticket, "MSG#").await.unwrap();
            let delivered = items.iter().any(|i| {
                i.get("delivery_status")
                    .and_then(|s| s.as_s().ok())
                    .is_some_and(|s| s == "delivered")
            });
            if delivered {
                break;
            }
            assert!(Instant::now() < deadline, "no delivered reply on {ticket}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        measured.push(functions_calls(counter).await);
    }
    report(
        "WhatsApp message",
        [
            ("new customer, cold agent", &measured[0]),
            ("returning customer", &measured[1]),
        ],
        MAX_CALLS_PER_WHATSAPP_MESSAGE,
    );
    app.shutdown().await;
}

/// An email's ceiling: the webhook (the mailbox's position read, the sender identified, the
/// thread looked up for a reply, the intake's write, queue, outbox cleared, the position
/// moved), the agent (history, its write, the reply queued) and the sender (claim, the
/// address's health, send, sent with the thread's ids).
const MAX_CALLS_PER_EMAIL: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_costs_at_most_sixteen_aws_calls() {
    let app = TestApp::spawn_counting_aws_calls().await;
    let counter = app.aws_calls.as_ref().expect("counting");
    let google = app.stack.google();
    let mut measured = Vec::new();
    // A new customer's first mail, then their answer in the thread of our reply.
    let mut parent: Option<String> = None;
    for n in 1..=2 {
        counter.take();
        let threading = parent
            .as_ref()
            .map(|id| format!("In-Reply-To: <{id}>\r\nReferences: <{id}>\r\n"))
            .unwrap_or_default();
        let mail = format!(
            "Authentication-Results: mx.google.com; dmarc=pass header.from=lovelace.example\r\n\
             From: Ada Lovelace <ada@lovelace.example>\r\nTo: support@tandem.example\r\nSubject: Export\r\n\
             Message-ID: <cost-{n}@lovelace.example>\r\n{threading}\r\nHow do I export a board to CSV?\r\n"
        );
        assert_eq!(google.deliver(mail.into_bytes(), "INBOX").await.push.status, Some(200));
        // Waits through moto's own API (the mails SES took), never counted.
        let deadline = Instant::now() + Duration::from_secs(30);
        let sent = loop {
            let sent = app.sent_emails().await.unwrap();
            if sent.len() == n {
                break sent;
            }
            assert!(Instant::now() < deadline, "no reply to mail {n}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        parent = support_core::email::parse(sent[n - 1].as_bytes()).unwrap().message_id;
        measured.push(functions_calls(counter).await);
    }
    report(
        "email",
        [
            ("new customer, cold agent", &measured[0]),
            ("their answer in the thread", &measured[1]),
        ],
        MAX_CALLS_PER_EMAIL,
    );
    app.shutdown().await;
}
