//! The daily report: for one UTC day, per channel and overall, how much came in, how
//! customers felt, what went to people and why, how fast and how well it was answered,
//! and how far people agreed with the agent. Stored (one item per day), emailed to the
//! team (HTML with inline SVG charts, and a text part) and read through the operator API.
//!
//! The figures, as they stand when the report is made (`as_of`):
//! - `volume`: the tickets opened that day.
//! - `sentiment`: the mean of those tickets' sentiment (their customer's latest message,
//!   -1..1), where the agent rated one; `trend` is that mean minus the mean over every
//!   rated ticket opened in the [`TREND_DAYS`] days before (none when either has none).
//! - `escalations`: those tickets a person has or had to take, by their escalation reason.
//! - `topics`: those tickets by category, most first; `articles`: the knowledge-base
//!   articles the agent's answers of the day cited, most first (at most [`TOP`] each).
//! - `first_response`: from a ticket's opening to its first answer (not a hand-off notice),
//!   the 50th and 95th percentiles by nearest rank, over the tickets answered so far.
//! - `resolution`: the share of the tickets that are resolved by a person or answered by
//!   the agent (the customer did not come back); open and escalated ones are not.
//! - `sla`: those tickets at risk or breached against their targets (`crate::sla`; the
//!   customer's plan is not known, so the policy's default plan).
//! - `cost`: what the agent's turns of the day (on any ticket) cost, priced by the price
//!   table (`crate::cost`), and that divided by the tickets those turns worked on.
//! - `agreement`: of the agent's decisions taken that day (on any ticket) that a person
//!   judged, the share approved as they were (`crate::records::agreement`).
//!
//! A channel's figures count its tickets; a decision or a turn on a ticket opened on an
//! earlier day counts for that ticket's channel.

mod chart;
mod render;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;
use strum::VariantArray;

use crate::cost::PriceTable;
use crate::domain::{Category, Channel, EmailAddress, EscalationReason, Ticket, TicketId, TicketStatus};
use crate::ports::mailer::{MailError, Mailer};
use crate::ports::reports::{AgentTurn, DayRecords, ReportSource, ReportStore};
use crate::ports::InfraError;
use crate::records::{agreement, Agreement, DecisionRecord};
use crate::sla::{SlaCounts, SlaPolicy};
use crate::stats::percentile;

pub use render::compose_email;

/// How many days before the report's the sentiment trend compares with.
pub const TREND_DAYS: u64 = 7;
/// How many topics and articles the report lists.
pub const TOP: usize = 5;

/// One day's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyReport {
    pub day: NaiveDate,
    /// When it was made: the tickets' states, SLA and verdicts are as of then.
    pub as_of: DateTime<Utc>,
    pub overall: Figures,
    /// Every channel, in the order of [`Channel::VARIANTS`].
    pub channels: Vec<ChannelFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelFigures {
    pub channel: Channel,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub volume: usize,
    pub sentiment: SentimentFigures,
    pub escalations: EscalationFigures,
    pub topics: Vec<TopicCount>,
    pub articles: Vec<ArticleCount>,
    pub first_response: FirstResponseFigures,
    pub resolution: ResolutionFigures,
    pub sla: SlaCounts,
    pub cost: CostFigures,
    pub agreement: AgreementFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentimentFigures {
    /// The tickets with a sentiment.
    pub rated: usize,
    pub mean: Option<f64>,
    pub previous_rated: usize,
    /// Over the [`TREND_DAYS`] days before.
    pub previous_mean: Option<f64>,
    /// `mean - previous_mean`.
    pub trend: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalationFigures {
    pub total: usize,
    /// Most first; only the reasons that occurred.
    pub by_reason: Vec<ReasonCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonCount {
    pub reason: EscalationReason,
    pub tickets: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicCount {
    pub category: Category,
    pub tickets: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticleCount {
    pub article: String,
    pub citations: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstResponseFigures {
    /// The tickets answered so far.
    pub responded: usize,
    pub p50_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolutionFigures {
    /// Resolved by a person.
    pub resolved: usize,
    /// Answered by the agent (or a person) and not taken up again.
    pub answered: usize,
    /// `(resolved + answered) / volume`.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostFigures {
    /// The agent's turns of the day.
    pub turns: usize,
    /// The tickets they worked on.
    pub tickets: usize,
    pub total_usd: f64,
    /// `total_usd / tickets`.
    pub per_ticket_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementFigures {
    pub reviewed: usize,
    pub agreed: usize,
    /// `agreed / reviewed`, every kind of decision together.
    pub rate: Option<f64>,
    pub by_kind: Vec<Agreement>,
}

/// A day as the report names it: `YYYY-MM-DD`, exactly.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    well_formed
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

/// Ratios and means with four decimals: as precise as the sentiments they come from.
fn round4(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

/// Dollars to a millionth of a cent: a turn costs a fraction of one.
fn round_usd(value: f64) -> f64 {
    (value * 1e8).round() / 1e8
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| round4(part as f64 / whole as f64))
}

/// How often each of `variants` occurs in `items`, most first (ties in the variants'
/// order), those that occur only.
fn counted<K: Copy + PartialEq>(variants: &[K], items: &[K]) -> Vec<(K, usize)> {
    let mut counts: Vec<(K, usize)> = variants
        .iter()
        .map(|&k| (k, items.iter().filter(|&&i| i == k).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    counts
}

/// What one group of the report (a channel, or every channel) covers.
struct Group<'a> {
    tickets: Vec<&'a Ticket>,
    decisions: Vec<DecisionRecord>,
    turns: Vec<&'a AgentTurn>,
    previous_sentiments: Vec<f64>,
}

impl Group<'_> {
    fn figures(&self, sla: &SlaPolicy, prices: &PriceTable, as_of: DateTime<Utc>) -> Figures {
        let tickets = &self.tickets;
        let volume = tickets.len();

        let sentiments: Vec<f64> = tickets.iter().filter_map(|t| t.sentiment).collect();
        let (day_mean, previous_mean) = (mean(&sentiments), mean(&self.previous_sentiments));
        let sentiment = SentimentFigures {
            rated: sentiments.len(),
            mean: day_mean.map(round4),
            previous_rated: self.previous_sentiments.len(),
            previous_mean: previous_mean.map(round4),
            trend: day_mean.zip(previous_mean).map(|(day, before)| round4(day - before)),
        };

        let reasons: Vec<EscalationReason> = tickets.iter().filter_map(|t| t.escalation_reason).collect();
        let escalations = EscalationFigures {
            total: reasons.len(),
            by_reason: counted(EscalationReason::VARIANTS, &reasons)
                .into_iter()
                .map(|(reason, tickets)| ReasonCount { reason, tickets })
                .collect(),
        };

        let categories: Vec<Category> = tickets.iter().map(|t| t.category).collect();
        let mut topics: Vec<TopicCount> = counted(Category::VARIANTS, &categories)
            .into_iter()
            .map(|(category, tickets)| TopicCount { category, tickets })
            .collect();
        topics.truncate(TOP);

        let mut citations: BTreeMap<&str, usize> = BTreeMap::new();
        for source in self.turns.iter().flat_map(|t| &t.sources) {
            *citations.entry(source).or_default() += 1;
        }
        let mut articles: Vec<ArticleCount> = citations
            .into_iter()
            .map(|(article, citations)| ArticleCount {
                article: article.to_owned(),
                citations,
            })
            .collect();
        articles.sort_by_key(|a| std::cmp::Reverse(a.citations));
        articles.truncate(TOP);

        let waits: Vec<f64> = tickets
            .iter()
            .filter_map(|t| t.first_response_at.map(|at| (at - t.created_at).num_seconds() as f64))
            .collect();
        let first_response = FirstResponseFigures {
            responded: waits.len(),
            p50_seconds: percentile(&waits, 50.0),
            p95_seconds: percentile(&waits, 95.0),
        };

        let with_status = |status| tickets.iter().filter(|t| t.status == status).count();
        let (resolved, answered) = (with_status(TicketStatus::Resolved), with_status(TicketStatus::Answered));
        let resolution = ResolutionFigures {
            resolved,
            answered,
            rate: ratio(resolved + answered, volume),
        };

        let sla_states = tickets.iter().map(|t| sla.of_ticket(t, as_of).1);

        let total_usd: f64 = self.turns.iter().map(|t| prices.turn_cost(&t.usage)).sum();
        let worked = self.turns.iter().map(|t| &t.ticket_id).collect::<BTreeSet<_>>().len();
        let cost = CostFigures {
            turns: self.turns.len(),
            tickets: worked,
            total_usd: round_usd(total_usd),
            per_ticket_usd: (worked > 0).then(|| round_usd(total_usd / worked as f64)),
        };

        let by_kind = agreement(&self.decisions);
        let reviewed = by_kind.iter().map(|a| a.reviewed).sum();
        let agreed = by_kind.iter().map(|a| a.agreed).sum();

        Figures {
            volume,
            sentiment,
            escalations,
            topics,
            articles,
            first_response,
            resolution,
            sla: sla_states.collect(),
            cost,
            agreement: AgreementFigures {
                reviewed,
                agreed,
                rate: ratio(agreed, reviewed),
                by_kind,
            },
        }
    }
}

/// What a report is figured with: the SLA policy, the prices, and the time it is made.
pub struct Basis<'a> {
    pub sla: &'a SlaPolicy,
    pub prices: &'a PriceTable,
    pub as_of: DateTime<Utc>,
}

/// The day's report from its records. `previous_sentiments`: the tickets of the
/// [`TREND_DAYS`] days before, by channel; `earlier_channels`: the channels of the tickets
/// opened before the day that its decisions and turns were about.
pub fn aggregate(
    day: NaiveDate,
    records: &DayRecords,
    previous_sentiments: &[(Channel, f64)],
    earlier_channels: &HashMap<TicketId, Channel>,
    basis: &Basis,
) -> DailyReport {
    let mut channel_of: HashMap<&TicketId, Channel> = earlier_channels.iter().map(|(id, c)| (id, *c)).collect();
    channel_of.extend(records.tickets.iter().map(|t| (&t.id, t.channel)));
    let group = |channel: Option<Channel>| {
        let wanted = |c: Option<Channel>| channel.is_none() || c == channel;
        let of_ticket = |id: &TicketId| wanted(channel_of.get(id).copied());
        Group {
            tickets: records.tickets.iter().filter(|t| wanted(Some(t.channel))).collect(),
            decisions: records
                .decisions
                .iter()
                .filter(|d| of_ticket(&d.ticket_id))
                .cloned()
                .collect(),
            turns: records.turns.iter().filter(|t| of_ticket(&t.ticket_id)).collect(),
            previous_sentiments: previous_sentiments
                .iter()
                .filter(|(c, _)| wanted(Some(*c)))
                .map(|(_, s)| *s)
                .collect(),
        }
        .figures(basis.sla, basis.prices, basis.as_of)
    };
    DailyReport {
        day,
        as_of: basis.as_of,
        overall: group(None),
        channels: Channel::VARIANTS
            .iter()
            .map(|&channel| ChannelFigures {
                channel,
                figures: group(Some(channel)),
            })
            .collect(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reports cover whole UTC days, made once they are over.
    #[error("{0} is not over yet (UTC): a day's report can be made from the day after")]
    NotOver(NaiveDate),
    #[error(transparent)]
    Infra(#[from] InfraError),
    #[error("the report was stored but its email was not sent: {0}")]
    Mail(#[from] MailError),
}

/// Where the report is emailed.
pub struct ReportMail {
    pub mailer: Arc<dyn Mailer>,
    pub from: EmailAddress,
    pub to: EmailAddress,
}

pub struct ReportPorts {
    pub source: Arc<dyn ReportSource>,
    pub store: Arc<dyn ReportStore>,
    /// None: the report is stored only.
    pub mail: Option<ReportMail>,
}

/// Makes a day's report: the one writer of the stored reports.
pub struct DailyReports {
    ports: ReportPorts,
    prices: PriceTable,
}

/// What [`DailyReports::produce`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Produced {
    pub report: DailyReport,
    pub emailed_to: Option<EmailAddress>,
}

impl DailyReports {
    /// Turns are costed at `prices` (the agent's own, [`PriceTable::bundled`] unless a
    /// deployment gives another).
    pub fn new(ports: ReportPorts, prices: PriceTable) -> Self {
        Self { ports, prices }
    }

    /// Reads the day (one read per day, the trend's days included), stores its report, then
    /// emails it. Made again for the same day, it replaces the stored one (and is emailed again).
    pub async fn produce(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<Produced, ReportError> {
        if day >= now.date_naive() {
            return Err(ReportError::NotOver(day));
        }
        let source = &self.ports.source;
        let records = source.day(day).await?;
        let mut previous = Vec::new();
        for back in 1..=TREND_DAYS {
            if let Some(before) = day.checked_sub_days(Days::new(back)) {
                previous.extend(source.sentiments(before).await?);
            }
        }
        let opened: BTreeSet<&TicketId> = records.tickets.iter().map(|t| &t.id).collect();
        let earlier: BTreeSet<&TicketId> = (records.decisions.iter().map(|d| &d.ticket_id))
            .chain(records.turns.iter().map(|t| &t.ticket_id))
            .filter(|id| !opened.contains(id))
            .collect();
        let earlier_channels = match earlier.is_empty() {
            true => HashMap::new(),
            false => {
                source
                    .channels(&earlier.into_iter().cloned().collect::<Vec<_>>())
                    .await?
            }
        };
        let basis = Basis {
            sla: SlaPolicy::bundled(),
            prices: &self.prices,
            as_of: now,
        };
        let report = aggregate(day, &records, &previous, &earlier_channels, &basis);
        let json = serde_json::to_value(&report).expect("reports serialize");
        self.ports.store.put(day, &json).await?;
        let emailed_to = match &self.ports.mail {
            Some(mail) => {
                mail.mailer
                    .send_raw(compose_email(&report, &mail.from, &mail.to))
                    .await?;
                Some(mail.to.clone())
            }
            None => None,
        };
        tracing::info!(%day, volume = report.overall.volume, emailed = emailed_to.is_some(), "daily report made");
        Ok(Produced { report, emailed_to })
    }
}

#[cfg(test)]
mod tests;
