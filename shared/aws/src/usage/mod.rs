//! The AWS calls of the functions, counted where they are made: an interceptor on every SDK
//! client (attached in `wiring`) records each request sent as the `AwsCalls` metric and, while
//! a queued record is handled ([`metered`], set per record by `lambda::sqs_batch`), on that
//! record's tally, which the agent reads through [`TurnMeter`] for its turn's usage.

use std::cell::Cell;
use std::future::Future;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use support_core::ports::usage::{AwsCalls, UsageMeter};
use support_core::telemetry;

/// The services the functions call, as the `AwsCalls` metric names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsService {
    DynamoDb,
    Sqs,
    Ses,
    Sns,
    Bedrock,
}

impl AwsService {
    pub fn name(self) -> &'static str {
        match self {
            AwsService::DynamoDb => "DynamoDB",
            AwsService::Sqs => "SQS",
            AwsService::Ses => "SES",
            AwsService::Sns => "SNS",
            AwsService::Bedrock => "Bedrock",
        }
    }
}

#[derive(Default)]
struct Tally {
    dynamodb: Cell<u32>,
    sqs: Cell<u32>,
    ses: Cell<u32>,
}

tokio::task_local! {
    /// The calls of the record being handled: one task handles it, so a Cell will do.
    static RECORD_CALLS: Tally;
}

/// Runs `work` with a tally of its own: the AWS calls made while it runs count on it.
pub async fn metered<F: Future>(work: F) -> F::Output {
    RECORD_CALLS.scope(Tally::default(), work).await
}

/// Counts one request sent to `service`: on the metric, and on the record's tally if any.
fn count(service: AwsService) {
    telemetry::aws_call(service.name());
    // Outside a metered record (an HTTP request, a schedule) there is only the metric.
    let _ = RECORD_CALLS.try_with(|tally| {
        let slot = match service {
            AwsService::DynamoDb => &tally.dynamodb,
            AwsService::Sqs => &tally.sqs,
            AwsService::Ses => &tally.ses,
            AwsService::Sns | AwsService::Bedrock => return,
        };
        slot.set(slot.get() + 1);
    });
}

/// The record's tally, and the function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
#[derive(Debug, Clone, Copy)]
pub struct TurnMeter {
    pub memory_mb: u32,
}

impl UsageMeter for TurnMeter {
    fn calls(&self) -> AwsCalls {
        RECORD_CALLS
            .try_with(|tally| AwsCalls {
                dynamodb: tally.dynamodb.get(),
                sqs: tally.sqs.get(),
                ses: tally.ses.get(),
            })
            .unwrap_or_default()
    }

    fn memory_mb(&self) -> u32 {
        self.memory_mb
    }
}

/// The SDK interceptor that counts a client's requests (each attempt sent, retries too:
/// each is a request AWS bills).
#[derive(Debug, Clone, Copy)]
pub struct AwsCallCounter(pub AwsService);

impl Intercept for AwsCallCounter {
    fn name(&self) -> &'static str {
        "AwsCallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        count(self.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_records_calls_count_on_its_own_tally_and_nowhere_else() {
        let meter = TurnMeter { memory_mb: 1024 };
        count(AwsService::DynamoDb);
        assert_eq!(meter.calls(), AwsCalls::default(), "outside a record: the metric only");
        let calls = metered(async {
            count(AwsService::DynamoDb);
            count(AwsService::DynamoDb);
            count(AwsService::Sqs);
            count(AwsService::Sns);
            let inner = metered(async {
                count(AwsService::Ses);
                meter.calls()
            })
            .await;
            assert_eq!(inner.ses, 1);
            meter.calls()
        })
        .await;
        assert_eq!(
            calls,
            AwsCalls {
                dynamodb: 2,
                sqs: 1,
                ses: 0
            }
        );
    }
}
