//! The daily report's reads (a day's tickets, decisions and agent turns) and its store
//! (one report per day). See `crate::report`.

pub mod memory;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::InfraError;
use crate::cost::TurnUsage;
use crate::domain::{Channel, Ticket, TicketId};
use crate::records::DecisionRecord;

/// One turn of the agent (its run for one customer message), as the report counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentTurn {
    pub ticket_id: TicketId,
    /// The knowledge-base articles its answer cited (none for an escalation).
    pub sources: Vec<String>,
    /// What it used, for its cost (zero for runs recorded before usage was).
    pub usage: TurnUsage,
}

/// What happened on one UTC day, as it stands when read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayRecords {
    /// The tickets opened that day.
    pub tickets: Vec<Ticket>,
    /// The agent's decisions taken that day (on any ticket), with people's verdicts so far.
    pub decisions: Vec<DecisionRecord>,
    /// The agent's turns recorded that day (on any ticket).
    pub turns: Vec<AgentTurn>,
}

/// What the report reads. In DynamoDB each day is one `by_day` Query.
#[async_trait]
pub trait ReportSource: Send + Sync {
    async fn day(&self, day: NaiveDate) -> Result<DayRecords, InfraError>;

    /// The sentiment of each ticket opened that day that has one, with its channel: the
    /// trend's baseline, read for each of the seven days before the report's.
    async fn sentiments(&self, day: NaiveDate) -> Result<Vec<(Channel, f64)>, InfraError>;

    /// The channels of these tickets (opened on earlier days, worked on the report's day);
    /// a ticket that is not found is left out.
    async fn channels(&self, tickets: &[TicketId]) -> Result<HashMap<TicketId, Channel>, InfraError>;
}

/// The reports made, one per day: written by the report alone, read by the operator API.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores the day's report (JSON), replacing one made earlier for the same day.
    async fn put(&self, day: NaiveDate, report: &serde_json::Value) -> Result<(), InfraError>;

    /// The day's report as it was stored, whatever version of the report made it.
    async fn get(&self, day: NaiveDate) -> Result<Option<serde_json::Value>, InfraError>;
}
