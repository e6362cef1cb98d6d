//! A form submitted to the local stack ends as a stored reply, emailed through SES.

use std::time::Duration;

use integration_tests::{valid_form, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_form_gets_a_stored_and_emailed_reply() {
    let app = TestApp::spawn().await;
    let response = app.submit(&valid_form()).await;
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    let ticket_id = created["ticket_id"].as_str().unwrap();
    assert!(created["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(created["estimated_response_time"].as_str().is_some());

    // Right away the status page shows the customer's message on an open ticket.
    let ticket = app.ticket(ticket_id).await;
    assert_eq!(ticket["messages"][0]["direction"], "inbound");
    assert_eq!(
        ticket["messages"][0]["body"],
        "How do I invite a teammate to my workspace?"
    );

    let ticket = app
        .wait_for_sent_reply(ticket_id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(ticket["status"], "answered");
    assert_eq!(ticket["escalation_reason"], serde_json::Value::Null);
    let messages = ticket["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    let reply = messages[1]["body"].as_str().unwrap();
    assert!(reply.starts_with("Hello Maya,"), "{reply}");
    assert!(
        reply.to_lowercase().contains("invite"),
        "the answer comes from the knowledge base: {reply}"
    );
    assert!(reply.contains(ticket_id), "{reply}");

    let ses_ids = app.reply_provider_ids(ticket_id).await.unwrap();
    assert!(matches!(ses_ids.as_slice(), [Some(id)] if !id.is_empty()));
    let mails = app.sent_emails().await.unwrap();
    assert_eq!(mails.len(), 1, "exactly one email");
    let mail = &mails[0];
    assert!(mail.contains("maya@northwind.example"), "{mail}");
    assert!(mail.contains(&format!("Re: Invite a teammate [{ticket_id}]")), "{mail}");
    assert!(mail.contains("Hello Maya,"), "{mail}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legal_threat_is_escalated_with_an_honest_handoff() {
    let app = TestApp::spawn().await;
    let mut form = valid_form();
    form["subject"] = "Data loss".into();
    form["message"] = "You lost my boards. My lawyer will be in touch unless this is fixed today.".into();
    let ticket_id = app.submit_ok(&form).await;
    let ticket = app
        .wait_for_sent_reply(&ticket_id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(ticket["status"], "escalated");
    assert_eq!(ticket["escalation_reason"], "legal");
    let reply = ticket["messages"][1]["body"].as_str().unwrap();
    assert!(
        !reply.contains("legal"),
        "the reason code is not shown to the customer: {reply}"
    );
    assert!(reply.contains("passed your message to a member of our team"), "{reply}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_address_is_only_a_claim_and_a_proven_one_is_one_customer() {
    let app = TestApp::spawn().await;
    let first = app.submit_ok(&valid_form()).await;
    let mut again = valid_form();
    again["email"] = "MAYA@Northwind.example".into();
    let second = app.submit_ok(&again).await;
    assert_ne!(first, second);
    app.wait_for_sent_reply(&second, Duration::from_secs(20)).await.unwrap();
    // Typed into a form, the address proves nothing: no customer is created or matched.
    assert_eq!(app.item_count("CustomersTable").await, 0);
    // Proven by the mailbox (an authenticated email), twice in two cases: one customer.
    for (id, address) in [("m-1", "maya@northwind.example"), ("m-2", "MAYA@Northwind.example")] {
        let message = serde_json::json!({
            "channel": "email", "channel_message_id": id, "proof": "mailbox_authentication",
            "sender": {"name": "Maya Lin", "email": address}, "subject": "Invite", "body": "How do I invite a teammate?",
            "received_at": chrono::Utc::now(), "correlation_id": id,
        });
        app.deliver(&message).await.unwrap();
    }
    // One profile and one email identity: the address matched case-insensitively.
    assert_eq!(app.item_count("CustomersTable").await, 2);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_malformed_ticket_ids_are_not_found() {
    let app = TestApp::spawn().await;
    for id in [
        "tkt_00000000000000000000000000000000",
        "nope",
        "tkt_%2e%2e",
        "TKT_00000000000000000000000000000000",
    ] {
        let response = app.get(&format!("/support/ticket/{id}")).await;
        assert_eq!(response.status(), 404, "{id}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
    }
    let health = app.get("/health").await;
    assert_eq!(health.status(), 200);
    app.shutdown().await;
}

/// Posts a follow-up to a ticket from its status page.
async fn follow_up(app: &TestApp, ticket_id: &str, message: &str, key: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/support/ticket/{ticket_id}/messages", app.base_url))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(serde_json::json!({ "message": message }).to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_from_the_status_page_reopens_the_ticket_and_is_answered_once() {
    let app = TestApp::spawn().await;
    let ticket_id = app.submit_ok(&valid_form()).await;
    app.wait_for_sent_reply(&ticket_id, Duration::from_secs(20))
        .await
        .unwrap();

    let question = "Thanks! And how do I remove a teammate from the workspace?";
    let response = follow_up(&app, &ticket_id, question, "follow-up-0001").await;
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["ticket_id"], ticket_id.as_str());
    // A retry with the same key adds nothing.
    let again = follow_up(&app, &ticket_id, question, "follow-up-0001").await;
    assert_eq!(again.status(), 200);

    let ticket = app
        .ticket_until(&ticket_id, |t| {
            t["messages"].as_array().unwrap().len() >= 4 && t["status"] != "open"
        })
        .await;
    let messages = ticket["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4, "the follow-up once, and its answer: {ticket}");
    assert_eq!(messages[2]["direction"], "inbound");
    assert_eq!(messages[2]["body"], question);
    assert_eq!(messages[3]["direction"], "outbound");
    assert!(
        messages[3]["body"].as_str().unwrap().starts_with("Hello Maya,"),
        "{ticket}"
    );

    // The answer is emailed to the address the ticket was opened with, in the same thread.
    let mails = app.wait_for_emails(2).await;
    assert!(mails[1].contains("maya@northwind.example"), "{}", mails[1]);
    assert!(mails[1].contains(&format!("[{ticket_id}]")), "{}", mails[1]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_follow_up_gets_a_clear_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let ticket_id = app.submit_ok(&valid_form()).await;
    let before = app.ticket(&ticket_id).await["messages"].as_array().unwrap().len();

    let short = follow_up(&app, &ticket_id, "thanks", "follow-up-0002").await;
    assert_eq!(short.status(), 422);
    let body: serde_json::Value = short.json().await.unwrap();
    assert_eq!(body["error"], "validation_failed");
    assert_eq!(body["errors"][0]["field"], "message");

    let unknown = follow_up(
        &app,
        "tkt_00000000000000000000000000000000",
        "Is anyone reading this ticket?",
        "follow-up-0003",
    )
    .await;
    assert_eq!(unknown.status(), 404);

    let not_json = app
        .post(
            &format!("/support/ticket/{ticket_id}/messages"),
            "application/json",
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(not_json.status(), 400);

    let bad_key = app
        .http
        .post(format!("{}/support/ticket/{ticket_id}/messages", app.base_url))
        .header("content-type", "application/json")
        .header("idempotency-key", "no spaces allowed")
        .body(serde_json::json!({ "message": "Is anyone reading this ticket?" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(bad_key.status(), 400);

    let after = app.ticket(&ticket_id).await["messages"].as_array().unwrap().len();
    assert!(after <= before + 1, "only the agent's reply may have arrived meanwhile");
    let inbound = app.ticket(&ticket_id).await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .count();
    assert_eq!(inbound, 1);

    // A web form message is stored as written: there is no other original of it.
    let first = app.ticket(&ticket_id).await["messages"][0]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let original = app
        .get(&format!("/support/ticket/{ticket_id}/messages/{first}/original"))
        .await;
    assert_eq!(original.status(), 404);
    app.shutdown().await;
}
