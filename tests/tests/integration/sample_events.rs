//! The sample events kept for `sam local invoke` drive the real handlers, built from the
//! environment template.yaml gives each function.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::Utc;
use integration_tests::TestApp;
use local_stack::functions::builtin_handler;
use local_stack::{Handler, SqsFunction};
use local_stack::{LocalStack, LocalStackOptions};
use support_aws::config::{AgentConfig, EmailSenderConfig, WebformConfig, WhatsappSenderConfig, WhatsappWebhookConfig};
use support_aws::lambda::sqs_batch::process_records;
use support_aws::tickets::dynamodb::DynamoTickets;
use support_aws::wiring;
use support_core::domain::{
    ConversationMessage, DeliveryStatus, Direction, OutboundReply, QueuedMessage, Ticket, TicketId,
};
use support_core::ports::queue::QueueMessage;
use support_core::ports::tickets::{IntakeLog, IntakeRecord, Placement};

fn event(name: &str) -> String {
    std::fs::read_to_string(local_stack::workspace_root().join("events").join(name)).expect("the sample event exists")
}

fn env_of(stack: &LocalStack, function: &str) -> impl Fn(&str) -> Option<String> {
    let env: BTreeMap<String, String> = stack.environment(function).expect("the function is declared").clone();
    move |k| env.get(k).cloned()
}

fn tickets(app: &TestApp) -> DynamoTickets {
    DynamoTickets::new(app.dynamodb.clone(), app.table_name("TicketsTable"))
}

/// The ticket and message a queued message refers to, as the intake stores them.
async fn store_intake_of(app: &TestApp, queued: &QueuedMessage) {
    let ticket = Ticket::open(
        queued.ticket.id.clone(),
        queued.customer_id.clone(),
        queued.channel,
        queued.ticket.subject.clone(),
        queued.ticket.category,
        queued.ticket.priority,
        queued.received_at,
    );
    let message = ConversationMessage {
        id: queued.message_id.clone(),
        ticket_id: ticket.id.clone(),
        customer_id: queued.customer_id.clone(),
        direction: Direction::Inbound,
        channel: queued.channel,
        body: queued.body.clone(),
        created_at: queued.received_at,
        delivery_status: None,
        provider_message_id: None,
        attachments: Vec::new(),
        has_original: false,
        person: None,
    };
    let queued_as = QueueMessage {
        body: serde_json::to_string(queued).unwrap(),
        group_id: Some(queued.customer_id.to_string()),
        deduplication_id: Some("sample".into()),
        correlation_id: queued.correlation_id.clone(),
    };
    let record = IntakeRecord {
        key: format!("sample#{}", queued.message_id),
        placement: Placement::New(Box::new(ticket)),
        message,
        queued_as,
        conversation: None,
        original: None,
        thread_keys: Vec::new(),
        audit: support_core::records::AuditEntry::new(
            &queued.ticket.id,
            queued.received_at,
            support_core::records::Actor::Customer,
            support_core::records::AuditAction::Received,
        ),
    };
    tickets(app).store(&record).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webform_events_get_their_responses() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let api = wiring::webform_api(
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
    let agent = wiring::agent(
        AgentConfig::from_lookup(env_of(&app.stack, "AgentFunction")).unwrap(),
        app.stack.sdk_config(),
    )
    .unwrap();
    let sqs_event: SqsEvent = serde_json::from_str(&event("agent-sqs.json")).unwrap();
    let queued: QueuedMessage = serde_json::from_str(sqs_event.records[0].body.as_deref().unwrap()).unwrap();
    store_intake_of(&app, &queued).await;
    let response = process_records(sqs_event, |message| {
        let agent = &agent;
        async move { agent.handle(&message).await }
    })
    .await
    .unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(app.queue_depth("EmailOutboundQueue").await, 1);
    app.shutdown().await;
}

/// The ticket and the reply a sender's sample event refers to, as the intake and the agent
/// store them; returns the event.
async fn store_reply_of_the_sender_event(app: &TestApp, file: &str) -> (SqsEvent, OutboundReply) {
    let sqs_event: SqsEvent = serde_json::from_str(&event(file)).unwrap();
    let reply: OutboundReply = serde_json::from_str(sqs_event.records[0].body.as_deref().unwrap()).unwrap();
    // The ticket and the reply the event refers to, as the intake and the agent store them.
    let queued: QueuedMessage = {
        let agent_event: SqsEvent = serde_json::from_str(&event("agent-sqs.json")).unwrap();
        let mut queued: QueuedMessage = serde_json::from_str(agent_event.records[0].body.as_deref().unwrap()).unwrap();
        queued.ticket.id = reply.ticket_id.clone();
        queued.channel = reply.channel;
        queued
    };
    store_intake_of(app, &queued).await;
    let stored_reply = ConversationMessage {
        id: reply.message_id.clone(),
        ticket_id: reply.ticket_id.clone(),
        customer_id: queued.customer_id.clone(),
        direction: Direction::Outbound,
        channel: reply.channel,
        body: reply.body.clone(),
        created_at: Utc::now(),
        delivery_status: Some(DeliveryStatus::Queued),
        provider_message_id: None,
        attachments: Vec::new(),
        has_original: false,
        person: None,
    };
    app.record_answer(stored_reply, queued.message_id.clone()).await;
    (sqs_event, reply)
}

/// The sender's event handled twice (a redelivery); every record succeeds both times.
async fn send_twice(delivery: impl SqsFunction, sqs_event: &SqsEvent) {
    for _ in 0..2 {
        let response = delivery.call(sqs_event.clone()).await.unwrap();
        assert!(response.batch_item_failures.is_empty(), "done, not retried");
    }
}

/// The public URL the sample webhook event was signed for (with the development token).
const SAMPLE_WEBHOOK_URL: &str = "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/whatsapp";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whatsapp_webhook_event_with_its_base64_body_is_taken_once() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let env = env_of(&app.stack, "WhatsappWebhookFunction");
    let config = WhatsappWebhookConfig::from_lookup(|k| match k {
        "TWILIO_WEBHOOK_URL" => Some(SAMPLE_WEBHOOK_URL.into()),
        other => env(other),
    })
    .unwrap();
    let webhook = wiring::whatsapp_webhook(config, app.stack.sdk_config());
    // Twilio's retry is the same request.
    for _ in 0..2 {
        let request = lambda_http::request::from_str(&event("whatsapp-webhook.json")).unwrap();
        assert!(
            matches!(request.body(), lambda_http::Body::Binary(_)),
            "the HTTP API delivered the form base64-encoded"
        );
        let response = webhook.handle(request).await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(app.queue_depth("InboundQueue").await, 1, "taken once");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whatsapp_sender_event_sends_its_stored_reply_once() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let (sqs_event, reply) = store_reply_of_the_sender_event(&app, "whatsapp-sender-sqs.json").await;
    let config = WhatsappSenderConfig::from_lookup(env_of(&app.stack, "WhatsappSenderFunction")).unwrap();
    send_twice(
        wiring::whatsapp_delivery(config, app.stack.sdk_config()).unwrap(),
        &sqs_event,
    )
    .await;
    let sent = app.twilio_messages().await;
    assert_eq!(sent.len(), 1, "a redelivered send is not sent again");
    assert_eq!(sent[0]["to"], "whatsapp:+5511987654321");
    let ids = app.reply_provider_ids(reply.ticket_id.as_str()).await.unwrap();
    assert_eq!(ids, [sent[0]["sid"].as_str().map(str::to_owned)]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_sender_event_sends_its_stored_reply_once() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let (sqs_event, reply) = store_reply_of_the_sender_event(&app, "email-sender-sqs.json").await;
    let config = EmailSenderConfig::from_lookup(env_of(&app.stack, "EmailSenderFunction")).unwrap();
    send_twice(wiring::email_delivery(config, app.stack.sdk_config()), &sqs_event).await;
    assert_eq!(
        app.sent_emails().await.unwrap().len(),
        1,
        "a redelivered send is not sent again"
    );
    let ids = app.reply_provider_ids(reply.ticket_id.as_str()).await.unwrap();
    assert!(matches!(ids.as_slice(), [Some(_)]));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_event_queues_what_the_intake_left_behind() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let agent_event: SqsEvent = serde_json::from_str(&event("agent-sqs.json")).unwrap();
    let mut queued: QueuedMessage = serde_json::from_str(agent_event.records[0].body.as_deref().unwrap()).unwrap();
    // Stored a minute ago, never queued: what a crash between the two leaves.
    queued.received_at = Utc::now() - chrono::Duration::minutes(1);
    queued.ticket.id = TicketId::generate();
    store_intake_of(&app, &queued).await;
    let schedule: serde_json::Value = serde_json::from_str(&event("intake-sweeper-schedule.json")).unwrap();
    let env = app.stack.environment("IntakeSweeperFunction").unwrap();
    let Some(Handler::Scheduled(sweeper)) = builtin_handler("intake-sweeper", env, app.stack.sdk_config()).unwrap()
    else {
        panic!("the sweeper is a scheduled function")
    };
    for _ in 0..2 {
        sweeper.call(schedule.clone()).await.unwrap();
    }
    assert_eq!(app.queue_depth("InboundQueue").await, 1, "queued once");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_ses_refuses_for_good_is_marked_failed_and_its_ticket_goes_to_a_person() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let (sqs_event, reply) = store_reply_of_the_sender_event(&app, "email-sender-sqs.json").await;
    let mut config = EmailSenderConfig::from_lookup(env_of(&app.stack, "EmailSenderFunction")).unwrap();
    // An address SES never verified: it rejects the message, and would again.
    config.sender_address = "nobody@unverified.example".parse().unwrap();
    send_twice(wiring::email_delivery(config, app.stack.sdk_config()), &sqs_event).await;
    assert!(app.sent_emails().await.unwrap().is_empty());
    let stored = app.ticket_items(reply.ticket_id.as_str(), "MSG#").await.unwrap();
    let outbound = stored
        .iter()
        .find(|m| m["direction"].as_s().unwrap() == "outbound")
        .unwrap();
    assert_eq!(outbound["delivery_status"].as_s().unwrap(), "failed");
    assert!(
        outbound["delivery_error"].as_s().unwrap().contains("MessageRejected"),
        "{outbound:?}"
    );
    let ticket = app.ticket(reply.ticket_id.as_str()).await;
    assert_eq!(ticket["status"], "escalated", "a person takes over: {ticket}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gmail_push_event_is_refused_unsigned_and_taken_once_signed() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let google = app.stack.google();
    // A mail waits in the mailbox; its own push was lost.
    google.script(local_stack::google::Script {
        drop_pushes: 1,
        ..Default::default()
    });
    let mail = "Authentication-Results: mx.google.com; dmarc=pass header.from=northwind.example\r\n\
                From: Maya Lin <maya@northwind.example>\r\nTo: support@tandem.example\r\nSubject: Export\r\n\
                Message-ID: <sample-1@northwind.example>\r\n\r\nHow do I export a board?\r\n";
    google.deliver(mail.as_bytes().to_vec(), "INBOX").await;
    let env = app.stack.environment("GmailWebhookFunction").unwrap();
    let Some(Handler::Http(webhook)) = builtin_handler("gmail-webhook", env, app.stack.sdk_config()).unwrap() else {
        panic!("the Gmail webhook is an HTTP function")
    };
    // The sample's token is not Google's.
    let request = lambda_http::request::from_str(&event("gmail-webhook.json")).unwrap();
    assert_eq!(webhook.call(request).await.status(), 401);
    // Signed by the stand-in as Google signs, the same push is taken, once.
    for _ in 0..2 {
        let mut request = lambda_http::request::from_str(&event("gmail-webhook.json")).unwrap();
        let token = google.sign_token(&google.push_claims());
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        assert_eq!(webhook.call(request).await.status(), 200);
    }
    assert_eq!(app.queue_depth("InboundQueue").await, 1, "taken once");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_report_events_report_the_day_before_and_the_day_asked_for() {
    use support_core::ports::reports::ReportStore;
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers().without_schedules()).await;
    let env = app.stack.environment("DailyReportFunction").unwrap();
    let Some(Handler::Scheduled(report)) = builtin_handler("daily-report", env, app.stack.sdk_config()).unwrap() else {
        panic!("the daily report is a scheduled function")
    };
    for (file, day) in [
        ("daily-report-schedule.json", "2026-11-21"),
        ("daily-report-day.json", "2026-11-20"),
    ] {
        let invocation: serde_json::Value = serde_json::from_str(&event(file)).unwrap();
        report.call(invocation).await.unwrap();
        let stored = tickets(&app).get(day.parse().unwrap()).await.unwrap();
        assert_eq!(stored.map(|r| r["day"].clone()), Some(day.into()), "{file}");
    }
    // REPORT_ADDRESS is empty by default: stored, not emailed.
    assert!(app.sent_emails().await.unwrap().is_empty());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gmail_poll_event_syncs_and_renews_the_watch() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers().without_schedules()).await;
    let env = app.stack.environment("GmailPollerFunction").unwrap();
    let Some(Handler::Scheduled(poller)) = builtin_handler("gmail-poller", env, app.stack.sdk_config()).unwrap() else {
        panic!("the Gmail poller is a scheduled function")
    };
    let schedule: serde_json::Value = serde_json::from_str(&event("gmail-poller-schedule.json")).unwrap();
    poller.call(schedule).await.unwrap();
    assert_eq!(app.stack.google().watches().len(), 1);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ses_bounce_event_marks_its_address_undeliverable() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let env = app.stack.environment("SesEventsFunction").unwrap();
    let Some(Handler::Sns(events)) = builtin_handler("ses-events", env, app.stack.sdk_config()).unwrap() else {
        panic!("ses-events is subscribed to a topic")
    };
    let sns: aws_lambda_events::event::sns::SnsEvent = serde_json::from_str(&event("ses-events-sns.json")).unwrap();
    // SNS delivers at least once: twice is the same.
    for _ in 0..2 {
        events.call(sns.clone()).await.unwrap();
    }
    let marked = app.ticket_table_items("undeliverable").await;
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0]["address"].as_s().unwrap(), "gone@northwind.example");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_api_event_names_the_operator_its_authorizer_verified() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers()).await;
    let env = app.stack.environment("OperatorApiFunction").unwrap();
    let Some(Handler::Http(api)) = builtin_handler("operator-api", env, app.stack.sdk_config()).unwrap() else {
        panic!("the operator API is an HTTP function")
    };
    let response = api
        .call(lambda_http::request::from_str(&event("operator-api-me.json")).unwrap())
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "sub": "5f3ab64d-4b18-4232-ad63-4557c7ccedf0",
            "username": "5f3ab64d-4b18-4232-ad63-4557c7ccedf0",
            "email": "operator@tandemboards.example",
        })
    );
    // Without the authorizer's claims (a route that lost its authorizer), nobody gets in.
    let mut event: serde_json::Value = serde_json::from_str(&event("operator-api-me.json")).unwrap();
    event["requestContext"].as_object_mut().unwrap().remove("authorizer");
    let response = api
        .call(lambda_http::request::from_str(&event.to_string()).unwrap())
        .await;
    assert_eq!(response.status(), 401);
    app.shutdown().await;
}
