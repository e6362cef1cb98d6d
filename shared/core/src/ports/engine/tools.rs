//! The tools an engine may call. Inputs are typed; every tool acts on the customer and
//! ticket of the message being handled (trusted context), never on ids an engine wrote.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use strum::VariantNames;

use super::ToolRequest;
use crate::domain::EscalationReason;

/// A tool call, parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(tag = "name", content = "input", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ToolCall {
    SearchKnowledgeBase { query: String },
    CreateTicket {},
    GetCustomerHistory {},
    EscalateToHuman { reason: EscalationReason, summary: String },
    SendResponse { message: String },
}

impl ToolCall {
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// The call as an engine sends it.
    pub fn into_request(self, id: impl Into<String>) -> ToolRequest {
        let mut wire = serde_json::to_value(&self).expect("tool calls serialize");
        ToolRequest {
            id: id.into(),
            name: self.name().to_owned(),
            input: wire.get_mut("input").map(Value::take).unwrap_or_else(|| json!({})),
        }
    }

    /// The typed call an engine asked for, or why it cannot be made.
    pub fn parse(request: &ToolRequest) -> Result<Self, String> {
        if !ToolCall::VARIANTS.contains(&request.name.as_str()) {
            return Err(format!("unknown tool `{}`", request.name));
        }
        let input = match &request.input {
            Value::Null => json!({}),
            other => other.clone(),
        };
        serde_json::from_value(json!({ "name": request.name, "input": input }))
            .map_err(|e| format!("invalid input: {e}"))
    }
}

/// A tool offered to an engine, with the JSON schema of its input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub input_schema: Value,
}

/// The tools offered to a model (Bedrock `toolSpec` shape).
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "search_knowledge_base",
            description: "Search the product knowledge base. Returns the best passages with scores and whether any is a good match.",
            input_schema: json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1}}, "required": ["query"]}),
        },
        ToolSpec {
            name: "create_ticket",
            description: "Return the ticket of this conversation: its id, status, category and priority. It always exists before you are called.",
            input_schema: json!({"type": "object", "properties": {}}),
        },
        ToolSpec {
            name: "get_customer_history",
            description: "The customer's recent messages on every channel, oldest first.",
            input_schema: json!({"type": "object", "properties": {}}),
        },
        ToolSpec {
            name: "escalate_to_human",
            description: "Hand the ticket to a person. Ends the conversation turn; the customer is told a person will reply.",
            input_schema: json!({"type": "object", "properties": {
                "reason": {"type": "string", "enum": EscalationReason::VARIANTS},
                "summary": {"type": "string"}}, "required": ["reason", "summary"]}),
        },
        ToolSpec {
            name: "send_response",
            description: "Send the answer to the customer. Ends the conversation turn. Write only the answer; greeting and signature are added for the channel.",
            input_schema: json!({"type": "object", "properties": {"message": {"type": "string", "minLength": 1}}, "required": ["message"]}),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_round_trip_through_their_wire_form_and_every_tool_has_a_spec() {
        let call = ToolCall::EscalateToHuman {
            reason: EscalationReason::Refund,
            summary: "wants money back".into(),
        };
        let request = call.clone().into_request("t1");
        assert_eq!(request.name, "escalate_to_human");
        assert_eq!(
            request.input,
            json!({"reason": "refund", "summary": "wants money back"})
        );
        assert_eq!(ToolCall::parse(&request), Ok(call));
        let bare = ToolRequest {
            id: "t2".into(),
            name: "create_ticket".into(),
            input: Value::Null,
        };
        assert_eq!(ToolCall::parse(&bare), Ok(ToolCall::CreateTicket {}));
        let unknown = ToolRequest {
            name: "delete_everything".into(),
            ..bare.clone()
        };
        assert_eq!(
            ToolCall::parse(&unknown),
            Err("unknown tool `delete_everything`".into())
        );
        let spec_names: Vec<&str> = specs().iter().map(|s| s.name).collect();
        assert_eq!(spec_names, ToolCall::VARIANTS);
    }
}
