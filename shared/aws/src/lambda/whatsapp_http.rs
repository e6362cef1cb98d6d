//! Twilio's WhatsApp webhook: incoming messages (through the intake) and the delivery
//! status callbacks of our replies. Every request must carry Twilio's signature for the
//! configured public URL (not the URL API Gateway rebuilds), or it gets a 403 and nothing
//! is stored. Requests are dispatched on the API Gateway route key ([`ROUTES`], the ones
//! template.yaml declares; a test holds the two together).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use lambda_http::{Body, Request, Response};
use support_core::delivery::whatsapp::{record_status, StatusReport};
use support_core::domain::{MessageId, TicketId};
use support_core::intake::Intake;
use support_core::ports::team::TeamAlert;
use support_core::ports::tickets::DeliveryLog;

use super::http::{self, body_bytes, error, media_type, route_key, unavailable};
use crate::config::status_callback_url;
use crate::twilio::delivery_status;
use crate::twilio::inbound::{inbound_message, Refusal};
use crate::twilio::signature::RequestValidator;

pub const INCOMING: &str = "POST /webhooks/whatsapp";
pub const STATUS: &str = "POST /webhooks/whatsapp/status";
/// The route keys this function serves: template.yaml's `HttpApi` events of the function.
pub const ROUTES: &[&str] = &[INCOMING, STATUS];

/// Twilio's webhook bodies are a few kilobytes; anything far larger is not Twilio's.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// A reply split into more parts than this is not one of ours.
const MAX_PARTS: usize = 100;

pub struct WhatsappWebhook {
    intake: Intake,
    deliveries: Arc<dyn DeliveryLog>,
    validator: RequestValidator,
    /// The public URL of the incoming route, as configured at Twilio.
    webhook_url: String,
    /// Told when Twilio reports a reply undelivered.
    team: TeamAlert,
}

/// TwiML: nothing to say (the agent answers through the API), or a reply Twilio sends.
fn twiml(message: Option<&str>) -> Response<Body> {
    let inner = message.map_or_else(String::new, |text| format!("<Message>{}</Message>", xml_text(text)));
    Response::builder()
        .status(200)
        .header("content-type", "text/xml")
        .body(Body::Text(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{inner}</Response>"
        )))
        .expect("status and headers are valid")
}

/// Our own sentences as XML text: they hold no markup, but `&`, `<` and `>` would need it.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl WhatsappWebhook {
    pub fn new(
        intake: Intake,
        deliveries: Arc<dyn DeliveryLog>,
        validator: RequestValidator,
        webhook_url: String,
        team: TeamAlert,
    ) -> Self {
        Self {
            intake,
            deliveries,
            validator,
            webhook_url,
            team,
        }
    }

    /// Answers one HTTP request from Twilio. A request that is not Twilio's gets a 403 and
    /// changes nothing; bad input gets a 4xx (or, from a customer, a polite reply) and
    /// stores nothing; infrastructure trouble before anything was stored gets a 503, which
    /// Twilio retries.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        http::counted(self.answer(request).await)
    }

    async fn answer(&self, request: Request) -> Response<Body> {
        let url = match route_key(&request).as_str() {
            INCOMING => self.webhook_url.clone(),
            STATUS => status_callback_url(&self.webhook_url),
            // API Gateway routes only the template's routes here.
            _ => return error(404, "not_found", "No such route"),
        };
        let params = match self.signed_params(&request, &url) {
            Ok(params) => params,
            Err(refused) => return refused,
        };
        let token = request
            .headers()
            .get("i-twilio-idempotency-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if route_key(&request) == STATUS {
            return self.status(&request, &params, token).await;
        }
        match inbound_message(&params, Utc::now()) {
            Ok(message) => {
                let sid = message.channel_message_id.clone();
                match self.intake.accept(message).await {
                    Ok(accepted) => {
                        tracing::info!(ticket_id = %accepted.ticket_id, message_sid = %sid, idempotency_token = token, replay = accepted.replay, "WhatsApp message");
                        twiml(None)
                    }
                    Err(e) => unavailable(&e, "Not stored: send it again."),
                }
            }
            Err(Refusal::Answer(text)) => {
                tracing::info!(
                    idempotency_token = token,
                    "a WhatsApp message that cannot be taken: answered, not stored"
                );
                twiml(Some(text))
            }
            Err(Refusal::Invalid(why)) => error(400, "invalid_message", &why),
        }
    }

    /// The request's parameters, once its signature is Twilio's for `url` (the configured
    /// public URL of its route, with the query it was called with).
    #[allow(clippy::result_large_err)] // the refusal is the response itself
    fn signed_params(&self, request: &Request, url: &str) -> Result<Vec<(String, String)>, Response<Body>> {
        let body = body_bytes(request);
        if body.len() > MAX_BODY_BYTES {
            return Err(error(413, "payload_too_large", "The request body is too large"));
        }
        let signed_url = match request.uri().query().filter(|q| !q.is_empty()) {
            Some(query) => format!("{url}?{query}"),
            None => url.to_owned(),
        };
        let signature = request
            .headers()
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let forbidden = || {
            tracing::warn!(url = %signed_url, "a request without Twilio's signature: refused");
            error(403, "forbidden", "The request is not signed by Twilio")
        };
        match media_type(request).as_str() {
            "application/x-www-form-urlencoded" => {
                let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
                match self.validator.validate(&signed_url, &params, signature) {
                    true => Ok(params),
                    false => Err(forbidden()),
                }
            }
            "application/json" => {
                if !self.validator.validate_json(&signed_url, body, signature) {
                    return Err(forbidden());
                }
                let fields: HashMap<String, serde_json::Value> = serde_json::from_slice(body)
                    .map_err(|e| error(400, "malformed_json", &format!("The body is not a JSON object: {e}")))?;
                Ok(fields
                    .into_iter()
                    .map(|(name, value)| match value {
                        serde_json::Value::String(text) => (name, text),
                        other => (name, other.to_string()),
                    })
                    .collect())
            }
            _ => Err(error(
                415,
                "unsupported_media_type",
                "Twilio posts application/x-www-form-urlencoded",
            )),
        }
    }

    /// A delivery status of one part of a reply; the reply is named by the callback URL's
    /// query, which the sender wrote and Twilio signed.
    async fn status(&self, request: &Request, params: &[(String, String)], token: &str) -> Response<Body> {
        let query: HashMap<String, String> =
            form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let field = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let report = (|| {
            let part: usize = query.get("part")?.parse().ok()?;
            let parts: usize = query
                .get("parts")?
                .parse()
                .ok()
                .filter(|p| (1..=MAX_PARTS).contains(p))?;
            Some(StatusReport {
                ticket_id: TicketId::parse(query.get("ticket")?).ok()?,
                message_id: MessageId::parse(query.get("message")?)?,
                part: Some(part).filter(|p| *p < parts)?,
                parts,
                sid: field("MessageSid")?.to_owned(),
                status: delivery_status(field("MessageStatus")?)?,
                error_code: field("ErrorCode").and_then(|c| c.parse().ok()),
            })
        })();
        let Some(report) = report else {
            // Signed by Twilio, but not a status of a reply of ours: nothing to record.
            tracing::info!(status = ?field("MessageStatus"), idempotency_token = token, "a status callback that names no reply of ours");
            return Response::builder().status(204).body(Body::Empty).expect("valid");
        };
        match record_status(self.deliveries.as_ref(), &self.team, &report).await {
            Ok(()) => {
                tracing::info!(ticket_id = %report.ticket_id, status = %report.status, part = report.part, idempotency_token = token, "WhatsApp status");
                Response::builder().status(204).body(Body::Empty).expect("valid")
            }
            Err(e) => unavailable(&e, "Not recorded: send it again."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_twiml_are_escaped_xml() {
        let Body::Text(text) = twiml(Some("a < b & c")).into_body() else {
            panic!("text")
        };
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>a &lt; b &amp; c</Message></Response>"
        );
    }
}
