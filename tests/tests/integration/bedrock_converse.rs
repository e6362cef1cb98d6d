//! The Bedrock adapter through the real AWS SDK against a local Converse stub: the wire
//! format of a tool round trip rendered from the typed engine protocol, and the retry,
//! timeout and error policy (the SDK's own retries, configured by `RetryPolicy`).

use std::time::{Duration, Instant};

use chrono::Utc;
use integration_tests::converse_stub::{ConverseStub, StubReply};
use serde_json::{json, Value};
use support_aws::engine::bedrock::{BedrockEngine, RetryPolicy};
use support_core::domain::{Channel, Direction};
use support_core::ports::engine::prompt::{first_user_message, SYSTEM_PROMPT};
use support_core::ports::engine::tools::{specs, ToolCall};
use support_core::ports::engine::{
    Engine, EngineError, Exchange, HistoryLine, Round, SearchHit, SearchResults, ToolRequest, ToolResult, Turn,
};

const MODEL_ID: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

/// Millisecond backoff keeps the retry tests fast; four attempts make the counts distinct.
fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

async fn engine(stub: &ConverseStub, policy: RetryPolicy) -> BedrockEngine {
    BedrockEngine::new(stub.client().await, MODEL_ID, policy)
}

fn question() -> Turn {
    Turn {
        channel: Channel::Email,
        subject: None,
        customer_text: "How do I invite a teammate?".into(),
        history: vec![HistoryLine {
            at: Utc::now(),
            channel: Channel::Email,
            direction: Direction::Inbound,
            text: "How do I invite a teammate?".into(),
        }],
    }
}

#[tokio::test]
async fn a_tool_use_and_its_result_make_a_round_trip_on_the_wire() {
    let stub = ConverseStub::start().await;
    stub.push([
        StubReply::converse(
            vec![
                json!({"text": "Let me look that up."}),
                json!({"toolUse": {"toolUseId": "t1", "name": "search_knowledge_base",
                    "input": {"query": "invite a teammate", "limit": 3}}}),
                json!({"toolUse": {"toolUseId": "t2", "name": "no_such_tool", "input": {}}}),
            ],
            "tool_use",
        ),
        StubReply::tool_use(
            "t3",
            "send_response",
            json!({"message": "Open Settings → Members and choose Invite."}),
        ),
    ]);
    let engine = engine(&stub, fast_policy()).await;

    let turn = question();
    let first = engine.next(&turn, &[]).await.expect("the first call answers");
    assert_eq!(first.text.as_deref(), Some("Let me look that up."));
    assert_eq!(
        first.tool_requests,
        vec![
            ToolRequest {
                id: "t1".into(),
                name: "search_knowledge_base".into(),
                input: json!({"query": "invite a teammate", "limit": 3}),
            },
            ToolRequest {
                id: "t2".into(),
                name: "no_such_tool".into(),
                input: json!({}),
            },
        ]
    );

    let search = SearchResults {
        good_match: true,
        hits: vec![SearchHit {
            article: "kb-workspace-members".into(),
            title: "Workspace members".into(),
            heading: "Invite".into(),
            text: "Settings → Members → Invite".into(),
            excerpt: "Settings → Members → Invite".into(),
            score: 0.72,
        }],
    };
    let search_result = serde_json::to_value(&search).unwrap();
    let rounds = vec![Round {
        text: first.text.clone(),
        exchanges: vec![
            Exchange {
                request: first.tool_requests[0].clone(),
                result: ToolResult::Search(search),
            },
            Exchange {
                request: first.tool_requests[1].clone(),
                result: ToolResult::Error {
                    error: "unknown tool no_such_tool".into(),
                },
            },
        ],
    }];
    let second = engine.next(&turn, &rounds).await.expect("the second call answers");
    assert_eq!(
        second.tool_requests,
        vec![ToolCall::SendResponse {
            message: "Open Settings → Members and choose Invite.".into()
        }
        .into_request("t3")]
    );

    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.model_id, MODEL_ID, "the model id survives path encoding");
        assert!(
            r.authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256")),
            "the SDK signed the request"
        );
        assert_eq!(r.body["system"], json!([{ "text": SYSTEM_PROMPT }]));
        assert_eq!(r.body["inferenceConfig"]["maxTokens"], 1024);
        let temperature = r.body["inferenceConfig"]["temperature"].as_f64().unwrap();
        assert!((temperature - 0.2).abs() < 1e-6, "temperature {temperature}");
        let expected_tools: Vec<Value> = specs()
            .iter()
            .map(|t| {
                json!({"toolSpec": {"name": t.name, "description": t.description,
                    "inputSchema": {"json": t.input_schema}}})
            })
            .collect();
        assert_eq!(r.body["toolConfig"]["tools"], json!(expected_tools));
    }

    let first_body = &requests[0].body;
    assert_eq!(
        first_body["messages"],
        json!([{"role": "user", "content": [{"text": first_user_message(&turn)}]}])
    );

    let messages = requests[1].body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": [
            {"text": "Let me look that up."},
            {"toolUse": {"toolUseId": "t1", "name": "search_knowledge_base",
                "input": {"query": "invite a teammate", "limit": 3}}},
            {"toolUse": {"toolUseId": "t2", "name": "no_such_tool", "input": {}}},
        ]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "user", "content": [
            {"toolResult": {"toolUseId": "t1", "content": [{"json": search_result}]}},
            {"toolResult": {"toolUseId": "t2", "status": "error",
                "content": [{"json": {"error": "unknown tool no_such_tool"}}]}},
        ]})
    );
}

#[tokio::test]
async fn throttling_is_retried_until_it_passes() {
    let stub = ConverseStub::start().await;
    stub.push([
        StubReply::throttling(),
        StubReply::throttling(),
        StubReply::text("Here is how."),
    ]);
    let reply = engine(&stub, fast_policy())
        .await
        .next(&question(), &[])
        .await
        .expect("the third attempt succeeds");
    assert_eq!(reply.text.as_deref(), Some("Here is how."));
    assert!(reply.tool_requests.is_empty());
    assert_eq!(stub.request_count(), 3);
}

#[tokio::test]
async fn throttling_on_every_attempt_is_reported_as_throttled() {
    let stub = ConverseStub::start().await;
    stub.push((0..6).map(|_| StubReply::throttling()));
    let error = engine(&stub, fast_policy())
        .await
        .next(&question(), &[])
        .await
        .expect_err("every attempt is throttled");
    assert!(
        matches!(&error, EngineError::Throttled(m) if m.contains("Too many requests")),
        "{error:?}"
    );
    // The policy's 4 attempts, no more.
    assert_eq!(stub.request_count(), 4);
}

#[tokio::test]
async fn an_unavailable_service_is_retried_then_fails() {
    let stub = ConverseStub::start().await;
    stub.push((0..6).map(|_| StubReply::service_unavailable()));
    let policy = RetryPolicy {
        max_attempts: 3,
        ..fast_policy()
    };
    let error = engine(&stub, policy)
        .await
        .next(&question(), &[])
        .await
        .expect_err("the service stays unavailable");
    assert!(matches!(error, EngineError::Failed(_)), "{error:?}");
    assert_eq!(stub.request_count(), 3);
}

#[tokio::test]
async fn a_validation_error_fails_at_once() {
    let stub = ConverseStub::start().await;
    stub.push([
        StubReply::validation("Malformed input request"),
        StubReply::text("never asked for"),
    ]);
    let error = engine(&stub, fast_policy())
        .await
        .next(&question(), &[])
        .await
        .expect_err("the request is invalid");
    assert!(
        matches!(&error, EngineError::Failed(m) if m.contains("ValidationException")),
        "{error:?}"
    );
    assert_eq!(stub.request_count(), 1);
}

#[tokio::test]
async fn access_denied_fails_at_once() {
    let stub = ConverseStub::start().await;
    stub.push([
        StubReply::error(403, "AccessDeniedException", "No access to the model"),
        StubReply::text("never asked for"),
    ]);
    let error = engine(&stub, fast_policy())
        .await
        .next(&question(), &[])
        .await
        .expect_err("access is denied");
    assert!(matches!(error, EngineError::Failed(_)), "{error:?}");
    assert_eq!(stub.request_count(), 1);
}

#[tokio::test]
async fn a_slow_model_times_out_after_its_attempts() {
    let stub = ConverseStub::start().await;
    stub.push((0..3).map(|_| StubReply::text("too late").delayed(Duration::from_secs(5))));
    let policy = RetryPolicy {
        max_attempts: 2,
        timeout: Duration::from_millis(200),
        ..fast_policy()
    };
    let started = Instant::now();
    let error = engine(&stub, policy)
        .await
        .next(&question(), &[])
        .await
        .expect_err("every attempt is too slow");
    assert!(matches!(error, EngineError::Timeout(_)), "{error:?}");
    assert_eq!(stub.request_count(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_call_is_retried() {
    let stub = ConverseStub::start().await;
    stub.push([
        StubReply::text("too late").delayed(Duration::from_secs(5)),
        StubReply::text("in time"),
    ]);
    let policy = RetryPolicy {
        timeout: Duration::from_millis(200),
        ..fast_policy()
    };
    let reply = engine(&stub, policy)
        .await
        .next(&question(), &[])
        .await
        .expect("the second attempt is fast");
    assert_eq!(reply.text.as_deref(), Some("in time"));
    assert_eq!(stub.request_count(), 2);
}

/// The real intake and agent, the agent's tool loop on Bedrock (the stub) and the stores on
/// moto, through the SQS batch glue and the functions' counted clients: an email asking a
/// how-to question is searched, answered with `send_response`, recorded with what the turn
/// used (the model's tokens, the AWS calls, the GB-seconds) and emailed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_tool_loop_runs_on_bedrock() {
    use std::sync::Arc;

    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    use aws_sdk_dynamodb::types::AttributeValue;
    use integration_tests::TestApp;
    use support_aws::customers::dynamodb::DynamoCustomers;
    use support_aws::lambda::sqs_batch::process_records;
    use support_aws::queue::sqs::SqsQueue;
    use support_aws::tickets::dynamodb::DynamoTickets;
    use support_aws::usage::TurnMeter;
    use support_aws::wiring::{dynamodb_client, sqs_client};
    use support_core::agent::rails::SemanticRails;
    use support_core::agent::{Agent, AgentPorts};
    use support_core::cost::{PriceTable, TurnUsage};
    use support_core::domain::QueuedMessage;
    use support_core::knowledge::Knowledge;

    const ANSWER: &str = "Open Settings, then Members, and choose Invite. Your teammate gets an email link.";
    let stub = ConverseStub::start().await;
    stub.push([
        StubReply::tool_use(
            "t1",
            "search_knowledge_base",
            json!({"query": "invite a teammate to a workspace"}),
        )
        .with_usage(1830, 64),
        StubReply::tool_use("t2", "send_response", json!({ "message": ANSWER })).with_usage(2210, 48),
    ]);
    let app = TestApp::spawn().await;
    // The function's clients, counted, on the stack's moto.
    let dynamodb = dynamodb_client(app.stack.sdk_config());
    let tickets = Arc::new(DynamoTickets::new(dynamodb.clone(), app.table_name("TicketsTable")));
    let customers = DynamoCustomers::new(dynamodb, app.table_name("CustomersTable"));
    let embedder = support_embedding::shared_embedder(&support_embedding::default_model_dir()).unwrap();
    let agent = Agent::new(AgentPorts {
        history: tickets.clone(),
        replies: tickets.clone(),
        outbound: support_core::delivery::Outbound {
            email: Arc::new(SqsQueue::new(
                sqs_client(app.stack.sdk_config()),
                app.queue_url("EmailOutboundQueue"),
            )),
            whatsapp: None,
        },
        engine: Arc::new(engine(&stub, fast_policy()).await),
        knowledge: Arc::new(Knowledge::articles_only(embedder.clone())),
        rails: Arc::new(SemanticRails::new(
            support_embedding::precomputed::load_classifiers(&support_embedding::default_model_dir())
                .unwrap()
                .intents,
        )),
        identities: Arc::new(customers),
        verifications: tickets.clone(),
        burst_settle: support_core::agent::BURST_SETTLE,
        autonomy: Arc::new(support_core::autonomy::AutonomyPolicy::bundled()),
        team: support_core::agent::Team {
            presence: tickets,
            alert: app.team_alert(),
        },
        meter: Arc::new(TurnMeter { memory_mb: 1024 }),
        prices: PriceTable::bundled().clone(),
    });
    let inbound = json!({
        "channel": "email",
        "channel_message_id": format!("gmail-{}", uuid::Uuid::new_v4()),
        "sender": {"name": "Maya Lin", "email": "maya@northwind.example"},
        "subject": "Invite a teammate",
        "body": "How do I invite a teammate to my workspace?",
        "received_at": Utc::now(),
        "correlation_id": "corr-bedrock",
    });
    let (ticket_id, queued) = app.stored_not_queued(&inbound).await.unwrap();
    let mut record = SqsMessage::default();
    record.message_id = Some("record-1".into());
    record.body = Some(queued.body.clone());
    let mut event = SqsEvent::default();
    event.records = vec![record];
    let agent = &agent;
    let batch = process_records(
        event,
        |message: QueuedMessage| async move { agent.handle(&message).await },
    )
    .await
    .expect("the batch is handled");
    assert!(batch.batch_item_failures.is_empty(), "the message is handled");

    let requests = stub.requests();
    assert_eq!(requests.len(), 2, "search, then send_response");
    let first = &requests[0].body;
    assert!(first["system"][0]["text"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        first["toolConfig"]["tools"].as_array().map(Vec::len),
        Some(specs().len())
    );
    assert!(first["messages"][0]["content"][0]["text"]
        .as_str()
        .is_some_and(|t| t.contains("invite a teammate")));
    // The search result went back to the model as JSON on the toolResult for t1.
    let result = &requests[1].body["messages"][2]["content"][0]["toolResult"];
    assert_eq!(result["toolUseId"], "t1");
    assert!(result.get("status").is_none(), "{result}");
    let hits = &result["content"][0]["json"];
    assert_eq!(hits["good_match"], true, "{hits}");
    assert!(hits["hits"].as_array().is_some_and(|h| !h.is_empty()));

    let ticket = app
        .wait_for_sent_reply(&ticket_id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(ticket["status"], "answered", "{ticket}");
    let reply = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap();
    assert!(reply["body"].as_str().unwrap().contains(ANSWER), "{reply}");

    // The run carries what the turn used, and the day's index finds it.
    let runs = app.ticket_items(&ticket_id, "RUN#").await.unwrap();
    let run = &runs[0];
    let usage: TurnUsage = serde_dynamo::from_attribute_value(run["usage"].clone()).unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens),
        (1830 + 2210, 64 + 48),
        "the stub's tokens, both rounds"
    );
    assert!(
        usage.dynamodb_calls >= 2,
        "the history read, counted, and the record's transaction: {usage:?}"
    );
    assert_eq!(usage.sqs_calls, 1, "the reply queued");
    assert_eq!(usage.ses_calls, 1, "the reply emailed");
    assert!(usage.gb_seconds > 0.0, "{usage:?}");
    let day = run["created_day"].as_s().unwrap().clone();
    let by_day = app
        .dynamodb
        .query()
        .table_name(app.table_name("TicketsTable"))
        .index_name("by_day")
        .key_condition_expression("created_day = :day")
        .filter_expression("entity = :run")
        .expression_attribute_values(":day", AttributeValue::S(day))
        .expression_attribute_values(":run", AttributeValue::S("agent_run".into()))
        .send()
        .await
        .unwrap();
    assert!(by_day.items().iter().any(|item| item["sk"] == run["sk"]), "{by_day:?}");
    println!(
        "a Bedrock turn (stub tokens): {usage:?}, ${:.6}",
        PriceTable::bundled().turn_cost(&usage)
    );
    app.shutdown().await;
}
