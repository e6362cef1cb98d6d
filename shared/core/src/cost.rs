//! What the agent costs: each turn's usage (model tokens, AWS calls, Lambda GB-seconds),
//! recorded on its run, priced by the price table of `shared/prices.json` (or a deployment's
//! own, the same JSON): per turn, per ticket (its turns), per month.
//!
//! turn cost = input tokens × model input price + output tokens × model output price
//!           + DynamoDB calls × DynamoDB price + SQS requests × SQS price
//!           + SES emails × SES price + GB-seconds × Lambda GB-second price
//!           + one Lambda request

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// What one turn of the agent used: the model's tokens, the AWS calls its turn made and
/// will make (see `agent`), and the Lambda time it ran.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TurnUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub dynamodb_calls: u32,
    pub sqs_calls: u32,
    /// The emails SES sends for the turn: its reply on the email channel, a one-time code's
    /// email (the email sender's one SendEmail each).
    pub ses_calls: u32,
    /// The function's memory in GB × the turn's duration in seconds.
    pub gb_seconds: f64,
}

/// `usd` for every `per` units of `unit`, and where the figure comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub usd: f64,
    pub per: f64,
    pub unit: String,
    pub source: String,
}

impl Price {
    fn of(&self, quantity: f64) -> f64 {
        quantity * self.usd / self.per
    }
}

/// The prices a turn is costed at, in USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    #[serde(rename = "//", default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    /// The AWS region the prices are for.
    pub region: String,
    /// The Bedrock model the token prices are for (the agent's `BEDROCK_MODEL_ID`).
    pub model: String,
    pub model_input_tokens: Price,
    pub model_output_tokens: Price,
    pub dynamodb_calls: Price,
    pub sqs_requests: Price,
    pub ses_emails: Price,
    pub lambda_gb_seconds: Price,
    pub lambda_requests: Price,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PriceError {
    #[error("the price table is not valid JSON of the expected shape: {0}")]
    Shape(String),
    #[error("the price table's {0} must be a number of USD at least 0, per a number of units above 0")]
    Price(&'static str),
    #[error("the price table names no model")]
    Model,
}

/// A cost in USD, by what it pays for.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct CostBreakdown {
    pub model: f64,
    pub dynamodb: f64,
    pub sqs: f64,
    pub ses: f64,
    pub lambda: f64,
}

impl CostBreakdown {
    pub fn total(&self) -> f64 {
        self.model + self.dynamodb + self.sqs + self.ses + self.lambda
    }
}

/// What a load of tickets costs a month and a year.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Projection {
    pub per_ticket: f64,
    pub per_month: f64,
    pub per_year: f64,
}

impl PriceTable {
    /// The prices shipped with the product (`shared/prices.json`).
    pub fn bundled() -> &'static PriceTable {
        static BUNDLED: OnceLock<PriceTable> = OnceLock::new();
        BUNDLED.get_or_init(|| Self::parse(include_str!("../../prices.json")).expect("shared/prices.json is valid"))
    }

    /// A price table in `shared/prices.json`'s shape, every price given and sensible.
    pub fn parse(json: &str) -> Result<Self, PriceError> {
        let table: Self = serde_json::from_str(json).map_err(|e| PriceError::Shape(e.to_string()))?;
        for (name, price) in table.prices() {
            let usd_ok = price.usd.is_finite() && price.usd >= 0.0;
            let per_ok = price.per.is_finite() && price.per > 0.0;
            if !(usd_ok && per_ok) {
                return Err(PriceError::Price(name));
            }
        }
        if table.model.trim().is_empty() {
            return Err(PriceError::Model);
        }
        Ok(table)
    }

    fn prices(&self) -> [(&'static str, &Price); 7] {
        [
            ("model_input_tokens", &self.model_input_tokens),
            ("model_output_tokens", &self.model_output_tokens),
            ("dynamodb_calls", &self.dynamodb_calls),
            ("sqs_requests", &self.sqs_requests),
            ("ses_emails", &self.ses_emails),
            ("lambda_gb_seconds", &self.lambda_gb_seconds),
            ("lambda_requests", &self.lambda_requests),
        ]
    }

    /// What one turn costs, by service. A turn is taken as one Lambda invocation (an upper
    /// bound: the records of one SQS batch share one).
    pub fn turn_breakdown(&self, usage: &TurnUsage) -> CostBreakdown {
        CostBreakdown {
            model: self.model_input_tokens.of(usage.input_tokens as f64)
                + self.model_output_tokens.of(usage.output_tokens as f64),
            dynamodb: self.dynamodb_calls.of(f64::from(usage.dynamodb_calls)),
            sqs: self.sqs_requests.of(f64::from(usage.sqs_calls)),
            ses: self.ses_emails.of(f64::from(usage.ses_calls)),
            lambda: self.lambda_gb_seconds.of(usage.gb_seconds) + self.lambda_requests.of(1.0),
        }
    }

    /// What one turn costs, in USD.
    pub fn turn_cost(&self, usage: &TurnUsage) -> f64 {
        self.turn_breakdown(usage).total()
    }

    /// What a ticket costs: the sum of its turns.
    pub fn ticket_cost(&self, turns: &[TurnUsage]) -> f64 {
        turns.iter().map(|turn| self.turn_cost(turn)).sum()
    }

    /// `tickets_per_month` tickets like the one whose turns these are.
    pub fn projection(&self, ticket_turns: &[TurnUsage], tickets_per_month: u64) -> Projection {
        let per_ticket = self.ticket_cost(ticket_turns);
        let per_month = per_ticket * tickets_per_month as f64;
        Projection {
            per_ticket,
            per_month,
            per_year: per_month * 12.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-12, "{actual} is not {expected}");
    }

    /// A Bedrock turn of two model rounds, answered by email.
    fn known_turn() -> TurnUsage {
        TurnUsage {
            input_tokens: 3_000,
            output_tokens: 250,
            dynamodb_calls: 4,
            sqs_calls: 1,
            ses_calls: 1,
            gb_seconds: 2.5,
        }
    }

    #[test]
    fn a_known_turn_costs_what_the_bundled_prices_say() {
        let prices = PriceTable::bundled();
        let cost = prices.turn_breakdown(&known_turn());
        // 3,000 × $0.80/M + 250 × $4/M = $0.0024 + $0.001
        close(cost.model, 0.0034);
        // 4 × $0.625/M
        close(cost.dynamodb, 0.0000025);
        // 1 × $0.50/M
        close(cost.sqs, 0.0000005);
        // 1 × $0.10/1,000
        close(cost.ses, 0.0001);
        // 2.5 × $0.0000133334 + 1 × $0.20/M
        close(cost.lambda, 0.0000333335 + 0.0000002);
        // $0.0034 + $0.0000025 + $0.0000005 + $0.0001 + $0.0000335335
        close(prices.turn_cost(&known_turn()), 0.0035365335);
    }

    #[test]
    fn a_ticket_costs_its_turns_and_a_month_its_tickets() {
        let prices = PriceTable::bundled();
        let turns = [known_turn(), known_turn()];
        close(prices.ticket_cost(&turns), 0.007073067);
        let load = prices.projection(&turns, 1_000);
        close(load.per_month, 7.073067);
        close(load.per_year, 84.876804);
        assert_eq!(turns.iter().map(|t| t.dynamodb_calls).sum::<u32>(), 8);
    }

    /// README "Cost per ticket": 1,000 tickets a month of two Bedrock turns each.
    #[test]
    fn the_readme_worked_example_holds() {
        let turn = TurnUsage {
            input_tokens: 4_000,
            output_tokens: 300,
            dynamodb_calls: 3,
            sqs_calls: 1,
            ses_calls: 1,
            gb_seconds: 4.0,
        };
        let prices = PriceTable::bundled();
        close(prices.turn_cost(&turn), 0.0045559086);
        let load = prices.projection(&[turn, turn], 1_000);
        close(load.per_ticket, 0.0091118172);
        close(load.per_month, 9.1118172);
        close(load.per_year, 109.3418064);
    }

    #[test]
    fn a_deployment_may_change_any_price() {
        let mut table: serde_json::Value = serde_json::from_str(include_str!("../../prices.json")).unwrap();
        table["model_input_tokens"]["usd"] = 3.0.into();
        table["model_output_tokens"]["usd"] = 15.0.into();
        let sonnet = PriceTable::parse(&table.to_string()).unwrap();
        // 3,000 × $3/M + 250 × $15/M
        close(sonnet.turn_breakdown(&known_turn()).model, 0.01275);
    }

    #[test]
    fn a_bad_table_is_refused_with_a_reason() {
        let valid: serde_json::Value = serde_json::from_str(include_str!("../../prices.json")).unwrap();
        assert!(matches!(PriceTable::parse("{not json"), Err(PriceError::Shape(_))));
        let mut missing = valid.clone();
        missing.as_object_mut().unwrap().remove("ses_emails");
        let error = PriceTable::parse(&missing.to_string()).unwrap_err();
        assert!(error.to_string().contains("ses_emails"), "{error}");
        let mut negative = valid.clone();
        negative["sqs_requests"]["usd"] = (-1.0).into();
        assert_eq!(
            PriceTable::parse(&negative.to_string()),
            Err(PriceError::Price("sqs_requests"))
        );
        let mut per_nothing = valid.clone();
        per_nothing["lambda_gb_seconds"]["per"] = 0.into();
        assert_eq!(
            PriceTable::parse(&per_nothing.to_string()),
            Err(PriceError::Price("lambda_gb_seconds"))
        );
        let mut unknown = valid;
        unknown["dynamodb_calls"]["usd_per_call"] = 1.into();
        assert!(matches!(
            PriceTable::parse(&unknown.to_string()),
            Err(PriceError::Shape(_))
        ));
    }

    #[test]
    fn usage_stored_before_a_field_existed_reads_as_zero() {
        let usage: TurnUsage = serde_json::from_str(r#"{"input_tokens": 10}"#).unwrap();
        assert_eq!(
            usage,
            TurnUsage {
                input_tokens: 10,
                ..TurnUsage::default()
            }
        );
    }
}
