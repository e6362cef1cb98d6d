//! A crash at any step loses nothing and duplicates nothing. Each step crashes in turn (a
//! panic before or after the step's AWS call, as a process killed there would), then the
//! stack comes back:
//! - the web form's intake: the scheduled sweeper runs and the customer's form retries with
//!   the same Idempotency-Key; it leaves either nothing stored (and the customer was told to
//!   send again), or a message answered exactly once;
//! - the WhatsApp webhook's intake: Twilio retries the same request and the sweeper runs:
//!   the message is answered exactly once;
//! - the WhatsApp sender, before or after each of its writes, including after Twilio accepted
//!   the message and before that was recorded: the queue redelivers the reply, and it reaches
//!   the customer exactly once.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use integration_tests::whatsapp::{incoming, message_sid, Signed};
use integration_tests::{valid_form, TestApp};
use lambda_http::{Body, Request, Response};
use local_stack::{HttpFunction, LocalStackOptions, SqsFunction};
use support_aws::customers::dynamodb::DynamoCustomers;
use support_aws::lambda::sqs_batch::process_records;
use support_aws::lambda::webform_http::{WebformApi, WebformPorts};
use support_aws::lambda::whatsapp_http::WhatsappWebhook;
use support_aws::queue::sqs::SqsQueue;
use support_aws::tickets::dynamodb::DynamoTickets;
use support_aws::twilio::signature::RequestValidator;
use support_aws::whatsapp::twilio::TwilioMessages;
use support_core::delivery::whatsapp::{RetryPolicy, StatusCallback, WhatsappDelivery};
use support_core::domain::{
    Channel, ConversationMessage, CustomerId, DeliveryStatus, IdentityProof, MessageId, OutboundReply, Sender, Ticket,
    TicketFacts, TicketId,
};
use support_core::intake::{Intake, Sweeper, SWEEP_GRACE};
use support_core::ports::customers::{CustomerChannels, CustomerDirectory};
use support_core::ports::queue::{MessageQueue, QueueMessage};
use support_core::ports::tickets::{
    CodeAttempt, DeliveryFailure, DeliveryLog, IntakeLog, IntakeRecord, PendingMessage, SendClaim, Stored,
    TicketReader, Verifications,
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

    /// Wires the real adapters of the running stack; returns its outbox sweeper, which the
    /// test runs as the schedule would.
    fn wire(&self, app: &TestApp) -> Sweeper {
        let tickets = || DynamoTickets::new(app.dynamodb.clone(), app.table_name("TicketsTable"));
        let inbound = || SqsQueue::new(app.sqs.clone(), app.queue_url("InboundQueue"));
        let customers = DynamoCustomers::new(app.dynamodb.clone(), app.table_name("CustomersTable"));
        let _ = self.adapters.set((customers, tickets(), inbound()));
        Sweeper::new(Arc::new(tickets()), Arc::new(inbound()))
    }

    /// The step's call, with a crash before or after it when armed.
    async fn around<T>(&self, step: Step, call: impl std::future::Future<Output = T>) -> T {
        self.at(Crash::Before(step));
        let done = call.await;
        self.at(Crash::After(step));
        done
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
        self.around(Step::Identify, self.adapters().0.identify(sender, proof, now))
            .await
    }
}

#[async_trait]
impl CustomerChannels for Crashing {
    async fn channels(&self, customer: &CustomerId) -> Result<Vec<Channel>, InfraError> {
        self.adapters().0.channels(customer).await
    }
}

#[async_trait]
impl IntakeLog for Crashing {
    async fn store(&self, record: &IntakeRecord) -> Result<Stored, InfraError> {
        self.around(Step::Store, self.adapters().1.store(record)).await
    }

    async fn conversation(&self, customer: &CustomerId, channel: Channel) -> Result<Option<TicketFacts>, InfraError> {
        self.adapters().1.conversation(customer, channel).await
    }

    async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>, InfraError> {
        self.adapters().1.ticket(id).await
    }

    async fn ticket_of_thread(&self, keys: &[&str]) -> Result<Option<Ticket>, InfraError> {
        self.adapters().1.ticket_of_thread(keys).await
    }

    async fn mark_queued(&self, ticket: &TicketId, message: &MessageId) -> Result<(), InfraError> {
        self.around(Step::MarkQueued, self.adapters().1.mark_queued(ticket, message))
            .await
    }

    async fn pending(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<PendingMessage>, InfraError> {
        self.adapters().1.pending(before, limit).await
    }
}

#[async_trait]
impl MessageQueue for Crashing {
    async fn send(&self, message: QueueMessage) -> Result<(), InfraError> {
        self.around(Step::Enqueue, self.adapters().2.send(message)).await
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
        self.around(Step::Claim, self.adapters().1.claim_send(ticket, id, now, lease))
            .await
    }

    async fn record_part(&self, ticket: &TicketId, id: &MessageId, part: usize, sid: &str) -> Result<(), InfraError> {
        self.around(Step::RecordPart, self.adapters().1.record_part(ticket, id, part, sid))
            .await
    }

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        sid: &str,
        thread_keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        self.around(
            Step::MarkSent,
            self.adapters().1.mark_sent(ticket, id, sid, thread_keys, now),
        )
        .await
    }

    async fn message_of_thread(&self, key: &str) -> Result<Option<(TicketId, MessageId)>, InfraError> {
        self.adapters().1.message_of_thread(key).await
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

async fn emails_to(app: &TestApp, address: &str) -> usize {
    let mails = app.sent_emails().await.unwrap();
    mails.iter().filter(|m| m.contains(address)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_step_of_the_intake_leaves_nothing_or_a_message_answered_once() {
    let crashing = Arc::new(Crashing::default());
    let tickets_reader = Arc::new(LazyTickets(crashing.clone()));
    let api = WebformApi::new(
        Intake::new(crashing.clone(), crashing.clone(), crashing.clone()),
        WebformPorts {
            tickets: tickets_reader.clone(),
            channels: crashing.clone(),
            customers: crashing.clone(),
            verifications: tickets_reader,
        },
    );
    let app = TestApp::spawn_with(
        LocalStackOptions::default()
            .http_function("WebformApiFunction", Arc::new(api))
            .without_schedules(),
    )
    .await;
    let sweeper = crashing.wire(&app);
    // The form's sender is only claimed: its intake identifies nobody (WhatsApp's does, below).
    let steps = [Step::Store, Step::Enqueue, Step::MarkQueued];
    let crashes: Vec<Crash> = steps
        .iter()
        .flat_map(|s| [Crash::Before(*s), Crash::After(*s)])
        .collect();
    for (i, crash) in crashes.iter().enumerate() {
        let address = format!("crash{i}@northwind.example");
        let key = format!("crash-test-key-{i}");
        let mut form = valid_form();
        form["email"] = address.clone().into();
        let submit = || {
            app.http
                .post(format!("{}/support/submit", app.base_url))
                .header("idempotency-key", &key)
                .json(&form)
                .send()
        };
        *crashing.crash.lock().unwrap() = Some(*crash);
        let first = submit().await.unwrap();
        let first_status = first.status().as_u16();
        // The stack comes back: no more crashes, the scheduled sweep runs (its clock past the
        // grace period), and the customer's form, told to send again, retries with its key.
        *crashing.crash.lock().unwrap() = None;
        let swept = sweeper
            .redrive(Utc::now() + SWEEP_GRACE * 2, SWEEP_GRACE)
            .await
            .unwrap();
        let retry = submit().await.unwrap();
        assert!(
            matches!(retry.status().as_u16(), 200 | 201),
            "{crash:?}: the retry is accepted"
        );
        let retry: serde_json::Value = retry.json().await.unwrap();
        let ticket_id = retry["ticket_id"].as_str().unwrap().to_owned();
        // The crashed attempt and its retry make one ticket between them.
        assert_eq!(
            app.ticket_table_items("ticket").await.len(),
            i + 1,
            "{crash:?}: the retry finds the first ticket, or opens the only one"
        );
        // Exactly one answer, whatever happened.
        let deadline = Instant::now() + Duration::from_secs(30);
        while emails_to(&app, &address).await == 0 {
            assert!(Instant::now() < deadline, "{crash:?}: the message was never answered");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(emails_to(&app, &address).await, 1, "{crash:?}: answered once");
        let thread = app.ticket_items(&ticket_id, "MSG#").await.unwrap();
        assert_eq!(thread.len(), 2, "{crash:?}: one message, one reply");
        println!("{crash:?}: first answer {first_status}, swept {swept}, answered once");
    }
    // Nothing is left waiting in the outbox.
    assert!(
        IntakeLog::pending(&crashing.adapters().1, Utc::now() + SWEEP_GRACE * 2, 10)
            .await
            .unwrap()
            .is_empty()
    );
    app.shutdown().await;
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
    let sweeper = crashing.wire(&app);
    let token = || local_stack::twilio::LOCAL_AUTH_TOKEN.to_owned().into();
    let _ = webhook.0.set(WhatsappWebhook::new(
        Intake::new(crashing.clone(), crashing.clone(), crashing.clone()),
        crashing.clone(),
        RequestValidator::new(token()),
        app.webhook_url(),
        app.team_alert(),
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
        WhatsappDelivery::new(crashing.clone(), Arc::new(twilio), callback, app.team_alert())
            .with_timing(retry, chrono::Duration::seconds(1)),
    );

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
        assert_eq!(
            app.twilio_messages_to(&phone).await.len(),
            1,
            "{crash:?}: answered once"
        );
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

/// The status and confirmation routes of the crashing API use the same lazily wired adapters.
struct LazyTickets(Arc<Crashing>);

impl LazyTickets {
    fn tickets(&self) -> &DynamoTickets {
        &self.0.adapters().1
    }
}

#[async_trait]
impl TicketReader for LazyTickets {
    async fn ticket_thread(&self, id: &TicketId) -> Result<Option<(Ticket, Vec<ConversationMessage>)>, InfraError> {
        self.tickets().ticket_thread(id).await
    }

    async fn original(&self, ticket: &TicketId, message: &MessageId) -> Result<Option<String>, InfraError> {
        self.tickets().original(ticket, message).await
    }
}

#[async_trait]
impl Verifications for LazyTickets {
    async fn attempt(&self, customer: &CustomerId, max: u32, now: DateTime<Utc>) -> Result<CodeAttempt, InfraError> {
        self.tickets().attempt(customer, max, now).await
    }

    async fn consume(&self, customer: &CustomerId) -> Result<(), InfraError> {
        self.tickets().consume(customer).await
    }

    async fn queued_notice(&self, ticket: &TicketId, id: &MessageId) -> Result<Option<OutboundReply>, InfraError> {
        self.tickets().queued_notice(ticket, id).await
    }

    async fn move_history(&self, from: &CustomerId, to: &CustomerId) -> Result<(), InfraError> {
        self.tickets().move_history(from, to).await
    }

    async fn address_confirmed(&self, ticket: &TicketId) -> Result<(), InfraError> {
        self.tickets().address_confirmed(ticket).await
    }
}
