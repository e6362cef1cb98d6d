//! The report for people: an HTML page (tables and inline SVG charts, every text escaped,
//! no script, no external resource), the same figures as plain text, and the email that
//! carries both.

use std::fmt::Write;

use html_escape::encode_text;
use mail_builder::headers::raw::Raw;
use mail_builder::MessageBuilder;

use super::chart::{bar_chart, Bar};
use super::{DailyReport, Figures};
use crate::domain::{Channel, EmailAddress};

/// Who the email says it is from.
const SENDER_NAME: &str = "Support reports";

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Email",
        Channel::Whatsapp => "WhatsApp",
        Channel::WebForm => "Web form",
    }
}

/// A snake_case name as words, the first capitalised: `human_request` → `Human request`.
fn words(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

const NONE: &str = "–";

fn duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0).round() as i64;
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..600 if seconds % 60 > 0 => format!("{minutes} min {} s", seconds % 60),
        60..3600 => format!("{minutes} min"),
        3600..86_400 => format!("{hours} h {minutes:02} min"),
        _ => format!("{days} d {hours} h"),
    }
}

fn optional(value: Option<f64>, show: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| NONE.to_owned(), show)
}

fn percent(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

/// Dollars: to a hundredth of a cent, or finer below a tenth of a cent.
fn usd(value: f64) -> String {
    match value {
        v if v == 0.0 || v >= 0.001 => format!("${v:.4}"),
        v => format!("${v:.6}"),
    }
}

fn signed(value: f64) -> String {
    format!("{value:+.2}")
}

fn long_day(report: &DailyReport) -> String {
    report.day.format("%A %-d %B %Y").to_string()
}

/// One figure of a group, as the reader sees it.
type Figure = fn(&Figures) -> String;

/// The rows of the summary table: a name, and each group's figure.
fn summary_rows() -> Vec<(&'static str, Figure)> {
    vec![
        ("Tickets opened", |f| f.volume.to_string()),
        ("Mean sentiment", |f| optional(f.sentiment.mean, signed)),
        ("Sentiment trend vs the 7 days before", |f| {
            optional(f.sentiment.trend, signed)
        }),
        ("Escalated", |f| f.escalations.total.to_string()),
        ("First response, median", |f| {
            optional(f.first_response.p50_seconds, duration)
        }),
        ("First response, 95th percentile", |f| {
            optional(f.first_response.p95_seconds, duration)
        }),
        ("Resolved or answered", |f| optional(f.resolution.rate, percent)),
        ("SLA breached", |f| f.sla.breached.to_string()),
        ("SLA at risk", |f| f.sla.at_risk.to_string()),
        ("Agent cost", |f| usd(f.cost.total_usd)),
        ("Cost per ticket", |f| optional(f.cost.per_ticket_usd, usd)),
        ("Agreement with people", |f| match f.agreement.rate {
            Some(rate) => format!("{} ({} of {})", percent(rate), f.agreement.agreed, f.agreement.reviewed),
            None => NONE.to_owned(),
        }),
    ]
}

fn groups(report: &DailyReport) -> Vec<(&'static str, &Figures)> {
    let mut groups = vec![("Overall", &report.overall)];
    groups.extend(report.channels.iter().map(|c| (channel_name(c.channel), &c.figures)));
    groups
}

const TABLE: &str = "border-collapse:collapse;margin:8px 0 16px;font-size:14px";
const CELL: &str = "border-bottom:1px solid #d9e2ec;padding:6px 10px;text-align:right";
const HEAD: &str = "border-bottom:2px solid #9aa5b1;padding:6px 10px;text-align:right";

fn html_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let first = |i: usize| if i == 0 { ";text-align:left" } else { "" };
    let mut table = format!("<table style=\"{TABLE}\">\n<tr>");
    for (i, h) in head.iter().enumerate() {
        let _ = write!(table, "<th style=\"{HEAD}{}\">{}</th>", first(i), encode_text(h));
    }
    table.push_str("</tr>\n");
    for row in rows {
        table.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(table, "<td style=\"{CELL}{}\">{}</td>", first(i), encode_text(cell));
        }
        table.push_str("</tr>\n");
    }
    table.push_str("</table>\n");
    table
}

/// A section: its heading, then its chart, or a line saying there is nothing to chart.
fn chart_section(html: &mut String, title: &str, bars: &[Bar], range: Option<(f64, f64)>) {
    let _ = writeln!(
        html,
        "<h2 style=\"font-size:18px;margin:24px 0 4px\">{}</h2>",
        encode_text(title)
    );
    match bars.is_empty() {
        true => html.push_str("<p style=\"color:#52606d\">None that day.</p>\n"),
        false => html.push_str(&bar_chart(title, bars, range)),
    }
}

fn count_bar(label: impl Into<String>, count: usize) -> Bar {
    Bar {
        label: label.into(),
        value: count as f64,
        shown: count.to_string(),
    }
}

struct Chart {
    title: &'static str,
    bars: Vec<Bar>,
    /// The axis' ends, when they are fixed.
    range: Option<(f64, f64)>,
}

fn charts(report: &DailyReport) -> Vec<Chart> {
    let overall = &report.overall;
    let volume = report
        .channels
        .iter()
        .map(|c| count_bar(channel_name(c.channel), c.figures.volume))
        .collect();
    let sentiment = groups(report)
        .into_iter()
        .filter_map(|(name, f)| {
            let mean = f.sentiment.mean?;
            let trend = (f.sentiment.trend).map_or_else(String::new, |t| format!(" (trend {})", signed(t)));
            Some(Bar {
                label: name.to_owned(),
                value: mean,
                shown: format!("{}{trend}", signed(mean)),
            })
        })
        .collect();
    let reasons = overall
        .escalations
        .by_reason
        .iter()
        .map(|r| count_bar(words(r.reason.as_str()), r.tickets))
        .collect();
    let topics = overall
        .topics
        .iter()
        .map(|t| count_bar(words(t.category.as_str()), t.tickets))
        .collect();
    let first_response = report
        .channels
        .iter()
        .flat_map(|c| {
            let f = &c.figures.first_response;
            [("median", f.p50_seconds), ("95th pct", f.p95_seconds)]
                .into_iter()
                .filter_map(move |(which, seconds)| {
                    let seconds = seconds?;
                    Some(Bar {
                        label: format!("{} {which}", channel_name(c.channel)),
                        value: seconds / 60.0,
                        shown: duration(seconds),
                    })
                })
        })
        .collect();
    let chart = |title, bars, range| Chart { title, bars, range };
    vec![
        chart("Tickets opened by channel", volume, None),
        chart("Mean sentiment (-1 to 1) by channel", sentiment, Some((-1.0, 1.0))),
        chart("Escalations by reason", reasons, None),
        chart("Top topics", topics, None),
        chart("First response by channel", first_response, None),
    ]
}

/// The report as an HTML page: readable in a mail client, with inline SVG charts.
pub fn html(report: &DailyReport) -> String {
    let day = long_day(report);
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Support report: {day}</title></head>\n\
         <body style=\"font-family:Arial,Helvetica,sans-serif;color:#1f2933;max-width:760px;margin:0 auto;padding:16px\">\n\
         <h1 style=\"font-size:22px;margin:0 0 4px\">Support report: {day}</h1>\n\
         <p style=\"color:#52606d;margin:0 0 16px\">The UTC day {}; figures as of {} UTC.</p>\n",
        report.day,
        report.as_of.format("%Y-%m-%d %H:%M"),
    );
    let groups = groups(report);
    let mut head = vec![""];
    head.extend(groups.iter().map(|(name, _)| *name));
    let rows: Vec<Vec<String>> = summary_rows()
        .into_iter()
        .map(|(name, figure)| {
            let mut row = vec![name.to_owned()];
            row.extend(groups.iter().map(|(_, f)| figure(f)));
            row
        })
        .collect();
    html.push_str(&html_table(&head, &rows));
    for chart in charts(report) {
        chart_section(&mut html, chart.title, &chart.bars, chart.range);
    }
    if !report.overall.articles.is_empty() {
        html.push_str("<h2 style=\"font-size:18px;margin:24px 0 4px\">Articles the agent cited most</h2>\n");
        let rows: Vec<Vec<String>> = (report.overall.articles.iter())
            .map(|a| vec![a.article.clone(), a.citations.to_string()])
            .collect();
        html.push_str(&html_table(&["Article", "Citations"], &rows));
    }
    html.push_str("<h2 style=\"font-size:18px;margin:24px 0 4px\">Agreement with people, by decision</h2>\n");
    html.push_str(&html_table(
        &["Decision", "Taken", "Reviewed", "Approved as is", "Agreement"],
        &agreement_rows(&report.overall),
    ));
    html.push_str(
        "<p style=\"color:#52606d;font-size:12px\">Tickets are those opened that day; their states, SLA and \
         people's verdicts are as of the report. Resolved or answered: resolved by a person, or answered and \
         not taken up again. Agent cost: the agent's turns of that day, at the price table's prices; per \
         ticket: over the tickets those turns worked on. Agreement: the agent's decisions of that day a \
         person judged, approved as they were.</p>\n</body></html>\n",
    );
    html
}

fn agreement_rows(figures: &Figures) -> Vec<Vec<String>> {
    figures
        .agreement
        .by_kind
        .iter()
        .map(|a| {
            vec![
                words(a.kind.as_str()),
                a.decided.to_string(),
                a.reviewed.to_string(),
                a.agreed.to_string(),
                optional(a.rate, percent),
            ]
        })
        .collect()
}

/// Rows of text in columns: the first left-aligned, the others right-aligned.
fn text_table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..columns).map(width).collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| match i {
                0 => format!("{cell:<w$}", w = widths[0]),
                _ => format!("{cell:>w$}", w = widths[i]),
            })
            .collect();
        let _ = writeln!(text, "{}", cells.join("  ").trim_end());
    }
    text
}

/// The report as plain text: the email's text part.
pub fn text(report: &DailyReport) -> String {
    let groups = groups(report);
    let mut rows = vec![std::iter::once(String::new())
        .chain(groups.iter().map(|(name, _)| (*name).to_owned()))
        .collect::<Vec<_>>()];
    rows.extend(summary_rows().into_iter().map(|(name, figure)| {
        std::iter::once(name.to_owned())
            .chain(groups.iter().map(|(_, f)| figure(f)))
            .collect()
    }));
    let mut text = format!(
        "Support report: {}\nThe UTC day {}; figures as of {} UTC.\n\n{}",
        long_day(report),
        report.day,
        report.as_of.format("%Y-%m-%d %H:%M"),
        text_table(&rows)
    );
    let overall = &report.overall;
    let list = |items: Vec<(String, usize)>| match items.is_empty() {
        true => "  none\n".to_owned(),
        false => items.iter().map(|(name, n)| format!("  {name}: {n}\n")).collect(),
    };
    let _ = write!(
        text,
        "\nEscalations by reason:\n{}\nTop topics:\n{}\nArticles the agent cited most:\n{}",
        list(
            overall
                .escalations
                .by_reason
                .iter()
                .map(|r| (words(r.reason.as_str()), r.tickets))
                .collect()
        ),
        list(
            overall
                .topics
                .iter()
                .map(|t| (words(t.category.as_str()), t.tickets))
                .collect()
        ),
        list(
            overall
                .articles
                .iter()
                .map(|a| (a.article.clone(), a.citations))
                .collect()
        ),
    );
    let mut agreement = vec![["Decision", "Taken", "Reviewed", "Approved as is", "Agreement"]
        .map(str::to_owned)
        .to_vec()];
    agreement.extend(agreement_rows(overall));
    let _ = write!(
        text,
        "\nAgreement with people, by decision:\n{}",
        text_table(&agreement)
    );
    text
}

/// The report's email: the HTML and the text part, from `from` to the team's `to`.
pub fn compose_email(report: &DailyReport, from: &EmailAddress, to: &EmailAddress) -> Vec<u8> {
    let overall = &report.overall;
    let subject = format!(
        "Support report {}: {} tickets, {} escalated",
        report.day, overall.volume, overall.escalations.total
    );
    MessageBuilder::new()
        .from((SENDER_NAME, from.as_str()))
        .to(to.as_str())
        .subject(subject)
        // Written by a machine (RFC 3834): autoresponders do not answer it.
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .html_body(html(report))
        .text_body(text(report))
        .write_to_vec()
        .expect("a message is written to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_durations_read_as_words() {
        assert_eq!(words("human_request"), "Human request");
        assert_eq!(duration(45.0), "45 s");
        assert_eq!(duration(90.0), "1 min 30 s");
        assert_eq!(duration(120.0), "2 min");
        assert_eq!(duration(1500.0), "25 min");
        assert_eq!(duration(3900.0), "1 h 05 min");
        assert_eq!(duration(178_200.0), "2 d 1 h");
        assert_eq!(usd(0.91833333), "$0.9183");
        assert_eq!(usd(0.00035365), "$0.000354");
        assert_eq!(usd(0.0), "$0.0000");
    }
}
