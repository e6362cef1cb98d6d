//! Identity is proven, not claimed. A WhatsApp number reaches a customer's history only when
//! a one-time code emailed to the customer's address comes back on it; an address typed into
//! the form or on WhatsApp opens nobody's history, and joins its customer only when the
//! link emailed to it is followed.

use std::sync::LazyLock;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use integration_tests::whatsapp::message_sid;
use integration_tests::{valid_form, TestApp};
use regex::Regex;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);
const BOB: &str = "bob@stone.example";
const BOBS_QUESTION: &str = "My March invoice shows 14 seats but we only have 12 people on the workspace.";

static CODE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^(\d{6})\r?$").unwrap());

/// Bob, proven by his mailbox (the email channel passes DMARC), wrote in before.
async fn bob_wrote_in(app: &TestApp) -> String {
    let message = json!({
        "channel": "email", "channel_message_id": "gmail-bob-1", "proof": "mailbox_authentication",
        "sender": {"name": "Bob Stone", "email": BOB}, "subject": "Invoice seats",
        "body": BOBS_QUESTION, "received_at": Utc::now(), "correlation_id": "bob-1",
    });
    let ticket = app.deliver(&message).await.unwrap();
    app.decided_ticket(&ticket, WAIT).await.unwrap();
    owner(app, &format!("EMAIL#{BOB}")).await.expect("Bob is a customer")
}

async fn owner(app: &TestApp, identity: &str) -> Option<String> {
    let out = app
        .dynamodb
        .get_item()
        .table_name(app.table_name("CustomersTable"))
        .key("pk", AttributeValue::S(identity.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item()
        .and_then(|i| i.get("customer_id"))
        .and_then(|v| v.as_s().ok())
        .cloned()
}

/// Sends a WhatsApp message and returns the agent's answer, once delivered.
async fn say(app: &TestApp, phone: &str, text: &str) -> (String, String) {
    let before = app.twilio_messages_to(phone).await.len();
    let sid = message_sid();
    assert_eq!(app.whatsapp(&sid, phone, text).await.status(), 200);
    let sent = app.wait_for_twilio(phone, before + 1, "delivered", WAIT).await.unwrap();
    let ticket = app.ticket_of(&format!("whatsapp#{sid}")).await.unwrap();
    (sent[before]["body"].as_str().unwrap().to_owned(), ticket)
}

/// The code in the latest email to `address` (moto's SES keeps what it sent).
async fn emailed_code(app: &TestApp, address: &str) -> String {
    for _ in 0..100 {
        let mails = app.sent_emails().await.unwrap();
        let latest = mails
            .iter()
            .rev()
            .find(|m| m.contains(address) && m.contains("Your Tandem verification code"));
        if let Some(code) = latest.and_then(|m| CODE.captures(m)) {
            return code[1].to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no code was emailed to {address}");
}

fn history_of(contexts: &[Value]) -> String {
    contexts
        .iter()
        .map(|c| c["history"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_is_linked_only_by_the_code_that_came_back_and_then_sees_every_channel() {
    let app = TestApp::spawn().await;
    let bob = bob_wrote_in(&app).await;
    let phone = "+5511987650001";

    let (answer, ticket) = say(&app, phone, &format!("my email is {BOB}")).await;
    assert!(answer.contains("6-digit code"), "{answer}");
    let code = emailed_code(&app, BOB).await;
    // Nothing of Bob's was in front of the agent.
    let contexts = app.run_contexts(&ticket).await;
    assert!(!history_of(&contexts).contains("March invoice"), "{contexts:?}");
    assert_ne!(owner(&app, &format!("PHONE#{phone}")).await, Some(bob.clone()));

    let wrong = format!("{}{}", (code.as_bytes()[0] - b'0' + 1) % 10, &code[1..]);
    let (answer, _) = say(&app, phone, &wrong).await;
    assert!(answer.contains("doesn't match"), "{answer}");
    assert!(answer.contains("4 more tries"), "{answer}");
    assert_ne!(
        owner(&app, &format!("PHONE#{phone}")).await,
        Some(bob.clone()),
        "a wrong code links nothing"
    );

    let (answer, _) = say(&app, phone, &code).await;
    assert!(answer.contains("now linked"), "{answer}");
    assert_eq!(
        owner(&app, &format!("PHONE#{phone}")).await,
        Some(bob.clone()),
        "linked to Bob"
    );
    let profile = app
        .dynamodb
        .get_item()
        .table_name(app.table_name("CustomersTable"))
        .key("pk", AttributeValue::S(format!("CUSTOMER#{bob}")))
        .send()
        .await
        .unwrap();
    let identities = profile.item().unwrap()["identities"].as_l().unwrap();
    let linked = identities
        .iter()
        .map(|i| i.as_m().unwrap())
        .find(|i| i["identity"].as_s().unwrap() == &format!("PHONE#{phone}"))
        .expect("the link is recorded on Bob");
    assert_eq!(
        linked["proof"].as_s().unwrap(),
        "one_time_code",
        "with how it was proven"
    );
    assert_eq!(linked["via"].as_s().unwrap(), &format!("EMAIL#{BOB}"));

    // Now the agent sees Bob's history from every channel, and the ticket shows his channels.
    let (_, ticket) = say(&app, phone, "what did I ask you about my invoice?").await;
    let contexts = app.run_contexts(&ticket).await;
    assert!(history_of(&contexts).contains("March invoice"), "{contexts:?}");
    let view = app.ticket(&ticket).await;
    assert_eq!(view["customer_channels"], json!(["email", "whatsapp"]));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_links_nothing() {
    let app = TestApp::spawn().await;
    let bob = bob_wrote_in(&app).await;
    let phone = "+5511987650002";
    say(&app, phone, BOB).await;
    let code = emailed_code(&app, BOB).await;
    // Ten minutes later.
    let customer = owner(&app, &format!("PHONE#{phone}")).await.unwrap();
    let expired = (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    app.dynamodb
        .update_item()
        .table_name(app.table_name("TicketsTable"))
        .key("pk", AttributeValue::S(format!("VERIFY#{customer}")))
        .key("sk", AttributeValue::S("META".into()))
        .update_expression("SET code_expires_at = :expired")
        .expression_attribute_values(":expired", AttributeValue::S(expired))
        .send()
        .await
        .unwrap();
    let (answer, _) = say(&app, phone, &code).await;
    assert!(answer.contains("expired"), "{answer}");
    assert_eq!(owner(&app, &format!("PHONE#{phone}")).await, Some(customer));
    assert_ne!(owner(&app, &format!("PHONE#{phone}")).await, Some(bob));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_typed_into_the_form_shows_nobody_elses_history() {
    let app = TestApp::spawn().await;
    let bob = bob_wrote_in(&app).await;
    let customers_before = app.item_count("CustomersTable").await;
    // The outside probe: the form submitted as BOB@, asking what "I" asked before.
    let mut probe = valid_form();
    probe["email"] = BOB.to_uppercase().into();
    probe["subject"] = "My previous question".into();
    probe["message"] = "Remind me what I asked you last time, I forgot the details.".into();
    let ticket = app.submit_ok(&probe).await;
    let view = app.wait_for_sent_reply(&ticket, WAIT).await.unwrap();
    let contexts = app.run_contexts(&ticket).await;
    let history = history_of(&contexts);
    assert!(
        !history.contains("March invoice"),
        "the model never sees Bob's history: {history}"
    );
    assert!(history.contains("Remind me what I asked"), "{history}");
    let shown: String = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(
        !shown.contains("March invoice") && !shown.contains("14 seats"),
        "{shown}"
    );
    assert_eq!(view["customer_channels"], json!([]), "an unproven claim");
    // Bob's record is untouched: the claim merged nothing.
    assert_eq!(app.item_count("CustomersTable").await, customers_before);
    assert_ne!(contexts[0]["customer"]["id"], json!(bob));
    app.shutdown().await;
}

/// The confirmation link in the latest email to `address` (quoted-printable undone).
async fn emailed_link(app: &TestApp, address: &str) -> String {
    static LINK: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(http://\S+/support/confirm/\S+\?token=[0-9a-f]+)").unwrap());
    for _ in 0..100 {
        let mails = app.sent_emails().await.unwrap();
        let unfolded: Vec<String> = mails
            .iter()
            .filter(|m| m.to_lowercase().contains(address))
            .map(|m| m.replace("=\r\n", "").replace("=3D", "="))
            .collect();
        if let Some(link) = unfolded.iter().rev().find_map(|m| LINK.captures(m)) {
            return link[1].to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no confirmation link was emailed to {address}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_address_joins_its_customer_only_through_the_link_emailed_to_it() {
    let app = TestApp::spawn().await;
    let bob = bob_wrote_in(&app).await;
    let mut form = valid_form();
    form["email"] = BOB.into();
    form["subject"] = "Exports".into();
    form["message"] = "How do I export a board to CSV for our finance team?".into();
    let ticket = app.submit_ok(&form).await;
    let view = app.wait_for_sent_reply(&ticket, WAIT).await.unwrap();
    assert_eq!(view["customer_channels"], json!([]), "claimed, not proven");
    let link = emailed_link(&app, BOB).await;
    assert!(link.contains(&ticket), "{link}");
    assert!(
        !view.to_string().contains("/support/confirm"),
        "the link is in the email only, never on the page"
    );

    // A wrong token confirms nothing.
    let wrong = app.http.get(link.replace("token=", "token=0")).send().await.unwrap();
    assert_eq!(wrong.status(), 404);
    assert_eq!(app.ticket(&ticket).await["customer_channels"], json!([]));

    // Bob follows the link (twice: a mail scanner opened it first).
    for _ in 0..2 {
        let page = app.http.get(&link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("your address is confirmed"));
    }
    assert_eq!(app.ticket(&ticket).await["customer_channels"], json!(["email"]));
    let meta = app.ticket_items(&ticket, "META").await.unwrap();
    assert_eq!(meta[0]["customer_id"].as_s().unwrap(), &bob, "the ticket is Bob's now");
    assert!(!meta[0].contains_key("address_claim"), "the claim is done");

    // Bob writes again: the agent sees the form's conversation among his history.
    let again = json!({
        "channel": "email", "channel_message_id": "gmail-bob-2", "proof": "mailbox_authentication",
        "sender": {"name": "Bob Stone", "email": BOB}, "subject": "Exports again",
        "body": "And can the CSV include archived cards?", "received_at": Utc::now(), "correlation_id": "bob-2",
    });
    let next = app.deliver(&again).await.unwrap();
    app.decided_ticket(&next, WAIT).await.unwrap();
    let history = history_of(&app.run_contexts(&next).await);
    assert!(history.contains("export a board to CSV"), "{history}");
    app.shutdown().await;
}
