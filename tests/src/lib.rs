//! `TestApp`: the whole system on moto, driven from outside like a user would:
//! HTTP to the gateway, messages onto the queues, and what moto's SES recorded.

pub mod aws_calls;
pub mod converse_stub;
pub mod eval;
pub mod whatsapp;

use std::time::{Duration, Instant};

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use local_stack::{LocalStack, LocalStackOptions};
use serde_json::{json, Value};
use support_aws::customers::dynamodb::DynamoCustomers;
use support_aws::queue::sqs::SqsQueue;
use support_aws::tickets::dynamodb::DynamoTickets;
use support_core::domain::{ConversationMessage, InboundMessage, MessageId};
use support_core::intake::Intake;
use support_core::ports::queue::{MessageQueue, QueueMessage};
use support_core::ports::tickets::{ReplyLog, TurnRecord};

/// Each app gets its own moto region, so tests in parallel never see each other's data.
fn unique_region() -> String {
    const REGIONS: &[&str] = &[
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "sa-east-1",
    ];
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + std::process::id() as usize;
    REGIONS[n % REGIONS.len()].to_owned()
}

/// An attribute of a stored item that holds JSON text (an agent run's `decision`, `steps`,
/// `context`), parsed; `null` when absent.
pub fn json_attribute(item: &HashMap<String, AttributeValue>, name: &str) -> Result<Value> {
    let text = item.get(name).and_then(|v| v.as_s().ok());
    Ok(text.map(|s| serde_json::from_str(s)).transpose()?.unwrap_or_default())
}

/// A queue that keeps what was sent instead of sending it.
#[derive(Default)]
pub struct KeptQueue(pub std::sync::Mutex<Vec<QueueMessage>>);

#[async_trait::async_trait]
impl MessageQueue for KeptQueue {
    async fn send(&self, message: QueueMessage) -> Result<(), support_core::ports::InfraError> {
        self.0.lock().expect("not poisoned").push(message);
        Ok(())
    }
}

pub struct TestApp {
    pub stack: LocalStack,
    pub base_url: String,
    pub http: reqwest::Client,
    /// The test's own clients: straight to moto, never counted with the functions' calls.
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// Set by [`TestApp::spawn_counting_aws_calls`].
    pub aws_calls: Option<aws_calls::CallCounter>,
    /// The moto this app started itself (when counting calls), kept running with it.
    _moto: Option<local_stack::moto::MotoServer>,
}

/// The directions of a ticket's messages, in order (`inbound`, `outbound`).
pub fn directions(ticket: &Value) -> Vec<&str> {
    ticket["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["direction"].as_str().expect("a direction"))
        .collect()
}

/// A valid web form submission; tests change one field at a time.
pub fn valid_form() -> Value {
    json!({
        "name": "Maya Lin",
        "email": "maya@northwind.example",
        "subject": "Invite a teammate",
        "category": "technical",
        "priority": "medium",
        "message": "How do I invite a teammate to my workspace?",
    })
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(LocalStackOptions::default()).await
    }

    /// Redeliveries within seconds: for tests that wait for the dead-letter queue.
    pub async fn spawn_with_fast_redelivery() -> Self {
        Self::spawn_with(LocalStackOptions::default().max_visibility_timeout(2)).await
    }

    pub async fn spawn_with(options: LocalStackOptions) -> Self {
        let stack = LocalStack::start(options.region(unique_region()).port(0))
            .await
            .expect("the local stack starts");
        let sdk = stack.sdk_config().clone();
        Self::assemble(stack, &sdk, None, None)
    }

    /// A stack whose functions reach moto through a [`aws_calls::CallCounter`], so a test
    /// can count every AWS call they make.
    pub async fn spawn_counting_aws_calls() -> Self {
        let binary = local_stack::moto::locate(None, &local_stack::workspace_root());
        let moto = local_stack::moto::MotoServer::start(&binary)
            .await
            .expect("moto starts");
        let counter = aws_calls::CallCounter::start(moto.endpoint())
            .await
            .expect("the call counter starts");
        let region = unique_region();
        let options = LocalStackOptions::default()
            .endpoint_url(counter.url())
            .region(region.clone())
            .port(0);
        let stack = LocalStack::start(options).await.expect("the local stack starts");
        let direct = local_stack::local_sdk_config(moto.endpoint(), &region).await;
        counter.take();
        Self::assemble(stack, &direct, Some(counter), Some(moto))
    }

    fn assemble(
        stack: LocalStack,
        sdk: &aws_config::SdkConfig,
        aws_calls: Option<aws_calls::CallCounter>,
        moto: Option<local_stack::moto::MotoServer>,
    ) -> Self {
        Self {
            base_url: stack.gateway_url().expect("the gateway runs"),
            http: reqwest::Client::new(),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            aws_calls,
            _moto: moto,
            stack,
        }
    }

    /// The team topic's ARN, as the agent publishes to it.
    pub fn team_topic_arn(&self) -> String {
        self.stack
            .environment("AgentFunction")
            .and_then(|env| env.get("TEAM_TOPIC_ARN"))
            .cloned()
            .expect("the agent has a team topic")
    }

    /// The team's topic as the functions publish to it (escalations, delivery failures).
    pub fn team_alert(&self) -> support_core::ports::team::TeamAlert {
        support_core::ports::team::TeamAlert {
            notifier: Arc::new(support_aws::team::sns::SnsTeamNotifier::new(
                aws_sdk_sns::Client::new(self.stack.sdk_config()),
                self.team_topic_arn(),
            )),
            console_url: format!("{}/console/", self.base_url),
        }
    }

    /// A queue subscribed to the team topic from now on: what an email or HTTPS subscriber
    /// of the team would receive.
    pub async fn subscribe_team(&self) -> TeamInbox {
        let name = format!("team-inbox-{}", uuid::Uuid::new_v4().simple());
        let url = self
            .sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("a queue")
            .queue_url
            .expect("its url");
        let arn = format!(
            "arn:aws:sqs:{}:{}:{name}",
            self.stack.region(),
            local_stack::template::LOCAL_ACCOUNT_ID
        );
        aws_sdk_sns::Client::new(self.stack.sdk_config())
            .subscribe()
            .topic_arn(self.team_topic_arn())
            .protocol("sqs")
            .endpoint(arn)
            .send()
            .await
            .expect("subscribed");
        TeamInbox {
            sqs: self.sqs.clone(),
            url,
        }
    }

    pub fn queue_url(&self, logical_id: &str) -> String {
        self.stack
            .queue(logical_id)
            .unwrap_or_else(|| panic!("{logical_id} is provisioned"))
            .url
            .clone()
    }

    pub fn table_name(&self, logical_id: &str) -> String {
        self.stack
            .table(logical_id)
            .unwrap_or_else(|| panic!("{logical_id} is provisioned"))
            .name
            .clone()
    }

    pub async fn submit(&self, form: &Value) -> reqwest::Response {
        self.post("/support/submit", "application/json", form.to_string().into_bytes())
            .await
    }

    pub async fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base_url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("the gateway answers")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("the gateway answers")
    }

    /// Submits a valid form and returns the new ticket id.
    pub async fn submit_ok(&self, form: &Value) -> String {
        let response = self.submit(form).await;
        assert_eq!(response.status(), 201, "submission accepted");
        let body: Value = response.json().await.unwrap();
        body["ticket_id"].as_str().expect("a ticket id").to_owned()
    }

    pub async fn ticket(&self, id: &str) -> Value {
        let response = self.get(&format!("/support/ticket/{id}")).await;
        assert_eq!(response.status(), 200, "ticket {id} exists");
        response.json().await.unwrap()
    }

    /// Waits until the ticket has a reply that SES accepted, and returns the ticket.
    pub async fn wait_for_sent_reply(&self, id: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let ticket = self.ticket(id).await;
            let replied = ticket["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["direction"] == "outbound"));
            if replied && self.reply_provider_ids(id).await?.iter().any(Option::is_some) {
                return Ok(ticket);
            }
            if Instant::now() > deadline {
                bail!("no sent reply on {id} within {timeout:?}: {ticket}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls the ticket until `done` holds (at most 20 seconds), and returns it.
    pub async fn ticket_until(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ticket = self.ticket(id).await;
            if done(&ticket) {
                return ticket;
            }
            assert!(Instant::now() < deadline, "timed out: {ticket}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until SES accepted exactly `count` mails (at most 20 seconds); their raw MIME.
    pub async fn wait_for_emails(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mails = self.sent_emails().await.unwrap();
            if mails.len() >= count {
                assert_eq!(mails.len(), count, "exactly {count} mails");
                return mails;
            }
            assert!(Instant::now() < deadline, "{} of {count} mails sent", mails.len());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A form submitted and its reply emailed: the ticket and SES's id of the reply.
    pub async fn answered_form(&self) -> (String, String) {
        let ticket_id = self.submit_ok(&valid_form()).await;
        self.wait_for_sent_reply(&ticket_id, Duration::from_secs(20))
            .await
            .unwrap();
        let ses_id = self.reply_provider_ids(&ticket_id).await.unwrap()[0]
            .clone()
            .expect("SES's id");
        (ticket_id, ses_id)
    }

    /// Hands a normalized inbound message (JSON of `InboundMessage`) to the intake, as a
    /// channel's webhook does: the customer identified, the ticket opened, the message
    /// stored and queued for the agent. Returns the ticket's id.
    pub async fn deliver(&self, message: &Value) -> Result<String> {
        let message: InboundMessage = serde_json::from_value(message.clone()).context("an inbound message")?;
        Ok(self.intake().accept(message).await?.ticket_id.to_string())
    }

    /// The intake over this stack's tables and inbound queue.
    pub fn intake(&self) -> Intake {
        self.intake_onto(Arc::new(SqsQueue::new(
            self.sqs.clone(),
            self.queue_url("InboundQueue"),
        )))
    }

    /// The intake over this stack's tables, queueing onto `inbound`.
    pub fn intake_onto(&self, inbound: Arc<dyn MessageQueue>) -> Intake {
        Intake::new(
            Arc::new(DynamoCustomers::new(
                self.dynamodb.clone(),
                self.table_name("CustomersTable"),
            )),
            Arc::new(DynamoTickets::new(
                self.dynamodb.clone(),
                self.table_name("TicketsTable"),
            )),
            inbound,
        )
    }

    /// Runs the intake on a normalized inbound message but keeps what it would queue,
    /// so a test can put it on the inbound queue itself (twice, say). Returns the ticket id
    /// and the queue message.
    pub async fn stored_not_queued(&self, message: &Value) -> Result<(String, QueueMessage)> {
        let kept = Arc::new(KeptQueue::default());
        let message: InboundMessage = serde_json::from_value(message.clone()).context("an inbound message")?;
        let accepted = self.intake_onto(kept.clone()).accept(message).await?;
        let queued = kept
            .0
            .lock()
            .expect("not poisoned")
            .pop()
            .context("the intake queued it")?;
        Ok((accepted.ticket_id.to_string(), queued))
    }

    /// Waits until the agent decided the ticket (answered or escalated) and returns it.
    pub async fn decided_ticket(&self, ticket_id: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let response = self.get(&format!("/support/ticket/{ticket_id}")).await;
            if response.status() == 200 {
                let ticket: Value = response.json().await?;
                if ticket["status"] != "open" {
                    return Ok(ticket);
                }
            }
            if Instant::now() > deadline {
                bail!("ticket {ticket_id} was not decided within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Records `reply` as the agent's answer to the stored message `inbound` (its ticket
    /// answered), as the agent records one.
    pub async fn record_answer(&self, reply: ConversationMessage, inbound: MessageId) {
        let turn = TurnRecord::answered(reply, inbound);
        let tickets = DynamoTickets::new(self.dynamodb.clone(), self.table_name("TicketsTable"));
        tickets.record_reply(&turn, chrono::Utc::now()).await.expect("recorded");
    }

    /// Every item of the tickets table of one kind (`ticket`, `message`, `agent_run`).
    pub async fn ticket_table_items(&self, entity: &str) -> Vec<HashMap<String, AttributeValue>> {
        let out = self
            .dynamodb
            .scan()
            .table_name(self.table_name("TicketsTable"))
            .send()
            .await
            .unwrap();
        out.items()
            .iter()
            .filter(|i| i.get("entity").and_then(|e| e.as_s().ok()).is_some_and(|e| e == entity))
            .cloned()
            .collect()
    }

    /// The items stored under a ticket whose sort key starts with `prefix`
    /// (`MSG#` its messages, `RUN#` what the agent did).
    pub async fn ticket_items(&self, ticket_id: &str, prefix: &str) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let out = self
            .dynamodb
            .query()
            .table_name(self.table_name("TicketsTable"))
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("TICKET#{ticket_id}")))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.into()))
            .consistent_read(true)
            .send()
            .await?;
        Ok(out.items().to_vec())
    }

    /// The SES message id recorded on each outbound message of the ticket.
    pub async fn reply_provider_ids(&self, ticket_id: &str) -> Result<Vec<Option<String>>> {
        Ok(self
            .ticket_items(ticket_id, "MSG#")
            .await?
            .iter()
            .filter(|i| {
                i.get("direction")
                    .and_then(|d| d.as_s().ok())
                    .is_some_and(|d| d == "outbound")
            })
            .map(|i| i.get("provider_message_id").and_then(|v| v.as_s().ok()).cloned())
            .collect())
    }

    /// Raw MIME of every email moto's SES accepted. Each app starts its own moto,
    /// so everything there is this app's.
    pub async fn sent_emails(&self) -> Result<Vec<String>> {
        let data: Value = self
            .http
            .get(format!("{}/moto-api/data.json", self.stack.endpoint_url()))
            .send()
            .await?
            .json()
            .await?;
        Ok(data["ses"]["RawMessage"]
            .as_array()
            .map(|mails| {
                mails
                    .iter()
                    .filter_map(|m| m["raw_data"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn item_count(&self, table_logical_id: &str) -> usize {
        let out = self
            .dynamodb
            .scan()
            .table_name(self.table_name(table_logical_id))
            .send()
            .await
            .unwrap();
        out.items().len()
    }

    /// Messages in a queue, visible or in flight.
    pub async fn queue_depth(&self, logical_id: &str) -> usize {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(self.queue_url(logical_id))
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        let attrs = out.attributes().cloned().unwrap_or_default();
        [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .map(|a| attrs.get(a).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0))
        .sum()
    }

    /// Puts a raw body on a FIFO queue, as a webhook (or an attacker) could.
    pub async fn send_fifo(&self, logical_id: &str, body: &str, group: &str, dedup: &str) -> Result<()> {
        self.sqs
            .send_message()
            .queue_url(self.queue_url(logical_id))
            .message_body(body)
            .message_group_id(group)
            .message_deduplication_id(dedup)
            .send()
            .await
            .context("send to queue")?;
        Ok(())
    }

    /// An ID token of the development operator, signed in as the console signs in: what an
    /// `Authorization: Bearer` header of the operator API carries.
    pub async fn operator_token(&self) -> String {
        self.stack
            .operator_tokens()
            .await
            .expect("the development operator signs in")
            .id_token
    }

    /// What a function wrote where Lambda sends its output (CloudWatch Logs), line by line:
    /// JSON log lines and EMF metrics. Panics on a line that is not JSON.
    pub fn function_output(&self, function: &str) -> Vec<Value> {
        let path = self.stack.log_file(function);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        text.lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}: a line that is not JSON ({e}): {line}", path.display()))
            })
            .collect()
    }

    pub async fn shutdown(self) {
        self.stack.shutdown().await;
    }
}

/// What the team topic delivered to a test's subscription.
pub struct TeamInbox {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

/// One notice as SNS delivered it.
#[derive(Debug, Clone)]
pub struct TeamNoticeReceived {
    pub subject: String,
    pub text: String,
    /// The `kind`, `ticket_id` and `assignee` message attributes.
    pub attributes: std::collections::BTreeMap<String, String>,
}

impl TeamInbox {
    /// The notices delivered so far, waiting up to `wait` for at least `count` of them.
    pub async fn notices(&self, count: usize, wait: Duration) -> Vec<TeamNoticeReceived> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut notices = Vec::new();
        while notices.len() < count && tokio::time::Instant::now() < deadline {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("received");
            for message in out.messages.unwrap_or_default() {
                let envelope: Value =
                    serde_json::from_str(message.body().unwrap_or_default()).expect("an SNS envelope");
                let attributes = envelope["MessageAttributes"]
                    .as_object()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                notices.push(TeamNoticeReceived {
                    subject: envelope["Subject"].as_str().unwrap_or_default().to_owned(),
                    text: envelope["Message"].as_str().unwrap_or_default().to_owned(),
                    attributes,
                });
                self.sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("deleted");
            }
        }
        notices
    }
}
