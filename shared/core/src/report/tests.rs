//! A seeded Saturday: nine tickets on the three channels, escalations for several reasons,
//! answers before and after the weekend, people's verdicts, and tickets on the days around
//! it, with the figures worked out by hand.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::*;
use crate::cost::TurnUsage;
use crate::domain::{Category, CustomerId, MessageId, Priority};
use crate::ports::mailer::memory::MemoryMailer;
use crate::ports::reports::memory::MemoryReports;
use crate::records::{DecisionKind, Verdict, VerdictOutcome};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// Saturday 21 November 2026.
const DAY: &str = "2026-11-21";
/// The Monday after, 16:00: nine business hours into the week (07:00–19:00).
const AS_OF: &str = "2026-11-23T16:00:00Z";

struct Seed {
    name: &'static str,
    channel: Channel,
    category: Category,
    priority: Priority,
    created: &'static str,
    status: TicketStatus,
    reason: Option<EscalationReason>,
    sentiment: Option<f64>,
    first_response: Option<&'static str>,
    resolved: Option<&'static str>,
}

fn id(name: &str) -> TicketId {
    TicketId::derived_from(name)
}

fn ticket(seed: Seed) -> Ticket {
    let mut t = Ticket::open(
        id(seed.name),
        CustomerId::derived_from(seed.name),
        seed.channel,
        format!("ticket {}", seed.name),
        seed.category,
        seed.priority,
        at(seed.created),
    );
    t.status = seed.status;
    t.escalation_reason = seed.reason;
    t.sentiment = seed.sentiment;
    t.first_response_at = seed.first_response.map(at);
    t.resolved_at = seed.resolved.map(at);
    t
}

/// A ticket only its channel, day and sentiment matter for (the days around the report's).
fn other_day(name: &'static str, channel: Channel, created: &'static str, sentiment: Option<f64>) -> Ticket {
    ticket(Seed {
        name,
        channel,
        category: Category::General,
        priority: Priority::Medium,
        created,
        status: TicketStatus::Answered,
        reason: None,
        sentiment,
        first_response: None,
        resolved: None,
    })
}

fn day_tickets() -> Vec<Ticket> {
    use Channel::*;
    use TicketStatus::*;
    let seed = |name, channel, category, priority, created, status| Seed {
        name,
        channel,
        category,
        priority,
        created,
        status,
        reason: None,
        sentiment: None,
        first_response: None,
        resolved: None,
    };
    [
        Seed {
            reason: Some(EscalationReason::Refund),
            sentiment: Some(-0.5),
            ..seed(
                "E1",
                Email,
                Category::Billing,
                Priority::Medium,
                "2026-11-21T09:00:00Z",
                Escalated,
            )
        },
        Seed {
            sentiment: Some(0.25),
            first_response: Some("2026-11-21T10:02:00Z"),
            ..seed(
                "E2",
                Email,
                Category::Technical,
                Priority::High,
                "2026-11-21T10:00:00Z",
                Answered,
            )
        },
        seed(
            "E3",
            Email,
            Category::General,
            Priority::Low,
            "2026-11-21T14:00:00Z",
            Open,
        ),
        Seed {
            sentiment: Some(0.5),
            first_response: Some("2026-11-21T08:00:30Z"),
            ..seed(
                "W1",
                Whatsapp,
                Category::Technical,
                Priority::Medium,
                "2026-11-21T08:00:00Z",
                Answered,
            )
        },
        Seed {
            reason: Some(EscalationReason::Sentiment),
            sentiment: Some(-0.75),
            ..seed(
                "W2",
                Whatsapp,
                Category::Billing,
                Priority::High,
                "2026-11-21T11:00:00Z",
                Escalated,
            )
        },
        Seed {
            sentiment: Some(0.0),
            first_response: Some("2026-11-21T20:01:00Z"),
            resolved: Some("2026-11-23T09:00:00Z"),
            ..seed(
                "W3",
                Whatsapp,
                Category::Technical,
                Priority::Medium,
                "2026-11-21T20:00:00Z",
                Resolved,
            )
        },
        // Escalated on Saturday, answered by a person on Monday 10:30: 49.5 hours later,
        // but within the four business hours the weekend does not count.
        Seed {
            reason: Some(EscalationReason::HumanRequest),
            sentiment: Some(0.1),
            first_response: Some("2026-11-23T10:30:00Z"),
            ..seed(
                "F1",
                WebForm,
                Category::BugReport,
                Priority::Medium,
                "2026-11-21T09:00:00Z",
                Answered,
            )
        },
        Seed {
            sentiment: Some(0.6),
            first_response: Some("2026-11-21T12:05:00Z"),
            ..seed(
                "F2",
                WebForm,
                Category::Billing,
                Priority::Low,
                "2026-11-21T12:00:00Z",
                Answered,
            )
        },
        Seed {
            reason: Some(EscalationReason::Refund),
            ..seed(
                "F3",
                WebForm,
                Category::Billing,
                Priority::High,
                "2026-11-21T16:00:00Z",
                Escalated,
            )
        },
    ]
    .into_iter()
    .map(ticket)
    .collect()
}

fn decision(ticket: &str, kind: DecisionKind, verdict: Option<VerdictOutcome>) -> DecisionRecord {
    DecisionRecord {
        ticket_id: id(ticket),
        message_id: MessageId::inbound(1_795_000_000_000, ticket),
        kind,
        value: "x".into(),
        confidence: 0.8,
        at: at("2026-11-21T12:00:00Z"),
        verdict: verdict.map(|outcome| Verdict {
            outcome,
            by: "alice@tandem.example".into(),
            at: at("2026-11-23T09:00:00Z"),
        }),
    }
}

fn turn(ticket: &str, sources: &[&str], usage: TurnUsage) -> AgentTurn {
    AgentTurn {
        ticket_id: id(ticket),
        sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        usage,
    }
}

fn tokens(input_tokens: u64, output_tokens: u64) -> TurnUsage {
    TurnUsage {
        input_tokens,
        output_tokens,
        ..TurnUsage::default()
    }
}

/// Round prices, so the costs can be worked out by hand: $1 per 1,000 input tokens, $2 per
/// 1,000 output tokens, a tenth of a cent per DynamoDB call, no charge per invocation.
fn prices() -> PriceTable {
    let price = |usd: f64, per: f64| json!({"usd": usd, "per": per, "unit": "u", "source": "test"});
    let table = json!({
        "region": "test",
        "model": "test-model",
        "model_input_tokens": price(1.0, 1000.0),
        "model_output_tokens": price(2.0, 1000.0),
        "dynamodb_calls": price(0.001, 1.0),
        "sqs_requests": price(0.001, 1.0),
        "ses_emails": price(0.01, 1.0),
        "lambda_gb_seconds": price(0.001, 1.0),
        "lambda_requests": price(0.0, 1.0),
    });
    PriceTable::parse(&table.to_string()).unwrap()
}

fn day_records() -> DayRecords {
    use DecisionKind::*;
    use VerdictOutcome::*;
    DayRecords {
        tickets: day_tickets(),
        decisions: vec![
            decision("E2", Draft, Some(Approved)),
            decision("E2", Category, Some(Approved)),
            decision("E2", Escalation, None),
            decision("W1", Draft, Some(Edited)),
            decision("W1", Category, Some(Approved)),
            decision("F2", Draft, Some(Rejected)),
            // On Friday's WhatsApp ticket P2: they count for WhatsApp.
            decision("P2", Draft, Some(Approved)),
            decision("P2", Strategy, Some(Approved)),
            // On a ticket that is not found: overall only.
            decision("X", Escalation, Some(Rejected)),
        ],
        turns: vec![
            turn("E2", &["invite-teammates"], tokens(1000, 0)),
            turn("W1", &["invite-teammates", "sso-setup"], tokens(2000, 500)),
            // A second turn on W1: one more turn, not one more ticket.
            turn("W1", &[], TurnUsage::default()),
            turn(
                "W3",
                &["sso-setup"],
                TurnUsage {
                    dynamodb_calls: 10,
                    ..TurnUsage::default()
                },
            ),
            turn("F2", &["refund-policy"], tokens(500, 0)),
            turn("P2", &["invite-teammates"], tokens(1000, 0)),
            turn("W2", &[], TurnUsage::default()),
        ],
    }
}

/// The report's day and the days around it: the seven days before (Friday the 20th,
/// Monday the 16th) count for the trend, the 13th and the 22nd do not.
fn source() -> MemoryReports {
    let only = |tickets| DayRecords {
        tickets,
        ..DayRecords::default()
    };
    MemoryReports::default()
        .with_day(date(DAY), day_records())
        .with_day(
            date("2026-11-20"),
            only(vec![
                other_day("P1", Channel::Email, "2026-11-20T10:00:00Z", Some(0.5)),
                other_day("P2", Channel::Whatsapp, "2026-11-20T18:00:00Z", Some(0.25)),
            ]),
        )
        .with_day(
            date("2026-11-16"),
            only(vec![
                other_day("P3", Channel::WebForm, "2026-11-16T10:00:00Z", Some(-0.5)),
                other_day("P4", Channel::Email, "2026-11-16T11:00:00Z", None),
            ]),
        )
        .with_day(
            date("2026-11-13"),
            only(vec![other_day(
                "P5",
                Channel::Email,
                "2026-11-13T10:00:00Z",
                Some(-1.0),
            )]),
        )
        .with_day(
            date("2026-11-22"),
            only(vec![other_day("P6", Channel::Email, "2026-11-22T10:00:00Z", Some(1.0))]),
        )
}

struct Sent {
    reports: DailyReports,
    source: Arc<MemoryReports>,
    mailer: Arc<MemoryMailer>,
}

fn reports() -> Sent {
    let source = Arc::new(source());
    let mailer = Arc::new(MemoryMailer::default());
    let reports = DailyReports::new(
        ReportPorts {
            source: source.clone(),
            store: source.clone(),
            mail: Some(ReportMail {
                mailer: mailer.clone(),
                from: "support@tandem.example".parse().unwrap(),
                to: "team@tandem.example".parse().unwrap(),
            }),
        },
        prices(),
    );
    Sent {
        reports,
        source,
        mailer,
    }
}

async fn produced() -> DailyReport {
    reports().reports.produce(date(DAY), at(AS_OF)).await.unwrap().report
}

fn channel(report: &DailyReport, channel: Channel) -> &Figures {
    &report.channels.iter().find(|c| c.channel == channel).unwrap().figures
}

fn groups(report: &DailyReport) -> [&Figures; 4] {
    [
        &report.overall,
        channel(report, Channel::Email),
        channel(report, Channel::Whatsapp),
        channel(report, Channel::WebForm),
    ]
}

/// One figure of each group: overall, email, WhatsApp, web form.
fn each<T>(report: &DailyReport, figure: impl Fn(&Figures) -> T) -> [T; 4] {
    groups(report).map(figure)
}

#[tokio::test]
async fn volume_sentiment_and_its_trend_against_the_seven_days_before() {
    let report = produced().await;
    assert_eq!(report.day, date(DAY));
    assert_eq!(report.as_of, at(AS_OF));
    assert_eq!(
        report.channels.iter().map(|c| c.channel).collect::<Vec<_>>(),
        Channel::VARIANTS
    );
    assert_eq!(each(&report, |f| f.volume), [9, 3, 3, 3]);
    let s = |f: &Figures| {
        let s = &f.sentiment;
        (s.rated, s.mean, s.previous_rated, s.previous_mean, s.trend)
    };
    assert_eq!(
        each(&report, s),
        [
            // (-0.5 + 0.25 + 0.5 - 0.75 + 0 + 0.1 + 0.6) / 7 against (0.5 + 0.25 - 0.5) / 3.
            (7, Some(0.0286), 3, Some(0.0833), Some(-0.0548)),
            // The email ticket of the 16th has no sentiment; the 13th is eight days before.
            (2, Some(-0.125), 1, Some(0.5), Some(-0.625)),
            (3, Some(-0.0833), 1, Some(0.25), Some(-0.3333)),
            (2, Some(0.35), 1, Some(-0.5), Some(0.85)),
        ]
    );
}

#[tokio::test]
async fn escalations_by_reason_and_topics_most_first() {
    use EscalationReason::*;
    let report = produced().await;
    let reasons = |f: &Figures| {
        let by_reason: Vec<_> = f.escalations.by_reason.iter().map(|r| (r.reason, r.tickets)).collect();
        (f.escalations.total, by_reason)
    };
    assert_eq!(
        each(&report, reasons),
        [
            (4, vec![(Refund, 2), (Sentiment, 1), (HumanRequest, 1)]),
            (1, vec![(Refund, 1)]),
            (1, vec![(Sentiment, 1)]),
            (2, vec![(Refund, 1), (HumanRequest, 1)]),
        ]
    );
    let topics: Vec<_> = report.overall.topics.iter().map(|t| (t.category, t.tickets)).collect();
    assert_eq!(
        topics,
        [
            (Category::Billing, 4),
            (Category::Technical, 3),
            (Category::General, 1),
            (Category::BugReport, 1)
        ]
    );
    let articles = |f: &Figures| {
        f.articles
            .iter()
            .map(|a| (a.article.clone(), a.citations))
            .collect::<Vec<_>>()
    };
    let named = |pairs: &[(&str, usize)]| pairs.iter().map(|(a, n)| ((*a).to_owned(), *n)).collect::<Vec<_>>();
    assert_eq!(
        each(&report, articles),
        [
            named(&[("invite-teammates", 3), ("sso-setup", 2), ("refund-policy", 1)]),
            named(&[("invite-teammates", 1)]),
            // Friday's ticket P2 is WhatsApp's: its turn of the day counts there.
            named(&[("invite-teammates", 2), ("sso-setup", 2)]),
            named(&[("refund-policy", 1)]),
        ]
    );
}

#[tokio::test]
async fn first_response_percentiles_resolution_rate_and_sla_over_the_weekend() {
    let report = produced().await;
    let first = |f: &Figures| {
        let r = &f.first_response;
        (r.responded, r.p50_seconds, r.p95_seconds)
    };
    // Waits: email 120 s; WhatsApp 30 and 60 s; web form 300 s and 178,200 s (Saturday
    // 09:00 to Monday 10:30). Nearest rank: of two, the 50th percentile is the second.
    assert_eq!(
        each(&report, first),
        [
            (5, Some(120.0), Some(178_200.0)),
            (1, Some(120.0), Some(120.0)),
            (2, Some(60.0), Some(60.0)),
            (2, Some(178_200.0), Some(178_200.0)),
        ]
    );
    let resolution = |f: &Figures| (f.resolution.resolved, f.resolution.answered, f.resolution.rate);
    assert_eq!(
        each(&report, resolution),
        [
            (1, 4, Some(0.5556)),
            (0, 1, Some(0.3333)),
            (1, 1, Some(0.6667)),
            (0, 2, Some(0.6667))
        ]
    );
    // Opened on Saturday, every first response is due Monday 11:00: the four tickets
    // without one have breached, F1 (answered Monday 10:30) has not. E2 (high priority,
    // due resolved within one business day, Monday 19:00) has used 9 of its 12 hours.
    let sla = |f: &Figures| (f.sla.breached, f.sla.at_risk);
    assert_eq!(each(&report, sla), [(4, 1), (2, 1), (1, 0), (1, 0)]);
}

#[tokio::test]
async fn cost_of_the_days_turns_per_ticket_they_worked_on() {
    let report = produced().await;
    let cost = |f: &Figures| (f.cost.turns, f.cost.tickets, f.cost.total_usd, f.cost.per_ticket_usd);
    // E2 $1; W1 $2 + $1 and $0; W3 ten calls, $0.01; F2 $0.50; P2 (Friday's WhatsApp) $1; W2 $0.
    assert_eq!(
        each(&report, cost),
        [
            (7, 6, 5.51, Some(0.91833333)),
            (1, 1, 1.0, Some(1.0)),
            (5, 4, 4.01, Some(1.0025)),
            (1, 1, 0.5, Some(0.5)),
        ]
    );
}

#[tokio::test]
async fn agreement_over_the_days_decisions_people_judged() {
    let report = produced().await;
    let rate = |f: &Figures| (f.agreement.reviewed, f.agreement.agreed, f.agreement.rate);
    assert_eq!(
        each(&report, rate),
        [
            (8, 5, Some(0.625)),
            (2, 2, Some(1.0)),
            (4, 3, Some(0.75)),
            (1, 0, Some(0.0))
        ]
    );
    let by_kind: Vec<_> = (report.overall.agreement.by_kind.iter())
        .map(|a| (a.kind, a.decided, a.reviewed, a.agreed, a.rate))
        .collect();
    assert_eq!(
        by_kind,
        [
            (DecisionKind::Category, 2, 2, 2, Some(1.0)),
            (DecisionKind::Strategy, 1, 1, 1, Some(1.0)),
            (DecisionKind::Escalation, 2, 1, 0, Some(0.0)),
            (DecisionKind::Draft, 4, 4, 2, Some(0.5)),
        ]
    );
}

#[tokio::test]
async fn the_report_is_stored_and_emailed_with_charts_and_a_text_part() {
    let sent = reports();
    let produced = sent.reports.produce(date(DAY), at(AS_OF)).await.unwrap();
    assert_eq!(
        produced.emailed_to.as_ref().map(|a| a.as_str()),
        Some("team@tandem.example")
    );
    let stored = sent.source.get(date(DAY)).await.unwrap().unwrap();
    assert_eq!(stored, serde_json::to_value(&produced.report).unwrap());
    assert_eq!(stored["day"], "2026-11-21");
    assert_eq!(stored["overall"]["volume"], 9);
    assert_eq!(stored["channels"][1]["channel"], "whatsapp");
    assert_eq!(stored["channels"][1]["volume"], 3);
    assert_eq!(stored["overall"]["escalations"]["by_reason"][0]["reason"], "refund");

    let mails = sent.mailer.sent();
    assert_eq!(mails.len(), 1);
    let mail = mail_parser::MessageParser::default().parse(&mails[0]).unwrap();
    assert_eq!(
        mail.subject(),
        Some("Support report 2026-11-21: 9 tickets, 4 escalated")
    );
    assert_eq!(
        mail.to().unwrap().first().unwrap().address(),
        Some("team@tandem.example")
    );
    let html = mail.body_html(0).unwrap();
    assert!(html.contains("Support report: Saturday 21 November 2026"));
    assert_eq!(html.matches("<svg").count(), 5, "five charts");
    assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("src="));
    // The summary: resolution rates, and the 95th percentile of the first responses.
    assert!(html.contains(">55.6%</td>") && html.contains(">2 d 1 h</td>"), "{html}");
    let text = mail.body_text(0).unwrap();
    assert!(text.contains("Support report: Saturday 21 November 2026"), "{text}");
    let volume = text.lines().find(|l| l.starts_with("Tickets opened")).unwrap();
    assert_eq!(
        volume.split_whitespace().collect::<Vec<_>>(),
        ["Tickets", "opened", "9", "3", "3", "3"]
    );
    assert!(text.lines().any(|l| l == "  Refund: 2"), "{text}");
    let per_ticket = text.lines().find(|l| l.starts_with("Cost per ticket")).unwrap();
    assert_eq!(
        per_ticket.split_whitespace().collect::<Vec<_>>(),
        ["Cost", "per", "ticket", "$0.9183", "$1.0000", "$1.0025", "$0.5000"]
    );
    assert!(
        text.contains("Agreement with people") && text.contains("62.5% (5 of 8)"),
        "{text}"
    );
}

#[tokio::test]
async fn a_day_not_over_is_refused_and_an_empty_day_still_reports() {
    let sent = reports();
    for day in ["2026-11-23", "2026-11-24"] {
        let error = sent.reports.produce(date(day), at(AS_OF)).await.unwrap_err();
        assert!(matches!(error, ReportError::NotOver(d) if d == date(day)), "{error}");
    }
    assert!(sent.source.get(date("2026-11-23")).await.unwrap().is_none());

    let quiet = sent
        .reports
        .produce(date("2026-11-10"), at(AS_OF))
        .await
        .unwrap()
        .report;
    assert_eq!(quiet.overall.volume, 0);
    assert_eq!(quiet.overall.resolution.rate, None);
    assert_eq!(quiet.overall.first_response.p50_seconds, None);
    let html = super::render::html(&quiet);
    assert!(html.contains("None that day."));
}

#[test]
fn days_are_named_as_yyyy_mm_dd_exactly() {
    assert_eq!(parse_day("2026-11-21"), Some(date(DAY)));
    for bad in [
        "2026-1-21",
        "2026-11-31",
        "21-11-2026",
        "2026-11-21T00:00:00Z",
        " 2026-11-21",
        "+2026-11-2",
        "",
    ] {
        assert_eq!(parse_day(bad), None, "{bad}");
    }
}
