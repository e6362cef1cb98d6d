//! The customer-success agent's library: every Lambda function is a thin
//! binary over the handlers here, and the local stack runs the same handlers.

pub mod adapters;
pub mod agent;
pub mod bedrock;
pub mod config;
pub mod domain;
pub mod email_sender;
pub mod inbound;
pub mod knowledge;
pub mod model;
pub mod ports;
pub mod sqs_batch;
pub mod webform;
