//! What the functions write where Lambda sends their output (CloudWatch Logs, one file per
//! function locally): JSON log lines and CloudWatch Embedded Metric Format lines. Each
//! message's correlation id is logged at every stage of its way, and neither a secret nor
//! the customer's words ever are.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use integration_tests::whatsapp::message_sid;
use integration_tests::{valid_form, TestApp};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
const PHONE: &str = "+5511987654321";
/// The customers' words, each too particular to be in a log line by chance.
const FORM_WORDS: &str = "How do I invite my colleague Bartholomew Quenby to the Saffron workspace?";
const WHATSAPP_WORDS: &str = "How do I reset my password for the Periwinkle board?";
const EMAIL_WORDS: &str = "How do I export the Marzipan board to CSV?";

/// One of each channel's messages, answered: what the tests read the functions' output of.
struct Run {
    app: TestApp,
    correlation_id: String,
    sid: String,
}

async fn answered_on_every_channel() -> Run {
    let app = TestApp::spawn().await;
    let correlation_id = format!("obs-{}", uuid::Uuid::new_v4().simple());
    let mut form = valid_form();
    form["message"] = FORM_WORDS.into();
    let response = app
        .http
        .post(format!("{}/support/submit", app.base_url))
        .header("x-correlation-id", &correlation_id)
        .json(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let ticket: Value = response.json().await.unwrap();
    let ticket_id = ticket["ticket_id"].as_str().unwrap().to_owned();

    let sid = message_sid();
    assert_eq!(app.whatsapp(&sid, PHONE, WHATSAPP_WORDS).await.status(), 200);
    // Twilio retries it: recognised, not taken twice.
    assert_eq!(app.whatsapp(&sid, PHONE, WHATSAPP_WORDS).await.status(), 200);

    let mail = format!(
        "Authentication-Results: mx.google.com; dmarc=pass header.from=lovelace.example\r\n\
         From: Ada Lovelace <ada@lovelace.example>\r\nTo: support@tandem.example\r\nSubject: Export\r\n\
         Message-ID: <obs-1@lovelace.example>\r\n\r\n{EMAIL_WORDS}\r\n"
    );
    let pushed = app.stack.google().deliver(mail.into_bytes(), "INBOX").await;
    assert_eq!(pushed.push.status, Some(200));

    app.wait_for_sent_reply(&ticket_id, WAIT).await.unwrap();
    app.wait_for_twilio(PHONE, 1, "delivered", WAIT).await.unwrap();
    app.wait_for_emails(2).await;
    Run {
        app,
        correlation_id,
        sid,
    }
}

/// A problem with an EMF line, per the specification's rules; `None` when it is valid.
fn emf_problem(line: &Value) -> Option<String> {
    let aws = &line["_aws"];
    if !aws["Timestamp"].is_number() {
        return Some("_aws.Timestamp is not a number".into());
    }
    let Some(directives) = aws["CloudWatchMetrics"].as_array() else {
        return Some("_aws.CloudWatchMetrics is not an array".into());
    };
    for directive in directives {
        if !directive["Namespace"].is_string() {
            return Some("a Namespace that is not a string".into());
        }
        let Some(sets) = directive["Dimensions"].as_array() else {
            return Some("Dimensions is not an array".into());
        };
        for set in sets {
            let Some(names) = set.as_array().filter(|n| n.len() <= 30) else {
                return Some(format!("a dimension set that is not an array of at most 30: {set}"));
            };
            for name in names {
                match name.as_str() {
                    Some(name) if line[name].is_string() => {}
                    _ => return Some(format!("dimension {name} is not a top-level string")),
                }
            }
        }
        let Some(metrics) = directive["Metrics"].as_array().filter(|m| m.len() <= 100) else {
            return Some("Metrics is not an array of at most 100".into());
        };
        for metric in metrics {
            let Some(name) = metric["Name"].as_str() else {
                return Some(format!("a metric without a Name: {metric}"));
            };
            if metric.get("Unit").is_some_and(|u| !u.is_string()) {
                return Some(format!("{name}'s Unit is not a string"));
            }
            let value = &line[name];
            let valid = value.is_number()
                || value
                    .as_array()
                    .is_some_and(|values| values.len() <= 100 && values.iter().all(Value::is_number));
            if !valid {
                return Some(format!("{name} is not a number or at most 100 numbers: {value}"));
            }
        }
    }
    None
}

/// A metric's dimensions besides `Service`, with their values.
type Dimensions<'a> = &'a [(&'a str, &'a str)];

/// The EMF lines of a function's output.
fn emf_lines(app: &TestApp, function: &str) -> Vec<Value> {
    app.function_output(function)
        .into_iter()
        .filter(|line| line.get("_aws").is_some())
        .collect()
}

/// Whether the function emitted `metric` with exactly these dimensions besides `Service`.
fn emitted(app: &TestApp, function: &str, metric: &str, dimensions: Dimensions) -> bool {
    emf_lines(app, function).iter().any(|line| {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        let names: Vec<&str> = directive["Dimensions"][0]
            .as_array()
            .map(|n| n.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let expected: Vec<&str> = std::iter::once("Service")
            .chain(dimensions.iter().map(|(name, _)| *name))
            .collect();
        names == expected
            && dimensions.iter().all(|(name, value)| line[*name] == *value)
            && directive["Metrics"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["Name"] == metric))
    })
}

/// Waits for the metric: a function writes its metrics as its invocation ends, a moment
/// after what it did can be seen.
async fn wait_for_metric(app: &TestApp, function: &str, metric: &str, dimensions: Dimensions<'_>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !emitted(app, function, metric, dimensions) {
        assert!(
            Instant::now() < deadline,
            "{function} emitted no {metric} {dimensions:?}: {:#?}",
            emf_lines(app, function)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_writes_json_logs_and_valid_emf_counting_what_happened() {
    let run = answered_on_every_channel().await;
    let app = &run.app;
    let expected: &[(&str, &str, Dimensions)] = &[
        ("WebformApiFunction", "MessagesReceived", &[("Channel", "web_form")]),
        (
            "WhatsappWebhookFunction",
            "MessagesReceived",
            &[("Channel", "whatsapp")],
        ),
        (
            "WhatsappWebhookFunction",
            "DuplicatesSuppressed",
            &[("Channel", "whatsapp")],
        ),
        ("GmailWebhookFunction", "MessagesReceived", &[("Channel", "email")]),
        ("AgentFunction", "MessagesProcessed", &[("Channel", "web_form")]),
        ("AgentFunction", "MessagesProcessed", &[]),
        ("AgentFunction", "ReplyQueuedLatency", &[("Channel", "whatsapp")]),
        ("AgentFunction", "ReplyQueuedLatency", &[]),
        (
            "EmailSenderFunction",
            "ReplyDeliveredLatency",
            &[("Channel", "web_form")],
        ),
        ("EmailSenderFunction", "ReplyDeliveredLatency", &[("Channel", "email")]),
        (
            "WhatsappSenderFunction",
            "ReplyDeliveredLatency",
            &[("Channel", "whatsapp")],
        ),
        ("AgentFunction", "ColdStarts", &[("Function", "agent")]),
        ("EmailSenderFunction", "ColdStarts", &[]),
    ];
    for (function, metric, dimensions) in expected {
        wait_for_metric(app, function, metric, dimensions).await;
    }

    let mut emf_count = BTreeMap::new();
    for function in app.stack.template().functions.keys() {
        // Every line is JSON (function_output panics otherwise), logs and metrics alike.
        let output = app.function_output(function);
        for line in output.iter().filter(|line| line.get("_aws").is_some()) {
            if let Some(problem) = emf_problem(line) {
                panic!("{function}: {problem}: {line}");
            }
            assert_eq!(
                line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
                support_core::telemetry::DEFAULT_NAMESPACE
            );
            *emf_count.entry(function.as_str()).or_insert(0) += 1;
        }
        for line in output.iter().filter(|line| line.get("_aws").is_none()) {
            assert!(
                line["level"].is_string() && line["fields"].is_object(),
                "{function}: {line}"
            );
        }
    }
    assert!(emf_count.len() >= 6, "the invoked functions' metrics: {emf_count:?}");
    run.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_message_is_logged_with_its_correlation_id_at_every_stage_and_no_secret_or_body_is() {
    let run = answered_on_every_channel().await;
    let app = &run.app;
    // The senders log when the provider took the reply; their metrics follow it.
    wait_for_metric(
        app,
        "EmailSenderFunction",
        "ReplyDeliveredLatency",
        &[("Channel", "web_form")],
    )
    .await;
    wait_for_metric(app, "WhatsappSenderFunction", "ReplyDeliveredLatency", &[]).await;
    let logged_at_info = |function: &str, id: &str| {
        app.function_output(function)
            .iter()
            .any(|line| line["level"] == "INFO" && line.to_string().contains(id))
    };
    for function in ["WebformApiFunction", "AgentFunction", "EmailSenderFunction"] {
        assert!(
            logged_at_info(function, &run.correlation_id),
            "{function} never logged {}: {:#?}",
            run.correlation_id,
            app.function_output(function)
        );
    }
    for function in ["WhatsappWebhookFunction", "AgentFunction", "WhatsappSenderFunction"] {
        assert!(
            logged_at_info(function, &run.sid),
            "{function} never logged {}: {:#?}",
            run.sid,
            app.function_output(function)
        );
    }

    let secrets = [
        local_stack::twilio::LOCAL_AUTH_TOKEN,
        local_stack::google::LOCAL_CLIENT_SECRET,
        local_stack::google::LOCAL_REFRESH_TOKEN,
    ];
    let words = [FORM_WORDS, WHATSAPP_WORDS, EMAIL_WORDS];
    let mut files = 0;
    for entry in std::fs::read_dir(app.stack.log_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for never in secrets.iter().chain(&words) {
            assert!(!text.contains(never), "{} holds {never:?}", path.display());
        }
        // A word the customers used that nothing else says.
        for word in ["Bartholomew", "Periwinkle", "Marzipan"] {
            assert!(!text.contains(word), "{} holds the customer's {word:?}", path.display());
        }
        files += 1;
    }
    assert!(files >= 6, "the functions' files: {files}");
    run.app.shutdown().await;
}
