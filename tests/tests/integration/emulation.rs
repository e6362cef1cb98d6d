//! The local stack itself, against a real moto: provisioning matches template.yaml, the gateway and the pollers
//! behave like API Gateway and Lambda's SQS event source (partial failures, panics,
//! redrive to the dead-letter queue after maxReceiveCount, standard and FIFO).
//!
//! Each test starts its own moto (about half a second) and uses its own region.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName, SendMessageBatchRequestEntry};
use local_stack::{http_fn, scheduled_fn, sqs_fn, EventSpec, LocalStack, LocalStackOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_matches_the_template() {
    let stack = LocalStack::start(
        LocalStackOptions::default()
            .region("eu-north-1")
            .prefix("prov")
            .without_pollers()
            .without_gateway(),
    )
    .await
    .expect("local stack starts");
    let t = stack.timings();
    eprintln!(
        "moto {:?}, provisioning {:?}, total {:?}",
        t.moto, t.provisioning, t.total
    );
    let template = stack.template().clone();
    let ddb = aws_sdk_dynamodb::Client::new(stack.sdk_config());
    let sqs = aws_sdk_sqs::Client::new(stack.sdk_config());

    assert_eq!(stack.resources().tables.len(), template.tables.len());
    for (id, spec) in &template.tables {
        let name = &stack.table(id).unwrap().name;
        let d = ddb.describe_table().table_name(name).send().await.unwrap();
        let d = d.table().unwrap();
        let keys: Vec<(String, String)> = d
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
            .collect();
        let expected: Vec<(String, String)> = spec
            .key_schema
            .iter()
            .map(|k| (k.attribute.clone(), k.key_type.clone()))
            .collect();
        assert_eq!(keys, expected, "{id} key schema");
        let attrs: BTreeMap<String, String> = d
            .attribute_definitions()
            .iter()
            .map(|a| (a.attribute_name().to_owned(), a.attribute_type().as_str().to_owned()))
            .collect();
        assert_eq!(attrs, spec.attributes, "{id} attribute definitions");
        assert_eq!(
            d.billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map(|m| m.as_str().to_owned()),
            Some(spec.billing_mode.clone()),
            "{id} billing mode"
        );
        let mut gsis: Vec<(String, Vec<String>, String)> = d
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                (
                    g.index_name().unwrap().to_owned(),
                    g.key_schema()
                        .iter()
                        .map(|k| format!("{}:{}", k.attribute_name(), k.key_type().as_str()))
                        .collect(),
                    g.projection()
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_default(),
                )
            })
            .collect();
        gsis.sort();
        let mut expected: Vec<(String, Vec<String>, String)> = spec
            .global_indexes
            .iter()
            .map(|i| {
                (
                    i.name.clone(),
                    i.key_schema
                        .iter()
                        .map(|k| format!("{}:{}", k.attribute, k.key_type))
                        .collect(),
                    i.projection_type.clone(),
                )
            })
            .collect();
        expected.sort();
        assert_eq!(gsis, expected, "{id} GSIs");

        let ttl = ddb.describe_time_to_live().table_name(name).send().await.unwrap();
        let ttl = ttl.time_to_live_description().unwrap();
        match &spec.ttl_attribute {
            Some(attr) => {
                assert_eq!(ttl.attribute_name(), Some(attr.as_str()), "{id} TTL attribute");
                assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));
            }
            None => assert_ne!(
                ttl.time_to_live_status().map(|s| s.as_str()),
                Some("ENABLED"),
                "{id} has no TTL"
            ),
        }
        let backups = ddb.describe_continuous_backups().table_name(name).send().await.unwrap();
        let pitr = backups
            .continuous_backups_description()
            .and_then(|c| c.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .map(|s| s.as_str().to_owned());
        assert_eq!(
            pitr.as_deref() == Some("ENABLED"),
            spec.point_in_time_recovery,
            "{id} PITR"
        );
    }

    assert_eq!(stack.resources().queues.len(), template.queues.len());
    for (id, spec) in &template.queues {
        let q = stack.queue(id).unwrap();
        assert_eq!(q.name.ends_with(".fifo"), spec.fifo, "{id} name");
        let a = sqs
            .get_queue_attributes()
            .queue_url(&q.url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let a = a.attributes().unwrap();
        let get = |k: QueueAttributeName| a.get(&k).cloned();
        assert_eq!(get(QueueAttributeName::QueueArn).as_deref(), Some(q.arn.as_str()));
        assert_eq!(
            get(QueueAttributeName::FifoQueue).as_deref() == Some("true"),
            spec.fifo,
            "{id} FIFO"
        );
        if spec.fifo {
            assert_eq!(
                get(QueueAttributeName::ContentBasedDeduplication).as_deref(),
                Some(if spec.content_based_deduplication {
                    "true"
                } else {
                    "false"
                }),
                "{id} content-based deduplication"
            );
        }
        if let Some(v) = spec.visibility_timeout {
            assert_eq!(
                get(QueueAttributeName::VisibilityTimeout),
                Some(v.to_string()),
                "{id} visibility"
            );
        }
        if let Some(v) = spec.message_retention_period {
            assert_eq!(
                get(QueueAttributeName::MessageRetentionPeriod),
                Some(v.to_string()),
                "{id} retention"
            );
        }
        match &spec.redrive {
            Some(r) => {
                let policy: serde_json::Value =
                    serde_json::from_str(&get(QueueAttributeName::RedrivePolicy).unwrap()).unwrap();
                assert_eq!(
                    policy["deadLetterTargetArn"],
                    stack.queue(&r.dead_letter_queue).unwrap().arn.as_str(),
                    "{id} DLQ"
                );
                let max = policy["maxReceiveCount"]
                    .as_u64()
                    .or_else(|| policy["maxReceiveCount"].as_str()?.parse().ok());
                assert_eq!(max, Some(r.max_receive_count as u64), "{id} maxReceiveCount");
            }
            None => assert!(get(QueueAttributeName::RedrivePolicy).is_none(), "{id} has no redrive"),
        }
    }

    // Every function's environment points at what was provisioned.
    let webform = stack.environment("WebformApiFunction").unwrap();
    assert_eq!(webform["INBOUND_QUEUE_URL"], stack.queue("InboundQueue").unwrap().url);
    assert_eq!(webform["TICKETS_TABLE"], stack.table("TicketsTable").unwrap().name);
    let agent = stack.environment("AgentFunction").unwrap();
    assert_eq!(
        agent["EMAIL_OUTBOUND_QUEUE_URL"],
        stack.queue("EmailOutboundQueue").unwrap().url
    );
    assert_eq!(agent["MODEL_PROVIDER"], "offline");
    let sender = stack.environment("EmailSenderFunction").unwrap();
    assert_eq!(
        stack.resources().email_identities,
        vec![sender["SENDER_ADDRESS"].clone()]
    );
    let ses = aws_sdk_sesv2::Client::new(stack.sdk_config());
    ses.get_email_identity()
        .email_identity(&sender["SENDER_ADDRESS"])
        .send()
        .await
        .expect("sender identity exists");

    // Attaching to a moto that already has the stack works (idempotent provisioning).
    let again = LocalStack::start(
        LocalStackOptions::default()
            .region("eu-north-1")
            .prefix("prov")
            .endpoint_url(stack.endpoint_url())
            .without_pollers()
            .without_gateway(),
    )
    .await
    .expect("attaching to an already provisioned moto");
    assert!(!again.owns_moto());
    assert_eq!(again.queue("InboundQueue"), stack.queue("InboundQueue"));
    again.shutdown().await;
    stack.shutdown().await;
}

#[derive(Debug, Clone)]
struct Seen {
    body: String,
    receive_count: u32,
    event_source: String,
    event_source_arn: String,
    region: String,
    group: Option<String>,
    correlation_id: Option<String>,
    batch_len: usize,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Fails records whose body starts with "fail", panics (on its first delivery) for "panic".
fn recording_handler(log: Log) -> Arc<dyn local_stack::SqsFunction> {
    sqs_fn(move |event: SqsEvent| {
        let log = log.clone();
        async move {
            let mut response = SqsBatchResponse::default();
            let batch_len = event.records.len();
            for r in &event.records {
                let body = r.body.clone().unwrap_or_default();
                let receive_count = r
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                log.lock().unwrap().push(Seen {
                    body: body.clone(),
                    receive_count,
                    event_source: r.event_source.clone().unwrap_or_default(),
                    event_source_arn: r.event_source_arn.clone().unwrap_or_default(),
                    region: r.aws_region.clone().unwrap_or_default(),
                    group: r.attributes.get("MessageGroupId").cloned(),
                    correlation_id: r
                        .message_attributes
                        .get("correlation_id")
                        .and_then(|a| a.string_value.clone()),
                    batch_len,
                });
                if body.starts_with("panic") && receive_count == 1 {
                    panic!("handler blew up on {body}");
                }
                if body.starts_with("fail") {
                    let mut f = BatchItemFailure::default();
                    f.item_identifier = r.message_id.clone().unwrap_or_default();
                    response.batch_item_failures.push(f);
                }
            }
            Ok(response)
        }
    })
}

async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(60)
            .send()
            .await
            .unwrap();
        bodies.extend(out.messages().iter().filter_map(|m| m.body().map(str::to_owned)));
    }
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pollers_delete_successes_retry_failures_and_redrive_to_the_dlq() {
    let agent_log: Log = Arc::default();
    let email_log: Log = Arc::default();
    let stack = LocalStack::start(
        LocalStackOptions::default()
            .region("ap-southeast-2")
            .prefix("poll")
            .without_gateway()
            .max_visibility_timeout(2)
            .sqs_function("AgentFunction", recording_handler(agent_log.clone()))
            .sqs_function("EmailSenderFunction", recording_handler(email_log.clone())),
    )
    .await
    .unwrap();
    let sqs = aws_sdk_sqs::Client::new(stack.sdk_config());
    let template = stack.template().clone();
    let max_receives = |queue: &str| template.queues[queue].redrive.as_ref().unwrap().max_receive_count;
    let count = |log: &Log, body: &str| log.lock().unwrap().iter().filter(|s| s.body == body).count();
    let corr = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("c-1")
        .build()
        .unwrap();

    // FIFO queue: a failing message and a good one in another group.
    let inbound = stack.queue("InboundQueue").unwrap().clone();
    for (body, group) in [("fail-fifo", "g-fail"), ("ok-fifo", "g-ok")] {
        sqs.send_message()
            .queue_url(&inbound.url)
            .message_body(body)
            .message_group_id(group)
            .message_deduplication_id(body)
            .message_attributes("correlation_id", corr.clone())
            .send()
            .await
            .unwrap();
    }
    let fifo_sent = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || agent_log
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.body == "ok-fifo"))
        .await,
        "FIFO message delivered"
    );
    eprintln!("FIFO queue: send to handler in {:?}", fifo_sent.elapsed());

    // Standard queue: one batch with a success, a permanent failure and a success.
    let email = stack.queue("EmailOutboundQueue").unwrap().clone();
    let sent_at = Instant::now();
    let entries: Vec<SendMessageBatchRequestEntry> = ["ok-1", "fail-always", "ok-2"]
        .iter()
        .enumerate()
        .map(|(i, body)| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(*body)
                .message_attributes("correlation_id", corr.clone())
                .build()
                .unwrap()
        })
        .collect();
    sqs.send_message_batch()
        .queue_url(&email.url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();

    assert!(
        wait_until(Duration::from_secs(10), || count(&email_log, "ok-1") == 1
            && count(&email_log, "ok-2") == 1)
        .await,
        "successes delivered"
    );
    let round_trip = sent_at.elapsed();
    eprintln!("first standard-queue invocation after {round_trip:?} (includes the 1 s batching window)");

    // The first invocation got the whole batch, with what Lambda puts in records.
    let first = email_log.lock().unwrap()[0].clone();
    assert_eq!(first.batch_len, 3, "one batch of 3");
    assert_eq!(first.event_source, "aws:sqs");
    assert_eq!(first.event_source_arn, email.arn);
    assert_eq!(first.region, "ap-southeast-2");
    assert_eq!(first.correlation_id.as_deref(), Some("c-1"));

    // The always-failing records end in the dead-letter queues after maxReceiveCount.
    let email_max = max_receives("EmailOutboundQueue") as usize;
    let inbound_max = max_receives("InboundQueue") as usize;
    assert!(
        wait_until(Duration::from_secs(40), || count(&email_log, "fail-always")
            >= email_max
            && count(&agent_log, "fail-fifo") >= inbound_max
            && count(&agent_log, "ok-fifo") >= 1)
        .await,
        "failures retried: email {} of {email_max}, fifo {} of {inbound_max}",
        count(&email_log, "fail-always"),
        count(&agent_log, "fail-fifo"),
    );
    let email_dlq = drain(&sqs, &stack.queue("EmailOutboundDeadLetterQueue").unwrap().url).await;
    let inbound_dlq = drain(&sqs, &stack.queue("InboundDeadLetterQueue").unwrap().url).await;
    assert_eq!(email_dlq, vec!["fail-always"], "standard redrive");
    assert!(
        inbound_dlq.contains(&"fail-fifo".to_owned()),
        "FIFO redrive: {inbound_dlq:?}"
    );

    // Exactly maxReceiveCount deliveries, counted by SQS as Lambda reports them.
    let receives: Vec<u32> = email_log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.body == "fail-always")
        .map(|s| s.receive_count)
        .collect();
    assert_eq!(receives, (1..=email_max as u32).collect::<Vec<_>>());
    // Successes were deleted after the first invocation: seen once.
    assert_eq!(count(&email_log, "ok-1"), 1);
    assert_eq!(count(&email_log, "ok-2"), 1);

    // A panic fails its invocation (nothing deleted); the redelivery succeeds.
    sqs.send_message()
        .queue_url(&email.url)
        .message_body("panic-once")
        .send()
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || count(&email_log, "panic-once") >= 2).await,
        "redelivered after the panic"
    );
    let stats = stack.poller_stats("EmailSenderFunction").unwrap();
    assert!(
        stats.failed_invocations >= 1,
        "the panic failed its invocation: {stats:?}"
    );
    assert!(
        wait_until(Duration::from_secs(5), || stack
            .poller_stats("EmailSenderFunction")
            .unwrap()
            .deleted
            == 3)
        .await,
        "ok-1, ok-2 and panic-once deleted: {:?}",
        stack.poller_stats("EmailSenderFunction")
    );

    // FIFO: records carry their group; the good group was not held up by the failing one.
    let fifo = agent_log.lock().unwrap().clone();
    assert!(fifo.iter().all(|s| s.group.is_some()), "MessageGroupId is passed");
    assert_eq!(fifo.iter().filter(|s| s.body == "ok-fifo").count(), 1);
    let fifo_receives: Vec<u32> = fifo
        .iter()
        .filter(|s| s.body == "fail-fifo")
        .map(|s| s.receive_count)
        .collect();
    assert_eq!(fifo_receives, (1..=inbound_max as u32).collect::<Vec<_>>());
    stack.shutdown().await;
}

async fn http(addr: std::net::SocketAddr, request: &str) -> (u16, HashMap<String, String>, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_routes_template_events_to_the_function() {
    let handler = http_fn(|req: lambda_http::Request| async move {
        use lambda_http::RequestExt;
        let body = match req.body() {
            lambda_http::Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        let echo = serde_json::json!({
            "method": req.method().as_str(),
            "path": req.uri().path(),
            "id": req.path_parameters().first("id"),
            "body": body,
        });
        if body.contains("boom") {
            panic!("boom");
        }
        lambda_http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(lambda_http::Body::Text(echo.to_string()))
            .unwrap()
    });
    let stack = LocalStack::start(
        LocalStackOptions::default()
            .region("sa-east-1")
            .prefix("gw")
            .without_pollers()
            .http_function("WebformApiFunction", handler),
    )
    .await
    .unwrap();
    let addr = stack.gateway_addr().unwrap();
    let routes = stack.template().http_events().len();
    assert!(routes >= 2, "the template's HttpApi events");
    assert!(stack.template().functions["WebformApiFunction"]
        .events
        .iter()
        .any(|e| matches!(e, EventSpec::HttpApi { .. })));

    let body = r#"{"name":"Maya"}"#;
    let (status, headers, text) = http(
        addr,
        &format!(
            "POST /support/submit HTTP/1.1\r\nHost: localhost\r\nOrigin: https://www.tandem.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(status, 200);
    let echo: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body"], body);
    assert_eq!(
        headers.get("access-control-allow-origin").map(String::as_str),
        Some("https://www.tandem.example"),
        "CORS from the template: only the configured origins"
    );
    let (_, headers, _) = http(
        addr,
        &format!(
            "POST /support/submit HTTP/1.1\r\nHost: localhost\r\nOrigin: https://elsewhere.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(
        headers.get("access-control-allow-origin"),
        None,
        "other origins are not allowed"
    );

    let (status, _, text) = http(
        addr,
        "GET /support/ticket/tkt_42 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let echo: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(echo["id"], "tkt_42");

    let (status, _, text) = http(
        addr,
        "GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((status, text.as_str()), (404, r#"{"message":"Not Found"}"#));
    let (status, _, text) = http(
        addr,
        "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["status"],
        "ok"
    );

    let boom = r#"{"boom":1}"#;
    let (status, _, _) = http(
        addr,
        &format!(
            "POST /support/submit HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{boom}",
            boom.len()
        ),
    )
    .await;
    assert_eq!(status, 500, "a panicking handler is a 500, and the gateway lives on");
    let (status, _, _) = http(
        addr,
        "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    stack.shutdown().await;
}

/// Sends `head` (and what follows it), optionally closes the sending half, then reads the
/// answer until the server closes: (status, headers, body), or `None` after `limit`.
async fn raw_exchange(
    addr: std::net::SocketAddr,
    request: &[u8],
    close_sending: bool,
    limit: Duration,
) -> Option<(u16, HashMap<String, String>, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    if close_sending {
        s.shutdown().await.unwrap();
    }
    let mut raw = Vec::new();
    tokio::time::timeout(limit, s.read_to_end(&mut raw)).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    Some((status, headers, body.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_answers_stalled_and_broken_bodies_with_json_errors() {
    let calls = Arc::new(Mutex::new(0));
    let handler = {
        let calls = calls.clone();
        http_fn(move |_req: lambda_http::Request| {
            *calls.lock().unwrap() += 1;
            async move { lambda_http::Response::new(lambda_http::Body::Text("{}".into())) }
        })
    };
    let stack = LocalStack::start(
        LocalStackOptions::default()
            .region("ca-central-1")
            .prefix("body")
            .without_pollers()
            .body_timeout(Duration::from_secs(1))
            .http_function("WebformApiFunction", handler),
    )
    .await
    .unwrap();
    let addr = stack.gateway_addr().unwrap();
    let head = "POST /support/submit HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
    let json_error = |answer: Option<(u16, HashMap<String, String>, String)>, what: &str| {
        let (status, headers, body) = answer.unwrap_or_else(|| panic!("{what}: no answer"));
        assert_eq!(
            headers.get("content-type").map(String::as_str),
            Some("application/json"),
            "{what}"
        );
        let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        assert!(body["message"].is_string(), "{what}: {body}");
        status
    };

    // Headers and part of the body, then nothing: a 408 after the body timeout.
    let started = Instant::now();
    let stalled = raw_exchange(
        addr,
        format!("{head}Content-Length: 100\r\n\r\n{{\"name\":").as_bytes(),
        false,
        Duration::from_secs(8),
    )
    .await;
    let waited = started.elapsed();
    assert_eq!(json_error(stalled, "stalled body"), 408);
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "answered after the 1 s body timeout, not {waited:?}"
    );

    // Malformed chunked encoding.
    let chunked = raw_exchange(
        addr,
        format!("{head}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n").as_bytes(),
        false,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(json_error(chunked, "invalid chunked body"), 400);

    // A body shorter than its Content-Length, then the client closes its side.
    let short = raw_exchange(
        addr,
        format!("{head}Content-Length: 100\r\n\r\n{{\"name\":\"Maya\"}}").as_bytes(),
        true,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(json_error(short, "short body"), 400);

    // Too large for API Gateway.
    let large = raw_exchange(
        addr,
        format!("{head}Content-Length: 20000000\r\n\r\n{{").as_bytes(),
        false,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(json_error(large, "body over 10 MB"), 413);
    assert_eq!(
        *calls.lock().unwrap(),
        0,
        "no invocation for a body that never arrived whole"
    );

    // The gateway lives on, and a whole body still goes through.
    let body = r#"{"name":"Maya"}"#;
    let (status, _, _) = http(
        addr,
        &format!(
            "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(*calls.lock().unwrap(), 1);
    stack.shutdown().await;
}

/// A stack of `tests/schedule-template.yaml`, which has no tables or queues: no moto is
/// needed, the endpoint is never called.
fn schedule_stack() -> LocalStackOptions {
    LocalStackOptions {
        template_path: local_stack::workspace_root().join("infra/local-stack/tests/schedule-template.yaml"),
        ..LocalStackOptions::default()
    }
    .endpoint_url("http://127.0.0.1:9")
    .region("eu-central-1")
    .prefix("sched")
    .without_gateway()
    .without_pollers()
}

type Events = Arc<Mutex<Vec<serde_json::Value>>>;

fn recording_schedule(events: Events) -> Arc<dyn local_stack::ScheduledFunction> {
    scheduled_fn(move |event| {
        let events = events.clone();
        async move {
            let fail = event["fail"].as_bool() == Some(true);
            events.lock().unwrap().push(event);
            if fail {
                Err("asked to fail".into())
            } else {
                Ok(())
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_invoke_their_function_with_eventbridge_events() {
    let sweeps: Events = Arc::default();
    let reports: Events = Arc::default();
    let stack = LocalStack::start(
        schedule_stack()
            .schedule_interval(Duration::from_millis(200))
            .scheduled_function("SweeperFunction", recording_schedule(sweeps.clone()))
            .scheduled_function("ReportFunction", recording_schedule(reports.clone())),
    )
    .await
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || sweeps.lock().unwrap().len() >= 3).await,
        "the timer fires at the configured interval"
    );
    let events = sweeps.lock().unwrap().clone();
    let e = &events[0];
    assert_eq!(e["detail-type"], "Scheduled Event");
    assert_eq!(e["source"], "aws.events");
    assert_eq!(e["region"], "eu-central-1");
    assert_eq!(e["detail"], serde_json::json!({}));
    assert_eq!(
        e["resources"],
        serde_json::json!(["arn:aws:events:eu-central-1:123456789012:rule/sched-SweeperFunctionSweep"])
    );
    assert_ne!(events[0]["id"], events[1]["id"], "one event id per invocation");
    assert!(
        events.iter().all(|e| e["detail-type"] == "Scheduled Event"),
        "the disabled Digest schedule does not run on a timer"
    );
    // The interval override runs cron schedules too, with the Scheduler's ARN.
    assert!(wait_until(Duration::from_secs(5), || !reports.lock().unwrap().is_empty()).await);
    assert_eq!(
        reports.lock().unwrap()[0]["resources"][0],
        "arn:aws:scheduler:eu-central-1:123456789012:schedule/default/sched-ReportFunctionNightly"
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_scheduled_runs_a_functions_schedules_now() {
    let sweeps: Events = Arc::default();
    let stack = LocalStack::start(
        schedule_stack()
            .scheduled_function("SweeperFunction", recording_schedule(sweeps.clone()))
            .scheduled_function(
                "ReportFunction",
                scheduled_fn(|event| async move {
                    match event["source"].as_str() {
                        Some("aws.events") => panic!("report blew up"),
                        _ => Ok(()),
                    }
                }),
            ),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sweeps.lock().unwrap().is_empty(), "rate(1 minute): not within 300 ms");

    stack.run_scheduled("SweeperFunction").await.unwrap();
    let events = sweeps.lock().unwrap().clone();
    assert_eq!(events.len(), 2, "both of its schedules, each with its own event");
    assert_eq!(events[0]["detail-type"], "Scheduled Event");
    assert_eq!(
        events[1],
        serde_json::json!({"kind": "digest"}),
        "Input replaces the event"
    );

    let err = stack.run_scheduled("ReportFunction").await.unwrap_err();
    assert!(err.contains("panicked") && err.contains("report blew up"), "{err}");
    let err = stack.run_scheduled("WebformApiFunction").await.unwrap_err();
    assert!(err.contains("no schedule"), "{err}");
    stack.shutdown().await;
}
