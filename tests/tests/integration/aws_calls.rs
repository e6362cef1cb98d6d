//! What one web-form message costs in AWS calls, end to end (form API, agent, email
//! sender), counted where the calls reach the AWS endpoint; the event source's own
//! receives and deletes are not the functions' calls and are left out.

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
    // Let the event source delete what it handled before the next message.
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
    println!(
        "AWS calls per web-form message: new customer, cold agent {} ({}); returning customer {} ({})",
        first.len(),
        breakdown(&first),
        second.len(),
        breakdown(&second)
    );
    assert!(first.len() <= MAX_CALLS_PER_MESSAGE, "{}", breakdown(&first));
    assert!(second.len() <= MAX_CALLS_PER_MESSAGE, "{}", breakdown(&second));
    app.shutdown().await;
}
