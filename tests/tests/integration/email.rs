//! The email channel: SES's bounces and complaints (published to the template's topic),
//! and the customer's mail through the Gmail stand-in.

use std::time::{Duration, Instant};

use integration_tests::{valid_form, TestApp};
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

/// Polls the ticket until `done` holds.
async fn ticket_until(app: &TestApp, id: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ticket = app.ticket(id).await;
        if done(&ticket) {
            return ticket;
        }
        assert!(Instant::now() < deadline, "timed out: {ticket}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounce_hands_the_ticket_to_a_person_and_stops_further_mail() {
    let app = TestApp::spawn().await;
    let ticket_id = app.submit_ok(&valid_form()).await;
    app.wait_for_sent_reply(&ticket_id, Duration::from_secs(20))
        .await
        .unwrap();
    let ses_id = app.reply_provider_ids(&ticket_id).await.unwrap()[0].clone().unwrap();

    app.stack
        .publish(
            "MailEventsTopic",
            &ses_event("Bounce", &ses_id, "maya@northwind.example"),
        )
        .await
        .unwrap();
    let ticket = ticket_until(&app, &ticket_id, |t| t["status"] == "escalated").await;
    assert_eq!(ticket["escalation_reason"], "delivery_failed");
    assert_eq!(ticket["messages"][1]["delivery_status"], "undelivered");
    let meta = &app.ticket_items(&ticket_id, "META").await.unwrap()[0];
    let note = meta["escalation_note"].as_s().unwrap();
    assert!(note.contains("550 5.1.1 user unknown"), "the person sees why: {note}");

    // Another request from the address is answered on the ticket, but not mailed.
    let mut again = valid_form();
    again["subject"] = "Export a board".into();
    again["message"] = "How do I export a board to CSV?".into();
    let second = app.submit_ok(&again).await;
    let ticket = ticket_until(&app, &second, |t| {
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
    let ticket_id = app.submit_ok(&valid_form()).await;
    app.wait_for_sent_reply(&ticket_id, Duration::from_secs(20))
        .await
        .unwrap();
    let ses_id = app.reply_provider_ids(&ticket_id).await.unwrap()[0].clone().unwrap();

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
    let ticket = ticket_until(&app, &ticket_id, |t| t["status"] == "escalated").await;
    assert_eq!(ticket["escalation_reason"], "delivery_failed");
    app.shutdown().await;
}
