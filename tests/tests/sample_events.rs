//! The sample events kept for `sam local invoke` drive the real handlers, built
//! from the environment template.yaml gives each function.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::Utc;
use integration_tests::TestApp;
use local_stack::{LocalStack, LocalStackOptions};
use shared::adapters::DynamoTicketStore;
use shared::config::{AgentConfig, EmailSenderConfig, WebformConfig};
use shared::domain::{
    Category, Channel, ConversationMessage, CustomerId, DeliveryStatus, Direction, MessageId, OutboundReply, Priority,
    Ticket,
};
use shared::ports::TicketStore;

fn event(name: &str) -> String {
    std::fs::read_to_string(local_stack::workspace_root().join("events").join(name)).expect("the sample event exists")
}

fn env_of(stack: &LocalStack, function: &str) -> impl Fn(&str) -> Option<String> {
    let env: BTreeMap<String, String> = stack.environment(function).expect("the function is declared").clone();
    move |k| env.get(k).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webform_events_get_their_responses() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let api = shared::webform::WebformApi::new(
        WebformConfig::from_lookup(env_of(&app.stack, "WebformApiFunction")).unwrap(),
        app.stack.sdk_config(),
    );

    let submit = lambda_http::request::from_str(&event("webform-submit.json")).unwrap();
    let response = api.handle(submit).await;
    assert_eq!(response.status(), 201);
    assert_eq!(app.queue_depth("InboundQueue").await, 1);

    let status = lambda_http::request::from_str(&event("webform-ticket-status.json")).unwrap();
    let response = api.handle(status).await;
    assert_eq!(
        response.status(),
        404,
        "the sample ticket id is not stored in a fresh stack"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_event_is_answered_and_queued_for_email() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let agent = shared::agent::Agent::new(
        AgentConfig::from_lookup(env_of(&app.stack, "AgentFunction")).unwrap(),
        app.stack.sdk_config(),
    )
    .unwrap();
    let sqs_event: SqsEvent = serde_json::from_str(&event("agent-sqs.json")).unwrap();
    let response = agent.handle_batch(sqs_event).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(app.queue_depth("EmailOutboundQueue").await, 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_sender_event_sends_its_stored_reply_once() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let sqs_event: SqsEvent = serde_json::from_str(&event("email-sender-sqs.json")).unwrap();
    let reply: OutboundReply = serde_json::from_str(sqs_event.records[0].body.as_deref().unwrap()).unwrap();
    // The reply the event refers to, as the agent would have stored it.
    let store = DynamoTicketStore::new(
        aws_sdk_dynamodb::Client::new(app.stack.sdk_config()),
        app.table_name("TicketsTable"),
    );
    let customer = CustomerId::generate();
    let now = Utc::now();
    store
        .create_ticket(&Ticket::open(
            reply.ticket_id.clone(),
            customer.clone(),
            Channel::WebForm,
            "Can't invite my teammate".into(),
            Category::Technical,
            Priority::Medium,
            now,
        ))
        .await
        .unwrap();
    store
        .record_message(&ConversationMessage {
            id: MessageId::from_stored(reply.message_id.to_string()),
            ticket_id: reply.ticket_id.clone(),
            customer_id: customer,
            direction: Direction::Outbound,
            channel: Channel::WebForm,
            body: reply.body.clone(),
            created_at: now,
            delivery_status: Some(DeliveryStatus::Queued),
            provider_message_id: None,
        })
        .await
        .unwrap();

    let config = EmailSenderConfig::from_lookup(env_of(&app.stack, "EmailSenderFunction")).unwrap();
    let sender = Arc::new(shared::email_sender::EmailSender::new(config, app.stack.sdk_config()));
    for _ in 0..2 {
        let response = sender.handle_batch(sqs_event.clone()).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(
        app.sent_emails().await.unwrap().len(),
        1,
        "a redelivered send is not sent again"
    );
    let ids = app.reply_provider_ids(reply.ticket_id.as_str()).await.unwrap();
    assert!(matches!(ids.as_slice(), [Some(_)]));
    app.shutdown().await;
}
