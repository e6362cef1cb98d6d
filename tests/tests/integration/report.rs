//! The daily report on the local stack: a past Saturday seeded through the adapters the
//! handlers write with (the intake, the agent's turns, a person's actions), the report made
//! on demand through Lambda's Invoke API, read back from the operator API, emailed through
//! moto's SES, and its HTML rendered in headless Chromium (a screenshot under
//! `target/test-artifacts/`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeDelta, Utc, Weekday};
use integration_tests::{KeptQueue, TestApp};
use local_stack::LocalStackOptions;
use serde_json::{json, Value};
use support_aws::tickets::dynamodb::DynamoTickets;
use support_core::cost::TurnUsage;
use support_core::domain::{
    Category, Channel, ConversationMessage, Direction, EscalationReason, Handler, MessageId, TicketId, TicketStatus,
};
use support_core::intake::Intake;
use support_core::ports::tickets::{
    AgentRun, Desk, DeskRecord, IntakeLog, ReplyLog, TicketChange, TicketOutcome, TurnRecord,
};
use support_core::records::{DecisionKind, DecisionRecord, Verdict, VerdictOutcome};

const TEAM: &str = "team@tandem.example";

/// What each seeded turn used: at the bundled prices, 1,000 input tokens ($0.0008), 200
/// output tokens ($0.0008) and the one Lambda invocation ($0.0000002).
const USAGE: TurnUsage = TurnUsage {
    input_tokens: 1000,
    output_tokens: 200,
    dynamodb_calls: 0,
    sqs_calls: 0,
    ses_calls: 0,
    gb_seconds: 0.0,
};

/// A Saturday three weeks or more ago: every SLA deadline of its tickets has passed.
fn past_saturday() -> NaiveDate {
    let mut day = Utc::now().date_naive() - Days::new(21);
    while day.weekday() != Weekday::Sat {
        day = day - Days::new(1);
    }
    day
}

fn at(day: NaiveDate, hours: u32, minutes: u32, seconds: u32) -> DateTime<Utc> {
    day.and_hms_opt(hours, minutes, seconds).unwrap().and_utc()
}

struct Seeder {
    tickets: DynamoTickets,
    intake: Intake,
}

/// What the agent decided on one turn.
struct Turn {
    status: TicketStatus,
    reason: Option<EscalationReason>,
    category: Category,
    sentiment: f64,
    sources: &'static [&'static str],
    verdicts: Vec<(DecisionKind, VerdictOutcome)>,
}

impl Turn {
    fn answered(category: Category, sentiment: f64, sources: &'static [&'static str]) -> Self {
        Self {
            status: TicketStatus::Answered,
            reason: None,
            category,
            sentiment,
            sources,
            verdicts: Vec::new(),
        }
    }

    fn escalated(reason: EscalationReason, category: Category, sentiment: f64) -> Self {
        Self {
            status: TicketStatus::Escalated,
            reason: Some(reason),
            ..Self::answered(category, sentiment, &[])
        }
    }

    fn judged(mut self, kind: DecisionKind, outcome: VerdictOutcome) -> Self {
        self.verdicts.push((kind, outcome));
        self
    }
}

impl Seeder {
    /// A customer's message, opening a ticket at `received_at`.
    async fn open(&self, name: &str, channel: Channel, priority: &str, received_at: DateTime<Utc>) -> TicketId {
        let sender = match channel {
            Channel::Whatsapp => {
                json!({"name": name, "phone": format!("+1555{:06}", name.len() * 100 + name.bytes().map(usize::from).sum::<usize>())})
            }
            _ => json!({"name": name, "email": format!("{}@northwind.example", name.to_lowercase())}),
        };
        let message = serde_json::from_value(json!({
            "channel": channel,
            "channel_message_id": format!("report-{name}-{received_at}"),
            "sender": sender,
            "subject": format!("Question {name}"),
            "body": "How do I invite a teammate?",
            "received_at": received_at,
            "correlation_id": format!("report-{name}"),
            "priority": priority,
        }))
        .unwrap();
        self.intake.accept(message).await.unwrap().ticket_id
    }

    /// The agent's turn on the ticket at `now`, as the agent records it.
    async fn turn(&self, ticket: &TicketId, now: DateTime<Utc>, turn: Turn) {
        let stored = IntakeLog::ticket(&self.tickets, ticket).await.unwrap().unwrap();
        let inbound = MessageId::inbound(now.timestamp_millis(), &format!("turn#{ticket}"));
        let responded = turn.status == TicketStatus::Answered;
        let decision = match turn.reason {
            Some(reason) => json!({"action": "escalate", "reason": reason, "summary": "over to people"}),
            None => json!({"action": "respond", "text": "Here is how.", "sources": turn.sources}),
        };
        let decisions = turn
            .verdicts
            .iter()
            .map(|(kind, outcome)| DecisionRecord {
                ticket_id: ticket.clone(),
                message_id: inbound.clone(),
                kind: *kind,
                value: "x".into(),
                confidence: 0.8,
                at: now,
                verdict: Some(Verdict {
                    outcome: *outcome,
                    by: "operator@tandemboards.example".into(),
                    at: now + TimeDelta::hours(1),
                }),
            })
            .collect();
        let record = TurnRecord {
            reply: ConversationMessage {
                id: MessageId::reply_to(&inbound),
                ticket_id: ticket.clone(),
                customer_id: stored.customer_id,
                direction: Direction::Outbound,
                channel: stored.channel,
                body: "Here is how.".into(),
                created_at: now,
                delivery_status: None,
                provider_message_id: None,
                attachments: Vec::new(),
                has_original: false,
                person: None,
            },
            outcome: TicketOutcome {
                status: turn.status,
                escalation_reason: turn.reason,
                category: turn.category,
                sentiment: turn.sentiment,
                assignee: None,
                responded,
            },
            run: AgentRun {
                message_id: inbound,
                engine: "offline".into(),
                decision,
                steps: Value::Null,
                context: Value::Null,
                duration_ms: 40,
                usage: USAGE,
            },
            code_sent: None,
            decisions,
            audit: Vec::new(),
        };
        self.tickets.record_reply(&record, now).await.unwrap();
    }

    /// A person's action on the ticket, as the operator desk records it.
    async fn person(&self, ticket: &TicketId, seen: TicketStatus, change: TicketChange, now: DateTime<Utc>) {
        let record = DeskRecord {
            ticket: ticket.clone(),
            seen: (seen, Handler::Agent),
            change,
            reply: None,
            release: None,
            withhold: Vec::new(),
            verdicts: Vec::new(),
            proposal: None,
            audit: Vec::new(),
            request: None,
            now,
        };
        self.tickets.apply(&record).await.unwrap();
    }
}

/// A Saturday on every channel, with escalations, and the days around it.
async fn seed(app: &TestApp, day: NaiveDate) {
    use Category::*;
    use DecisionKind::{Draft, Escalation};
    use VerdictOutcome::*;
    let tickets = || DynamoTickets::new(app.dynamodb.clone(), app.table_name("TicketsTable"));
    let s = Seeder {
        tickets: tickets(),
        intake: Intake::new(
            Arc::new(support_aws::customers::dynamodb::DynamoCustomers::new(
                app.dynamodb.clone(),
                app.table_name("CustomersTable"),
            )),
            Arc::new(tickets()),
            Arc::new(KeptQueue::default()),
        ),
    };
    let (friday, before_window) = (day - Days::new(1), day - Days::new(8));
    let monday = day + Days::new(2);

    let e1 = s.open("E1", Channel::Email, "medium", at(day, 9, 0, 0)).await;
    s.turn(
        &e1,
        at(day, 9, 0, 20),
        Turn::escalated(EscalationReason::Refund, Billing, -0.5).judged(Escalation, Approved),
    )
    .await;
    let e2 = s.open("E2", Channel::Email, "high", at(day, 10, 0, 0)).await;
    s.turn(
        &e2,
        at(day, 10, 2, 0),
        Turn::answered(Technical, 0.25, &["invite-teammates"])
            .judged(Draft, Approved)
            .judged(DecisionKind::Category, Approved),
    )
    .await;
    let w1 = s.open("W1", Channel::Whatsapp, "medium", at(day, 8, 0, 0)).await;
    s.turn(
        &w1,
        at(day, 8, 0, 30),
        Turn::answered(Technical, 0.5, &["invite-teammates", "sso-setup"]).judged(Draft, Edited),
    )
    .await;
    let resolved = TicketChange {
        status: Some(TicketStatus::Resolved),
        resolved_at: Some(Some(at(monday, 9, 0, 0))),
        ..TicketChange::default()
    };
    s.person(&w1, TicketStatus::Answered, resolved, at(monday, 9, 0, 0))
        .await;
    let w2 = s.open("W2", Channel::Whatsapp, "high", at(day, 11, 0, 0)).await;
    s.turn(
        &w2,
        at(day, 11, 0, 10),
        Turn::escalated(EscalationReason::Sentiment, Billing, -0.75),
    )
    .await;
    // Escalated on Saturday, answered by a person on Monday 10:30.
    let f1 = s.open("F1", Channel::WebForm, "medium", at(day, 9, 0, 0)).await;
    s.turn(
        &f1,
        at(day, 9, 0, 20),
        Turn::escalated(EscalationReason::HumanRequest, BugReport, 0.1),
    )
    .await;
    let answered = TicketChange {
        status: Some(TicketStatus::Answered),
        handled_by: Some(Handler::Person),
        first_response_at: Some(at(monday, 10, 30, 0)),
        ..TicketChange::default()
    };
    s.person(&f1, TicketStatus::Escalated, answered, at(monday, 10, 30, 0))
        .await;
    let f2 = s.open("F2", Channel::WebForm, "low", at(day, 12, 0, 0)).await;
    s.turn(
        &f2,
        at(day, 12, 5, 0),
        Turn::answered(Billing, 0.6, &["refund-policy"]).judged(Draft, Rejected),
    )
    .await;

    // Friday's email ticket, answered again on Saturday: its decision counts for email.
    let p1 = s.open("P1", Channel::Email, "medium", at(friday, 15, 0, 0)).await;
    s.turn(&p1, at(friday, 15, 1, 0), Turn::answered(General, 0.5, &[]))
        .await;
    s.turn(
        &p1,
        at(day, 15, 0, 0),
        Turn::answered(General, 0.5, &["invite-teammates"]).judged(Draft, Approved),
    )
    .await;
    let p2 = s
        .open("P2", Channel::Whatsapp, "medium", at(day - Days::new(3), 10, 0, 0))
        .await;
    s.turn(
        &p2,
        at(day - Days::new(3), 10, 1, 0),
        Turn::answered(General, 0.25, &[]),
    )
    .await;
    // Eight days before: outside the trend's seven.
    let p3 = s
        .open("P3", Channel::Email, "medium", at(before_window, 10, 0, 0))
        .await;
    s.turn(&p3, at(before_window, 10, 1, 0), Turn::answered(General, -1.0, &[]))
        .await;
}

/// Lambda's Invoke API of the local stack, as `aws lambda invoke --payload` calls it: the
/// status, whether the function failed, and its answer.
async fn invoke(app: &TestApp, payload: Value) -> (u16, Option<String>, Value) {
    let response = app
        .http
        .post(format!(
            "{}/2015-03-31/functions/DailyReportFunction/invocations",
            app.base_url
        ))
        .json(&payload)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let failed = response
        .headers()
        .get("x-amz-function-error")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, failed, response.json().await.unwrap_or(Value::Null))
}

async fn operator_get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let response = app
        .http
        .get(format!("{}{path}", app.base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// One figure of each group: overall, email, WhatsApp, web form.
fn each(report: &Value, figure: &str) -> Vec<Value> {
    let pointer = format!("/{}", figure.replace('.', "/"));
    let mut groups = vec![&report["overall"]];
    groups.extend(report["channels"].as_array().unwrap());
    groups
        .iter()
        .map(|g| g.pointer(&pointer).cloned().unwrap_or(Value::Null))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_day_is_reported_on_demand_stored_emailed_and_rendered() {
    let app = TestApp::spawn_with(
        LocalStackOptions::default()
            .without_pollers()
            .without_schedules()
            .parameter("ReportEmail", TEAM),
    )
    .await;
    let day = past_saturday();
    seed(&app, day).await;

    let (status, failed, answer) = invoke(&app, json!({ "day": day })).await;
    assert_eq!((status, failed), (200, None), "{answer}");

    let token = app.operator_token().await;
    let (status, report) = operator_get(&app, &token, &format!("/operator/reports/{day}")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["day"], day.to_string());
    let channels: Vec<&str> = report["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["email", "whatsapp", "web_form"]);
    assert_eq!(each(&report, "volume"), [json!(6), json!(2), json!(2), json!(2)]);
    // Saturday's against the seven days before: Friday's email (0.5), Wednesday's WhatsApp
    // (0.25); the email of eight days before (-1.0) is not among them.
    assert_eq!(
        each(&report, "sentiment.mean"),
        [json!(0.0333), json!(-0.125), json!(-0.125), json!(0.35)]
    );
    assert_eq!(
        each(&report, "sentiment.previous_mean"),
        [json!(0.375), json!(0.5), json!(0.25), Value::Null]
    );
    assert_eq!(
        each(&report, "sentiment.trend"),
        [json!(-0.3417), json!(-0.625), json!(-0.375), Value::Null]
    );
    assert_eq!(
        each(&report, "escalations.total"),
        [json!(3), json!(1), json!(1), json!(1)]
    );
    assert_eq!(
        report["overall"]["escalations"]["by_reason"],
        json!([
            {"reason": "refund", "tickets": 1},
            {"reason": "sentiment", "tickets": 1},
            {"reason": "human_request", "tickets": 1},
        ])
    );
    assert_eq!(
        report["overall"]["topics"],
        json!([
            {"category": "billing", "tickets": 3},
            {"category": "technical", "tickets": 2},
            {"category": "bug_report", "tickets": 1},
        ])
    );
    // 30 s, 120 s, 300 s, and Saturday 09:00 to Monday 10:30 (178,200 s).
    assert_eq!(
        each(&report, "first_response.p50_seconds"),
        [json!(300.0), json!(120.0), json!(30.0), json!(178_200.0)]
    );
    assert_eq!(
        each(&report, "first_response.p95_seconds"),
        [json!(178_200.0), json!(120.0), json!(30.0), json!(178_200.0)]
    );
    assert_eq!(
        each(&report, "resolution.rate"),
        [json!(0.6667), json!(0.5), json!(0.5), json!(1.0)]
    );
    // Weeks later, only the ticket resolved in time met its targets.
    assert_eq!(each(&report, "sla.breached"), [json!(5), json!(2), json!(1), json!(2)]);
    assert_eq!(
        each(&report, "agreement.rate"),
        [json!(0.6667), json!(1.0), json!(0.0), json!(0.0)]
    );
    assert_eq!(
        each(&report, "agreement.reviewed"),
        [json!(6), json!(4), json!(1), json!(1)]
    );

    let (status, _) = operator_get(&app, &token, &format!("/operator/reports/{}", day - Days::new(30))).await;
    assert_eq!(status, 404, "no report was made for that day");
    let (status, _) = operator_get(&app, &token, "/operator/reports/yesterday").await;
    assert_eq!(status, 400);

    // moto's SES recorded the email to the team: an HTML part with the charts, a text part.
    let emails = app.sent_emails().await.unwrap();
    assert_eq!(emails.len(), 1, "{emails:?}");
    let mail = mail_parser::MessageParser::default()
        .parse(emails[0].as_bytes())
        .unwrap();
    assert_eq!(mail.to().unwrap().first().unwrap().address(), Some(TEAM));
    assert_eq!(
        mail.subject().map(str::to_owned),
        Some(format!("Support report {day}: 6 tickets, 3 escalated"))
    );
    let html = mail.body_html(0).unwrap().into_owned();
    assert!(html.contains("<svg") && !html.contains("<script"), "{html}");
    let text = mail.body_text(0).unwrap();
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Tickets", "opened", "6", "2", "2", "2"]),
        "{text}"
    );

    // A day not over yet, or not a day, is refused by the function.
    let today = Utc::now().date_naive();
    let (status, failed, error) = invoke(&app, json!({ "day": today })).await;
    assert_eq!((status, failed.as_deref()), (200, Some("Unhandled")));
    assert!(
        error["errorMessage"].as_str().unwrap().contains("not over yet"),
        "{error}"
    );
    let (_, failed, error) = invoke(&app, json!({ "day": "21/11/2026" })).await;
    assert_eq!(failed.as_deref(), Some("Unhandled"));
    assert!(
        error["errorMessage"].as_str().unwrap().contains("YYYY-MM-DD"),
        "{error}"
    );
    assert_eq!(app.sent_emails().await.unwrap().len(), 1);

    // EventBridge's schedule reports yesterday (UTC).
    app.stack.run_scheduled("DailyReportFunction").await.unwrap();
    let yesterday = today - Days::new(1);
    let (status, report) = operator_get(&app, &token, &format!("/operator/reports/{yesterday}")).await;
    assert_eq!((status, &report["day"]), (200, &json!(yesterday)), "{report}");
    assert_eq!(app.sent_emails().await.unwrap().len(), 2);

    render_in_chromium(&html);
    app.shutdown().await;
}

/// The report's HTML in headless Chromium: a screenshot kept as a test artifact, and the
/// rendered DOM holds the five charts. Chromium is `CHROMIUM_PATH` or `chromium` on PATH;
/// in CI (`CI` set) it must be there (scripts/ensure-tools.sh --browser installs it).
fn render_in_chromium(html: &str) {
    let chromium = std::env::var_os("CHROMIUM_PATH").map(PathBuf::from).or_else(|| {
        Command::new("sh")
            .args(["-c", "command -v chromium"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    });
    let Some(chromium) = chromium else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing: run scripts/ensure-tools.sh --browser"
        );
        eprintln!("SKIPPED the report's rendering: no chromium (scripts/ensure-tools.sh --browser installs it)");
        return;
    };
    let root = local_stack::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |t| root.join(t));
    let artifacts = target.join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let page = artifacts.join("daily-report.html");
    let screenshot = artifacts.join("daily-report.png");
    std::fs::write(&page, html).unwrap();
    let _ = std::fs::remove_file(&screenshot);
    let profile = std::env::temp_dir().join(format!("report-chromium-{}", std::process::id()));
    let run = |extra: &str| {
        let output = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1200,2000",
                &format!("--user-data-dir={}", profile.display()),
                extra,
                &format!("file://{}", page.display()),
            ])
            .output()
            .expect("chromium runs");
        assert!(
            output.status.success(),
            "chromium {extra} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run(&format!("--screenshot={}", screenshot.display()));
    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());
    let dom = run("--dump-dom");
    assert_eq!(
        dom.matches("<svg").count(),
        5,
        "the five charts are in the rendered page"
    );
    assert!(dom.contains("Support report:"));
    let _ = std::fs::remove_dir_all(&profile);
    eprintln!("the report's screenshot: {}", screenshot.display());
}
