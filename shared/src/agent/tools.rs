//! The tools the model may call. Inputs are typed; every tool acts on the
//! customer and ticket of the message being handled (trusted context), never
//! on ids the model wrote.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::EscalationReason;
use crate::model::ToolSpec;

pub const SEARCH_KNOWLEDGE_BASE: &str = "search_knowledge_base";
pub const CREATE_TICKET: &str = "create_ticket";
pub const GET_CUSTOMER_HISTORY: &str = "get_customer_history";
pub const ESCALATE_TO_HUMAN: &str = "escalate_to_human";
pub const SEND_RESPONSE: &str = "send_response";

#[derive(Debug, Deserialize)]
pub struct SearchInput {
    pub query: String,
}

#[derive(Debug, Deserialize)]
pub struct EscalateInput {
    pub reason: EscalationReason,
    pub summary: String,
}

#[derive(Debug, Deserialize)]
pub struct SendResponseInput {
    pub message: String,
}

/// A parsed tool call.
#[derive(Debug)]
pub enum ToolCall {
    Search(SearchInput),
    CreateTicket,
    History,
    Escalate(EscalateInput),
    Respond(SendResponseInput),
}

impl ToolCall {
    pub fn parse(name: &str, input: &Value) -> Result<Self, String> {
        fn typed<T: serde::de::DeserializeOwned>(input: &Value) -> Result<T, String> {
            serde_json::from_value(input.clone()).map_err(|e| format!("invalid input: {e}"))
        }
        match name {
            SEARCH_KNOWLEDGE_BASE => typed(input).map(ToolCall::Search),
            CREATE_TICKET => Ok(ToolCall::CreateTicket),
            GET_CUSTOMER_HISTORY => Ok(ToolCall::History),
            ESCALATE_TO_HUMAN => typed(input).map(ToolCall::Escalate),
            SEND_RESPONSE => typed(input).map(ToolCall::Respond),
            other => Err(format!("unknown tool `{other}`")),
        }
    }
}

/// The tool specifications offered to the model (Bedrock `toolSpec` shape).
pub fn specs() -> Vec<ToolSpec> {
    let reasons: Vec<&str> = EscalationReason::ALL.iter().map(|r| r.as_str()).collect();
    vec![
        ToolSpec {
            name: SEARCH_KNOWLEDGE_BASE,
            description: "Search the product knowledge base. Returns the best passages with scores and whether any is a good match.",
            input_schema: json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1}}, "required": ["query"]}),
        },
        ToolSpec {
            name: CREATE_TICKET,
            description: "Return the ticket of this conversation: its id, status, category and priority. It always exists before you are called.",
            input_schema: json!({"type": "object", "properties": {}}),
        },
        ToolSpec {
            name: GET_CUSTOMER_HISTORY,
            description: "The customer's recent messages on every channel, oldest first.",
            input_schema: json!({"type": "object", "properties": {}}),
        },
        ToolSpec {
            name: ESCALATE_TO_HUMAN,
            description: "Hand the ticket to a person. Ends the conversation turn; the customer is told a person will reply.",
            input_schema: json!({"type": "object", "properties": {
                "reason": {"type": "string", "enum": reasons},
                "summary": {"type": "string"}}, "required": ["reason", "summary"]}),
        },
        ToolSpec {
            name: SEND_RESPONSE,
            description: "Send the answer to the customer. Ends the conversation turn. Write only the answer; greeting and signature are added for the channel.",
            input_schema: json!({"type": "object", "properties": {"message": {"type": "string", "minLength": 1}}, "required": ["message"]}),
        },
    ]
}
