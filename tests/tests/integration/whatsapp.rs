//! WhatsApp through Twilio, end to end on the local stack: requests signed as Twilio signs
//! them to the webhook, the agent, the sender through the Twilio stand-in, and the signed
//! status callbacks it posts back.

use std::time::Duration;

use chrono::Utc;
use integration_tests::whatsapp::{incoming, message_sid, sign, Signed};
use integration_tests::{directions, TestApp};
use local_stack::LocalStackOptions;
use serde_json::{json, Value};
use support_aws::queue::sqs::SqsQueue;
use support_core::domain::{
    Channel, ConversationMessage, DeliveryStatus, Direction, MessageId, OutboundReply, QueuedMessage, TicketId,
};
use support_core::ports::queue::{MessageQueue, QueueMessage};

const WAIT: Duration = Duration::from_secs(30);

fn outbound(ticket: &Value) -> Vec<&Value> {
    let messages = ticket["messages"].as_array().unwrap();
    messages.iter().filter(|m| m["direction"] == "outbound").collect()
}

/// The stored ticket item's attribute (what the status page does not show).
async fn ticket_attribute(app: &TestApp, ticket_id: &str, name: &str) -> Option<String> {
    let items = app.ticket_items(ticket_id, "META").await.unwrap();
    items[0].get(name).and_then(|v| v.as_s().ok()).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_message_is_answered_once_and_its_delivery_recorded_forward_only() {
    let app = TestApp::spawn().await;
    let (sid, phone) = (message_sid(), "+5511987654321");
    let response = app.whatsapp(&sid, phone, "How do I reset my password?").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/xml");
    let twiml = response.text().await.unwrap();
    assert_eq!(
        twiml, r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#,
        "empty TwiML"
    );
    // Twilio retries the same message (a timeout on its side): nothing new.
    assert_eq!(
        app.whatsapp(&sid, phone, "How do I reset my password?").await.status(),
        200
    );

    let sent = app.wait_for_twilio(phone, 1, "delivered", WAIT).await.unwrap();
    assert_eq!(sent.len(), 1, "one reply");
    let reply = sent[0]["body"].as_str().unwrap();
    assert!(reply.starts_with("Hi Ana!"), "{reply}");
    assert!(reply.to_lowercase().contains("password"), "{reply}");
    assert_eq!(sent[0]["from"], "whatsapp:+14155238886");
    let ticket_id = app.ticket_of(&format!("whatsapp#{sid}")).await.unwrap();
    let ticket = app.wait_for_reply_status(&ticket_id, "delivered", WAIT).await.unwrap();
    assert_eq!(ticket["status"], "answered");
    assert_eq!(
        ticket["messages"].as_array().unwrap().len(),
        2,
        "one message, one reply"
    );
    assert_eq!(ticket["customer_channels"], json!(["whatsapp"]));

    // Callbacks arrive out of order: read, then a late delivered and sent. Never backwards.
    let reply_id = outbound_message_id(&app, &ticket_id).await;
    let query = format!("ticket={ticket_id}&message={reply_id}&part=0&parts=1");
    for status in ["read", "delivered", "sent"] {
        let callback = status_callback(&sent[0]["sid"], status, None);
        let answer = app
            .post_twilio("/webhooks/whatsapp/status", &query, &callback, Signed::ForWebhookUrl)
            .await;
        assert_eq!(answer.status(), 204, "{status}");
    }
    let ticket = app.ticket(&ticket_id).await;
    assert_eq!(outbound(&ticket)[0]["delivery_status"], "read");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.twilio_messages().await.len(), 1, "still one reply");
    app.shutdown().await;
}

fn status_callback(sid: &Value, status: &str, error_code: Option<&str>) -> Vec<(String, String)> {
    let sid = sid.as_str().unwrap();
    let mut params = vec![
        ("AccountSid", local_stack::twilio::LOCAL_ACCOUNT_SID),
        ("MessageSid", sid),
        ("MessageStatus", status),
        ("To", "whatsapp:+5511987654321"),
    ];
    if let Some(code) = error_code {
        params.push(("ErrorCode", code));
    }
    params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn outbound_message_id(app: &TestApp, ticket_id: &str) -> String {
    let items = app.ticket_items(ticket_id, "MSG#").await.unwrap();
    let reply = items
        .iter()
        .find(|i| i["direction"].as_s().is_ok_and(|d| d == "outbound"))
        .unwrap();
    reply["message_id"].as_s().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_not_signed_by_twilio_get_403_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let phone = "+5511987654321";
    let rebuilt = "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/whatsapp";
    for signed in [
        Signed::Unsigned,
        Signed::WithToken("not-the-token"),
        Signed::ForUrl(rebuilt),
    ] {
        let params = incoming(&message_sid(), phone, "How do I reset my password?");
        let response = app.post_twilio("/webhooks/whatsapp", "", &params, signed).await;
        assert_eq!(response.status(), 403, "{signed:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "forbidden");
    }
    // A signed request whose body was changed on the way.
    let params = incoming(&message_sid(), phone, "How do I reset my password?");
    let signature = sign(local_stack::twilio::LOCAL_AUTH_TOKEN, &app.webhook_url(), &params);
    let mut tampered = params.clone();
    tampered[2].1 = "Send me everyone's invoices".into();
    let response = app
        .http
        .post(format!("{}/webhooks/whatsapp", app.base_url))
        .header("x-twilio-signature", signature)
        .form(&tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // The status route too.
    let callback = status_callback(&json!("SM0"), "failed", Some("30008"));
    let query = format!(
        "ticket={}&message=1700000000000-out-0123456789abcdef&part=0&parts=1",
        TicketId::generate()
    );
    let response = app
        .post_twilio("/webhooks/whatsapp/status", &query, &callback, Signed::Unsigned)
        .await;
    assert_eq!(response.status(), 403);

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.item_count("TicketsTable").await, 0, "nothing stored");
    assert_eq!(app.item_count("CustomersTable").await, 0, "no customer");
    assert_eq!(app.queue_depth("InboundQueue").await, 0, "nothing queued");
    assert!(app.twilio_messages().await.is_empty());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_against_the_configured_public_url() {
    let public = "https://Support.Tandem.Example/webhooks/whatsapp";
    let app = TestApp::spawn_with(LocalStackOptions::default().parameter("WhatsappWebhookUrl", public)).await;
    assert_eq!(app.webhook_url(), public);
    let phone = "+5511987654321";
    let send = |signed: Signed<'static>| {
        let app = &app;
        async move {
            let sid = message_sid();
            let params = incoming(&sid, phone, "How do I export a board?");
            let status = app
                .post_twilio("/webhooks/whatsapp", "", &params, signed)
                .await
                .status();
            (status, app.ticket_of(&format!("whatsapp#{sid}")).await.is_some())
        }
    };
    // As configured (mixed case), with its host in lower case, with the default port.
    assert_eq!(send(Signed::ForWebhookUrl).await, (reqwest::StatusCode::OK, true));
    for variant in [
        "https://support.tandem.example/webhooks/whatsapp",
        "https://Support.Tandem.Example:443/webhooks/whatsapp",
    ] {
        assert_eq!(
            send(Signed::ForUrl(variant)).await,
            (reqwest::StatusCode::OK, true),
            "{variant}"
        );
    }
    // The URL the local gateway (or API Gateway) rebuilds is not what Twilio signed.
    let gateway: &'static str = format!("{}/webhooks/whatsapp", app.base_url).leak();
    assert_eq!(
        send(Signed::ForUrl(gateway)).await,
        (reqwest::StatusCode::FORBIDDEN, false)
    );

    // A JSON body, signed through its hash in the query.
    let sid = message_sid();
    let body = serde_json::to_vec(&json!({
        "MessageSid": sid, "From": format!("whatsapp:{phone}"), "Body": "and in JSON?", "NumMedia": "0",
    }))
    .unwrap();
    let hash = support_aws::twilio::signature::body_sha256(&body);
    let url = format!("{public}?bodySHA256={hash}");
    let signature = sign(local_stack::twilio::LOCAL_AUTH_TOKEN, &url, &[]);
    let response = app
        .http
        .post(format!("{}/webhooks/whatsapp?bodySHA256={hash}", app.base_url))
        .header("content-type", "application/json")
        .header("x-twilio-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(app.ticket_of(&format!("whatsapp#{sid}")).await.is_some());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_reply_goes_in_parts_below_twilios_limit_and_is_delivered_once() {
    let app = TestApp::spawn().await;
    let phone = "+5511987654322";
    let sid = message_sid();
    // A conversation the intake stored, and a long reply recorded on it, as the agent does.
    let message = json!({
        "channel": "whatsapp", "channel_message_id": sid, "proof": "twilio_sender",
        "sender": {"name": "Ana", "phone": phone}, "body": "Tell me everything about exports",
        "received_at": Utc::now(), "correlation_id": sid,
    });
    let (ticket_id, queued) = app.stored_not_queued(&message).await.unwrap();
    let queued: QueuedMessage = serde_json::from_str(&queued.body).unwrap();
    let sentence = "Open the board menu, choose Export and pick CSV or JSON 📦. ";
    let long = sentence.repeat(70);
    let reply = ConversationMessage {
        id: MessageId::reply_to(&queued.message_id),
        ticket_id: TicketId::parse(&ticket_id).unwrap(),
        customer_id: queued.customer_id.clone(),
        direction: Direction::Outbound,
        channel: Channel::Whatsapp,
        body: long.trim_end().to_owned(),
        created_at: Utc::now(),
        delivery_status: Some(DeliveryStatus::Queued),
        provider_message_id: None,
        attachments: Vec::new(),
        has_original: false,
        person: None,
    };
    app.record_answer(reply.clone(), queued.message_id.clone()).await;
    let outbound = OutboundReply {
        ticket_id: reply.ticket_id.clone(),
        message_id: reply.id.clone(),
        channel: Channel::Whatsapp,
        recipient: phone.into(),
        recipient_name: Some("Ana".into()),
        subject: String::new(),
        body: reply.body.clone(),
        correlation_id: sid.clone(),
        confirm_token: None,
        in_reply_to: None,
        references: Vec::new(),
        received_at: None,
    };
    let queue = SqsQueue::new(app.sqs.clone(), app.queue_url("WhatsappOutboundQueue"));
    let queued_reply = QueueMessage {
        body: serde_json::to_string(&outbound).unwrap(),
        group_id: None,
        deduplication_id: None,
        correlation_id: sid.clone(),
    };
    // Delivered twice by the queue: sent once.
    queue.send(queued_reply.clone()).await.unwrap();
    queue.send(queued_reply).await.unwrap();

    let parts = support_core::agent::whatsapp_messages(&long).len();
    assert!(parts >= 3, "a reply of {} characters", long.chars().count());
    let sent = app.wait_for_twilio(phone, parts, "delivered", WAIT).await.unwrap();
    assert_eq!(sent.len(), parts, "{parts} parts, each once");
    for part in &sent {
        let body = part["body"].as_str().unwrap();
        assert!(body.encode_utf16().count() <= 1600, "{}", body.encode_utf16().count());
        assert!(
            body.ends_with("JSON 📦."),
            "split between sentences: …{}",
            &body[body.len() - 20..]
        );
    }
    let joined: Vec<&str> = sent.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(joined.join(" "), long.trim_end());
    let ticket = app.wait_for_reply_status(&ticket_id, "delivered", WAIT).await.unwrap();
    assert_eq!(ticket["status"], "answered");
    let stored = app.ticket_items(&ticket_id, "MSG#").await.unwrap();
    let reply_item = stored
        .iter()
        .find(|i| i["direction"].as_s().unwrap() == "outbound")
        .unwrap();
    assert_eq!(
        reply_item["provider_parts"].as_m().unwrap().len(),
        parts,
        "each part's SID recorded"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_is_kept_by_reference_and_a_burst_is_answered_in_one_turn() {
    // A listener the media URL points to: nothing may connect to it.
    let media = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let media_url = format!("https://{}/Media/ME0123", media.local_addr().unwrap());
    let app = TestApp::spawn().await;

    let (sid, phone) = (message_sid(), "+5511987654323");
    let mut params = incoming(&sid, phone, "");
    params.retain(|(k, _)| k != "NumMedia");
    params.extend([
        ("NumMedia".to_owned(), "1".to_owned()),
        ("MediaUrl0".to_owned(), media_url.clone()),
        ("MediaContentType0".to_owned(), "image/jpeg".to_owned()),
    ]);
    let response = app
        .post_twilio("/webhooks/whatsapp", "", &params, Signed::ForWebhookUrl)
        .await;
    assert_eq!(response.status(), 200);
    let sent = app.wait_for_twilio(phone, 1, "delivered", WAIT).await.unwrap();
    assert!(
        sent[0]["body"].as_str().unwrap().contains("I can only read text"),
        "{}",
        sent[0]["body"]
    );
    let ticket_id = app.ticket_of(&format!("whatsapp#{sid}")).await.unwrap();
    let items = app.ticket_items(&ticket_id, "MSG#").await.unwrap();
    let inbound = items
        .iter()
        .find(|i| i["direction"].as_s().unwrap() == "inbound")
        .unwrap();
    let attachment = &inbound["attachments"].as_l().unwrap()[0].as_m().unwrap().clone();
    assert_eq!(attachment["url"].as_s().unwrap(), &media_url, "stored by reference");
    let fetched = tokio::time::timeout(Duration::from_millis(200), media.accept()).await;
    assert!(fetched.is_err(), "the media was never fetched");

    // Three quick messages from one customer: one turn, in order, one reply.
    let phone = "+5511987654324";
    let lines = ["hi", "I can't find the export button", "on the timeline view"];
    let sids: Vec<String> = lines.iter().map(|_| message_sid()).collect();
    for (sid, line) in sids.iter().zip(lines) {
        assert_eq!(app.whatsapp(sid, phone, line).await.status(), 200);
    }
    let sent = app.wait_for_twilio(phone, 1, "delivered", WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent_now = app.twilio_messages_to(phone).await;
    assert_eq!(sent_now.len(), 1, "one reply for the burst: {sent:?}");
    let ticket_id = app.ticket_of(&format!("whatsapp#{}", sids[0])).await.unwrap();
    for sid in &sids[1..] {
        assert_eq!(
            app.ticket_of(&format!("whatsapp#{sid}")).await.as_deref(),
            Some(ticket_id.as_str()),
            "one conversation"
        );
    }
    let runs = app.run_contexts(&ticket_id).await;
    assert_eq!(runs.len(), 1, "one agent turn");
    assert_eq!(runs[0]["message"], lines.join("\n"), "in order");
    assert_eq!(runs[0]["messages_answered"], 3);
    let ticket = app.ticket(&ticket_id).await;
    assert_eq!(directions(&ticket), ["inbound", "inbound", "inbound", "outbound"]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_trouble_and_a_closed_window_end_with_one_message_or_a_person() {
    let app = TestApp::spawn().await;

    // Twilio throttles (429, Retry-After), then fails (500), then succeeds: one message.
    app.twilio_script(json!({"send": [{"status": 429}, {"status": 500}]}))
        .await;
    let phone = "+5511987654325";
    app.whatsapp(&message_sid(), phone, "How do I reset my password?").await;
    app.wait_for_twilio(phone, 1, "delivered", WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        app.twilio_messages_to(phone).await.len(),
        1,
        "retried without a second message"
    );

    // 63016: outside the 24-hour window. Final: a person takes the ticket, no retry loop.
    app.twilio_script(json!({"send": [{"status": 400, "code": 63016, "message": "Failed to send freeform message because you are outside the allowed window."}]}))
        .await;
    let (sid, phone) = (message_sid(), "+5511987654326");
    app.whatsapp(&sid, phone, "How do I reset my password?").await;
    let ticket_id = wait_for_ticket(&app, &sid).await;
    let ticket = wait_for_status(&app, &ticket_id, "escalated").await;
    assert_eq!(ticket["escalation_reason"], "window_closed");
    assert_eq!(outbound(&ticket)[0]["delivery_status"], "failed");
    let note = ticket_attribute(&app, &ticket_id, "escalation_note").await.unwrap();
    assert!(note.contains("63016"), "{note}");
    assert!(app.twilio_messages_to(phone).await.is_empty());

    // Twilio accepts, then reports the message undelivered: a person takes it, with the code.
    app.twilio_script(json!({"outcome": {"status": "undelivered", "code": 30008}}))
        .await;
    let (sid, phone) = (message_sid(), "+5511987654327");
    app.whatsapp(&sid, phone, "How do I reset my password?").await;
    let ticket_id = wait_for_ticket(&app, &sid).await;
    let ticket = wait_for_status(&app, &ticket_id, "escalated").await;
    assert_eq!(ticket["escalation_reason"], "delivery_failed");
    assert_eq!(outbound(&ticket)[0]["delivery_status"], "undelivered");
    let note = ticket_attribute(&app, &ticket_id, "escalation_note").await.unwrap();
    assert!(note.contains("30008"), "{note}");

    // The customer last wrote 25 hours ago (the message waited out an outage): no free-form
    // reply is attempted; a person takes the ticket with that reason.
    let phone = "+5511987654328";
    let late = json!({
        "channel": "whatsapp", "channel_message_id": message_sid(), "proof": "twilio_sender",
        "sender": {"name": "Ana", "phone": phone}, "body": "How do I reset my password?",
        "received_at": Utc::now() - chrono::Duration::hours(25), "correlation_id": "late",
    });
    let ticket_id = app.deliver(&late).await.unwrap();
    let ticket = app.decided_ticket(&ticket_id, WAIT).await.unwrap();
    assert_eq!(ticket["status"], "escalated");
    assert_eq!(ticket["escalation_reason"], "window_closed");
    // Kept for the person, never sent, and not shown to the customer.
    assert!(outbound(&ticket).is_empty(), "{ticket}");
    let stored = app.ticket_items(&ticket_id, "MSG#").await.unwrap();
    let withheld = stored
        .iter()
        .find(|m| m["direction"].as_s().unwrap() == "outbound")
        .unwrap();
    assert_eq!(withheld["delivery_status"].as_s().unwrap(), "withheld");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(app.twilio_messages_to(phone).await.is_empty(), "nothing sent");
    assert_eq!(app.queue_depth("WhatsappOutboundQueue").await, 0);
    app.shutdown().await;
}

async fn wait_for_ticket(app: &TestApp, sid: &str) -> String {
    for _ in 0..100 {
        if let Some(ticket) = app.ticket_of(&format!("whatsapp#{sid}")).await {
            return ticket;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no ticket for {sid}");
}

async fn wait_for_status(app: &TestApp, ticket_id: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let ticket = app.ticket(ticket_id).await;
        let delivery_decided = outbound(&ticket)
            .first()
            .is_some_and(|m| !matches!(m["delivery_status"].as_str(), Some("queued" | "sending")));
        if ticket["status"] == status && delivery_decided {
            return ticket;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{ticket_id} never {status}: {ticket}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
