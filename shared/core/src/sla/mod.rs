//! Support targets (SLA): when a ticket needs a person's first response and its resolution,
//! by the customer's plan and the ticket's priority, counted in business hours or around the
//! clock; and where a ticket stands against them (`on_track`, `at_risk`, `breached`, `met`).
//! Everything comes from one file, `shared/sla-policy.json` ([`SlaPolicy::bundled`]).

mod hours;
mod policy;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use policy::SlaPolicy;

named_set!(
    /// How a deadline's time is counted.
    Clock {
        /// Only the support team's hours count (nights, weekends and holidays do not).
        BusinessHours,
        /// Every hour counts (Enterprise P1 is covered 24/7).
        AroundTheClock,
    }
);

named_set!(
    /// Where a ticket stands against its deadlines (`sla.state` in the operator API).
    SlaState {
        /// A target is pending and less than the at-risk share of its time is used.
        OnTrack,
        /// A target is pending and at least the at-risk share of its time is used.
        AtRisk,
        /// A deadline passed before its event happened; it stays so once it did.
        Breached,
        /// The first response and the resolution both came in time.
        Met,
    }
);

/// When one target falls due, and on which clock its time is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub at: DateTime<Utc>,
    pub clock: Clock,
}

/// A ticket's deadlines, from [`SlaPolicy::clock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub opened_at: DateTime<Utc>,
    pub first_response: Deadline,
    pub resolution: Deadline,
}

/// How many tickets of a list are at risk and how many breached (`sla_counts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SlaCounts {
    pub at_risk: usize,
    pub breached: usize,
}

impl FromIterator<SlaState> for SlaCounts {
    fn from_iter<I: IntoIterator<Item = SlaState>>(states: I) -> Self {
        states.into_iter().fold(Self::default(), |mut counts, state| {
            match state {
                SlaState::AtRisk => counts.at_risk += 1,
                SlaState::Breached => counts.breached += 1,
                SlaState::OnTrack | SlaState::Met => {}
            }
            counts
        })
    }
}
