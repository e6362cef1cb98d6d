//! Every integration test of the system, in one test binary so the AWS SDKs link once:
//! black-box tests through the local stack (moto, the gateway, the pollers and the real
//! handlers), the Bedrock adapter against a local Converse server, the template linters and
//! the template's alarms, dashboard and log groups against the product's metrics.

mod aws_calls;
mod bad_input;
mod bedrock_converse;
mod cost;
mod crash_recovery;
mod delivery_guarantees;
mod email;
mod emulation;
mod eval_thresholds;
mod guardrails_pipeline;
mod identity;
mod learned_answers;
mod observability;
mod operator;
mod operator_auth;
mod report;
mod sample_events;
mod template_lint;
mod template_monitoring;
mod understanding;
mod web_form_spine;
mod whatsapp;
