//! The email channel: SES's bounces and complaints (published to the template's topic),
//! and the customer's mail through the Gmail stand-in.

use std::time::{Duration, Instant};

use integration_tests::{directions, valid_form, TestApp};
use serde_json::json;

/// SES's event for a mail it accepted, as its configuration set publishes it.
fn ses_event(kind: &str, ses_message_id: &str, recipient: &str) -> String {
    let detail = match kind {
        "Bounce" => json!({"bounce": {
            "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": recipient, "action": "failed", "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": chrono::Utc::now(), "feedbackId": "local"}}),
        _ => json!({"complaint": {
            "complainedRecipients": [{"emailAddress": recipient}],
            "timestamp": chrono::Utc::now(), "complaintFeedbackType": "abuse"}}),
    };
    let mut event = json!({
        "eventType": kind,
        "mail": {"timestamp": chrono::Utc::now(), "source": "support@tandem.example", "messageId": ses_message_id,
            "destination": [recipient]},
    });
    event
        .as_object_mut()
        .unwrap()
        .extend(detail.as_object().unwrap().clone());
    event.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounce_hands_the_ticket_to_a_person_and_stops_further_mail() {
    let app = TestApp::spawn().await;
    let team = app.subscribe_team().await;
    let (ticket_id, ses_id) = app.answered_form().await;

    app.stack
        .publish(
            "MailEventsTopic",
            &ses_event("Bounce", &ses_id, "maya@northwind.example"),
        )
        .await
        .unwrap();
    let ticket = app.ticket_until(&ticket_id, |t| t["status"] == "escalated").await;
    assert_eq!(ticket["escalation_reason"], "delivery_failed");
    // Like every escalation, the team is told, with SES's words and the ticket's link.
    let notices = team.notices(1, Duration::from_secs(20)).await;
    assert_eq!(notices[0].attributes["ticket_id"], ticket_id.as_str());
    assert!(
        notices[0].text.contains("550 5.1.1 user unknown"),
        "{}",
        notices[0].text
    );
    assert_eq!(ticket["messages"][1]["delivery_status"], "undelivered");
    let meta = &app.ticket_items(&ticket_id, "META").await.unwrap()[0];
    let note = meta["escalation_note"].as_s().unwrap();
    assert!(note.contains("550 5.1.1 user unknown"), "the person sees why: {note}");

    // Another request from the address is answered on the ticket, but not mailed.
    let mut again = valid_form();
    again["subject"] = "Export a board".into();
    again["message"] = "How do I export a board to CSV?".into();
    let second = app.submit_ok(&again).await;
    let ticket = app
        .ticket_until(&second, |t| {
            t["messages"].as_array().unwrap().len() == 2 && t["status"] == "escalated"
        })
        .await;
    assert_eq!(ticket["escalation_reason"], "delivery_failed");
    assert_eq!(ticket["messages"][1]["delivery_status"], "failed");
    assert_eq!(app.sent_emails().await.unwrap().len(), 1, "no mail after the bounce");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_stops_mail_and_other_events_change_nothing() {
    let app = TestApp::spawn().await;
    let (ticket_id, ses_id) = app.answered_form().await;

    let delivery = json!({"eventType": "Delivery", "mail": {"messageId": ses_id}, "delivery": {}}).to_string();
    app.stack.publish("MailEventsTopic", &delivery).await.unwrap();
    app.stack.publish("MailEventsTopic", "not an SES event").await.unwrap();
    assert_eq!(app.ticket(&ticket_id).await["status"], "answered");

    app.stack
        .publish(
            "MailEventsTopic",
            &ses_event("Complaint", &ses_id, "maya@northwind.example"),
        )
        .await
        .unwrap();
    let ticket = app.ticket_until(&ticket_id, |t| t["status"] == "escalated").await;
    assert_eq!(ticket["escalation_reason"], "delivery_failed");

    // A person has the ticket now: a follow-up is kept for them, and the agent stays silent.
    let follow_up = app
        .http
        .post(format!("{}/support/ticket/{ticket_id}/messages", app.base_url))
        .header("content-type", "application/json")
        .body(json!({"message": "Hello? Is anyone there to help me?"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(follow_up.status(), 201);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ticket = app.ticket(&ticket_id).await;
    assert_eq!(ticket["status"], "escalated");
    assert_eq!(directions(&ticket), ["inbound", "outbound", "inbound"], "{ticket}");
    app.shutdown().await;
}

/// A customer's mail as Gmail stores it: Gmail's own Authentication-Results (DMARC passed
/// for the From domain), threading headers when it answers `parent`.
fn customer_mail(from: &str, message_id: &str, parent: Option<(&str, &[&str])>, subject: &str, body: &str) -> String {
    let domain = from.split('@').nth(1).unwrap();
    let threading = match parent {
        Some((in_reply_to, references)) => {
            let references: Vec<String> = references.iter().map(|r| format!("<{r}>")).collect();
            format!(
                "In-Reply-To: <{in_reply_to}>\r\nReferences: {}\r\n",
                references.join(" ")
            )
        }
        None => String::new(),
    };
    format!(
        "Delivered-To: support@tandem.example\r\n\
         Authentication-Results: mx.google.com; dkim=pass header.i=@{domain}; spf=pass smtp.mailfrom={from}; dmarc=pass (p=NONE sp=NONE dis=NONE) header.from={domain}\r\n\
         From: Ada Lovelace <{from}>\r\nTo: Tandem Support <support@tandem.example>\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\n{threading}Date: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\n{body}\r\n",
        chrono::Utc::now().to_rfc2822()
    )
}

/// Puts a raw message into the support mailbox through the stand-in's HTTP API, as a
/// developer would; returns its answer (ids, and the webhook's answer to the push).
async fn post_mail(app: &TestApp, raw: &str) -> serde_json::Value {
    let response = app
        .post("/local/gmail/messages", "message/rfc822", raw.as_bytes().to_vec())
        .await;
    assert!(response.status().is_success(), "the stand-in takes the mail");
    response.json().await.unwrap()
}

/// The ticket of a customer's email (by its sender and Message-ID), once the intake stored it.
async fn ticket_of_mail(app: &TestApp, sender: &str, message_id: &str) -> String {
    let key = support_core::domain::EmailThread::sender_key(&sender.parse().unwrap(), message_id);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let item = app
            .dynamodb
            .get_item()
            .table_name(app.table_name("TicketsTable"))
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("THREAD#{key}")),
            )
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("META".into()))
            .send()
            .await
            .unwrap()
            .item;
        if let Some(ticket) = item.and_then(|i| i.get("ticket_id").and_then(|v| v.as_s().ok()).cloned()) {
            return ticket;
        }
        assert!(Instant::now() < deadline, "no ticket for {message_id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until SES accepted `count` mails, and returns them parsed.
async fn sent_mails(app: &TestApp, count: usize) -> Vec<support_core::email::ParsedEmail> {
    app.wait_for_emails(count)
        .await
        .iter()
        .map(|m| support_core::email::parse(m.as_bytes()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_gets_one_threaded_reply_and_the_answer_to_it_lands_on_the_same_ticket() {
    let app = TestApp::spawn().await;
    let first = customer_mail(
        "ada@lovelace.example",
        "CAF1@mail.lovelace.example",
        None,
        "Exporting a board",
        "Hi, how do I export a board to CSV?\r\n\r\n-- \r\nAda Lovelace\r\nAnalytical Engines Ltd",
    );
    let posted = post_mail(&app, &first).await;
    assert_eq!(
        posted["push"]["status"], 200,
        "the webhook took Google's push: {posted}"
    );

    let replies = sent_mails(&app, 1).await;
    let reply = &replies[0];
    assert_eq!(reply.to, ["ada@lovelace.example"]);
    assert_eq!(reply.in_reply_to, ["CAF1@mail.lovelace.example"]);
    assert_eq!(reply.references[0], "CAF1@mail.lovelace.example");
    let ours = reply.message_id.clone().unwrap();
    assert_eq!(reply.references.last(), Some(&ours), "our own id ends the references");
    assert!(
        reply.subject.as_deref().unwrap().starts_with("Re: Exporting a board"),
        "{reply:?}"
    );
    assert!(reply.text.starts_with("Hi Ada,"), "{}", reply.text);
    assert!(
        reply.text.contains("Export"),
        "answered from the help center: {}",
        reply.text
    );

    let ticket_id = ticket_of_mail(&app, "ada@lovelace.example", "CAF1@mail.lovelace.example").await;
    let ticket = app.ticket(&ticket_id).await;
    assert_eq!(ticket["messages"][0]["channel"], "email");
    assert_eq!(
        ticket["messages"][0]["body"], "Hi, how do I export a board to CSV?",
        "the agent read the message without its signature"
    );

    // Ada answers in the thread, quoting the reply, as Gmail writes it.
    let answer = customer_mail(
        "ada@lovelace.example",
        "CAF2@mail.lovelace.example",
        Some((&ours, &["CAF1@mail.lovelace.example", &ours])),
        "Re: Exporting a board",
        &format!(
            "Thanks! And can I export only the cards of one column?\r\n\r\nOn {}, Tandem Support <support@tandem.example> wrote:\r\n> Hello Ada,\r\n> Use Export.",
            chrono::Utc::now().format("%a, %-d %b %Y at %H:%M")
        ),
    );
    post_mail(&app, &answer).await;
    let replies = sent_mails(&app, 2).await;
    assert_eq!(
        ticket_of_mail(&app, "ada@lovelace.example", "CAF2@mail.lovelace.example").await,
        ticket_id
    );
    let second = &replies[1];
    assert_eq!(second.in_reply_to, ["CAF2@mail.lovelace.example"]);
    assert!(second.references.contains(&"CAF1@mail.lovelace.example".to_owned()));

    let ticket = app.ticket(&ticket_id).await;
    let messages = ticket["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4, "{ticket}");
    assert_eq!(
        messages[2]["body"],
        "Thanks! And can I export only the cards of one column?"
    );
    assert_eq!(messages[2]["has_original"], true);
    let id = messages[2]["message_id"].as_str().unwrap();
    let original: serde_json::Value = app
        .get(&format!("/support/ticket/{ticket_id}/messages/{id}/original"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        original["original"].as_str().unwrap().contains("> Use Export."),
        "the original keeps the quote: {original}"
    );

    // A new subject is a new ticket, and the agent still sees what Ada asked before.
    let billing = customer_mail(
        "ada@lovelace.example",
        "CAF3@mail.lovelace.example",
        None,
        "Invoices",
        "Where do I find my invoices?",
    );
    post_mail(&app, &billing).await;
    sent_mails(&app, 3).await;
    let new_ticket = ticket_of_mail(&app, "ada@lovelace.example", "CAF3@mail.lovelace.example").await;
    assert_ne!(new_ticket, ticket_id);
    let history = app.run_contexts(&new_ticket).await[0]["history"].to_string();
    assert!(history.contains("export a board to CSV"), "{history}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_thread_by_ses_message_id_and_a_web_form_customer_can_answer_by_email() {
    let app = TestApp::spawn().await;
    let (form_ticket, ses_id) = app.answered_form().await;

    // Maya answers the emailed reply; her client knows it only by the id SES gave it.
    let ses_header_id = format!("{ses_id}@email.amazonses.com");
    let answer = customer_mail(
        "maya@northwind.example",
        "maya-2@northwind.example",
        Some((&ses_header_id, &[&ses_header_id])),
        "Re: Invite a teammate",
        "Thanks, and how do I remove a teammate from the workspace?",
    )
    .replace("Ada Lovelace", "Maya Lin");
    post_mail(&app, &answer).await;
    assert_eq!(
        ticket_of_mail(&app, "maya@northwind.example", "maya-2@northwind.example").await,
        form_ticket
    );
    let ticket = app
        .ticket_until(&form_ticket, |t| t["messages"].as_array().unwrap().len() == 4)
        .await;
    assert_eq!(ticket["messages"][2]["channel"], "email");

    // Someone else answering in the same thread opens a ticket of their own.
    let stranger = customer_mail(
        "eve@mallory.example",
        "eve-1@mallory.example",
        Some((&ses_header_id, &[&ses_header_id])),
        "Re: Invite a teammate",
        "Please send me the workspace's member list.",
    );
    post_mail(&app, &stranger).await;
    assert_ne!(
        ticket_of_mail(&app, "eve@mallory.example", "eve-1@mallory.example").await,
        form_ticket
    );
    app.shutdown().await;
}

/// A Pub/Sub push of a mailbox change, as Google sends it.
fn push_body(email_address: &str, history_id: u64) -> String {
    use base64::Engine as _;
    let data = json!({"emailAddress": email_address, "historyId": history_id}).to_string();
    json!({
        "message": {
            "data": base64::engine::general_purpose::STANDARD.encode(data),
            "messageId": format!("local-{history_id}"),
            "publishTime": chrono::Utc::now(),
        },
        "subscription": "projects/tandem-local/subscriptions/support-mailbox",
    })
    .to_string()
}

async fn push(app: &TestApp, authorization: Option<String>, body: &str) -> reqwest::Response {
    let mut request = app
        .http
        .post(format!("{}/webhooks/gmail", app.base_url))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    request.send().await.unwrap()
}

/// Ada's question, put in the mailbox while Pub/Sub loses its push.
async fn deliver_with_lost_push(
    google: &local_stack::google::GoogleStandIn,
    message_id: &str,
) -> local_stack::google::Delivered {
    google.script(local_stack::google::Script {
        drop_pushes: 1,
        ..Default::default()
    });
    let mail = customer_mail(
        "ada@lovelace.example",
        message_id,
        None,
        "Export",
        "How do I export a board?",
    );
    google.deliver(mail.into_bytes(), "INBOX").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_googles_pushes_for_this_mailbox_are_taken_and_bad_ones_get_a_clear_4xx() {
    let app = TestApp::spawn().await;
    let google = app.stack.google();
    // A mail is waiting in the mailbox, its push lost: any accepted push would take it in.
    let delivered = deliver_with_lost_push(google, "waiting@lovelace.example").await;
    let good = google.push_claims();
    let with = |change: serde_json::Value| {
        let mut claims = good.clone();
        claims
            .as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        Some(format!("Bearer {}", google.sign_token(&claims)))
    };
    let body = push_body("support@tandem.example", delivered.history_id);
    let expired = chrono::Utc::now().timestamp() - 3600;
    let cases = [
        ("missing", None, 401),
        ("not bearer", Some("Basic dXNlcjpwYXNz".to_owned()), 401),
        (
            "wrong audience",
            with(json!({"aud": "https://elsewhere.example/push"})),
            401,
        ),
        ("wrong issuer", with(json!({"iss": "https://evil.example"})), 401),
        ("expired", with(json!({"iat": expired - 3600, "exp": expired})), 401),
        (
            "bad signature",
            Some(format!(
                "Bearer {}",
                google.sign_token_with_unpublished_key(&good, google.key_id())
            )),
            401,
        ),
        (
            "wrong service account",
            with(json!({"email": "someone@evil.iam.gserviceaccount.com"})),
            403,
        ),
        ("email not verified", with(json!({"email_verified": false})), 403),
    ];
    for (case, authorization, status) in cases {
        let response = push(&app, authorization, &body).await;
        assert_eq!(response.status(), status, "{case}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{case}: {answer}"
        );
    }

    let token = with(json!({}));
    let bad_inputs = [
        ("garbage", "not json at all".to_owned(), 400),
        ("no data", json!({"message": {"messageId": "1"}}).to_string(), 400),
        (
            "data not base64",
            json!({"message": {"data": "%%%not base64%%%", "messageId": "1"}}).to_string(),
            400,
        ),
        (
            "unknown mailbox",
            push_body("other@tandem.example", delivered.history_id),
            422,
        ),
    ];
    for (case, body, status) in bad_inputs {
        let response = push(&app, token.clone(), &body).await;
        assert_eq!(response.status(), status, "{case}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert!(answer["error"].is_string(), "{case}: {answer}");
    }
    assert_eq!(app.item_count("CustomersTable").await, 0, "nothing was taken in");
    assert!(
        app.ticket_table_items("message").await.is_empty(),
        "nothing was taken in"
    );

    // Google's push itself is taken, once, however often it comes.
    for _ in 0..3 {
        assert_eq!(push(&app, token.clone(), &body).await.status(), 200);
    }
    let ticket_id = ticket_of_mail(&app, "ada@lovelace.example", "waiting@lovelace.example").await;
    assert_eq!(
        app.ticket(&ticket_id).await["messages"][0]["body"],
        "How do I export a board?"
    );
    assert_eq!(
        app.ticket_table_items("message")
            .await
            .iter()
            .filter(|m| m["direction"].as_s().unwrap() == "inbound")
            .count(),
        1
    );
    app.shutdown().await;
}

/// The `n`th of many customers' first mails.
fn question(n: usize) -> String {
    customer_mail(
        &format!("customer{n}@lovelace.example"),
        &format!("m{n}@lovelace.example"),
        None,
        &format!("Question {n}"),
        "How do I export a board?",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_reads_every_page_skips_our_own_mail_and_survives_an_expired_history() {
    let app = TestApp::spawn_with(local_stack::LocalStackOptions::default().gmail_history_page_size(2)).await;
    let google = app.stack.google();
    // The mailbox's first sync reads its recent mail: five mails whose pushes were lost, and
    // the one whose push arrives.
    google.script(local_stack::google::Script {
        drop_pushes: 5,
        ..Default::default()
    });
    for n in 1..=5 {
        google.deliver(question(n).into_bytes(), "INBOX").await;
    }
    // Our own sent mail in the mailbox is never taken in.
    let own = customer_mail(
        "support@tandem.example",
        "own-1@tandem.example",
        None,
        "Re: Question 1",
        "Hello, use Export.",
    );
    google.deliver(own.into_bytes(), "SENT").await;
    let delivered = google.deliver(question(6).into_bytes(), "INBOX").await;
    assert_eq!(delivered.push.status, Some(200));
    let mut tickets = std::collections::BTreeSet::new();
    for n in 1..=6 {
        tickets.insert(
            ticket_of_mail(
                &app,
                &format!("customer{n}@lovelace.example"),
                &format!("m{n}@lovelace.example"),
            )
            .await,
        );
    }
    assert_eq!(tickets.len(), 6);

    // Later syncs read the history from where the last one stopped, two records a page.
    google.script(local_stack::google::Script {
        drop_pushes: 2,
        ..Default::default()
    });
    for n in 7..=9 {
        google.deliver(question(n).into_bytes(), "INBOX").await;
    }
    for n in 7..=9 {
        ticket_of_mail(
            &app,
            &format!("customer{n}@lovelace.example"),
            &format!("m{n}@lovelace.example"),
        )
        .await;
    }

    // The history id went stale: the sync falls back to recent mail, and takes nothing twice.
    google.script(local_stack::google::Script {
        expire_history: 1,
        ..Default::default()
    });
    assert_eq!(
        google.deliver(question(10).into_bytes(), "INBOX").await.push.status,
        Some(200)
    );
    ticket_of_mail(&app, "customer10@lovelace.example", "m10@lovelace.example").await;
    let inbound = app
        .ticket_table_items("message")
        .await
        .iter()
        .filter(|m| m["direction"].as_s().unwrap() == "inbound")
        .count();
    assert_eq!(inbound, 10, "each mail once, our own none");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_poll_takes_in_mail_whose_push_was_lost_and_renews_the_watch() {
    let app = TestApp::spawn().await;
    let google = app.stack.google();
    assert!(
        deliver_with_lost_push(google, "lost@lovelace.example")
            .await
            .push
            .dropped
    );
    app.stack.run_scheduled("GmailPollerFunction").await.unwrap();
    ticket_of_mail(&app, "ada@lovelace.example", "lost@lovelace.example").await;
    let watches = google.watches();
    assert_eq!(watches.len(), 1, "the watch was renewed");
    assert_eq!(watches[0].topic_name, "projects/tandem-local/topics/support-mailbox");
    // Renewed days ago, it is not renewed again on every poll.
    app.stack.run_scheduled("GmailPollerFunction").await.unwrap();
    assert_eq!(google.watches().len(), 1);
    app.shutdown().await;
}
