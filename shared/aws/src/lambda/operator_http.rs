//! The operator API (docs/operator-api.md): what the operator console and the MCP server
//! call, under `/operator/`. The HTTP API sends every `/operator/...` request here through
//! one route ([`ROUTES`]) after its JWT authorizer checked the token; the operator's routes
//! are dispatched here, on the method and the path below `/operator/`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use lambda_http::http::Method;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use support_core::desk::{DeskError, OperatorDesk, QueueFilter};
use support_core::domain::{parse_variant, CustomerId, EscalationReason, MessageId, Operator, TicketId, VariantNames};
use support_core::ports::reports::ReportStore;
use support_core::ports::tickets::ProposalDecision;
use support_core::report::parse_day;

use super::http::{self, body_bytes, json_response};

/// Every operator route, behind the HTTP API's JWT authorizer (template.yaml).
pub const OPERATOR: &str = "ANY /operator/{proxy+}";
/// The route keys this function serves: template.yaml's `HttpApi` events of the function.
pub const ROUTES: &[&str] = &[OPERATOR];

/// The largest request body read: a reply of [`support_core::desk::MAX_REPLY_CHARS`] and more.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// The queue's page when the request names none, and its largest.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;

/// An operator route, from the method and the path below `/operator/`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OperatorRoute {
    /// `GET /operator/me`: who is signed in (and that they are online).
    Me,
    Queue,
    Ticket(String),
    Preview(String),
    Reply(String),
    HandBack(String),
    Resolve(String),
    Escalate(String),
    Reviews,
    ApproveDraft(String, String),
    RejectDraft(String, String),
    ApproveProposal(String),
    RejectProposal(String),
    Agreement,
    Knowledge,
    Customer(String),
    /// `GET /operator/reports/{day}`: the day's stored daily report.
    Report(String),
}

impl OperatorRoute {
    fn of(method: &Method, path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let id = |s: &str| s.to_owned();
        let route = match (method, segments.as_slice()) {
            (&Method::GET, ["me"]) => Self::Me,
            (&Method::GET, ["tickets"]) => Self::Queue,
            (&Method::GET, ["tickets", t]) => Self::Ticket(id(t)),
            (&Method::POST, ["tickets", t, "preview"]) => Self::Preview(id(t)),
            (&Method::POST, ["tickets", t, "replies"]) => Self::Reply(id(t)),
            (&Method::POST, ["tickets", t, "hand-back"]) => Self::HandBack(id(t)),
            (&Method::POST, ["tickets", t, "resolve"]) => Self::Resolve(id(t)),
            (&Method::POST, ["tickets", t, "escalate"]) => Self::Escalate(id(t)),
            (&Method::GET, ["reviews"]) => Self::Reviews,
            (&Method::POST, ["drafts", t, m, "approve"]) => Self::ApproveDraft(id(t), id(m)),
            (&Method::POST, ["drafts", t, m, "reject"]) => Self::RejectDraft(id(t), id(m)),
            (&Method::POST, ["proposals", p, "approve"]) => Self::ApproveProposal(id(p)),
            (&Method::POST, ["proposals", p, "reject"]) => Self::RejectProposal(id(p)),
            (&Method::GET, ["agreement"]) => Self::Agreement,
            (&Method::GET, ["knowledge"]) => Self::Knowledge,
            (&Method::GET, ["customers", c, "history"]) => Self::Customer(id(c)),
            (&Method::GET, ["reports", day]) => Self::Report(id(day)),
            _ => return None,
        };
        Some(route)
    }
}

/// Why a request was refused before the desk saw it.
struct Refusal(u16, String);

impl From<Refusal> for Response<Body> {
    fn from(Refusal(status, message): Refusal) -> Self {
        problem(status, &message)
    }
}

impl From<DeskError> for Refusal {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::NotFound(what) => Refusal(404, capitalised(what)),
            DeskError::Conflict(why) => Refusal(409, capitalised(&why)),
            DeskError::Invalid(why) => Refusal(400, capitalised(&why)),
            DeskError::Infra(e) => {
                tracing::error!(error = %e, "infrastructure failure");
                Refusal(
                    503,
                    "The support data is unavailable right now: try again in a moment.".into(),
                )
            }
        }
    }
}

pub struct OperatorApi {
    desk: OperatorDesk,
    /// The daily reports, as the report function stored them.
    reports: Arc<dyn ReportStore>,
}

#[derive(Deserialize)]
struct ReplyBody {
    body: String,
}

#[derive(Deserialize, Default)]
struct NoteBody {
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize, Default)]
struct ResolveBody {
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    question: Option<String>,
    #[serde(default)]
    answer: Option<String>,
}

#[derive(Deserialize)]
struct EscalateBody {
    reason: String,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize, Default)]
struct ApproveBody {
    #[serde(default)]
    body: Option<String>,
}

#[derive(Deserialize, Default)]
struct ProposalBody {
    #[serde(default)]
    question: Option<String>,
    #[serde(default)]
    answer: Option<String>,
}

impl OperatorApi {
    pub fn new(desk: OperatorDesk, reports: Arc<dyn ReportStore>) -> Self {
        Self { desk, reports }
    }

    /// Answers one request: 401 unless it carries an operator's verified claims, 404 for a
    /// route the API does not have.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        http::counted(self.answer(request).await)
    }

    async fn answer(&self, request: Request) -> Response<Body> {
        // API Gateway's authorizer already refused requests without a valid token: claims
        // that name nobody mean the route lost its authorizer, and nobody gets in.
        let operator = match jwt_claims(&request).map(Operator::from_claims) {
            Some(Ok(operator)) => operator,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "a token whose claims name no operator");
                return unauthorized();
            }
            None => {
                tracing::error!("an operator request without verified claims: is the route's authorizer set?");
                return unauthorized();
            }
        };
        let path = request
            .path_parameters_ref()
            .and_then(|p| p.first("proxy"))
            .unwrap_or_default()
            .to_owned();
        let Some(route) = OperatorRoute::of(request.method(), &path) else {
            return problem(404, "No such operator route.");
        };
        match self.route(&operator, route, &request).await {
            Ok(response) => response,
            Err(refusal) => refusal.into(),
        }
    }

    async fn route(
        &self,
        operator: &Operator,
        route: OperatorRoute,
        request: &Request,
    ) -> Result<Response<Body>, Refusal> {
        let desk = &self.desk;
        // People read the audit trail and the assignee: the operator's address says who it
        // was (the pool signs in by email; its username is an opaque id).
        let who = operator.email().map_or_else(|| operator.username(), |e| e.as_str());
        let now = Utc::now();
        let ok = |value: Value| Ok(json_response(200, value));
        match route {
            OperatorRoute::Me => {
                desk.seen(who, now).await?;
                ok(json!({
                    "sub": operator.sub(),
                    "username": operator.username(),
                    "email": operator.email().map(|e| e.as_str()),
                }))
            }
            OperatorRoute::Queue => {
                let view = desk.queue(&queue_filter(request)?, now).await?;
                ok(to_value(&view))
            }
            OperatorRoute::Ticket(id) => ok(to_value(&desk.ticket(&ticket_id(&id)?, now).await?)),
            OperatorRoute::Preview(id) => {
                let body: ReplyBody = json_body(request)?;
                ok(to_value(&desk.preview(&ticket_id(&id)?, &body.body).await?))
            }
            OperatorRoute::Reply(id) => {
                let body: ReplyBody = json_body(request)?;
                let queued = desk
                    .reply(who, &ticket_id(&id)?, &body.body, &idempotency_key(request)?, now)
                    .await?;
                Ok(json_response(202, to_value(&queued)))
            }
            OperatorRoute::HandBack(id) => {
                let body: NoteBody = json_body_or_default(request)?;
                let key = idempotency_key(request)?;
                ok(to_value(
                    &desk
                        .hand_back(who, &ticket_id(&id)?, body.note.as_deref(), &key, now)
                        .await?,
                ))
            }
            OperatorRoute::Resolve(id) => {
                let body: ResolveBody = json_body_or_default(request)?;
                let key = idempotency_key(request)?;
                let (ticket, proposal) = desk
                    .resolve(
                        who,
                        &ticket_id(&id)?,
                        body.notes.as_deref(),
                        body.question.as_deref(),
                        body.answer.as_deref(),
                        &key,
                        now,
                    )
                    .await?;
                ok(json!({ "ticket": ticket, "proposal": proposal }))
            }
            OperatorRoute::Escalate(id) => {
                let body: EscalateBody = json_body(request)?;
                let reason: EscalationReason =
                    parse_variant(&body.reason).map_err(|e| Refusal(400, format!("reason: {e}.")))?;
                let key = idempotency_key(request)?;
                ok(to_value(
                    &desk
                        .escalate(who, &ticket_id(&id)?, reason, &body.note, &key, now)
                        .await?,
                ))
            }
            OperatorRoute::Reviews => ok(to_value(&desk.reviews().await?)),
            OperatorRoute::ApproveDraft(ticket, message) => {
                let body: ApproveBody = json_body_or_default(request)?;
                let key = idempotency_key(request)?;
                let queued = desk
                    .approve_draft(
                        who,
                        &ticket_id(&ticket)?,
                        &message_id(&message)?,
                        body.body.as_deref(),
                        &key,
                        now,
                    )
                    .await?;
                ok(to_value(&queued))
            }
            OperatorRoute::RejectDraft(ticket, message) => {
                let body: NoteBody = json_body_or_default(request)?;
                let key = idempotency_key(request)?;
                let ticket = desk
                    .reject_draft(
                        who,
                        &ticket_id(&ticket)?,
                        &message_id(&message)?,
                        body.note.as_deref(),
                        &key,
                        now,
                    )
                    .await?;
                ok(to_value(&ticket))
            }
            OperatorRoute::ApproveProposal(id) => {
                let body: ProposalBody = json_body_or_default(request)?;
                let decision = ProposalDecision::Approve {
                    question: body.question.unwrap_or_default(),
                    answer: body.answer.unwrap_or_default(),
                };
                ok(to_value(&desk.decide_proposal(who, &id, decision, now).await?))
            }
            OperatorRoute::RejectProposal(id) => ok(to_value(
                &desk.decide_proposal(who, &id, ProposalDecision::Reject, now).await?,
            )),
            OperatorRoute::Agreement => ok(json!({ "by_kind": desk.agreement(now).await? })),
            OperatorRoute::Knowledge => {
                let query = query_parameter(request, "q").unwrap_or_default();
                let limit = match query_parameter(request, "limit") {
                    Some(limit) => limit
                        .parse()
                        .map_err(|_| Refusal(400, "limit must be a whole number.".into()))?,
                    None => 5,
                };
                ok(json!({ "hits": desk.search(&query, limit).await? }))
            }
            OperatorRoute::Customer(id) => {
                let customer = CustomerId::parse(&id).map_err(|_| Refusal(404, "No such customer.".into()))?;
                let (tickets, messages) = desk.customer(&customer, now).await?;
                ok(json!({ "customer_id": customer, "tickets": tickets, "messages": messages }))
            }
            OperatorRoute::Report(day) => {
                let day = parse_day(&day).ok_or_else(|| Refusal(400, "The day must be YYYY-MM-DD.".into()))?;
                match self.reports.get(day).await.map_err(DeskError::from)? {
                    Some(report) => ok(report),
                    None => Err(Refusal(
                        404,
                        format!("No report for {day}: it is made at 00:15 UTC the day after."),
                    )),
                }
            }
        }
    }
}

fn to_value(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("answers serialize")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    let sentence = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    match sentence.ends_with('.') {
        true => sentence,
        false => format!("{sentence}."),
    }
}

fn ticket_id(id: &str) -> Result<TicketId, Refusal> {
    TicketId::parse(id).map_err(|_| Refusal(404, "No such ticket.".into()))
}

fn message_id(id: &str) -> Result<MessageId, Refusal> {
    MessageId::parse(id).ok_or_else(|| Refusal(404, "No such draft.".into()))
}

fn query_parameter(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn queue_filter(request: &Request) -> Result<QueueFilter, Refusal> {
    fn named<T: std::str::FromStr + VariantNames>(request: &Request, name: &str) -> Result<Option<T>, Refusal> {
        query_parameter(request, name)
            .map(|value| parse_variant(&value).map_err(|e| Refusal(400, format!("{name}: {e}."))))
            .transpose()
    }
    let number = |name: &str| -> Result<Option<usize>, Refusal> {
        query_parameter(request, name)
            .map(|v| {
                v.parse()
                    .map_err(|_| Refusal(400, format!("{name} must be a whole number.")))
            })
            .transpose()
    };
    Ok(QueueFilter {
        status: named(request, "status")?,
        channel: named(request, "channel")?,
        reason: named(request, "reason")?,
        sla: named(request, "sla")?,
        older_than_minutes: number("older_than")?.map(|m| m as i64),
        limit: number("limit")?.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE),
    })
}

fn json_body<T: serde::de::DeserializeOwned>(request: &Request) -> Result<T, Refusal> {
    let bytes = body_bytes(request);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Refusal(
            413,
            format!("The request is larger than {MAX_BODY_BYTES} bytes."),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| Refusal(400, format!("The request is not the expected JSON: {e}.")))
}

/// A body whose fields are all optional: none at all is the same as `{}`.
fn json_body_or_default<T: serde::de::DeserializeOwned + Default>(request: &Request) -> Result<T, Refusal> {
    match body_bytes(request).iter().all(u8::is_ascii_whitespace) {
        true => Ok(T::default()),
        false => json_body(request),
    }
}

/// A write's Idempotency-Key: required, so that a retried request never acts twice.
fn idempotency_key(request: &Request) -> Result<String, Refusal> {
    match http::idempotency_key(request) {
        Some(Ok(key)) => Ok(key.to_owned()),
        _ => Err(Refusal(
            400,
            "Every write needs an Idempotency-Key header of 8 to 128 letters, digits, - or _.".into(),
        )),
    }
}

/// The claims API Gateway's JWT authorizer put in the request (`requestContext.authorizer.jwt`).
fn jwt_claims(request: &Request) -> Option<&HashMap<String, String>> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => Some(&context.authorizer.as_ref()?.jwt.as_ref()?.claims),
        _ => None,
    }
}

/// API Gateway's own answer to a request its authorizer refused.
fn unauthorized() -> Response<Body> {
    json_response(401, json!({ "message": "Unauthorized" }))
}

/// The operator API's errors: `{"error": "<what is wrong, for a person>"}`.
fn problem(status: u16, message: &str) -> Response<Body> {
    json_response(status, json!({ "error": message }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_the_method_and_the_path_below_operator() {
        assert_eq!(OperatorRoute::of(&Method::GET, "me"), Some(OperatorRoute::Me));
        assert_eq!(OperatorRoute::of(&Method::GET, "me/"), Some(OperatorRoute::Me));
        assert_eq!(OperatorRoute::of(&Method::POST, "me"), None);
        assert_eq!(OperatorRoute::of(&Method::GET, "me/again"), None);
        assert_eq!(OperatorRoute::of(&Method::GET, "tickets"), Some(OperatorRoute::Queue));
        assert_eq!(
            OperatorRoute::of(&Method::POST, "drafts/t/m/approve"),
            Some(OperatorRoute::ApproveDraft("t".into(), "m".into()))
        );
        assert_eq!(OperatorRoute::of(&Method::DELETE, "tickets/t"), None);
        assert_eq!(
            OperatorRoute::of(&Method::GET, "reports/2026-11-21"),
            Some(OperatorRoute::Report("2026-11-21".into()))
        );
        assert_eq!(OperatorRoute::of(&Method::POST, "reports/2026-11-21"), None);
    }

    #[test]
    fn refusals_read_as_sentences() {
        assert_eq!(capitalised("no such ticket"), "No such ticket.");
        assert_eq!(capitalised("Already done."), "Already done.");
    }
}
