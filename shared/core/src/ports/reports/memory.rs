use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::{DayRecords, ReportSource, ReportStore};
use crate::domain::{Channel, TicketId};
use crate::ports::InfraError;

/// Days' records and reports in memory, for unit tests.
#[derive(Default)]
pub struct MemoryReports {
    days: HashMap<NaiveDate, DayRecords>,
    reports: Mutex<HashMap<NaiveDate, serde_json::Value>>,
}

impl MemoryReports {
    /// What `day` holds: its tickets are those opened on it.
    pub fn with_day(mut self, day: NaiveDate, records: DayRecords) -> Self {
        self.days.insert(day, records);
        self
    }
}

#[async_trait]
impl ReportSource for MemoryReports {
    async fn day(&self, day: NaiveDate) -> Result<DayRecords, InfraError> {
        Ok(self.days.get(&day).cloned().unwrap_or_default())
    }

    async fn sentiments(&self, day: NaiveDate) -> Result<Vec<(Channel, f64)>, InfraError> {
        let tickets = self.days.get(&day).map(|d| d.tickets.as_slice()).unwrap_or_default();
        Ok(tickets.iter().filter_map(|t| Some((t.channel, t.sentiment?))).collect())
    }

    async fn channels(&self, tickets: &[TicketId]) -> Result<HashMap<TicketId, Channel>, InfraError> {
        Ok(self
            .days
            .values()
            .flat_map(|d| &d.tickets)
            .filter(|t| tickets.contains(&t.id))
            .map(|t| (t.id.clone(), t.channel))
            .collect())
    }
}

#[async_trait]
impl ReportStore for MemoryReports {
    async fn put(&self, day: NaiveDate, report: &serde_json::Value) -> Result<(), InfraError> {
        self.reports.lock().expect("not poisoned").insert(day, report.clone());
        Ok(())
    }

    async fn get(&self, day: NaiveDate) -> Result<Option<serde_json::Value>, InfraError> {
        Ok(self.reports.lock().expect("not poisoned").get(&day).cloned())
    }
}
