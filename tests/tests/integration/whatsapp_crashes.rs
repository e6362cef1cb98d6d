//! A crash at any step of the WhatsApp webhook or sender loses nothing and duplicates
//! nothing. The webhook crashes before or after each step of its intake (a panic there, as a
//! process killed there would), then Twilio retries the same request and the scheduled
//! sweeper runs: the message is answered exactly once. The sender crashes before or after
//! each of its writes, including after Twilio accepted the message and before that was
//! recorded: the queue redelivers the reply, and it reaches the customer exactly once.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use integration_tests::whatsapp::{incoming, message_sid, Signed};
use integration_tests::TestApp;
use lambda_http::{Body, Request, Response};
use local_stack::{HttpFunction, LocalStackOptions, SqsFunction};
use support_aws::customers::dynamodb::DynamoCustomers;
use support_aws::lambda::sqs_batch::process_records;
use support_aws::lambda::whatsapp_http::WhatsappWebhook;
use support_aws::queue::sqs::SqsQueue;
use support_aws::tickets::dynamodb::DynamoTickets;
use support_aws::twilio::signature::RequestValidator;
use support_aws::whatsapp::twilio::TwilioMessages;
use support_core::delivery::whatsapp::{RetryPolicy, StatusCallback, WhatsappDelivery};
use support_core::domain::{
    Channel, CustomerId, DeliveryStatus, IdentityProof, MessageId, Sender, TicketFacts, TicketId,
};
use support_core::intake::{Intake, Sweeper, SWEEP_GRACE};
use support_core::ports::customers::CustomerDirectory;
use support_core::ports::queue::{MessageQueue, QueueMessage};
use support_core::ports::tickets::{
    DeliveryFailure, DeliveryLog, IntakeLog, IntakeRecord, PendingMessage, SendClaim, Stored,
};
use support_core::ports::InfraError;

const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Identify,
    Store,
    Enqueue,
    MarkQueued,
    Claim,
    /// Twilio accepted the part; its SID is being recorded.
    RecordPart,
    MarkSent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    Before(Step),
    After(Step),
}

/// The real adapters, wired once the stack runs, with a crash at one step (once).
#[derive(Default)]
struct Crashing {
    adapters: OnceLock<(DynamoCustomers, DynamoTickets, SqsQueue)>,
    crash: Mutex<Option<Crash>>,
}

impl Crashing {
    fn adapters(&self) -> &(DynamoCustomers, DynamoTickets, SqsQueue) {
        self.adapters.get().expect("wired once the stack runs")
    }

    fn at(&self, crash: Crash) {
        let mut armed = self.crash.lock().unwrap();
        if *armed == Some(crash) {
            *armed = None;
            drop(armed);
            panic!("crashed {crash:?}");
        }
    }
}

#[async_trait]
impl CustomerDirectory for Crashing {
    async fn identify(
        &self,
        sender: &Sender,
        proof: IdentityProof,
        now: DateTime<Utc>,
    ) -> Result<CustomerId, InfraError> {
        self.at(Crash::Before(Step::Identify));
        let id = self.adapters().0.identify(sender, proof, now).await;
        self.at(Crash::After(Step::Identify));
        id
    }
}

#[async_trait]
impl IntakeLog for Crashing {
    async fn store(&self, record: &IntakeRecord) -> Result<Stored, InfraError> {
        self.at(Crash::Before(Step::Store));
        let stored = self.adapters().1.store(record).await;
        self.at(Crash::After(Step::Store));
        stored
    }

    async fn conversation(&self, customer: &CustomerId, channel: Channel) -> Result<Option<TicketFacts>, InfraError> {
        self.adapters().1.conversation(customer, channel).await
    }

    async fn mark_queued(&self, ticket: &TicketId, message: &MessageId) -> Result<(), InfraError> {
        self.at(Crash::Before(Step::MarkQueued));
        let marked = self.adapters().1.mark_queued(ticket, message).await;
        self.at(Crash::After(Step::MarkQueued));
        marked
    }

    async fn pending(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<PendingMessage>, InfraError> {
        self.adapters().1.pending(before, limit).await
    }
}

#[async_trait]
impl MessageQueue for Crashing {
    async fn send(&self, message: QueueMessage) -> Result<(), InfraError> {
        self.at(Crash::Before(Step::Enqueue));
        let sent = self.adapters().2.send(message).await;
        self.at(Crash::After(Step::Enqueue));
        sent
    }
}

#[async_trait]
impl DeliveryLog for Crashing {
    async fn claim_send(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<SendClaim, InfraError> {
        self.at(Crash::Before(Step::Claim));
        let claim = self.adapters().1.claim_send(ticket, id, now, lease).await;
        self.at(Crash::After(Step::Claim));
        claim
    }

    async fn record_part(&self, ticket: &TicketId, id: &MessageId, part: usize, sid: &str) -> Result<(), InfraError> {
        self.at(Crash::Before(Step::RecordPart));
        let recorded = self.adapters().1.record_part(ticket, id, part, sid).await;
        self.at(Crash::After(Step::RecordPart));
        recorded
    }

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        sid: &str,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        self.at(Crash::Before(Step::MarkSent));
        let marked = self.adapters().1.mark_sent(ticket, id, sid, now).await;
        self.at(Crash::After(Step::MarkSent));
        marked
    }

    async fn record_delivery(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        status: DeliveryStatus,
        sid: &str,
    ) -> Result<bool, InfraError> {
        self.adapters().1.record_delivery(ticket, id, status, sid).await
    }

    async fn hand_over(&self, ticket: &TicketId, id: &MessageId, failure: &DeliveryFailure) -> Result<(), InfraError> {
        self.adapters().1.hand_over(ticket, id, failure).await
    }
}

/// The webhook over the crashing adapters, built once the stack's URL is known.
#[derive(Default)]
struct LateWebhook(OnceLock<WhatsappWebhook>);

#[async_trait]
impl HttpFunction for LateWebhook {
    async fn call(&self, request: Request) -> Response<Body> {
        self.0.get().expect("wired").handle(request).await
    }
}

/// The sender over the crashing adapters and the Twilio stand-in, built once the stack runs.
#[derive(Default)]
struct LateSender(OnceLock<WhatsappDelivery>);

#[async_trait]
impl SqsFunction for LateSender {
    async fn call(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        let delivery = self.0.get().expect("wired");
        process_records(event, |reply| async move { delivery.send(&reply).await })
            .await
            .map_err(|e| e.to_string())
    }
}

async fn messages_to(app: &TestApp, phone: &str) -> Vec<serde_json::Value> {
    let to = format!("whatsapp:{phone}");
    app.twilio_messages()
        .await
        .into_iter()
        .filter(|m| m["to"] == to)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_step_of_webhook_or_sender_loses_nothing_and_sends_nothing_twice() {
    let crashing = Arc::new(Crashing::default());
    let webhook = Arc::new(LateWebhook::default());
    let sender = Arc::new(LateSender::default());
    let app = TestApp::spawn_with(
        LocalStackOptions::default()
            .http_function("WhatsappWebhookFunction", webhook.clone())
            .sqs_function("WhatsappSenderFunction", sender.clone())
            .max_visibility_timeout(2)
            .without_schedules(),
    )
    .await;
    let tickets = || DynamoTickets::new(app.dynamodb.clone(), app.table_name("TicketsTable"));
    let inbound = || SqsQueue::new(app.sqs.clone(), app.queue_url("InboundQueue"));
    let _ = crashing.adapters.set((
        DynamoCustomers::new(app.dynamodb.clone(), app.table_name("CustomersTable")),
        tickets(),
        inbound(),
    ));
    let token = || local_stack::twilio::LOCAL_AUTH_TOKEN.to_owned().into();
    let _ = webhook.0.set(WhatsappWebhook::new(
        Intake::new(crashing.clone(), crashing.clone(), crashing.clone()),
        crashing.clone(),
        RequestValidator::new(token()),
        app.webhook_url(),
    ));
    let twilio = TwilioMessages::new(
        &format!("{}{}", app.base_url, local_stack::TWILIO_STAND_IN_PATH),
        local_stack::twilio::LOCAL_ACCOUNT_SID.into(),
        token(),
        "+14155238886".into(),
    )
    .unwrap();
    let callback = StatusCallback {
        url: support_aws::config::status_callback_url(&app.webhook_url()),
    };
    let retry = RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(50),
    };
    let _ = sender.0.set(
        WhatsappDelivery::new(crashing.clone(), Arc::new(twilio), callback)
            .with_timing(retry, chrono::Duration::seconds(1)),
    );
    let sweeper = Sweeper::new(Arc::new(tickets()), Arc::new(inbound()));

    let steps = [
        Step::Identify,
        Step::Store,
        Step::Enqueue,
        Step::MarkQueued,
        Step::Claim,
        Step::RecordPart,
        Step::MarkSent,
    ];
    let crashes = steps.iter().flat_map(|s| [Crash::Before(*s), Crash::After(*s)]);
    for (i, crash) in crashes.enumerate() {
        let phone = format!("+55119876500{i:02}");
        let sid = message_sid();
        let params = incoming(&sid, &phone, "How do I reset my password?");
        *crashing.crash.lock().unwrap() = Some(crash);
        let first = app
            .post_twilio("/webhooks/whatsapp", "", &params, Signed::ForWebhookUrl)
            .await
            .status();
        // Twilio retries a request that failed; the scheduled sweep runs (its clock past the
        // grace period).
        let retried = app
            .post_twilio("/webhooks/whatsapp", "", &params, Signed::ForWebhookUrl)
            .await
            .status();
        assert_eq!(retried, 200, "{crash:?}: Twilio's retry is taken");
        sweeper
            .redrive(Utc::now() + SWEEP_GRACE * 2, SWEEP_GRACE)
            .await
            .unwrap();

        let sent = app.wait_for_twilio(&phone, 1, "delivered", WAIT).await;
        assert!(sent.is_ok(), "{crash:?}: never answered: {sent:?}");
        let ticket_id = app.ticket_of(&format!("whatsapp#{sid}")).await.unwrap();
        app.wait_for_reply_status(&ticket_id, "delivered", WAIT)
            .await
            .unwrap_or_else(|e| panic!("{crash:?}: {e}"));
        // Past every redelivery and take-over.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(messages_to(&app, &phone).await.len(), 1, "{crash:?}: answered once");
        assert_eq!(
            app.ticket_items(&ticket_id, "MSG#").await.unwrap().len(),
            2,
            "{crash:?}: one message, one reply"
        );
        assert!(
            crashing.crash.lock().unwrap().is_none(),
            "{crash:?}: the crash happened"
        );
        println!("{crash:?}: first answer {first}, answered once");
    }
    app.shutdown().await;
}
