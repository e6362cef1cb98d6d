//! A crash at any step of the intake loses nothing and duplicates nothing: it leaves
//! either nothing stored (and the customer was told to send again), or a message that is
//! answered exactly once. Each step of the web form's intake crashes in turn (a panic
//! before or after the step's AWS call, as a process killed there would), then the
//! stack comes back: the scheduled sweeper runs and the customer's form retries with the
//! same Idempotency-Key.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use integration_tests::{valid_form, TestApp};
use local_stack::LocalStackOptions;
use support_aws::customers::dynamodb::DynamoCustomers;
use support_aws::lambda::webform_http::{WebformApi, WebformPorts};
use support_aws::queue::sqs::SqsQueue;
use support_aws::tickets::dynamodb::DynamoTickets;
use support_core::domain::{
    Channel, ConversationMessage, CustomerId, IdentityProof, MessageId, OutboundReply, Sender, Ticket, TicketFacts,
    TicketId,
};
use support_core::intake::{Intake, Sweeper, SWEEP_GRACE};
use support_core::ports::customers::{CustomerChannels, CustomerDirectory};
use support_core::ports::queue::{MessageQueue, QueueMessage};
use support_core::ports::tickets::{CodeAttempt, IntakeLog, IntakeRecord, PendingMessage, Stored, Verifications};
use support_core::ports::InfraError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Store,
    Enqueue,
    MarkQueued,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    Before(Step),
    After(Step),
}

/// The real adapters, with a crash at one step.
struct Crashing {
    adapters: OnceLock<(DynamoCustomers, DynamoTickets, SqsQueue)>,
    crash: Mutex<Option<Crash>>,
}

impl Crashing {
    fn adapters(&self) -> &(DynamoCustomers, DynamoTickets, SqsQueue) {
        self.adapters.get().expect("wired once the stack runs")
    }

    fn before(&self, step: Step) {
        if *self.crash.lock().unwrap() == Some(Crash::Before(step)) {
            panic!("crashed before {step:?}");
        }
    }

    fn after(&self, step: Step) {
        if *self.crash.lock().unwrap() == Some(Crash::After(step)) {
            panic!("crashed after {step:?}");
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
        // The form's sender is only claimed: the intake identifies nobody (see whatsapp_crashes
        // for a channel that does).
        self.adapters().0.identify(sender, proof, now).await
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
        self.before(Step::Store);
        let stored = self.adapters().1.store(record).await;
        self.after(Step::Store);
        stored
    }

    async fn conversation(&self, customer: &CustomerId, channel: Channel) -> Result<Option<TicketFacts>, InfraError> {
        self.adapters().1.conversation(customer, channel).await
    }

    async fn mark_queued(&self, ticket: &TicketId, message: &MessageId) -> Result<(), InfraError> {
        self.before(Step::MarkQueued);
        let marked = self.adapters().1.mark_queued(ticket, message).await;
        self.after(Step::MarkQueued);
        marked
    }

    async fn pending(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<PendingMessage>, InfraError> {
        self.adapters().1.pending(before, limit).await
    }
}

#[async_trait]
impl MessageQueue for Crashing {
    async fn send(&self, message: QueueMessage) -> Result<(), InfraError> {
        self.before(Step::Enqueue);
        let sent = self.adapters().2.send(message).await;
        self.after(Step::Enqueue);
        sent
    }
}

async fn emails_to(app: &TestApp, address: &str) -> usize {
    let mails = app.sent_emails().await.unwrap();
    mails.iter().filter(|m| m.contains(address)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_step_of_the_intake_leaves_nothing_or_a_message_answered_once() {
    let crashing = Arc::new(Crashing {
        adapters: OnceLock::new(),
        crash: Mutex::new(None),
    });
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
    let tickets = || DynamoTickets::new(app.dynamodb.clone(), app.table_name("TicketsTable"));
    let inbound = || SqsQueue::new(app.sqs.clone(), app.queue_url("InboundQueue"));
    let _ = crashing.adapters.set((
        DynamoCustomers::new(app.dynamodb.clone(), app.table_name("CustomersTable")),
        tickets(),
        inbound(),
    ));
    let sweeper = Sweeper::new(Arc::new(tickets()), Arc::new(inbound()));
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
    assert!(IntakeLog::pending(&tickets(), Utc::now() + SWEEP_GRACE * 2, 10)
        .await
        .unwrap()
        .is_empty());
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
impl support_core::ports::tickets::TicketReader for LazyTickets {
    async fn ticket_thread(&self, id: &TicketId) -> Result<Option<(Ticket, Vec<ConversationMessage>)>, InfraError> {
        self.tickets().ticket_thread(id).await
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
