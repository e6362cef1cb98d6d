//! The MCP tools and the skills manifest resource. Every tool is one operator API call:
//! the assistant works the queue through the same routes, token and rules as the console.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource, ResourceContents,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, Json, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::api::{ApiError, OperatorApi};
use crate::model::{
    Channel, CustomerHistory, EscalateBody, EscalationReason, HandBackBody, KnowledgeHits, KnowledgeQuery, ReplyBody,
    ReplyPreview, ReplyQueued, ResolveBody, Resolved, SlaState, TicketList, TicketQuery, TicketStatus, TicketSummary,
    TicketView,
};
use crate::skills::{MANIFEST, MANIFEST_URI};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchKnowledgeArgs {
    /// What to look up, in the customer's words or your own, e.g. "invite a teammate".
    pub query: String,
    /// How many passages to return, best first (default 5).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListTicketsArgs {
    /// Only tickets in this status.
    pub status: Option<TicketStatus>,
    /// Only tickets from this channel.
    pub channel: Option<Channel>,
    /// Only tickets escalated for this reason.
    pub reason: Option<EscalationReason>,
    /// Only tickets in this SLA state (at_risk and breached need attention first).
    pub sla: Option<SlaState>,
    /// Only tickets opened more than this many minutes ago.
    pub older_than_minutes: Option<u32>,
    /// How many tickets to return (at most 200, default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TicketArgs {
    /// The ticket's id, e.g. "TB-10042".
    pub ticket_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CustomerArgs {
    /// The customer's id, as a ticket's `customer_id` gives it.
    pub customer_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct EscalateArgs {
    /// The ticket's id.
    pub ticket_id: String,
    /// Why a person must take the ticket.
    pub reason: EscalationReason,
    /// What the person taking over should know: what the customer needs and what was tried.
    pub note: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReplyArgs {
    /// The ticket's id.
    pub ticket_id: String,
    /// The reply's text only: the greeting, sign-off and ticket reference are added for the
    /// channel, and WhatsApp replies are split into messages.
    pub body: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct HandBackArgs {
    /// The ticket's id.
    pub ticket_id: String,
    /// Why the agent may answer again, for the ticket's audit trail.
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ResolveArgs {
    /// The ticket's id.
    pub ticket_id: String,
    /// How the issue was resolved. Non-empty notes also propose a learned answer, which the
    /// agent uses only once a person approves it.
    pub notes: String,
    /// The proposal's question (default: the customer's first message).
    pub question: Option<String>,
    /// The proposal's answer (default: the notes).
    pub answer: Option<String>,
}

/// The support agent's tools for an operator's AI assistant.
#[derive(Clone)]
pub struct SupportTools {
    api: Arc<OperatorApi>,
    tool_router: ToolRouter<Self>,
}

impl From<ApiError> for CallToolResult {
    /// An API refusal is the answer to the call, not a protocol failure: the assistant reads
    /// the API's reason (is_error) and can act on it.
    fn from(error: ApiError) -> Self {
        tracing::warn!(%error, "tool call failed");
        CallToolResult::error(vec![ContentBlock::text(error.to_string())])
    }
}

// pub(crate): the skills manifest's test checks the tools it names against this router.
#[tool_router(vis = "pub(crate)")]
impl SupportTools {
    pub fn new(api: OperatorApi) -> Self {
        Self {
            api: Arc::new(api),
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Search the product knowledge base the support agent answers from (and the answers people approved). Use it to check what the agent would say about a topic, or to find the facts for a reply before writing it. Returns the best passages with their article, heading, answering excerpt and relevance score."
    )]
    async fn search_knowledge(
        &self,
        Parameters(args): Parameters<SearchKnowledgeArgs>,
    ) -> Result<Json<KnowledgeHits>, CallToolResult> {
        let query = KnowledgeQuery {
            q: &args.query,
            limit: args.limit,
        };
        Ok(Json(self.api.get(&["knowledge"], &query).await?))
    }

    #[tool(
        description = "List support tickets, newest activity first, with optional filters (status, channel, escalation reason, SLA state, minimum age). Use it to see the queue: e.g. status=escalated for tickets waiting on a person, sla=at_risk or breached for the urgent ones. Also returns how many tickets are at risk or breached."
    )]
    async fn list_tickets(
        &self,
        Parameters(args): Parameters<ListTicketsArgs>,
    ) -> Result<Json<TicketList>, CallToolResult> {
        let query = TicketQuery {
            status: args.status,
            channel: args.channel,
            reason: args.reason,
            sla: args.sla,
            older_than: args.older_than_minutes,
            limit: args.limit,
        };
        Ok(Json(self.api.get(&["tickets"], &query).await?))
    }

    #[tool(
        description = "Read one ticket in full: its summary and SLA, why it was escalated (with the agent's summary), the customer's whole conversation across channels, the agent's decisions with their confidence, and the audit trail. Read it before replying to, escalating, handing back or resolving a ticket."
    )]
    async fn get_ticket(&self, Parameters(args): Parameters<TicketArgs>) -> Result<Json<TicketView>, CallToolResult> {
        Ok(Json(self.api.get(&["tickets", &args.ticket_id], &()).await?))
    }

    #[tool(
        description = "A customer's history: all their tickets and their messages on every channel (email, WhatsApp, web form). Use it to see whether an issue came up before or how the customer was answered earlier; the customer_id is on every ticket."
    )]
    async fn customer_history(
        &self,
        Parameters(args): Parameters<CustomerArgs>,
    ) -> Result<Json<CustomerHistory>, CallToolResult> {
        Ok(Json(
            self.api.get(&["customers", &args.customer_id, "history"], &()).await?,
        ))
    }

    #[tool(
        description = "Hand a ticket to a person (the support team is notified as for the agent's own escalations); the agent stops answering it. Use it for what a person must decide: refunds, pricing, legal matters, an upset customer, or a question the knowledge base cannot answer."
    )]
    async fn escalate(
        &self,
        Parameters(args): Parameters<EscalateArgs>,
    ) -> Result<Json<TicketSummary>, CallToolResult> {
        let body = EscalateBody {
            reason: args.reason,
            note: &args.note,
        };
        let key = fresh_key();
        Ok(Json(
            self.api
                .post(&["tickets", &args.ticket_id, "escalate"], &body, Some(&key))
                .await?,
        ))
    }

    #[tool(
        description = "Send a reply to the customer on the ticket's channel as the signed-in person (it reaches the customer: check it with preview_reply first). From then on the agent stays silent on the ticket until it is handed back. Calling it again with the same ticket and body does not send it twice."
    )]
    async fn reply_as_person(
        &self,
        Parameters(args): Parameters<ReplyArgs>,
    ) -> Result<Json<ReplyQueued>, CallToolResult> {
        let body = ReplyBody { body: &args.body };
        let key = reply_key(&args.ticket_id, &args.body);
        Ok(Json(
            self.api
                .post(&["tickets", &args.ticket_id, "replies"], &body, Some(&key))
                .await?,
        ))
    }

    #[tool(
        description = "Show how a reply would look on the ticket's channel without sending anything: the email with greeting and sign-off, the WhatsApp messages it would be split into, or the web status page's text."
    )]
    async fn preview_reply(
        &self,
        Parameters(args): Parameters<ReplyArgs>,
    ) -> Result<Json<ReplyPreview>, CallToolResult> {
        let body = ReplyBody { body: &args.body };
        // Nothing is written, so there is nothing for an Idempotency-Key to protect.
        Ok(Json(
            self.api
                .post(&["tickets", &args.ticket_id, "preview"], &body, None)
                .await?,
        ))
    }

    #[tool(
        description = "Hand a ticket back to the agent: it answers the customer's next message again. Use it when a person has dealt with what needed a person and the rest is routine."
    )]
    async fn hand_back(
        &self,
        Parameters(args): Parameters<HandBackArgs>,
    ) -> Result<Json<TicketSummary>, CallToolResult> {
        let body = HandBackBody {
            note: args.note.as_deref(),
        };
        let key = fresh_key();
        Ok(Json(
            self.api
                .post(&["tickets", &args.ticket_id, "hand-back"], &body, Some(&key))
                .await?,
        ))
    }

    #[tool(
        description = "Resolve a ticket (its SLA clock stops). With notes, a learned answer (question and answer) is proposed from it; people review proposals before the agent may use them. Returns the ticket and the proposal."
    )]
    async fn resolve(&self, Parameters(args): Parameters<ResolveArgs>) -> Result<Json<Resolved>, CallToolResult> {
        let body = ResolveBody {
            notes: &args.notes,
            question: args.question.as_deref(),
            answer: args.answer.as_deref(),
        };
        let key = fresh_key();
        Ok(Json(
            self.api
                .post(&["tickets", &args.ticket_id, "resolve"], &body, Some(&key))
                .await?,
        ))
    }
}

/// The Idempotency-Key of a person's reply: the same ticket and text give the same key, so
/// an assistant that retries a call it did not see answered sends the reply once.
fn reply_key(ticket_id: &str, body: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(ticket_id.as_bytes());
    // A separator the id cannot end with, so ("a", "bc") and ("ab", "c") differ.
    hash.update([0]);
    hash.update(body.as_bytes());
    format!("mcp-reply-{}", hex::encode(hash.finalize()))
}

/// A key of its own for each escalation, hand-back and resolution: unlike a reply, the same
/// call may rightly come again later (a ticket escalated, handed back and escalated again),
/// and must not get the first call's stored answer.
fn fresh_key() -> String {
    format!("mcp-{}", uuid::Uuid::new_v4().simple())
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for SupportTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("support-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Tools of the customer-success agent's support desk, used as the signed-in operator through the operator API. \
                 Read a ticket (get_ticket) before acting on it; preview a reply (preview_reply) before sending it (reply_as_person). \
                 The resource skills://manifest describes the agent's skills and which tools expose them.",
            )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let manifest = Resource::new(MANIFEST_URI, "skills")
            .with_title("The support agent's skills")
            .with_description(
                "What the agent does (knowledge retrieval, sentiment, escalation decision, channel adaptation, customer identification): inputs, outputs, when, the code that implements it and the MCP tools that expose it.",
            )
            .with_mime_type("application/json");
        Ok(ListResourcesResult::with_all_items(vec![manifest]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != MANIFEST_URI {
            return Err(ErrorData::resource_not_found(
                format!("no resource {}: this server has {MANIFEST_URI}", request.uri),
                None,
            ));
        }
        let contents = ResourceContents::text(MANIFEST, MANIFEST_URI).with_mime_type("application/json");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_key_depends_on_the_ticket_and_the_text_and_is_a_valid_idempotency_key() {
        let key = reply_key("TB-1", "Hello");
        assert_eq!(key, reply_key("TB-1", "Hello"));
        assert_ne!(key, reply_key("TB-2", "Hello"));
        assert_ne!(key, reply_key("TB-1", "Hello!"));
        assert_ne!(reply_key("a", "bc"), reply_key("ab", "c"));
        // docs/operator-api.md: 8–128 characters of [A-Za-z0-9_-].
        for key in [key, fresh_key()] {
            assert!((8..=128).contains(&key.len()));
            assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        }
    }
}
