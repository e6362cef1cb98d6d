//! The web support form's HTTP API: submit a request (through the intake), read a
//! ticket's status. Requests are dispatched on the API Gateway route key, so the routes
//! are the ones template.yaml declares ([`ROUTES`]; a test holds the two together).

use std::sync::Arc;

use chrono::Utc;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Map, Value};
use support_core::domain::rules::RULES;
use support_core::domain::{Channel, IdentityProof, InboundMessage, MessageId, Sender, TicketId};
use support_core::intake::Intake;
use support_core::ports::customers::{CustomerChannels, CustomerDirectory};
use support_core::ports::tickets::TicketReader;
use support_core::ports::tickets::Verifications;
use support_core::ports::InfraError;
use support_core::webform::{validate, validate_follow_up, FieldError, TicketView};

use super::http::{
    self, body_bytes, error, json_response, media_type, page, route_key, safe_header, unavailable, IDEMPOTENCY_KEY_RULE,
};

pub const SUBMIT: &str = "POST /support/submit";
pub const TICKET_STATUS: &str = "GET /support/ticket/{id}";
/// A follow-up message from the ticket's status page.
pub const FOLLOW_UP: &str = "POST /support/ticket/{id}/messages";
/// A message as it arrived, when the page shows less (an email's quoted history).
pub const ORIGINAL: &str = "GET /support/ticket/{id}/messages/{message_id}/original";
/// The link emailed with a reply to a typed address (`support_core::webform::CONFIRM_PATH`).
pub const CONFIRM: &str = "GET /support/confirm/{id}";
/// The route keys this function serves: template.yaml's `HttpApi` events of the function.
pub const ROUTES: &[&str] = &[SUBMIT, TICKET_STATUS, FOLLOW_UP, ORIGINAL, CONFIRM];

const CONFIRMED: &str =
    "Thank you: your address is confirmed, and your conversations with us are kept together. You can close this page.";
const NOT_CONFIRMED: &str = "This confirmation link is not valid. Please use the link in the email we sent you.";

/// What the form's API reads and writes besides the intake.
pub struct WebformPorts {
    pub tickets: Arc<dyn TicketReader>,
    pub channels: Arc<dyn CustomerChannels>,
    /// Who a confirmed address belongs to.
    pub customers: Arc<dyn CustomerDirectory>,
    pub verifications: Arc<dyn Verifications>,
}

pub struct WebformApi {
    intake: Intake,
    ports: WebformPorts,
}

impl WebformApi {
    pub fn new(intake: Intake, ports: WebformPorts) -> Self {
        Self { intake, ports }
    }

    /// Answers one HTTP request. Bad input gets a 4xx and changes nothing; infrastructure
    /// trouble before anything was stored gets a 503.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        http::counted(self.answer(request).await)
    }

    async fn answer(&self, request: Request) -> Response<Body> {
        let path = |name: &str| {
            request
                .path_parameters_ref()
                .and_then(|p| p.first(name))
                .unwrap_or_default()
                .to_owned()
        };
        match route_key(&request).as_str() {
            SUBMIT => self.submit(request).await,
            TICKET_STATUS => self.ticket_status(&path("id")).await,
            FOLLOW_UP => {
                let id = path("id");
                self.follow_up(&id, request).await
            }
            ORIGINAL => self.original(&path("id"), &path("message_id")).await,
            CONFIRM => {
                let id = request
                    .path_parameters_ref()
                    .and_then(|p| p.first("id"))
                    .unwrap_or_default();
                let query = request.query_string_parameters_ref();
                let token = query.and_then(|q| q.first("token")).unwrap_or_default();
                self.confirm(id, token).await
            }
            // API Gateway routes only the template's routes here.
            _ => error(404, "not_found", "No such route"),
        }
    }

    async fn submit(&self, request: Request) -> Response<Body> {
        let form = match decode_form(&request) {
            Ok(form) => form,
            Err(rejection) => return rejection.into_response(),
        };
        let submission = match validate(&form) {
            Ok(submission) => submission,
            Err(errors) => return validation_failed(&errors),
        };
        let correlation_id = correlation_id(&request);
        let key = match idempotency_key(&request) {
            Ok(key) => key,
            Err(rejection) => return rejection.into_response(),
        };
        let message = InboundMessage {
            channel: Channel::WebForm,
            // Scoped by address: the same key from two people is two submissions.
            channel_message_id: format!("{}#{key}", submission.email.as_str().to_lowercase()),
            sender: Sender {
                name: Some(submission.name),
                email: Some(submission.email),
                phone: None,
            },
            subject: Some(submission.subject),
            body: submission.message,
            received_at: Utc::now(),
            correlation_id: correlation_id.clone(),
            category: Some(submission.category),
            priority: Some(submission.priority),
            // A typed address is a claim: proven only once its owner follows the emailed link.
            proof: None,
            attachments: Vec::new(),
            email: None,
            original: None,
            follows_ticket: None,
        };
        match self.intake.accept(message).await {
            Ok(accepted) => {
                tracing::info!(ticket_id = %accepted.ticket_id, %correlation_id, replay = accepted.replay, "web form submission");
                json_response(
                    if accepted.replay { 200 } else { 201 },
                    json!({
                        "ticket_id": accepted.ticket_id,
                        "message": "Thanks — we have your request. You will get an answer by email and on the ticket's status page.",
                        "estimated_response_time": "within 5 minutes",
                    }),
                )
            }
            Err(e) => unavailable(
                &e,
                "Support is briefly unavailable. Please send your request again in a minute: sending it again will not open a second ticket.",
            ),
        }
    }

    /// A follow-up from the status page: handled like any message, on its ticket, and
    /// answered where the ticket's replies go.
    async fn follow_up(&self, id: &str, request: Request) -> Response<Body> {
        let Ok(id) = TicketId::parse(id) else {
            return error(404, "not_found", "No ticket with that id");
        };
        let form = match decode_form(&request) {
            Ok(form) => form,
            Err(rejection) => return rejection.into_response(),
        };
        let text = match validate_follow_up(&form) {
            Ok(text) => text,
            Err(errors) => return validation_failed(&errors),
        };
        let correlation_id = correlation_id(&request);
        let key = match idempotency_key(&request) {
            Ok(key) => key,
            Err(rejection) => return rejection.into_response(),
        };
        let busy = "Support is briefly unavailable. Please send your message again in a minute: sending it again will not add it twice.";
        let ticket = match self.ports.tickets.ticket_thread(&id).await {
            Ok(Some((ticket, _))) => ticket,
            Ok(None) => return error(404, "not_found", "No ticket with that id"),
            Err(e) => return unavailable(&e, busy),
        };
        // The answer is emailed: a conversation known only by phone continues there.
        let contact = match (&ticket.contact.email, &ticket.address_claim) {
            (Some(_), _) => ticket.contact.clone(),
            (None, Some(claim)) => Sender {
                email: Some(claim.email.clone()),
                ..ticket.contact.clone()
            },
            (None, None) => {
                return error(
                    409,
                    "no_email",
                    "This conversation is on WhatsApp: please reply there to continue it.",
                )
            }
        };
        let message = InboundMessage {
            channel: Channel::WebForm,
            // Scoped by ticket: the same key on two tickets is two messages.
            channel_message_id: format!("{id}#{key}"),
            sender: contact,
            subject: None,
            body: text,
            received_at: Utc::now(),
            correlation_id: correlation_id.clone(),
            category: None,
            priority: None,
            proof: None,
            attachments: Vec::new(),
            email: None,
            original: None,
            follows_ticket: Some(id),
        };
        match self.intake.accept(message).await {
            Ok(accepted) => {
                tracing::info!(ticket_id = %accepted.ticket_id, %correlation_id, replay = accepted.replay, "follow-up from the status page");
                json_response(
                    if accepted.replay { 200 } else { 201 },
                    json!({
                        "ticket_id": accepted.ticket_id,
                        "message": "Thanks — we have your message. You will get an answer by email and here.",
                    }),
                )
            }
            Err(e) => unavailable(&e, busy),
        }
    }

    async fn original(&self, id: &str, message_id: &str) -> Response<Body> {
        let not_found = || error(404, "not_found", "No original of that message");
        let (Ok(id), Some(message_id)) = (TicketId::parse(id), MessageId::parse(message_id)) else {
            return not_found();
        };
        match self.ports.tickets.original(&id, &message_id).await {
            Ok(Some(original)) => json_response(200, json!({ "message_id": message_id, "original": original })),
            Ok(None) => not_found(),
            Err(e) => unavailable(&e, "Support is briefly unavailable. Please try again in a minute."),
        }
    }

    async fn ticket_status(&self, id: &str) -> Response<Body> {
        let not_found = || error(404, "not_found", "No ticket with that id");
        let Ok(id) = TicketId::parse(id) else {
            return not_found();
        };
        let busy = "Support is briefly unavailable. Please try again in a minute.";
        let (ticket, messages) = match self.ports.tickets.ticket_thread(&id).await {
            Ok(Some(thread)) => thread,
            Ok(None) => return not_found(),
            Err(e) => return unavailable(&e, busy),
        };
        match self.ports.channels.channels(&ticket.customer_id).await {
            Ok(channels) => json_response(200, json!(TicketView::new(ticket, messages, channels))),
            Err(e) => unavailable(&e, busy),
        }
    }
}

impl WebformApi {
    /// The owner of a typed address followed the link emailed to it: the ticket becomes
    /// theirs, with every ticket of the address's proven customer (created if need be).
    async fn confirm(&self, id: &str, token: &str) -> Response<Body> {
        let busy = "Support is briefly unavailable. Please follow the link again in a minute.";
        let Ok(id) = TicketId::parse(id) else {
            return page(404, NOT_CONFIRMED);
        };
        let ticket = match self.ports.tickets.ticket_thread(&id).await {
            Ok(Some((ticket, _))) => ticket,
            Ok(None) => return page(404, NOT_CONFIRMED),
            Err(e) => return unavailable(&e, busy),
        };
        // Confirmed already: the same page again.
        let Some(claim) = ticket.address_claim else {
            return page(200, CONFIRMED);
        };
        if !claim.confirmed_by(&id, token) {
            tracing::warn!(ticket_id = %id, "a confirmation link with a wrong token");
            return page(404, NOT_CONFIRMED);
        }
        let owner = Sender {
            name: None,
            email: Some(claim.email),
            phone: None,
        };
        let ports = &self.ports;
        let confirmed = async {
            let customer = ports
                .customers
                .identify(&owner, IdentityProof::EmailedLink, Utc::now())
                .await?;
            ports.verifications.move_history(&ticket.customer_id, &customer).await?;
            ports.verifications.address_confirmed(&id).await?;
            Ok::<_, InfraError>(customer)
        };
        match confirmed.await {
            Ok(customer) => {
                tracing::info!(ticket_id = %id, %customer, "a typed address confirmed by its emailed link");
                page(200, CONFIRMED)
            }
            Err(e) => unavailable(&e, busy),
        }
    }
}

/// The client's correlation id (it reaches the logs: only in a safe format), or a new one.
fn correlation_id(request: &Request) -> String {
    match safe_header(request, "x-correlation-id", 1, 64) {
        Some(Ok(id)) => id.to_owned(),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

/// The attempt's Idempotency-Key (the same key again is the same request), or a new one.
fn idempotency_key(request: &Request) -> Result<String, Rejection> {
    match http::idempotency_key(request) {
        Some(Ok(key)) => Ok(key.to_owned()),
        Some(Err(())) => Err(reject(400, "invalid_idempotency_key", IDEMPOTENCY_KEY_RULE)),
        None => Ok(uuid::Uuid::new_v4().to_string()),
    }
}

fn validation_failed(errors: &[FieldError]) -> Response<Body> {
    json_response(422, json!({ "error": "validation_failed", "errors": errors }))
}

/// Why a request body was refused: a 4xx status, a stable code and a message for people.
struct Rejection {
    status: u16,
    code: &'static str,
    message: String,
}

impl Rejection {
    fn into_response(self) -> Response<Body> {
        error(self.status, self.code, &self.message)
    }
}

fn reject(status: u16, code: &'static str, message: impl Into<String>) -> Rejection {
    Rejection {
        status,
        code,
        message: message.into(),
    }
}

/// The request body as a JSON object, or why not.
fn decode_form(request: &Request) -> Result<Map<String, Value>, Rejection> {
    if media_type(request) != "application/json" {
        return Err(reject(
            415,
            "unsupported_media_type",
            "Send the form as application/json",
        ));
    }
    let bytes = body_bytes(request);
    if bytes.len() > RULES.max_body_bytes {
        return Err(reject(
            413,
            "payload_too_large",
            format!("The request body must be at most {} bytes", RULES.max_body_bytes),
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(form)) => Ok(form),
        Ok(_) => Err(reject(400, "malformed_json", "The request body must be a JSON object")),
        Err(e) => Err(reject(
            400,
            "malformed_json",
            format!("The request body is not valid JSON: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_route_is_the_link_the_email_carries() {
        let path = CONFIRM.strip_prefix("GET ").and_then(|p| p.strip_suffix("/{id}"));
        assert_eq!(path, Some(support_core::webform::CONFIRM_PATH));
    }

    fn with_header(value: &str) -> Request {
        lambda_http::http::Request::builder()
            .header("x-correlation-id", value)
            .body(Body::Empty)
            .unwrap()
    }

    #[test]
    fn client_correlation_ids_are_taken_only_in_a_safe_format() {
        let safe = |v: &str| safe_header(&with_header(v), "x-correlation-id", 1, 64).map(|r| r.is_ok());
        assert_eq!(safe("req-42.a_b:c"), Some(true));
        for unsafe_value in ["a b", "<script>", "x\ty", &"x".repeat(65), "\u{e9}vil"] {
            assert_eq!(safe(unsafe_value), Some(false), "{unsafe_value:?}");
        }
        let none = lambda_http::http::Request::builder().body(Body::Empty).unwrap();
        assert_eq!(safe_header(&none, "x-correlation-id", 1, 64), None);
    }
}
