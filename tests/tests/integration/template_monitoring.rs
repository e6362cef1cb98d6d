//! template.yaml's alarms, dashboard and log groups agree with the product: they name only
//! the metrics of `support_core::telemetry`, with the dimensions the product records them
//! with; the dashboard shows every metric by each of its breakdowns; every dead-letter queue
//! and every function's failures reach an alarm, and every alarm the alarm topic; every
//! function and the API keep their logs for `LogRetentionDays`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use local_stack::template::{evaluate, referenced_resource, Bindings, StackTemplate};
use metrics::Unit;
use regex::Regex;
use serde_json::Value as Json;
use serde_norway::Value;
use support_core::domain::{Channel, EscalationReason, VariantNames};
use support_core::telemetry::{self, MetricSpec, METRICS};

/// The stack's name the template is evaluated with: the value of every Service dimension.
const STACK: &str = "stack";

/// One metric as an alarm or a widget reads it.
#[derive(Debug)]
struct MetricUse {
    /// Where: the alarm's or the widget's title.
    at: String,
    namespace: String,
    name: String,
    /// Dimension → value; a SEARCH names a dimension without a value ("").
    dimensions: BTreeMap<String, String>,
    stat: Option<String>,
}

struct Operations {
    stack: StackTemplate,
    /// Logical id → (type, unevaluated properties).
    resources: BTreeMap<String, (String, Value)>,
    globals: Value,
    /// What the template's intrinsics mean here: see [`OPERATIONS`].
    bindings: Bindings,
    /// Alarm logical id → its evaluated properties.
    alarms: BTreeMap<String, Json>,
    dashboard: Json,
    /// MetricsNamespace's default.
    namespace: String,
}

static OPERATIONS: LazyLock<Operations> = LazyLock::new(|| {
    let text = std::fs::read_to_string(local_stack::workspace_root().join("template.yaml")).expect("template.yaml");
    let stack = StackTemplate::parse(&text).expect("template.yaml parses");
    let doc: Value = serde_norway::from_str(&text).expect("template.yaml is YAML");
    let resources: BTreeMap<String, (String, Value)> = doc["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .map(|(id, r)| {
            let kind = r["Type"].as_str().expect("Type").to_owned();
            let props = r.get("Properties").cloned().unwrap_or(Value::Null);
            (id.as_str().expect("logical id").to_owned(), (kind, props))
        })
        .collect();
    // Every resource evaluates to its logical id (its name, ARN, queue name), so what a
    // widget or an alarm points at reads as the resource it is.
    let mut b = Bindings::parameters_only(&stack, &BTreeMap::new());
    b.stack_name = STACK.into();
    for id in resources.keys() {
        b.refs.insert(id.clone(), id.clone());
        for attribute in ["Arn", "QueueName"] {
            b.attributes.insert((id.clone(), attribute.into()), id.clone());
        }
    }
    let mut alarms = BTreeMap::new();
    let mut dashboards = Vec::new();
    for (id, (kind, props)) in &resources {
        match kind.as_str() {
            "AWS::CloudWatch::Alarm" => {
                alarms.insert(id.clone(), evaluate(props, &b, id).unwrap().unwrap());
            }
            "AWS::CloudWatch::Dashboard" => {
                let body = evaluate(&props["DashboardBody"], &b, id).unwrap().unwrap();
                let body = body.as_str().expect("a JSON string");
                dashboards.push(serde_json::from_str::<Json>(body).expect("the dashboard body is JSON"));
            }
            _ => {}
        }
    }
    let [dashboard] = <[Json; 1]>::try_from(dashboards).expect("one dashboard");
    Operations {
        namespace: stack.parameters["MetricsNamespace"]
            .default
            .clone()
            .expect("a default namespace"),
        globals: doc["Globals"]["Function"].clone(),
        stack,
        resources,
        alarms,
        dashboard,
        bindings: b,
    }
});

impl Operations {
    fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.resources
            .iter()
            .filter(move |(_, (k, _))| k == kind)
            .map(|(id, (_, props))| (id, props))
    }

    fn widgets(&self) -> &[Json] {
        self.dashboard["widgets"].as_array().expect("widgets")
    }

    fn dashboard_metrics(&self) -> Vec<MetricUse> {
        let mut uses = Vec::new();
        for widget in self.widgets().iter().filter(|w| w["type"] == "metric") {
            let props = &widget["properties"];
            let title = props["title"].as_str().unwrap_or_default();
            for entry in props["metrics"].as_array().expect("a metric widget lists metrics") {
                let entry = entry.as_array().expect("a metric entry is an array");
                let options = entry.last().and_then(Json::as_object);
                let stat = options
                    .and_then(|o| o.get("stat"))
                    .or(props.get("stat"))
                    .and_then(Json::as_str)
                    .map(str::to_owned);
                if let Some(expression) = options.and_then(|o| o.get("expression")) {
                    uses.extend(search(title, expression.as_str().expect("an expression")));
                    continue;
                }
                let words: Vec<&str> = entry.iter().filter_map(Json::as_str).collect();
                assert!(
                    words.len() >= 2 && words.len().is_multiple_of(2) && !words[..2].iter().any(|w| w.starts_with('.')),
                    "{title}: write each metric out in full (namespace, name, dimension pairs): {entry:?}"
                );
                uses.push(MetricUse {
                    at: title.to_owned(),
                    namespace: words[0].to_owned(),
                    name: words[1].to_owned(),
                    dimensions: words[2..]
                        .chunks(2)
                        .map(|p| (p[0].to_owned(), p[1].to_owned()))
                        .collect(),
                    stat,
                });
            }
        }
        uses
    }

    fn alarm_metrics(&self) -> Vec<MetricUse> {
        let dimensions = |metric: &Json| -> BTreeMap<String, String> {
            metric["Dimensions"]
                .as_array()
                .map(|ds| {
                    ds.iter()
                        .map(|d| {
                            (
                                d["Name"].as_str().unwrap().to_owned(),
                                d["Value"].as_str().unwrap().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut uses = Vec::new();
        for (id, alarm) in &self.alarms {
            if let Some(name) = alarm["MetricName"].as_str() {
                uses.push(MetricUse {
                    at: id.clone(),
                    namespace: alarm["Namespace"].as_str().unwrap().to_owned(),
                    name: name.to_owned(),
                    dimensions: dimensions(alarm),
                    stat: alarm["Statistic"]
                        .as_str()
                        .or(alarm["ExtendedStatistic"].as_str())
                        .map(str::to_owned),
                });
            }
            for query in alarm["Metrics"].as_array().into_iter().flatten() {
                let Some(stat) = query.get("MetricStat") else { continue };
                let metric = &stat["Metric"];
                uses.push(MetricUse {
                    at: id.clone(),
                    namespace: metric["Namespace"].as_str().unwrap().to_owned(),
                    name: metric["MetricName"].as_str().unwrap().to_owned(),
                    dimensions: dimensions(metric),
                    stat: stat["Stat"].as_str().map(str::to_owned),
                });
            }
        }
        uses
    }

    /// The uses of the product's metrics (our namespace), everywhere.
    fn product_metrics(&self) -> Vec<MetricUse> {
        let mut uses = self.alarm_metrics();
        uses.extend(self.dashboard_metrics());
        uses.retain(|u| u.namespace == self.namespace);
        uses
    }

    fn dead_letter_queues(&self) -> BTreeSet<String> {
        let redrives = self.stack.queues.values().filter_map(|q| q.redrive.as_ref());
        let mut queues: BTreeSet<String> = redrives.map(|r| r.dead_letter_queue.clone()).collect();
        // Asynchronous invocations' (SNS) dead-letter queues.
        for (_, props) in self.of_type("AWS::Serverless::Function") {
            if let Some(target) = props.get("DeadLetterQueue").map(|d| &d["TargetArn"]) {
                queues.insert(referenced_resource(target).expect("a queue of the template"));
            }
        }
        queues
    }
}

/// The metrics a `SEARCH('{namespace,Dimension,...} MetricName="..." ...', 'Stat', period)`
/// expression reads; other expressions read the metrics they name by id.
fn search(at: &str, expression: &str) -> Option<MetricUse> {
    static SEARCH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"^SEARCH\('\{([^}]*)\}\s*(.*)',\s*'([^']+)',\s*\d+\)$"#).unwrap());
    static TERM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(\w+)="([^"]*)""#).unwrap());
    let captures = SEARCH.captures(expression)?;
    let mut schema = captures[1].split(',').map(str::trim);
    let namespace = schema.next().unwrap().to_owned();
    let mut dimensions: BTreeMap<String, String> = schema.map(|d| (d.to_owned(), String::new())).collect();
    let mut name = None;
    for term in TERM.captures_iter(&captures[2]) {
        match &term[1] {
            "MetricName" => name = Some(term[2].to_owned()),
            dimension => {
                let slot = dimensions.get_mut(dimension);
                *slot.unwrap_or_else(|| panic!("{at}: {dimension} is not in the SEARCH's schema")) = term[2].to_owned();
            }
        }
    }
    Some(MetricUse {
        at: at.to_owned(),
        namespace,
        name: name.unwrap_or_else(|| panic!("{at}: a SEARCH names its metric")),
        dimensions,
        stat: Some(captures[3].to_owned()),
    })
}

fn spec(name: &str) -> Option<&'static MetricSpec> {
    METRICS.iter().find(|m| m.name == name)
}

/// The values a breakdown takes, where the product's own names fix them.
fn breakdown_values(dimension: &str) -> Option<&'static [&'static str]> {
    match dimension {
        telemetry::CHANNEL_DIMENSION => Some(Channel::VARIANTS),
        telemetry::REASON_DIMENSION => Some(EscalationReason::VARIANTS),
        _ => None,
    }
}

#[test]
fn the_metrics_namespace_is_the_products() {
    assert_eq!(OPERATIONS.namespace, telemetry::DEFAULT_NAMESPACE);
    let env = &OPERATIONS.globals["Environment"]["Variables"];
    assert_eq!(
        referenced_resource(&env["METRICS_NAMESPACE"]).as_deref(),
        Some("MetricsNamespace")
    );
    assert_eq!(
        referenced_resource(&env["SERVICE_NAME"]).as_deref(),
        Some("AWS::StackName")
    );
}

#[test]
fn alarms_and_widgets_name_only_the_products_metrics_as_it_records_them() {
    let uses = OPERATIONS.product_metrics();
    assert!(uses.len() > 20, "{} uses", uses.len());
    for u in &uses {
        let at = format!("{}: {}", u.at, u.name);
        let spec = spec(&u.name).unwrap_or_else(|| panic!("{at} is not in support_core::telemetry::METRICS"));
        assert_eq!(
            u.dimensions.get(telemetry::SERVICE_DIMENSION).map(String::as_str),
            Some(STACK),
            "{at}: every metric is read for this stack (Service = its name)"
        );
        // Recorded with Service alone and with Service and each breakdown, one at a time.
        let breakdowns: Vec<&str> = u
            .dimensions
            .keys()
            .map(String::as_str)
            .filter(|d| *d != telemetry::SERVICE_DIMENSION)
            .collect();
        assert!(
            breakdowns.len() <= 1 && breakdowns.iter().all(|d| spec.breakdowns.contains(d)),
            "{at}: recorded by {:?} only, not {breakdowns:?}",
            spec.breakdowns
        );
        for (dimension, value) in &u.dimensions {
            if let Some(values) = breakdown_values(dimension) {
                assert!(
                    values.contains(&value.as_str()),
                    "{at}: no {dimension} is called {value}"
                );
            }
        }
        let stat = u.stat.as_deref().unwrap_or("Average");
        match spec.unit {
            Unit::Milliseconds => assert!(
                stat.starts_with('p'),
                "{at}: latencies are read as percentiles, not {stat}"
            ),
            _ => assert_eq!(stat, "Sum", "{at}: counts are read as sums"),
        }
    }
}

#[test]
fn the_dashboard_shows_every_metric_by_each_of_its_breakdowns() {
    let uses: Vec<MetricUse> = OPERATIONS
        .dashboard_metrics()
        .into_iter()
        .filter(|u| u.namespace == OPERATIONS.namespace)
        .collect();
    for spec in METRICS {
        let shown: Vec<&MetricUse> = uses.iter().filter(|u| u.name == spec.name).collect();
        assert!(!shown.is_empty(), "{} is not on the dashboard", spec.name);
        for breakdown in spec.breakdowns {
            let values: BTreeSet<&str> = shown
                .iter()
                .filter_map(|u| u.dimensions.get(*breakdown))
                .map(String::as_str)
                .collect();
            assert!(!values.is_empty(), "{} is not shown by {breakdown}", spec.name);
            // A SEARCH (no value) shows every value the stack records.
            if let Some(all) = breakdown_values(breakdown).filter(|_| !values.contains("")) {
                let missing: Vec<&&str> = all.iter().filter(|v| !values.contains(**v)).collect();
                assert!(
                    missing.is_empty(),
                    "{} by {breakdown}: {missing:?} not shown",
                    spec.name
                );
            }
        }
    }
}

#[test]
fn every_dead_letter_queue_has_an_alarm_and_a_line_on_the_dashboard() {
    let queues = OPERATIONS.dead_letter_queues();
    assert!(
        queues.contains("MailEventsDeadLetterQueue") && queues.len() >= 4,
        "{queues:?}"
    );
    let depth = |u: &MetricUse| u.namespace == "AWS/SQS" && u.name == "ApproximateNumberOfMessagesVisible";
    let alarmed: BTreeSet<String> = OPERATIONS
        .alarm_metrics()
        .into_iter()
        .filter(|u| depth(u))
        .filter(|u| {
            let alarm = &OPERATIONS.alarms[&u.at];
            alarm["Threshold"] == 0 && alarm["ComparisonOperator"] == "GreaterThanThreshold"
        })
        .filter_map(|u| u.dimensions.get("QueueName").cloned())
        .collect();
    let shown: BTreeSet<String> = OPERATIONS
        .dashboard_metrics()
        .into_iter()
        .filter(depth)
        .filter_map(|u| u.dimensions.get("QueueName").cloned())
        .collect();
    for queue in &queues {
        assert!(alarmed.contains(queue), "{queue}: no alarm on its first message");
        assert!(shown.contains(queue), "{queue}: not on the dashboard");
    }
}

#[test]
fn every_functions_failures_reach_an_alarm() {
    let uses = OPERATIONS.alarm_metrics();
    assert!(
        uses.iter()
            .any(|u| u.namespace == OPERATIONS.namespace && u.name == telemetry::ERRORS.name),
        "the failures the functions handle (the product's Errors)"
    );
    // The ones they cannot report: crashes, timeouts, a configuration refused at start.
    let invocation_errors: BTreeSet<&str> = uses
        .iter()
        .filter(|u| u.namespace == "AWS/Lambda" && u.name == "Errors")
        .filter_map(|u| u.dimensions.get("FunctionName"))
        .map(String::as_str)
        .collect();
    for function in OPERATIONS.stack.functions.keys() {
        assert!(
            invocation_errors.contains(function.as_str()),
            "{function}: its Lambda Errors are in no alarm"
        );
    }
}

#[test]
fn the_issues_alarms_have_its_thresholds() {
    let alarm_on = |namespace: &str, name: &str| -> &Json {
        let found = OPERATIONS
            .alarm_metrics()
            .into_iter()
            .find(|u| u.namespace == namespace && u.name == name)
            .unwrap_or_else(|| panic!("no alarm reads {namespace} {name}"));
        &OPERATIONS.alarms[&found.at]
    };
    let latency = alarm_on(&OPERATIONS.namespace, telemetry::REPLY_QUEUED_LATENCY.name);
    assert_eq!(
        (latency["ExtendedStatistic"].as_str(), latency["Threshold"].as_f64()),
        (Some("p95"), Some(3000.0))
    );
    let age = alarm_on("AWS/SQS", "ApproximateAgeOfOldestMessage");
    assert_eq!(age["Dimensions"][0]["Value"], "InboundQueue");
    assert_eq!(age["Threshold"].as_f64(), Some(60.0));
    assert_eq!(
        alarm_on("AWS/SES", "Reputation.BounceRate")["Threshold"].as_f64(),
        Some(0.05)
    );
    assert_eq!(
        alarm_on("AWS/SES", "Reputation.ComplaintRate")["Threshold"].as_f64(),
        Some(0.001)
    );
    let escalations = alarm_on(&OPERATIONS.namespace, telemetry::ESCALATIONS.name);
    assert_eq!(escalations["Threshold"].as_f64(), Some(0.25));
    let periods: Vec<&Json> = escalations["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|q| q.get("MetricStat"))
        .map(|s| &s["Period"])
        .collect();
    assert!(
        periods.iter().all(|p| **p == 3600),
        "the rate over an hour: {periods:?}"
    );
}

#[test]
fn every_alarm_tells_the_alarm_topic_and_is_on_the_dashboard() {
    assert!(matches!(OPERATIONS.resources.get("AlarmTopic"), Some((kind, _)) if kind == "AWS::SNS::Topic"));
    let (_, subscription) = &OPERATIONS.resources["AlarmEmailSubscription"];
    assert_eq!(
        referenced_resource(&subscription["TopicArn"]).as_deref(),
        Some("AlarmTopic")
    );
    assert_eq!(
        referenced_resource(&subscription["Endpoint"]).as_deref(),
        Some("AlarmEmail")
    );
    let listed: BTreeSet<&str> = OPERATIONS
        .widgets()
        .iter()
        .filter(|w| w["type"] == "alarm")
        .flat_map(|w| w["properties"]["alarms"].as_array().unwrap())
        .filter_map(Json::as_str)
        .collect();
    assert!(OPERATIONS.alarms.len() >= 12);
    let runbook = std::fs::read_to_string(local_stack::workspace_root().join("docs/runbook.md")).expect("the runbook");
    let sections: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|heading| {
            // GitHub's anchor of a heading: lower case, spaces to hyphens, punctuation dropped.
            let text = heading.trim_start_matches('#').trim().to_lowercase();
            text.chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect();
    for (id, alarm) in &OPERATIONS.alarms {
        let topic = serde_json::json!(["AlarmTopic"]);
        assert_eq!(alarm["AlarmActions"], topic, "{id}: fires to the alarm topic");
        assert_eq!(alarm["OKActions"], topic, "{id}: tells when it clears");
        assert!(alarm["TreatMissingData"].is_string(), "{id}: missing data is a choice");
        let section = alarm["AlarmDescription"]
            .as_str()
            .and_then(|d| d.split("docs/runbook.md#").nth(1))
            .unwrap_or_else(|| panic!("{id}: its description points at the runbook"));
        assert!(
            sections.contains(section),
            "{id}: the runbook has no section #{section}"
        );
        assert!(
            listed.contains(id.as_str()),
            "{id}: not in the dashboard's alarm widget"
        );
    }
}

#[test]
fn every_function_and_the_api_log_for_log_retention_days() {
    let retention = |id: &str| -> Option<String> {
        let (kind, props) = OPERATIONS.resources.get(id)?;
        assert_eq!(kind, "AWS::Logs::LogGroup", "{id}");
        referenced_resource(&props["RetentionInDays"])
    };
    let groups: BTreeMap<String, &String> = OPERATIONS
        .of_type("AWS::Logs::LogGroup")
        .map(|(id, props)| {
            let name = evaluate(&props["LogGroupName"], &OPERATIONS.bindings, id)
                .unwrap()
                .unwrap();
            (name.as_str().expect("a log group's name").to_owned(), id)
        })
        .collect();
    for function in OPERATIONS.stack.functions.keys() {
        let group = groups
            .iter()
            .find(|(name, _)| name.as_str() == format!("/aws/lambda/{function}"))
            .map(|(_, id)| id.as_str())
            .unwrap_or_else(|| panic!("{function} has no log group (its logs would be kept forever)"));
        assert_eq!(retention(group).as_deref(), Some("LogRetentionDays"), "{group}");
    }
    for (id, api) in OPERATIONS.of_type("AWS::Serverless::HttpApi") {
        let group = referenced_resource(&api["AccessLogSettings"]["DestinationArn"])
            .unwrap_or_else(|| panic!("{id}: no access log (HTTP APIs have no X-Ray tracing)"));
        assert_eq!(retention(&group).as_deref(), Some("LogRetentionDays"), "{group}");
    }
    assert_eq!(OPERATIONS.globals["Tracing"].as_str(), Some("Active"));
    for (id, function) in OPERATIONS.of_type("AWS::Serverless::Function") {
        assert!(
            function.get("Tracing").is_none(),
            "{id}: keeps the Globals' active tracing"
        );
    }
}
