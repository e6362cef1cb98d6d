//! The SLA policy, from `shared/sla-policy.json`: business hours, targets by plan and
//! priority, the plan assumed when the customer's is unknown, and when a ticket is at risk.

use std::num::NonZeroU32;
use std::sync::LazyLock;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use super::hours::BusinessHours;
use super::{Clock, Deadline, Due, SlaState};
use crate::domain::{Plan, Priority, Ticket};

#[derive(Debug, Deserialize)]
pub struct SlaPolicy {
    business_hours: BusinessHours,
    /// Customers carry no plan yet: every ticket is held to this one until they do.
    default_plan: Plan,
    at_risk_fraction: f64,
    targets: TargetsByPlan,
}

/// One field per plan and per priority, so a policy file that leaves one out does not parse.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsByPlan {
    free: TargetsByPriority,
    team: TargetsByPriority,
    business: TargetsByPriority,
    enterprise: TargetsByPriority,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsByPriority {
    low: Targets,
    medium: Targets,
    high: Targets,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct Targets {
    first_response: Target,
    resolution: Target,
}

/// How long a target allows, and on which clock.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Target {
    BusinessDays(NonZeroU32),
    BusinessHours(NonZeroU32),
    /// Nights, weekends and holidays count (Enterprise P1 is covered 24/7).
    AroundTheClockHours(NonZeroU32),
}

#[derive(Debug, thiserror::Error)]
enum PolicyError {
    #[error("the SLA policy is not valid JSON of the expected shape: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("the SLA policy is not usable: {0}")]
    Invalid(&'static str),
}

static BUNDLED: LazyLock<SlaPolicy> = LazyLock::new(|| {
    SlaPolicy::from_json(include_str!("../../../sla-policy.json")).unwrap_or_else(|e| panic!("sla-policy.json: {e}"))
});

impl SlaPolicy {
    /// The policy in `shared/sla-policy.json`, the one every function reads.
    pub fn bundled() -> &'static SlaPolicy {
        &BUNDLED
    }

    fn from_json(json: &str) -> Result<Self, PolicyError> {
        let policy: SlaPolicy = serde_json::from_str(json)?;
        if let Some(problem) = policy.business_hours.problem() {
            return Err(PolicyError::Invalid(problem));
        }
        if !(policy.at_risk_fraction > 0.0 && policy.at_risk_fraction <= 1.0) {
            return Err(PolicyError::Invalid("at_risk_fraction is not in (0, 1]"));
        }
        Ok(policy)
    }

    /// When a ticket of this priority, from a customer on `plan` (the policy's default when
    /// unknown), opened at `opened_at`, needs its first response and its resolution.
    pub fn clock(&self, priority: Priority, plan: Option<Plan>, opened_at: DateTime<Utc>) -> Due {
        let targets = self.targets(plan.unwrap_or(self.default_plan), priority);
        Due {
            opened_at,
            first_response: self.deadline(targets.first_response, opened_at),
            resolution: self.deadline(targets.resolution, opened_at),
        }
    }

    /// A ticket's deadlines, and where it stands against them at `now`. Customers carry no
    /// plan yet: the policy's default plan applies.
    pub fn of_ticket(&self, ticket: &Ticket, now: DateTime<Utc>) -> (Due, SlaState) {
        let due = self.clock(ticket.priority, None, ticket.created_at);
        let state = self.status(&due, ticket.first_response_at, ticket.resolved_at, now);
        (due, state)
    }

    /// Where a ticket stands against its deadlines at `now`. A resolution stops the clock,
    /// and also ends the wait for a first response if none was recorded before it.
    pub fn status(
        &self,
        due: &Due,
        first_response_at: Option<DateTime<Utc>>,
        resolved_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> SlaState {
        let first_response_at = first_response_at.into_iter().chain(resolved_at).min();
        let targets = [(due.first_response, first_response_at), (due.resolution, resolved_at)];
        // A target missed stays missed, whatever happened after it.
        let missed = |(deadline, met_at): &(Deadline, Option<DateTime<Utc>>)| match met_at {
            Some(at) => *at > deadline.at,
            None => now > deadline.at,
        };
        if targets.iter().any(missed) {
            return SlaState::Breached;
        }
        let pending = targets.iter().filter(|(_, met_at)| met_at.is_none());
        let most_used = pending
            .map(|(deadline, _)| self.used_share(due.opened_at, *deadline, now))
            .reduce(f64::max);
        match most_used {
            None => SlaState::Met,
            Some(used) if used >= self.at_risk_fraction => SlaState::AtRisk,
            Some(_) => SlaState::OnTrack,
        }
    }

    fn targets(&self, plan: Plan, priority: Priority) -> Targets {
        let by_priority = match plan {
            Plan::Free => &self.targets.free,
            Plan::Team => &self.targets.team,
            Plan::Business => &self.targets.business,
            Plan::Enterprise => &self.targets.enterprise,
        };
        match priority {
            Priority::Low => by_priority.low,
            Priority::Medium => by_priority.medium,
            Priority::High => by_priority.high,
        }
    }

    fn deadline(&self, target: Target, from: DateTime<Utc>) -> Deadline {
        let hours = &self.business_hours;
        let (at, clock) = match target {
            Target::BusinessDays(n) => {
                let working_time = TimeDelta::seconds(hours.day_length().num_seconds() * i64::from(n.get()));
                (hours.add(from, working_time), Clock::BusinessHours)
            }
            Target::BusinessHours(n) => (hours.add(from, TimeDelta::hours(n.get().into())), Clock::BusinessHours),
            Target::AroundTheClockHours(n) => (from + TimeDelta::hours(n.get().into()), Clock::AroundTheClock),
        };
        Deadline { at, clock }
    }

    /// The share of a deadline's allowed time used by `now`, counted on the deadline's clock.
    fn used_share(&self, opened_at: DateTime<Utc>, deadline: Deadline, now: DateTime<Utc>) -> f64 {
        let (used, allowed) = match deadline.clock {
            Clock::BusinessHours => (
                self.business_hours.between(opened_at, now),
                self.business_hours.between(opened_at, deadline.at),
            ),
            Clock::AroundTheClock => ((now - opened_at).max(TimeDelta::zero()), deadline.at - opened_at),
        };
        if allowed <= TimeDelta::zero() {
            // A deadline no later than the opening (only a hand-made `Due`) is used up at once.
            return 1.0;
        }
        used.num_seconds() as f64 / allowed.num_seconds() as f64
    }
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    use super::*;
    use crate::sla::SlaCounts;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn policy() -> &'static SlaPolicy {
        SlaPolicy::bundled()
    }

    #[test]
    fn the_policy_file_parses_with_a_target_for_every_plan_and_priority() {
        let policy = policy();
        let opened_at = at("2026-11-18T10:00:00Z");
        for plan in Plan::VARIANTS {
            for priority in Priority::VARIANTS {
                let due = policy.clock(*priority, Some(*plan), opened_at);
                assert!(due.first_response.at > opened_at, "{plan} {priority}");
                assert!(due.resolution.at >= due.first_response.at, "{plan} {priority}");
            }
        }
        assert_eq!(policy.default_plan, Plan::Business);
    }

    #[test]
    fn a_policy_file_missing_a_plan_or_priority_is_refused() {
        let bundled: serde_json::Value = serde_json::from_str(include_str!("../../../sla-policy.json")).unwrap();
        let mut without_team = bundled.clone();
        without_team["targets"].as_object_mut().unwrap().remove("team");
        let mut without_high = bundled.clone();
        without_high["targets"]["enterprise"]
            .as_object_mut()
            .unwrap()
            .remove("high");
        for broken in [without_team, without_high] {
            let error = SlaPolicy::from_json(&broken.to_string()).unwrap_err();
            assert!(matches!(error, PolicyError::Shape(_)), "{error}");
        }
        let mut closes_at_opening = bundled;
        closes_at_opening["business_hours"]["closes"] = "07:00".into();
        let error = SlaPolicy::from_json(&closes_at_opening.to_string()).unwrap_err();
        assert!(matches!(error, PolicyError::Invalid(_)), "{error}");
    }

    #[test]
    fn four_business_hours_from_friday_afternoon_fall_due_on_monday_morning() {
        let due = policy().clock(Priority::Medium, Some(Plan::Business), at("2026-11-20T17:00:00Z"));
        assert_eq!(
            due.first_response,
            Deadline {
                at: at("2026-11-23T09:00:00Z"),
                clock: Clock::BusinessHours
            }
        );
    }

    #[test]
    fn a_ticket_opened_on_saturday_counts_from_monday_opening() {
        let due = policy().clock(Priority::Low, Some(Plan::Enterprise), at("2026-11-21T10:00:00Z"));
        assert_eq!(due.first_response.at, at("2026-11-23T11:00:00Z"));
    }

    #[test]
    fn one_business_day_from_friday_falls_due_at_the_same_hour_on_monday() {
        let due = policy().clock(Priority::Medium, Some(Plan::Team), at("2026-11-20T10:00:00Z"));
        assert_eq!(due.first_response.at, at("2026-11-23T10:00:00Z"));
        // Opened on Saturday: the whole of Monday is the business day allowed.
        let due = policy().clock(Priority::Medium, Some(Plan::Team), at("2026-11-21T10:00:00Z"));
        assert_eq!(due.first_response.at, at("2026-11-23T19:00:00Z"));
    }

    #[test]
    fn enterprise_high_priority_is_counted_around_the_clock() {
        // Saturday 23:30: an hour later, in the night, whatever the business hours.
        let opened_at = at("2026-11-21T23:30:00Z");
        let due = policy().clock(Priority::High, Some(Plan::Enterprise), opened_at);
        assert_eq!(
            due.first_response,
            Deadline {
                at: at("2026-11-22T00:30:00Z"),
                clock: Clock::AroundTheClock
            }
        );
        assert_eq!(due.resolution.at, at("2026-11-22T07:30:00Z"));
        // Half an hour of the night used is half the time, so not yet at risk; 45 minutes is.
        let status_at = |now| policy().status(&due, None, None, at(now));
        assert_eq!(status_at("2026-11-22T00:00:00Z"), SlaState::OnTrack);
        assert_eq!(status_at("2026-11-22T00:15:00Z"), SlaState::AtRisk);
        assert_eq!(status_at("2026-11-22T00:31:00Z"), SlaState::Breached);
    }

    #[test]
    fn an_unknown_plan_is_held_to_the_default_plan() {
        let opened_at = at("2026-11-18T10:00:00Z");
        assert_eq!(
            policy().clock(Priority::High, None, opened_at),
            policy().clock(Priority::High, Some(Plan::Business), opened_at)
        );
    }

    #[test]
    fn a_ticket_is_at_risk_once_three_quarters_of_the_business_time_is_used() {
        // Wednesday 10:00, due by 14:00 (four business hours).
        let due = policy().clock(Priority::Medium, Some(Plan::Business), at("2026-11-18T10:00:00Z"));
        let status_at = |now| policy().status(&due, None, None, at(now));
        assert_eq!(status_at("2026-11-18T12:59:00Z"), SlaState::OnTrack);
        assert_eq!(status_at("2026-11-18T13:00:00Z"), SlaState::AtRisk);
        assert_eq!(
            status_at("2026-11-18T14:00:00Z"),
            SlaState::AtRisk,
            "due at 14:00 is still in time"
        );
        assert_eq!(status_at("2026-11-18T14:01:00Z"), SlaState::Breached);
        // Opened Friday 17:00, due Monday 09:00: at 19:00 half the time is used, and the
        // weekend uses none of the rest.
        let due = policy().clock(Priority::Medium, Some(Plan::Business), at("2026-11-20T17:00:00Z"));
        assert_eq!(
            policy().status(&due, None, None, at("2026-11-22T12:00:00Z")),
            SlaState::OnTrack
        );
        assert_eq!(
            policy().status(&due, None, None, at("2026-11-23T08:00:00Z")),
            SlaState::AtRisk
        );
    }

    #[test]
    fn after_the_first_response_the_resolution_deadline_is_the_one_watched() {
        // Business, high: first response by 14:00, resolution within one business day.
        let opened_at = at("2026-11-18T10:00:00Z");
        let due = policy().clock(Priority::High, Some(Plan::Business), opened_at);
        assert_eq!(due.resolution.at, at("2026-11-19T10:00:00Z"));
        let responded = Some(at("2026-11-18T11:00:00Z"));
        assert_eq!(
            policy().status(&due, responded, None, at("2026-11-18T18:00:00Z")),
            SlaState::OnTrack
        );
        assert_eq!(
            policy().status(&due, responded, None, at("2026-11-19T08:00:00Z")),
            SlaState::AtRisk
        );
        assert_eq!(
            policy().status(&due, responded, None, at("2026-11-19T10:01:00Z")),
            SlaState::Breached
        );
    }

    #[test]
    fn a_late_first_response_stays_breached() {
        let due = policy().clock(Priority::Medium, Some(Plan::Business), at("2026-11-18T10:00:00Z"));
        let late = Some(at("2026-11-18T15:00:00Z"));
        assert_eq!(
            policy().status(&due, late, None, at("2026-11-18T16:00:00Z")),
            SlaState::Breached
        );
        let resolved_in_time = Some(at("2026-11-18T16:00:00Z"));
        assert_eq!(
            policy().status(&due, late, resolved_in_time, at("2026-11-25T12:00:00Z")),
            SlaState::Breached
        );
    }

    #[test]
    fn the_clock_stops_when_the_ticket_is_resolved() {
        // Opened Friday morning, answered and resolved that Friday, looked at next Wednesday.
        let due = policy().clock(Priority::Medium, Some(Plan::Business), at("2026-11-20T08:00:00Z"));
        let responded = Some(at("2026-11-20T09:00:00Z"));
        let resolved = Some(at("2026-11-20T16:00:00Z"));
        assert_eq!(
            policy().status(&due, responded, resolved, at("2026-11-25T12:00:00Z")),
            SlaState::Met
        );
        // Resolved with no first response recorded: the resolution is the first response,
        // late if it came after the first-response deadline (12:00), in time before it.
        assert_eq!(
            policy().status(&due, None, resolved, at("2026-11-25T12:00:00Z")),
            SlaState::Breached
        );
        let resolved_early = Some(at("2026-11-20T10:00:00Z"));
        assert_eq!(
            policy().status(&due, None, resolved_early, at("2026-11-25T12:00:00Z")),
            SlaState::Met
        );
    }

    #[test]
    fn a_holiday_in_the_policy_file_is_not_counted() {
        // Thursday 2026-12-24 17:00 + 4 business hours: Friday 25th is Christmas Day, so
        // the deadline is Monday 28th 09:00.
        let due = policy().clock(Priority::Low, Some(Plan::Business), at("2026-12-24T17:00:00Z"));
        assert_eq!(due.first_response.at, at("2026-12-28T09:00:00Z"));
    }

    #[test]
    fn counts_name_the_tickets_at_risk_and_breached() {
        let states = [
            SlaState::OnTrack,
            SlaState::AtRisk,
            SlaState::Breached,
            SlaState::Met,
            SlaState::Breached,
        ];
        assert_eq!(
            states.into_iter().collect::<SlaCounts>(),
            SlaCounts {
                at_risk: 1,
                breached: 2
            }
        );
        assert_eq!(serde_json::to_string(&SlaState::AtRisk).unwrap(), "\"at_risk\"");
    }
}
