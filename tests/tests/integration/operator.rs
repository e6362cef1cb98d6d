//! People in the loop, through the real gateway (its JWT check against moto's user pool),
//! the operator-api function, the agent and the senders: a person takes an escalated
//! ticket, answers on the customer's channel, the agent stays silent until the ticket is
//! handed back; resolving with notes teaches the agent; drafts wait for review.

use std::time::Duration;

use integration_tests::whatsapp::message_sid;
use integration_tests::{valid_form, TestApp};
use local_stack::LocalStackOptions;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

/// The operator API as the console calls it, signed in as the development operator.
struct Console<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Console<'a> {
    async fn signed_in(app: &'a TestApp) -> Self {
        let console = Self {
            app,
            token: app.operator_token().await,
        };
        // The console reports the operator online: escalations are assigned to them.
        console.get("/operator/me").await;
        console
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .app
            .http
            .get(format!("{}{path}", self.app.base_url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value, key: &str) -> (u16, Value) {
        let response = self
            .app
            .http
            .post(format!("{}{path}", self.app.base_url))
            .bearer_auth(&self.token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn audit(&self, ticket: &str) -> Vec<String> {
        let view = self.get(&format!("/operator/tickets/{ticket}")).await;
        view["audit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn refund_form() -> Value {
    let mut form = valid_form();
    form["category"] = json!("billing");
    form["subject"] = json!("Charged twice");
    form["message"] = json!("I was charged twice this month. Please refund the second charge.");
    form
}

async fn follow_up(app: &TestApp, ticket: &str, text: &str) {
    let response = app
        .http
        .post(format!("{}/support/ticket/{ticket}/messages", app.base_url))
        .header("content-type", "application/json")
        .body(json!({ "message": text }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

fn message_count(ticket: &Value) -> usize {
    ticket["messages"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_takes_over_answers_on_the_customers_channel_and_hands_back() {
    let app = TestApp::spawn().await;
    let team = app.subscribe_team().await;
    let console = Console::signed_in(&app).await;
    let me = console.get("/operator/me").await;
    let operator = me["email"].as_str().unwrap().to_owned();

    // The agent escalates a refund: the customer hears it, the team is told, with a link.
    let ticket = app.submit_ok(&refund_form()).await;
    app.ticket_until(&ticket, |t| t["status"] == "escalated").await;
    app.wait_for_emails(1).await;
    let handoff = app.ticket(&ticket).await;
    let told = handoff["messages"][1]["body"].as_str().unwrap();
    assert!(told.contains("passed"), "the hand-off reached the customer: {told}");
    let notices = team.notices(1, WAIT).await;
    assert_eq!(notices[0].attributes["kind"], "escalated");
    assert_eq!(
        notices[0].attributes["assignee"], operator,
        "assigned to the operator online"
    );
    assert!(notices[0].subject.contains("refund"), "{}", notices[0].subject);
    assert!(
        notices[0].text.contains(&format!("/console/#/tickets/{ticket}")),
        "{}",
        notices[0].text
    );

    // The queue lists it, with its SLA.
    let queue = console.get("/operator/tickets?status=escalated").await;
    let listed = queue["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == ticket.as_str())
        .cloned();
    let listed = listed.expect("the escalated ticket is queued");
    assert_eq!(listed["escalation_reason"], "refund");
    assert_eq!(listed["assignee"], operator.as_str());
    assert!(["on_track", "at_risk", "breached"].contains(&listed["sla"]["state"].as_str().unwrap()));

    // A person answers: the customer gets it by email, formatted for the web form's channel.
    let preview = console
        .post(
            &format!("/operator/tickets/{ticket}/preview"),
            json!({"body": "Refunded: you will see it in 5 days."}),
            "preview-1",
        )
        .await;
    assert_eq!(preview.0, 200);
    assert!(preview.1["parts"][0].as_str().unwrap().contains("Refunded"));
    let reply = json!({"body": "I have refunded the second charge: you will see it within 5 days."});
    let (status, queued) = console
        .post(
            &format!("/operator/tickets/{ticket}/replies"),
            reply.clone(),
            "reply-key-0001",
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    // The console retries (a lost answer): the same reply, sent once.
    let (status, again) = console
        .post(&format!("/operator/tickets/{ticket}/replies"), reply, "reply-key-0001")
        .await;
    assert_eq!((status, &again["message_id"]), (202, &queued["message_id"]));
    let mails = app.wait_for_emails(2).await;
    assert!(mails[1].contains("refunded the second charge"), "{}", mails[1]);
    let seen = app.ticket_until(&ticket, |t| t["status"] == "answered").await;
    assert_eq!(message_count(&seen), 3);

    // The customer writes again: attached, the agent stays silent, the assignee is told.
    follow_up(&app, &ticket, "Thanks! And how do I export my board to CSV?").await;
    app.ticket_until(&ticket, |t| message_count(t) == 4).await;
    let notices = team.notices(1, WAIT).await;
    assert_eq!(notices[0].attributes["kind"], "customer_wrote");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        message_count(&app.ticket(&ticket).await),
        4,
        "the agent did not answer over the person"
    );
    assert_eq!(app.sent_emails().await.unwrap().len(), 2);

    // Handed back: the agent answers the next message.
    let (status, handed) = console
        .post(
            &format!("/operator/tickets/{ticket}/hand-back"),
            json!({"note": null}),
            "hand-back-0001",
        )
        .await;
    assert_eq!(
        (status, handed["handled_by"].as_str()),
        (200, Some("agent")),
        "{handed}"
    );
    follow_up(&app, &ticket, "How do I export my board to CSV?").await;
    let answered = app.ticket_until(&ticket, |t| message_count(t) == 6).await;
    assert!(answered["messages"][5]["body"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("csv"));
    app.wait_for_emails(3).await;

    // Every step is in the audit trail, in order.
    let audit = console.audit(&ticket).await;
    for step in [
        "received",
        "escalated",
        "assigned",
        "person_replied",
        "handed_back",
        "answered",
    ] {
        assert!(audit.contains(&step.to_owned()), "{step} in {audit:?}");
    }
    let view = console.get(&format!("/operator/tickets/{ticket}")).await;
    let authors: Vec<&str> = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        authors,
        ["customer", "agent", "person", "customer", "customer", "agent"]
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_reply_reaches_email_and_whatsapp_customers_on_their_channel() {
    let app = TestApp::spawn().await;
    let console = Console::signed_in(&app).await;

    // Email: the person's reply is mailed, threaded by its subject.
    let email = json!({
        "channel": "email", "channel_message_id": "gmail-op-1", "subject": "Refund please",
        "body": "Please refund my last invoice, I cancelled in time.",
        "sender": {"name": "Noor Haddad", "email": "noor@haddad.example"},
        "received_at": chrono::Utc::now(), "correlation_id": "op-email", "proof": "mailbox_authentication",
    });
    let ticket = app.deliver(&email).await.unwrap();
    app.ticket_until(&ticket, |t| t["status"] == "escalated").await;
    let (status, _) = console
        .post(
            &format!("/operator/tickets/{ticket}/replies"),
            json!({"body": "Your refund is on its way."}),
            "email-reply-01",
        )
        .await;
    assert_eq!(status, 202);
    let mails = app.wait_for_emails(2).await;
    let mail = mails
        .iter()
        .find(|m| m.contains("refund is on its way"))
        .expect("mailed");
    assert!(mail.contains("Re: Refund please"), "{mail}");
    assert!(mail.contains("noor@haddad.example"));

    // WhatsApp: the person's reply goes through Twilio to the customer's number.
    let (sid, phone) = (message_sid(), "+5511912345678");
    app.whatsapp(&sid, phone, "I want a refund for this month").await;
    let wa_ticket = app.ticket_of(&format!("whatsapp#{sid}")).await.unwrap();
    app.ticket_until(&wa_ticket, |t| t["status"] == "escalated").await;
    let (status, _) = console
        .post(
            &format!("/operator/tickets/{wa_ticket}/replies"),
            json!({"body": "Refund approved: 3-5 days."}),
            "wa-reply-0001",
        )
        .await;
    assert_eq!(status, 202);
    let sent = app.wait_for_twilio(phone, 2, "delivered", WAIT).await.unwrap();
    assert!(
        sent.iter()
            .any(|m| m["body"].as_str().unwrap().contains("Refund approved")),
        "{sent:?}"
    );

    // The customer answers on WhatsApp: the same ticket, the person's, the agent silent.
    app.whatsapp(&message_sid(), phone, "Great, thanks. How do I export to CSV?")
        .await;
    let ticket_now = app.ticket_until(&wa_ticket, |t| message_count(t) == 4).await;
    assert_eq!(ticket_now["status"], "open");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        message_count(&app.ticket(&wa_ticket).await),
        4,
        "the agent stays silent"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolving_with_notes_teaches_the_agent_once_a_person_approves() {
    let app = TestApp::spawn().await;
    let console = Console::signed_in(&app).await;
    let mut form = valid_form();
    form["subject"] = json!("Figma");
    form["message"] = json!("Can I show a live Figma design on a card? I need a person to tell me.");
    let ticket = app.submit_ok(&form).await;
    app.ticket_until(&ticket, |t| t["status"] == "escalated").await;

    let resolved = console
        .post(
            &format!("/operator/tickets/{ticket}/resolve"),
            json!({
                "notes": "Paste the Figma share link into the card description: Tandem shows a live Figma preview on the card.",
                "question": "How do I show a live Figma design on a card?",
                "answer": null,
            }),
            "resolve-0001",
        )
        .await;
    assert_eq!(resolved.0, 200, "{}", resolved.1);
    assert_eq!(resolved.1["ticket"]["status"], "resolved");
    let proposal = resolved.1["proposal"].clone();
    assert_eq!(proposal["status"], "pending");
    let reviews = console.get("/operator/reviews").await;
    assert!(reviews["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == proposal["id"]));

    // Not searched until a person approves it.
    let (status, approved) = console
        .post(
            &format!("/operator/proposals/{}/approve", proposal["id"].as_str().unwrap()),
            json!({}),
            "approve-p-01",
        )
        .await;
    assert_eq!(
        (status, approved["status"].as_str()),
        (200, Some("approved")),
        "{approved}"
    );
    // The console retries after a lost answer: the approval stands, no error.
    let (status, again) = console
        .post(
            &format!("/operator/proposals/{}/approve", proposal["id"].as_str().unwrap()),
            json!({}),
            "approve-p-01",
        )
        .await;
    assert_eq!((status, &again["status"]), (200, &approved["status"]));

    let mut asked = valid_form();
    asked["email"] = json!("sam@other.example");
    asked["message"] = json!("How can I show our Figma design live on a Tandem card?");
    let next = app.submit_ok(&asked).await;
    let answered = app.ticket_until(&next, |t| t["status"] != "open").await;
    assert_eq!(answered["status"], "answered", "{answered}");
    let reply = answered["messages"][1]["body"].as_str().unwrap();
    assert!(reply.contains("live Figma preview"), "{reply}");
    assert!(reply.contains("our team's answer"), "the reply cites it: {reply}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_review_mode_drafts_wait_for_approval_and_the_agreement_rate_follows() {
    let options = LocalStackOptions::default().parameter("AutonomyPolicy", r#"{"default": {"mode": "review"}}"#);
    let app = TestApp::spawn_with(options).await;
    let console = Console::signed_in(&app).await;

    let mut tickets = Vec::new();
    for (i, email) in ["a@one.example", "b@two.example", "c@three.example"].iter().enumerate() {
        let mut form = valid_form();
        form["email"] = json!(email);
        form["message"] = json!(format!("How do I reset my password? ({i})"));
        tickets.push(app.submit_ok(&form).await);
    }
    let deadline = std::time::Instant::now() + WAIT;
    let drafts = loop {
        let reviews = console.get("/operator/reviews").await;
        let drafts = reviews["drafts"].as_array().unwrap().clone();
        if drafts.len() == 3 {
            break drafts;
        }
        assert!(std::time::Instant::now() < deadline, "3 drafts held: {reviews}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        app.sent_emails().await.unwrap().is_empty(),
        "nothing sent before a person approves"
    );
    let status = app.ticket(&tickets[0]).await;
    assert_eq!(message_count(&status), 1, "the customer does not see a draft");

    let draft_path = |d: &Value, verb: &str| {
        format!(
            "/operator/drafts/{}/{}/{verb}",
            d["ticket_id"].as_str().unwrap(),
            d["message_id"].as_str().unwrap()
        )
    };
    let (approved, _) = console
        .post(
            &draft_path(&drafts[0], "approve"),
            json!({"body": null}),
            "draft-approve-1",
        )
        .await;
    let (edited, _) = console
        .post(
            &draft_path(&drafts[1], "approve"),
            json!({"body": "Hi! Choose Forgot password on the sign-in page."}),
            "draft-edit-0001",
        )
        .await;
    let (rejected, _) = console
        .post(
            &draft_path(&drafts[2], "reject"),
            json!({"note": "needs a person"}),
            "draft-reject-01",
        )
        .await;
    assert_eq!((approved, edited, rejected), (200, 200, 200));
    let mails = app.wait_for_emails(2).await;
    assert!(mails
        .iter()
        .any(|m| m.contains("Choose Forgot password on the sign-in page")));

    let agreement = console.get("/operator/agreement").await;
    let draft = agreement["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "draft")
        .unwrap()
        .clone();
    assert_eq!(
        (draft["reviewed"].as_u64(), draft["agreed"].as_u64()),
        (Some(3), Some(1)),
        "{agreement}"
    );
    assert!((draft["rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    let audit = console.audit(&tickets[1]).await;
    for step in ["received", "draft_held", "draft_edited"] {
        assert!(audit.contains(&step.to_owned()), "{step} in {audit:?}");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_calls_without_a_valid_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let ticket = app.submit_ok(&refund_form()).await;
    app.ticket_until(&ticket, |t| t["status"] == "escalated").await;
    for token in [None, Some("not-a-token")] {
        let mut request = app
            .http
            .post(format!("{}/operator/tickets/{ticket}/replies", app.base_url))
            .header("idempotency-key", "unauthenticated-1")
            .json(&json!({"body": "hello"}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(message_count(&app.ticket(&ticket).await), 2);
    // The customer's routes never reach operator data.
    let status = app.ticket(&ticket).await;
    assert!(status.get("audit").is_none() && status.get("decisions").is_none());
    app.shutdown().await;
}

/// The email queue, but the first send fails (the function stopped after the write).
struct FailsOnce {
    real: support_aws::queue::sqs::SqsQueue,
    failed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl support_core::ports::queue::MessageQueue for FailsOnce {
    async fn send(
        &self,
        message: support_core::ports::queue::QueueMessage,
    ) -> Result<(), support_core::ports::InfraError> {
        if !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(support_core::ports::InfraError::new("send", "crashed before the queue"));
        }
        self.real.send(message).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_reply_stored_but_not_queued_is_sent_once_when_the_request_is_retried() {
    use std::sync::Arc;
    use support_core::desk::{DeskPorts, OperatorDesk};

    let app = TestApp::spawn().await;
    let ticket = app.submit_ok(&refund_form()).await;
    app.ticket_until(&ticket, |t| t["status"] == "escalated").await;
    app.wait_for_emails(1).await;

    let env = app.stack.environment("OperatorApiFunction").unwrap();
    let tickets = Arc::new(support_aws::tickets::dynamodb::DynamoTickets::new(
        app.dynamodb.clone(),
        env["TICKETS_TABLE"].clone(),
    ));
    let desk = OperatorDesk::new(DeskPorts {
        store: tickets.clone(),
        knowledge: Arc::new(support_core::knowledge::Knowledge::articles_only(
            support_embedding::shared_embedder(&support_embedding::default_model_dir()).unwrap(),
        )),
        history: tickets.clone(),
        outbound: support_core::delivery::Outbound {
            email: Arc::new(FailsOnce {
                real: support_aws::queue::sqs::SqsQueue::new(app.sqs.clone(), env["EMAIL_OUTBOUND_QUEUE_URL"].clone()),
                failed: Default::default(),
            }),
            whatsapp: None,
        },
        presence: tickets,
        alert: app.team_alert(),
    });
    let id = support_core::domain::TicketId::parse(&ticket).unwrap();
    let now = chrono::Utc::now();
    let first = desk
        .reply("alice@example.com", &id, "Refunded.", "crash-key-0001", now)
        .await;
    assert!(first.is_err(), "the queue failed after the write");
    assert_eq!(app.sent_emails().await.unwrap().len(), 1, "not sent yet");
    let second = desk
        .reply(
            "alice@example.com",
            &id,
            "Refunded.",
            "crash-key-0001",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let mails = app.wait_for_emails(2).await;
    assert!(mails[1].contains("Refunded."));
    // Retried once more: the reply is not sent again.
    let third = desk
        .reply(
            "alice@example.com",
            &id,
            "Refunded.",
            "crash-key-0001",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(second.message_id, third.message_id);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.sent_emails().await.unwrap().len(), 2, "sent once");
    let thread = app.ticket(&ticket).await;
    assert_eq!(message_count(&thread), 3, "one reply stored: {thread}");
    app.shutdown().await;
}
