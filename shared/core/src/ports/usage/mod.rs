//! What a turn uses of the platform it runs on, for its cost (`crate::cost`): the AWS calls
//! it made, counted where they are made (in AWS, by the SDK clients' interceptor of
//! `support-aws`, per queued record), and the memory its function runs with.

pub mod memory;

/// AWS calls, by service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AwsCalls {
    pub dynamodb: u32,
    pub sqs: u32,
    pub ses: u32,
}

pub trait UsageMeter: Send + Sync {
    /// The AWS calls the record being handled made so far.
    fn calls(&self) -> AwsCalls;

    /// The function's memory in MB (Lambda bills GB-seconds of it); 0 where nothing bills it.
    fn memory_mb(&self) -> u32;
}
