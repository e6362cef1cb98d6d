//! The Amazon Bedrock Converse adapter behind [`Engine`].
//!
//! The conversation is rendered from the typed turn and rounds (system prompt, the first
//! user message with the customer's words as data, tool uses and their results). Retries
//! and per-attempt timeouts are the SDK's own (standard retry mode: throttling, 5xx and
//! timeouts are retried with jittered exponential backoff). Logs carry the model id,
//! outcome and latency, never the conversation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_bedrockruntime as br;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::{Document, Number};
use serde_json::Value;
use support_core::domain::Language;
use support_core::ports::engine::prompt::{first_user_message, SYSTEM_PROMPT};
use support_core::ports::engine::tools::specs;
use support_core::ports::engine::{Engine, EngineError, EngineReply, Round, TokenUsage, ToolRequest, Turn};

const MAX_TOKENS: i32 = 1024;
const TEMPERATURE: f32 = 0.2;

/// How hard one engine call tries before it gives up (the SDK's retry and timeout settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// HTTP calls at most, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time, with jitter.
    pub base_delay: Duration,
    /// The cap on one backoff.
    pub max_delay: Duration,
    /// The limit on one HTTP call.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // Worst case about 3 × 10 s per engine call: a turn of a few calls stays within
        // the agent's 90 s Lambda timeout, and a message that still runs out is retried.
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}

pub struct BedrockEngine {
    client: br::Client,
    model_id: String,
}

impl BedrockEngine {
    /// Uses `client` (e.g. one pointed at a test endpoint) with `policy` as its retry and
    /// timeout settings, whatever they were.
    pub fn new(client: br::Client, model_id: impl Into<String>, policy: RetryPolicy) -> Self {
        let retry = RetryConfig::standard()
            .with_max_attempts(policy.max_attempts.max(1))
            .with_initial_backoff(policy.base_delay)
            .with_max_backoff(policy.max_delay);
        let timeout = TimeoutConfig::builder()
            .operation_attempt_timeout(policy.timeout)
            .build();
        let config = client
            .config()
            .to_builder()
            .retry_config(retry)
            .timeout_config(timeout)
            .build();
        Self {
            client: br::Client::from_conf(config),
            model_id: model_id.into(),
        }
    }
}

#[async_trait]
impl Engine for BedrockEngine {
    fn name(&self) -> String {
        format!("bedrock ({})", self.model_id)
    }

    /// The model writes every language the team supports, and English for the others.
    fn answers_in(&self, _: Language) -> bool {
        true
    }

    async fn next(&self, turn: &Turn, rounds: &[Round]) -> Result<EngineReply, EngineError> {
        let input = to_bedrock(turn, rounds).map_err(|e| EngineError::Failed(e.to_string()))?;
        let started = Instant::now();
        let result = self
            .client
            .converse()
            .model_id(&self.model_id)
            .set_system(input.system)
            .set_messages(Some(input.messages))
            .set_tool_config(input.tool_config)
            .inference_config(
                br::types::InferenceConfiguration::builder()
                    .max_tokens(MAX_TOKENS)
                    .temperature(TEMPERATURE)
                    .build(),
            )
            .send()
            .await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(output) => {
                let usage = output.usage();
                tracing::info!(
                    model_id = %self.model_id,
                    latency_ms,
                    stop_reason = output.stop_reason().as_str(),
                    input_tokens = usage.map(|u| u.input_tokens()),
                    output_tokens = usage.map(|u| u.output_tokens()),
                    "bedrock converse ok"
                );
                from_bedrock(output)
            }
            Err(e) => {
                let error = classify(&e);
                tracing::warn!(model_id = %self.model_id, latency_ms, error = %error, "bedrock converse failed");
                Err(error)
            }
        }
    }
}

/// What a failure means once the SDK's retries are spent.
fn classify(err: &SdkError<ConverseError, br::config::http::HttpResponse>) -> EngineError {
    let status = err.raw_response().map(|r| r.status().as_u16());
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let detail = format!(
                "{}: {}",
                e.code().unwrap_or("UnknownError"),
                e.message().unwrap_or("no message")
            );
            if e.is_throttling_exception() || status == Some(429) {
                EngineError::Throttled(detail)
            } else if e.is_model_timeout_exception() {
                EngineError::Timeout(detail)
            } else {
                EngineError::Failed(detail)
            }
        }
        SdkError::TimeoutError(_) => EngineError::Timeout("no answer within the attempt timeout".into()),
        SdkError::DispatchFailure(d) if d.is_timeout() => EngineError::Timeout(DisplayErrorContext(err).to_string()),
        // Display, not Debug: Debug would dump the raw response, i.e. model output.
        SdkError::ResponseError(_) if status == Some(429) => {
            EngineError::Throttled(DisplayErrorContext(err).to_string())
        }
        _ => EngineError::Failed(DisplayErrorContext(err).to_string()),
    }
}

/// The request in SDK types.
struct ConverseInputParts {
    system: Option<Vec<br::types::SystemContentBlock>>,
    messages: Vec<br::types::Message>,
    tool_config: Option<br::types::ToolConfiguration>,
}

type BuildError = aws_smithy_types::error::operation::BuildError;

fn tool_use(request: &ToolRequest) -> Result<br::types::ContentBlock, BuildError> {
    Ok(br::types::ContentBlock::ToolUse(
        br::types::ToolUseBlock::builder()
            .tool_use_id(&request.id)
            .name(&request.name)
            .input(json_to_document(&request.input))
            .build()?,
    ))
}

fn to_bedrock(turn: &Turn, rounds: &[Round]) -> Result<ConverseInputParts, BuildError> {
    use br::types::{
        ConversationRole, Message, Tool, ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock,
        ToolResultStatus, ToolSpecification,
    };

    let mut messages = vec![Message::builder()
        .role(ConversationRole::User)
        .content(br::types::ContentBlock::Text(first_user_message(turn)))
        .build()?];
    for round in rounds {
        let mut said = Message::builder().role(ConversationRole::Assistant);
        // Bedrock rejects blank text blocks.
        if let Some(text) = round.text.as_ref().filter(|t| !t.trim().is_empty()) {
            said = said.content(br::types::ContentBlock::Text(text.clone()));
        }
        let mut results = Message::builder().role(ConversationRole::User);
        for exchange in &round.exchanges {
            said = said.content(tool_use(&exchange.request)?);
            // Some models accept only an object as a JSON tool result.
            let content = match serde_json::to_value(&exchange.result).unwrap_or_default() {
                object @ Value::Object(_) => ToolResultContentBlock::Json(json_to_document(&object)),
                other => ToolResultContentBlock::Json(json_to_document(&serde_json::json!({ "result": other }))),
            };
            let mut result = ToolResultBlock::builder()
                .tool_use_id(&exchange.request.id)
                .content(content);
            if exchange.result.is_error() {
                result = result.status(ToolResultStatus::Error);
            }
            results = results.content(br::types::ContentBlock::ToolResult(result.build()?));
        }
        messages.push(said.build()?);
        messages.push(results.build()?);
    }
    let mut tools = ToolConfiguration::builder();
    for spec in specs() {
        tools = tools.tools(Tool::ToolSpec(
            ToolSpecification::builder()
                .name(spec.name)
                .description(spec.description)
                .input_schema(ToolInputSchema::Json(json_to_document(&spec.input_schema)))
                .build()?,
        ));
    }
    Ok(ConverseInputParts {
        system: Some(vec![br::types::SystemContentBlock::Text(SYSTEM_PROMPT.into())]),
        messages,
        tool_config: Some(tools.build()?),
    })
}

fn from_bedrock(output: ConverseOutput) -> Result<EngineReply, EngineError> {
    let message = match output.output {
        Some(br::types::ConverseOutput::Message(message)) => message,
        _ => return Err(EngineError::Failed("the Converse response carried no message".into())),
    };
    let tokens = |count: i32| u64::try_from(count).unwrap_or(0);
    let mut reply = EngineReply {
        usage: output.usage.map_or_else(TokenUsage::default, |usage| TokenUsage {
            input_tokens: tokens(usage.input_tokens),
            output_tokens: tokens(usage.output_tokens),
        }),
        ..EngineReply::default()
    };
    for block in message.content {
        match block {
            br::types::ContentBlock::Text(text) if reply.text.is_none() => reply.text = Some(text),
            br::types::ContentBlock::ToolUse(tool_use) => reply.tool_requests.push(ToolRequest {
                input: document_to_json(&tool_use.input),
                id: tool_use.tool_use_id,
                name: tool_use.name,
            }),
            // Reasoning, citations and the like are not part of our protocol.
            _ => {}
        }
    }
    Ok(reply)
}

pub fn json_to_document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(0.0))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(json_to_document).collect()),
        Value::Object(map) => Document::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_document(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

pub fn document_to_json(doc: &Document) -> Value {
    match doc {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        // JSON has no NaN or infinity: those become null, as serde_json does.
        Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(document_to_json).collect()),
        Document::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), document_to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use support_core::domain::{Channel, Direction};
    use support_core::ports::engine::tools::ToolCall;
    use support_core::ports::engine::{Exchange, HistoryLine, SearchResults, ToolResult};

    use super::*;

    #[test]
    fn json_and_document_round_trip() {
        let value = json!({
            "query": "invite a teammate",
            "limit": 3,
            "offset": -2,
            "score": 0.75,
            "exact": true,
            "none": null,
            "tags": ["a", 1, -1, 1.5, false, null, {"nested": []}],
            "big": u64::MAX,
            "small": i64::MIN,
        });
        assert_eq!(document_to_json(&json_to_document(&value)), value);
    }

    #[test]
    fn numbers_keep_their_kind() {
        assert_eq!(json_to_document(&json!(7)), Document::Number(Number::PosInt(7)));
        assert_eq!(json_to_document(&json!(-7)), Document::Number(Number::NegInt(-7)));
        assert_eq!(json_to_document(&json!(0.5)), Document::Number(Number::Float(0.5)));
        assert_eq!(
            document_to_json(&Document::Number(Number::Float(f64::NAN))),
            Value::Null
        );
        assert_eq!(
            json_to_document(&json!({"a": [1]})),
            Document::Object(HashMap::from([(
                "a".to_owned(),
                Document::Array(vec![Document::Number(Number::PosInt(1))])
            )]))
        );
    }

    #[test]
    fn the_turn_and_its_rounds_map_to_converse_types() {
        let turn = Turn {
            channel: Channel::Email,
            subject: None,
            customer_text: "How do I add SSO?".into(),
            history: vec![HistoryLine {
                at: chrono::Utc::now(),
                channel: Channel::Email,
                direction: Direction::Inbound,
                text: "How do I add SSO?".into(),
            }],
        };
        let rounds = vec![Round {
            text: Some("  ".into()),
            exchanges: vec![
                Exchange {
                    request: ToolCall::SearchKnowledgeBase { query: "sso".into() }.into_request("t1"),
                    result: ToolResult::Search(SearchResults {
                        good_match: false,
                        hits: vec![],
                    }),
                },
                Exchange {
                    request: ToolRequest {
                        id: "t2".into(),
                        name: "delete_everything".into(),
                        input: json!({}),
                    },
                    result: ToolResult::Error {
                        error: "unknown tool `delete_everything`".into(),
                    },
                },
            ],
        }];
        let parts = to_bedrock(&turn, &rounds).unwrap();
        assert_eq!(
            parts.system,
            Some(vec![br::types::SystemContentBlock::Text(SYSTEM_PROMPT.into())])
        );
        assert_eq!(parts.messages.len(), 3);
        let br::types::ContentBlock::Text(first) = &parts.messages[0].content()[0] else {
            panic!("the customer's message as text");
        };
        assert!(
            first.starts_with("<customer_message channel=\"email\">How do I add SSO?"),
            "{first}"
        );
        // The blank text block is dropped: Bedrock would reject it.
        assert_eq!(parts.messages[1].content().len(), 2, "two tool uses, no text");
        let br::types::ContentBlock::ToolResult(failed) = &parts.messages[2].content()[1] else {
            panic!("a tool result");
        };
        assert_eq!(failed.tool_use_id(), "t2");
        assert_eq!(failed.status(), Some(&br::types::ToolResultStatus::Error));
        assert_eq!(
            failed.content(),
            &[br::types::ToolResultContentBlock::Json(json_to_document(
                &json!({"error": "unknown tool `delete_everything`"})
            ))]
        );
        assert_eq!(parts.tool_config.unwrap().tools().len(), 5);
    }

    #[test]
    fn the_response_maps_back_to_text_and_tool_requests() {
        let output = ConverseOutput::builder()
            .output(br::types::ConverseOutput::Message(
                br::types::Message::builder()
                    .role(br::types::ConversationRole::Assistant)
                    .content(br::types::ContentBlock::Text("Looking.".into()))
                    .content(br::types::ContentBlock::ToolUse(
                        br::types::ToolUseBlock::builder()
                            .tool_use_id("t9")
                            .name("search_knowledge_base")
                            .input(json_to_document(&json!({"query": "sso"})))
                            .build()
                            .unwrap(),
                    ))
                    .build()
                    .unwrap(),
            ))
            .stop_reason(br::types::StopReason::ToolUse)
            .usage(
                br::types::TokenUsage::builder()
                    .input_tokens(1830)
                    .output_tokens(64)
                    .total_tokens(1894)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let reply = from_bedrock(output).unwrap();
        assert_eq!(reply.text.as_deref(), Some("Looking."));
        assert_eq!(
            reply.usage,
            TokenUsage {
                input_tokens: 1830,
                output_tokens: 64
            }
        );
        assert_eq!(
            reply.tool_requests,
            vec![ToolRequest {
                id: "t9".into(),
                name: "search_knowledge_base".into(),
                input: json!({"query": "sso"}),
            }]
        );
    }
}
