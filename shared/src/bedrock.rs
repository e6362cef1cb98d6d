//! The Amazon Bedrock Converse adapter behind [`ChatModel`].
//!
//! Retries are ours, not the SDK's: the client is always rebuilt with SDK retries
//! off, so one `converse()` is exactly `max_attempts` HTTP calls at most, each
//! bounded by the per-call timeout, with jittered backoff between them. Logs carry
//! the model id, attempt, error kind and latency, never the conversation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_bedrockruntime as br;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::{Document, Number};
use serde_json::Value;

use crate::model::{ChatModel, ContentBlock, ConverseRequest, ConverseResponse, Message, ModelError, Role, StopReason};

const MAX_TOKENS: i32 = 1024;
const TEMPERATURE: f32 = 0.2;

/// How hard one `converse()` tries before it gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// HTTP calls at most, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time, with full jitter.
    pub base_delay: Duration,
    /// The cap on one backoff.
    pub max_delay: Duration,
    /// The limit on one HTTP call.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // Worst case about 3 × 10 s per model call: a turn of a few calls stays within
        // the agent's 90 s Lambda timeout, and a message that still runs out is retried.
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Full jitter (uniform in 0..=min(cap, base·2^n)): many agents throttled at
    /// once spread their retries instead of hitting Bedrock together again.
    fn backoff(&self, failed_attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(failed_attempt.saturating_sub(1)));
        let ceiling = exp.min(self.max_delay).as_millis() as u64;
        Duration::from_millis(fastrand::u64(0..=ceiling))
    }
}

pub struct BedrockModel {
    client: br::Client,
    model_id: String,
    policy: RetryPolicy,
}

impl BedrockModel {
    pub fn new(sdk: &aws_config::SdkConfig, model_id: impl Into<String>) -> Self {
        Self::with_client(br::Client::new(sdk), model_id, RetryPolicy::default())
    }

    /// Uses `client` (e.g. one pointed at a test endpoint) with its SDK retries
    /// turned off, whatever they were, so that `policy` alone decides.
    pub fn with_client(client: br::Client, model_id: impl Into<String>, policy: RetryPolicy) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        Self {
            client: br::Client::from_conf(config),
            model_id: model_id.into(),
            policy,
        }
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn call_once(&self, input: &ConverseInputParts) -> Result<ConverseOutput, Failure> {
        let call = self
            .client
            .converse()
            .model_id(&self.model_id)
            .set_system(input.system.clone())
            .set_messages(Some(input.messages.clone()))
            .set_tool_config(input.tool_config.clone())
            .inference_config(
                br::types::InferenceConfiguration::builder()
                    .max_tokens(MAX_TOKENS)
                    .temperature(TEMPERATURE)
                    .build(),
            )
            .send();
        match tokio::time::timeout(self.policy.timeout, call).await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(Failure {
                kind: FailureKind::Timeout,
                status: None,
                detail: format!("no answer within {:?}", self.policy.timeout),
            }),
        }
    }
}

#[async_trait]
impl ChatModel for BedrockModel {
    async fn converse(&self, request: &ConverseRequest) -> Result<ConverseResponse, ModelError> {
        let input = to_bedrock(request).map_err(|e| ModelError::Failed(e.to_string()))?;
        let attempts = self.policy.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let result = self.call_once(&input).await;
            let latency_ms = started.elapsed().as_millis() as u64;
            let failure = match result {
                Ok(output) => {
                    let usage = output.usage();
                    tracing::info!(
                        model_id = %self.model_id,
                        attempt,
                        latency_ms,
                        stop_reason = output.stop_reason().as_str(),
                        input_tokens = usage.map(|u| u.input_tokens()),
                        output_tokens = usage.map(|u| u.output_tokens()),
                        "bedrock converse ok"
                    );
                    return from_bedrock(output);
                }
                Err(failure) => failure,
            };
            let retry = failure.kind.retryable() && attempt < attempts;
            tracing::warn!(
                model_id = %self.model_id,
                attempt,
                max_attempts = attempts,
                latency_ms,
                error_kind = failure.kind.as_str(),
                status = failure.status,
                retry,
                "bedrock converse failed"
            );
            if !retry {
                return Err(failure.into_model_error(attempt));
            }
            tokio::time::sleep(self.policy.backoff(attempt)).await;
            attempt += 1;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    Throttled,
    /// Server-side or network trouble that another attempt may not have.
    Transient,
    Timeout,
    /// The request itself is wrong (or forbidden): the same call fails again.
    Fatal,
}

impl FailureKind {
    fn retryable(self) -> bool {
        !matches!(self, FailureKind::Fatal)
    }

    fn as_str(self) -> &'static str {
        match self {
            FailureKind::Throttled => "throttled",
            FailureKind::Transient => "transient",
            FailureKind::Timeout => "timeout",
            FailureKind::Fatal => "fatal",
        }
    }
}

#[derive(Debug)]
struct Failure {
    kind: FailureKind,
    status: Option<u16>,
    detail: String,
}

impl Failure {
    fn into_model_error(self, attempts: u32) -> ModelError {
        let text = format!("{} (after {attempts} attempt(s))", self.detail);
        match self.kind {
            FailureKind::Throttled => ModelError::Throttled(text),
            FailureKind::Timeout => ModelError::Timeout(text),
            FailureKind::Transient | FailureKind::Fatal => ModelError::Failed(text),
        }
    }
}

fn classify(err: &SdkError<ConverseError, br::config::http::HttpResponse>) -> Failure {
    let status = err.raw_response().map(|r| r.status().as_u16());
    let (kind, detail) = match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let kind = if e.is_throttling_exception() || status == Some(429) {
                FailureKind::Throttled
            } else if e.is_model_timeout_exception() {
                FailureKind::Timeout
            } else if e.is_service_unavailable_exception()
                || e.is_model_not_ready_exception()
                || e.is_internal_server_exception()
                || status.is_some_and(|s| s >= 500)
            {
                FailureKind::Transient
            } else {
                FailureKind::Fatal
            };
            let detail = format!(
                "{}: {}",
                e.code().unwrap_or("UnknownError"),
                e.message().unwrap_or("no message")
            );
            (kind, detail)
        }
        SdkError::TimeoutError(_) => (FailureKind::Timeout, "the SDK timed out".to_owned()),
        SdkError::DispatchFailure(d) => {
            let kind = if d.is_timeout() {
                FailureKind::Timeout
            } else if d.is_user() {
                FailureKind::Fatal
            } else {
                FailureKind::Transient
            };
            (kind, format!("dispatch failure: {}", DisplayErrorContext(err)))
        }
        // An answer we could not read: worth retrying only if the server said it was unwell.
        // (Display, not Debug: Debug would dump the raw response, i.e. model output.)
        SdkError::ResponseError(_) => {
            let kind = match status {
                Some(429) => FailureKind::Throttled,
                Some(s) if s >= 500 => FailureKind::Transient,
                _ => FailureKind::Fatal,
            };
            (kind, format!("unreadable response: {}", DisplayErrorContext(err)))
        }
        _ => (FailureKind::Fatal, DisplayErrorContext(err).to_string()),
    };
    Failure { kind, status, detail }
}

/// The request in SDK types, built once and reused by every attempt.
struct ConverseInputParts {
    system: Option<Vec<br::types::SystemContentBlock>>,
    messages: Vec<br::types::Message>,
    tool_config: Option<br::types::ToolConfiguration>,
}

type BuildError = aws_smithy_types::error::operation::BuildError;

fn to_bedrock(request: &ConverseRequest) -> Result<ConverseInputParts, BuildError> {
    use br::types::{
        Tool, ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus,
        ToolSpecification, ToolUseBlock,
    };

    // Bedrock rejects blank text blocks and empty tool lists, so those are left out.
    let system =
        (!request.system.trim().is_empty()).then(|| vec![br::types::SystemContentBlock::Text(request.system.clone())]);
    let mut messages = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        let mut builder = br::types::Message::builder().role(match message.role {
            Role::User => br::types::ConversationRole::User,
            Role::Assistant => br::types::ConversationRole::Assistant,
        });
        for block in &message.content {
            let block = match block {
                ContentBlock::Text(text) if text.trim().is_empty() => continue,
                ContentBlock::Text(text) => br::types::ContentBlock::Text(text.clone()),
                ContentBlock::ToolUse { id, name, input } => br::types::ContentBlock::ToolUse(
                    ToolUseBlock::builder()
                        .tool_use_id(id)
                        .name(name)
                        .input(json_to_document(input))
                        .build()?,
                ),
                ContentBlock::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                } => {
                    let content = match content {
                        Value::String(text) => ToolResultContentBlock::Text(text.clone()),
                        // Some models accept only an object as a JSON tool result.
                        Value::Object(_) => ToolResultContentBlock::Json(json_to_document(content)),
                        other => {
                            ToolResultContentBlock::Json(json_to_document(&serde_json::json!({ "result": other })))
                        }
                    };
                    let mut result = ToolResultBlock::builder().tool_use_id(tool_use_id).content(content);
                    if *is_error {
                        result = result.status(ToolResultStatus::Error);
                    }
                    br::types::ContentBlock::ToolResult(result.build()?)
                }
            };
            builder = builder.content(block);
        }
        messages.push(builder.build()?);
    }
    let tool_config = if request.tools.is_empty() {
        None
    } else {
        let mut config = ToolConfiguration::builder();
        for tool in &request.tools {
            config = config.tools(Tool::ToolSpec(
                ToolSpecification::builder()
                    .name(tool.name)
                    .description(tool.description)
                    .input_schema(ToolInputSchema::Json(json_to_document(&tool.input_schema)))
                    .build()?,
            ));
        }
        Some(config.build()?)
    };
    Ok(ConverseInputParts {
        system,
        messages,
        tool_config,
    })
}

fn from_bedrock(output: ConverseOutput) -> Result<ConverseResponse, ModelError> {
    let stop_reason = match output.stop_reason() {
        br::types::StopReason::ToolUse => StopReason::ToolUse,
        br::types::StopReason::MaxTokens => StopReason::MaxTokens,
        // Guardrails, filters and the rest end the turn; the tool loop then escalates.
        _ => StopReason::EndTurn,
    };
    let message = match output.output {
        Some(br::types::ConverseOutput::Message(message)) => message,
        _ => return Err(ModelError::Failed("the Converse response carried no message".into())),
    };
    let content = message
        .content
        .into_iter()
        .filter_map(|block| match block {
            br::types::ContentBlock::Text(text) => Some(ContentBlock::Text(text)),
            br::types::ContentBlock::ToolUse(tool_use) => Some(ContentBlock::ToolUse {
                input: document_to_json(&tool_use.input),
                id: tool_use.tool_use_id,
                name: tool_use.name,
            }),
            // Reasoning, citations and the like are not part of our protocol.
            _ => None,
        })
        .collect();
    Ok(ConverseResponse {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
    })
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
    use super::*;
    use crate::model::ToolSpec;
    use serde_json::json;

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
    fn backoff_is_jittered_under_a_doubling_cap() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            ..RetryPolicy::default()
        };
        for _ in 0..200 {
            assert!(policy.backoff(1) <= Duration::from_millis(100));
            assert!(policy.backoff(2) <= Duration::from_millis(200));
            assert!(policy.backoff(3) <= Duration::from_millis(300));
            assert!(policy.backoff(30) <= Duration::from_millis(300));
        }
        assert!((0..200).any(|_| policy.backoff(3) > Duration::from_millis(150)));
    }

    #[test]
    fn the_request_maps_to_converse_types() {
        let request = ConverseRequest {
            system: "Be kind.".into(),
            messages: vec![
                Message::user_text("Hello"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Text(" ".into()),
                        ContentBlock::ToolUse {
                            id: "t1".into(),
                            name: "search_knowledge_base".into(),
                            input: json!({"query": "invite"}),
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "t1".into(),
                        content: json!({"error": "bad input"}),
                        is_error: true,
                    }],
                },
            ],
            tools: vec![ToolSpec {
                name: "search_knowledge_base",
                description: "Search",
                input_schema: json!({"type": "object"}),
            }],
        };
        let parts = to_bedrock(&request).unwrap();
        assert_eq!(
            parts.system,
            Some(vec![br::types::SystemContentBlock::Text("Be kind.".into())])
        );
        assert_eq!(parts.messages.len(), 3);
        // The blank text block is dropped: Bedrock would reject it.
        assert_eq!(parts.messages[1].content().len(), 1);
        let br::types::ContentBlock::ToolResult(result) = &parts.messages[2].content()[0] else {
            panic!("a tool result");
        };
        assert_eq!(result.tool_use_id(), "t1");
        assert_eq!(result.status(), Some(&br::types::ToolResultStatus::Error));
        assert_eq!(
            result.content(),
            &[br::types::ToolResultContentBlock::Json(json_to_document(
                &json!({"error": "bad input"})
            ))]
        );
        let tools = parts.tool_config.unwrap();
        assert_eq!(tools.tools().len(), 1);
    }

    #[test]
    fn no_tools_means_no_tool_config_and_blank_system_is_left_out() {
        let request = ConverseRequest {
            system: String::new(),
            messages: vec![Message::user_text("Hi")],
            tools: vec![],
        };
        let parts = to_bedrock(&request).unwrap();
        assert!(parts.system.is_none());
        assert!(parts.tool_config.is_none());
    }

    #[test]
    fn the_response_maps_back_with_its_stop_reason() {
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
            .build()
            .unwrap();
        let response = from_bedrock(output).unwrap();
        assert_eq!(response.stop_reason, StopReason::ToolUse);
        assert_eq!(
            response.message.content,
            vec![
                ContentBlock::Text("Looking.".into()),
                ContentBlock::ToolUse {
                    id: "t9".into(),
                    name: "search_knowledge_base".into(),
                    input: json!({"query": "sso"}),
                }
            ]
        );
        for (theirs, ours) in [
            (br::types::StopReason::EndTurn, StopReason::EndTurn),
            (br::types::StopReason::MaxTokens, StopReason::MaxTokens),
            (br::types::StopReason::GuardrailIntervened, StopReason::EndTurn),
            (br::types::StopReason::ContentFiltered, StopReason::EndTurn),
        ] {
            let output = ConverseOutput::builder()
                .output(br::types::ConverseOutput::Message(
                    br::types::Message::builder()
                        .role(br::types::ConversationRole::Assistant)
                        .content(br::types::ContentBlock::Text("Done.".into()))
                        .build()
                        .unwrap(),
                ))
                .stop_reason(theirs)
                .build()
                .unwrap();
            assert_eq!(from_bedrock(output).unwrap().stop_reason, ours);
        }
    }
}
