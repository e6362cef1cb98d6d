//! The daily report's reads and its store, in the tickets table:
//! - GSI `by_day` (`created_day` = YYYY-MM-DD, `created_at`): a day's tickets (`entity` =
//!   `ticket`, by the day they were opened), the agent's decisions (`decision`) and runs
//!   (`agent_run`), by the day they were taken: one Query per day.
//! - `REPORT#<YYYY-MM-DD>` / `META`  the day's report (JSON text in `report`), put by the
//!   daily report alone, replaced when it is made again.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use support_core::domain::{parse_variant, Channel, TicketId};
use support_core::ports::reports::{AgentTurn, DayRecords, ReportSource, ReportStore};
use support_core::ports::InfraError;

use super::{entity, from_item, infra, s, text, ticket_pk, DecisionItem, DynamoTickets, Item, TicketItem};

/// BatchGetItem reads at most this many keys at once.
const BATCH_GET_KEYS: usize = 100;

fn report_pk(day: NaiveDate) -> String {
    format!("REPORT#{day}")
}

/// An agent run as the report counts it: its ticket (the item's key), the articles its
/// decision cited, and what it used.
fn turn_of(item: Item) -> Result<AgentTurn, InfraError> {
    let ticket_id = text(&item, "pk")
        .and_then(|pk| pk.strip_prefix("TICKET#"))
        .and_then(|id| TicketId::parse(id).ok())
        .ok_or_else(|| InfraError::new("read agent run", "its key names no ticket"))?;
    let run = DynamoTickets::run_of(item)?;
    let sources = run.decision["sources"]
        .as_array()
        .map(|sources| sources.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    Ok(AgentTurn {
        ticket_id,
        sources,
        usage: run.usage,
    })
}

impl DynamoTickets {
    fn by_day(&self, day: NaiveDate) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .index_name("by_day")
            .key_condition_expression("created_day = :day")
            .expression_attribute_values(":day", s(day.to_string()))
    }
}

#[async_trait]
impl ReportSource for DynamoTickets {
    async fn day(&self, day: NaiveDate) -> Result<DayRecords, InfraError> {
        let mut records = DayRecords::default();
        for item in self.query_all(self.by_day(day), "query a day's records").await? {
            match entity(&item) {
                Some("ticket") => records.tickets.push(from_item::<TicketItem>(item)?.into_ticket()),
                Some("decision") => records.decisions.push(from_item::<DecisionItem>(item)?.decision),
                Some("agent_run") => records.turns.push(turn_of(item)?),
                _ => {}
            }
        }
        Ok(records)
    }

    async fn sentiments(&self, day: NaiveDate) -> Result<Vec<(Channel, f64)>, InfraError> {
        let query = self
            .by_day(day)
            .filter_expression("entity = :ticket AND attribute_exists(sentiment)")
            .projection_expression("#channel, sentiment")
            .expression_attribute_names("#channel", "channel")
            .expression_attribute_values(":ticket", s("ticket"));
        let items = self.query_all(query, "query a day's sentiments").await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let channel = parse_variant(text(item, "channel")?).ok()?;
                let sentiment = item.get("sentiment")?.as_n().ok()?.parse().ok()?;
                Some((channel, sentiment))
            })
            .collect())
    }

    async fn channels(&self, tickets: &[TicketId]) -> Result<HashMap<TicketId, Channel>, InfraError> {
        let mut channels = HashMap::new();
        for batch in tickets.chunks(BATCH_GET_KEYS) {
            // Throttled keys: the report fails and is made again (Lambda retries it).
            let found = self
                .meta_items(
                    batch.iter().map(ticket_pk),
                    |request| {
                        request
                            .projection_expression("pk, #channel")
                            .expression_attribute_names("#channel", "channel")
                    },
                    "look up tickets' channels",
                )
                .await?;
            channels.extend(found.iter().filter_map(|item| {
                let id = TicketId::parse(text(item, "pk")?.strip_prefix("TICKET#")?).ok()?;
                Some((id, parse_variant(text(item, "channel")?).ok()?))
            }));
        }
        Ok(channels)
    }
}

#[async_trait]
impl ReportStore for DynamoTickets {
    async fn put(&self, day: NaiveDate, report: &serde_json::Value) -> Result<(), InfraError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(report_pk(day)))
            .item("sk", s("META"))
            .item("entity", s("report"))
            .item("report", s(report.to_string()))
            .send()
            .await
            .map_err(infra("store report"))?;
        Ok(())
    }

    async fn get(&self, day: NaiveDate) -> Result<Option<serde_json::Value>, InfraError> {
        let Some(item) = self.get(report_pk(day), "META".into(), "get report").await? else {
            return Ok(None);
        };
        let report = text(&item, "report").ok_or_else(|| InfraError::new("read report", "no report text"))?;
        serde_json::from_str(report)
            .map(Some)
            .map_err(|e| InfraError::new("read report", e))
    }
}
