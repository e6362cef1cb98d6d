use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::validation::{validate, FieldError, ValidSubmission, RULES};
use crate::adapters::{DynamoCustomerDirectory, DynamoTicketStore, SqsQueue};
use crate::config::WebformConfig;
use crate::domain::{
    Channel, ConversationMessage, Direction, EscalationReason, InboundMessage, Sender, Ticket, TicketId, TicketStatus,
};
use crate::inbound::inbound_queue_message;
use crate::ports::{CustomerDirectory, InfraError, MessageQueue, TicketStore};

pub struct WebformApi {
    customers: Arc<dyn CustomerDirectory>,
    tickets: Arc<dyn TicketStore>,
    inbound: Arc<dyn MessageQueue>,
}

/// What the status page shows of a ticket.
#[derive(Debug, Serialize)]
pub struct TicketView {
    pub ticket_id: String,
    pub status: TicketStatus,
    pub subject: String,
    pub category: String,
    pub priority: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only the category of the reason, and only while escalated.
    pub escalation_reason: Option<EscalationReason>,
    /// VADER compound score (-1..1) of the customer's latest message.
    pub sentiment: Option<f64>,
    pub messages: Vec<MessageView>,
}

#[derive(Debug, Serialize)]
pub struct MessageView {
    pub direction: Direction,
    pub channel: Channel,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl TicketView {
    pub fn new(ticket: Ticket, messages: Vec<ConversationMessage>) -> Self {
        Self {
            ticket_id: ticket.id.to_string(),
            status: ticket.status,
            subject: ticket.subject,
            category: ticket.category.to_string(),
            priority: ticket.priority.to_string(),
            created_at: ticket.created_at,
            updated_at: ticket.updated_at,
            escalation_reason: ticket
                .escalation_reason
                .filter(|_| ticket.status == TicketStatus::Escalated),
            sentiment: ticket.sentiment,
            messages: messages
                .into_iter()
                .map(|m| MessageView {
                    direction: m.direction,
                    channel: m.channel,
                    body: m.body,
                    created_at: m.created_at,
                })
                .collect(),
        }
    }
}

fn json_response(status: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(body.to_string()))
        .expect("status and headers are valid")
}

fn error(status: u16, code: &str, message: &str) -> Response<Body> {
    json_response(status, json!({ "error": code, "message": message }))
}

fn unavailable(e: &InfraError) -> Response<Body> {
    tracing::error!(error = %e, "infrastructure failure");
    error(
        503,
        "unavailable",
        "Support is briefly unavailable. Nothing was lost on our side; please try again in a minute.",
    )
}

enum Route<'a> {
    Submit,
    Ticket(&'a str),
    NotFound,
}

/// Matches on the part from `/support/` on, so a stage prefix in the path does not matter.
fn route(path: &str) -> Route<'_> {
    let Some(at) = path.find("/support/") else {
        return Route::NotFound;
    };
    match &path[at..] {
        "/support/submit" => Route::Submit,
        rest => match rest.strip_prefix("/support/ticket/") {
            Some(id) if !id.contains('/') => Route::Ticket(id),
            _ => Route::NotFound,
        },
    }
}

impl WebformApi {
    pub fn new(config: WebformConfig, sdk: &aws_config::SdkConfig) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Self::with_ports(
            Arc::new(DynamoCustomerDirectory::new(dynamodb.clone(), config.customers_table)),
            Arc::new(DynamoTicketStore::new(dynamodb, config.tickets_table)),
            Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), config.inbound_queue_url)),
        )
    }

    pub fn with_ports(
        customers: Arc<dyn CustomerDirectory>,
        tickets: Arc<dyn TicketStore>,
        inbound: Arc<dyn MessageQueue>,
    ) -> Self {
        Self {
            customers,
            tickets,
            inbound,
        }
    }

    /// Answers one HTTP request. Bad input gets a 4xx and changes nothing;
    /// infrastructure trouble gets a 503.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let method = request.method().as_str().to_owned();
        match (method.as_str(), route(request.uri().path())) {
            ("POST", Route::Submit) => self.submit(request).await,
            ("GET", Route::Ticket(id)) => {
                let id = id.to_owned();
                self.ticket_status(&id).await
            }
            // API Gateway routes only the declared method of each path here.
            _ => error(404, "not_found", "No such route"),
        }
    }

    async fn submit(&self, request: Request) -> Response<Body> {
        let form = match decode_form(&request) {
            Ok(form) => form,
            Err(rejection) => return error(rejection.status, rejection.code, &rejection.message),
        };
        let submission = match validate(&form) {
            Ok(submission) => submission,
            Err(errors) => return validation_failed(&errors),
        };
        let correlation_id = request
            .headers()
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        match self.open_ticket(submission, correlation_id, Utc::now()).await {
            Ok(ticket_id) => json_response(
                201,
                json!({
                    "ticket_id": ticket_id,
                    "message": "Thanks — we have your request. You will get an answer by email and on the ticket's status page.",
                    "estimated_response_time": "within 5 minutes",
                }),
            ),
            Err(e) => unavailable(&e),
        }
    }

    /// Customer, ticket, the customer's message, then the queue: the message is
    /// on its ticket before the agent ever sees it.
    async fn open_ticket(
        &self,
        form: ValidSubmission,
        correlation_id: String,
        now: DateTime<Utc>,
    ) -> Result<TicketId, InfraError> {
        let sender = Sender {
            name: Some(form.name),
            email: Some(form.email),
            phone: None,
        };
        let customer = self.customers.find_or_create(&sender, now).await?;
        let ticket = Ticket::open(
            TicketId::generate(),
            customer.id.clone(),
            Channel::WebForm,
            form.subject.clone(),
            form.category,
            form.priority,
            now,
        );
        self.tickets.create_ticket(&ticket).await?;
        let inbound = InboundMessage {
            channel: Channel::WebForm,
            channel_message_id: ticket.id.to_string(),
            sender,
            subject: Some(form.subject),
            body: form.message,
            received_at: now,
            correlation_id,
            customer_id: Some(customer.id.clone()),
            ticket_id: Some(ticket.id.clone()),
            category: Some(form.category),
            priority: Some(form.priority),
        };
        self.tickets
            .record_message(&crate::inbound::conversation_message(
                &inbound,
                &customer.id,
                &ticket.id,
            ))
            .await?;
        self.inbound.send(inbound_queue_message(&inbound, &customer.id)).await?;
        tracing::info!(ticket_id = %ticket.id, customer_id = %customer.id, correlation_id = %inbound.correlation_id, "web form ticket opened");
        Ok(ticket.id)
    }

    async fn ticket_status(&self, id: &str) -> Response<Body> {
        let not_found = || error(404, "not_found", "No ticket with that id");
        let Ok(id) = TicketId::parse(id) else {
            return not_found();
        };
        match self.tickets.ticket_thread(&id).await {
            Ok(Some((ticket, messages))) => json_response(200, json!(TicketView::new(ticket, messages))),
            Ok(None) => not_found(),
            Err(e) => unavailable(&e),
        }
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

fn reject(status: u16, code: &'static str, message: impl Into<String>) -> Rejection {
    Rejection {
        status,
        code,
        message: message.into(),
    }
}

/// The request body as a JSON object, or why not.
fn decode_form(request: &Request) -> Result<Map<String, Value>, Rejection> {
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let is_json = content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(reject(
            415,
            "unsupported_media_type",
            "Send the form as application/json",
        ));
    }
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
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
    fn routes_ignore_a_stage_prefix_and_reject_nested_paths() {
        assert!(matches!(route("/support/submit"), Route::Submit));
        assert!(matches!(route("/prod/support/submit"), Route::Submit));
        assert!(matches!(route("/support/ticket/tkt_1"), Route::Ticket("tkt_1")));
        assert!(matches!(route("/support/ticket/a/b"), Route::NotFound));
        assert!(matches!(route("/support"), Route::NotFound));
    }
}
