//! What a turn costs, measured on the local stack through the real handlers: the agent's run
//! records its usage (the offline engine's no tokens, the AWS calls counted by the functions'
//! clients, the GB-seconds of the template's memory), which the price table turns into cost.

use std::time::Duration;

use integration_tests::{valid_form, TestApp};
use support_core::cost::{PriceTable, TurnUsage};

async fn run_usage(app: &TestApp, ticket_id: &str) -> TurnUsage {
    let runs = app.ticket_items(ticket_id, "RUN#").await.unwrap();
    assert_eq!(runs.len(), 1, "one turn");
    serde_dynamo::from_attribute_value(runs[0]["usage"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_form_turn_records_its_aws_calls_and_lambda_time() {
    let app = TestApp::spawn().await;
    let ticket_id = app.submit_ok(&valid_form()).await;
    app.wait_for_sent_reply(&ticket_id, Duration::from_secs(30))
        .await
        .unwrap();
    let usage = run_usage(&app, &ticket_id).await;
    assert_eq!(
        (usage.input_tokens, usage.output_tokens),
        (0, 0),
        "the offline engine runs no model"
    );
    assert!(
        usage.dynamodb_calls >= 2,
        "the history read and the record's transaction at least: {usage:?}"
    );
    assert_eq!(usage.sqs_calls, 1, "the reply queued");
    assert_eq!(usage.ses_calls, 1, "the reply emailed");
    assert!(usage.gb_seconds > 0.0, "{usage:?}");
    let prices = PriceTable::bundled();
    println!(
        "a web-form turn on the local stack: {usage:?}, costed {:?}",
        prices.turn_breakdown(&usage)
    );
    app.shutdown().await;
}
