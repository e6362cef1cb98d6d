//! Driving the WhatsApp channel as Twilio does: signed webhook requests to the local
//! stack's gateway, and what the local Twilio stand-in was asked to send.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use local_stack::twilio::LOCAL_AUTH_TOKEN;
use serde_json::Value;
use support_aws::twilio::signature::RequestValidator;

use crate::TestApp;

/// A Twilio message SID: `SM` and 32 hex digits.
pub fn message_sid() -> String {
    format!("SM{}", uuid::Uuid::new_v4().simple())
}

/// How a test request is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed<'a> {
    /// As Twilio signs it: for the URL the stack verifies against.
    ForWebhookUrl,
    /// For another URL (what a gateway rebuilds, another host).
    ForUrl(&'a str),
    /// With another auth token.
    WithToken(&'a str),
    Unsigned,
}

/// The parameters of an incoming WhatsApp text message, as Twilio posts them.
pub fn incoming(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", local_stack::twilio::LOCAL_ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("Body", body),
        ("From", &format!("whatsapp:{from}")),
        ("MessageSid", sid),
        ("NumMedia", "0"),
        ("ProfileName", "Ana Souza"),
        ("SmsMessageSid", sid),
        ("To", "whatsapp:+14155238886"),
        ("WaId", from.trim_start_matches('+')),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl TestApp {
    /// The public URL of `POST /webhooks/whatsapp` the stack verifies signatures against.
    pub fn webhook_url(&self) -> String {
        self.stack
            .environment("WhatsappWebhookFunction")
            .and_then(|env| env.get("TWILIO_WEBHOOK_URL"))
            .cloned()
            .expect("the webhook is configured")
    }

    /// POSTs `params` as a form to the gateway's `path` (with `query`), signed as asked for
    /// the public URL of that path.
    pub async fn post_twilio(
        &self,
        path: &str,
        query: &str,
        params: &[(String, String)],
        signed: Signed<'_>,
    ) -> reqwest::Response {
        let route = path.strip_prefix("/webhooks/whatsapp").expect("a WhatsApp route");
        let with_query = |base: &str| match query {
            "" => format!("{base}{route}"),
            q => format!("{base}{route}?{q}"),
        };
        let public = with_query(&self.webhook_url());
        let signature = match signed {
            Signed::ForWebhookUrl => Some(sign(LOCAL_AUTH_TOKEN, &public, params)),
            Signed::ForUrl(url) => Some(sign(LOCAL_AUTH_TOKEN, url, params)),
            Signed::WithToken(token) => Some(sign(token, &public, params)),
            Signed::Unsigned => None,
        };
        let mut request = self
            .http
            .post(with_query(&format!("{}/webhooks/whatsapp", self.base_url)))
            .header("i-twilio-idempotency-token", uuid::Uuid::new_v4().to_string())
            .form(params);
        if let Some(signature) = signature {
            request = request.header("x-twilio-signature", signature);
        }
        request.send().await.expect("the gateway answers")
    }

    /// A WhatsApp text message, signed as Twilio signs it.
    pub async fn whatsapp(&self, sid: &str, from: &str, body: &str) -> reqwest::Response {
        self.post_twilio(
            "/webhooks/whatsapp",
            "",
            &incoming(sid, from, body),
            Signed::ForWebhookUrl,
        )
        .await
    }

    /// What the Twilio stand-in was asked to send, oldest first.
    pub async fn twilio_messages(&self) -> Vec<Value> {
        let response = self
            .get(&format!("{}/messages", local_stack::TWILIO_STAND_IN_PATH))
            .await;
        response.json().await.expect("a JSON list")
    }

    /// What the stand-in was asked to send to `phone`, oldest first.
    pub async fn twilio_messages_to(&self, phone: &str) -> Vec<Value> {
        let to = format!("whatsapp:{phone}");
        let all = self.twilio_messages().await;
        all.into_iter().filter(|m| m["to"] == to).collect()
    }

    /// Scripts the stand-in's next answers (see `local_stack::twilio`).
    pub async fn twilio_script(&self, script: Value) {
        let response = self
            .http
            .post(format!("{}{}/script", self.base_url, local_stack::TWILIO_STAND_IN_PATH))
            .json(&script)
            .send()
            .await
            .expect("the stand-in answers");
        assert_eq!(response.status(), 204);
    }

    /// Waits until the stand-in holds `count` messages to `to` whose last status is `status`.
    pub async fn wait_for_twilio(&self, to: &str, count: usize, status: &str, timeout: Duration) -> Result<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        loop {
            let sent = self.twilio_messages_to(to).await;
            if sent.len() >= count && sent.iter().all(|m| m["status"] == status) {
                return Ok(sent);
            }
            if Instant::now() > deadline {
                bail!("no {count} {status} messages to {to} within {timeout:?}: {sent:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub fn sign(token: &str, url: &str, params: &[(String, String)]) -> String {
    RequestValidator::new(token.to_owned().into()).signature(url, params)
}

impl TestApp {
    /// The ticket an inbound message went to, by its idempotency key (`whatsapp#<MessageSid>`).
    pub async fn ticket_of(&self, key: &str) -> Option<String> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(self.table_name("TicketsTable"))
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("INBOUND#{key}")),
            )
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("META".into()))
            .consistent_read(true)
            .send()
            .await
            .expect("moto answers");
        out.item()
            .and_then(|item| item.get("ticket_id"))
            .and_then(|v| v.as_s().ok())
            .cloned()
    }

    /// What the agent recorded for each turn on the ticket: the context a person taking
    /// over sees (customer, message, history, what the customer was told).
    pub async fn run_contexts(&self, ticket_id: &str) -> Vec<Value> {
        let runs = self.ticket_items(ticket_id, "RUN#").await.expect("moto answers");
        runs.iter()
            .map(|run| crate::json_attribute(run, "context").expect("JSON"))
            .collect()
    }

    /// Waits until the ticket's reply reached `status` (the stand-in's callbacks).
    pub async fn wait_for_reply_status(&self, ticket_id: &str, status: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let ticket = self.ticket(ticket_id).await;
            let replied = ticket["messages"]
                .as_array()
                .and_then(|m| m.iter().rev().find(|m| m["direction"] == "outbound"))
                .is_some_and(|m| m["delivery_status"] == status);
            if replied {
                return Ok(ticket);
            }
            if Instant::now() > deadline {
                bail!("no {status} reply on {ticket_id} within {timeout:?}: {ticket}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
