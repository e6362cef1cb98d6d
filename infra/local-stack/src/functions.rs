//! What the gateway and the pollers invoke: small traits over the Lambda handlers, the
//! adapters to the real handlers of `shared`, and closures for tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::{Body, Request, Response};
use support_aws::lambda::sqs_batch::process_records;

/// A function behind the HTTP gateway (an `HttpApi` event).
#[async_trait]
pub trait HttpFunction: Send + Sync + 'static {
    async fn call(&self, request: Request) -> Response<Body>;
}

/// A function behind an SQS event source. `Err` fails the whole invocation.
#[async_trait]
pub trait SqsFunction: Send + Sync + 'static {
    async fn call(&self, event: SqsEvent) -> Result<SqsBatchResponse, String>;
}

/// A function subscribed to an SNS topic. `Err` fails the invocation (Lambda retries it).
#[async_trait]
pub trait SnsFunction: Send + Sync + 'static {
    async fn call(&self, event: SnsEvent) -> Result<(), String>;
}

/// A function behind an EventBridge schedule (a `Schedule` or `ScheduleV2` event). `Err`
/// fails the invocation.
#[async_trait]
pub trait ScheduledFunction: Send + Sync + 'static {
    async fn call(&self, event: serde_json::Value) -> Result<(), String>;
}

struct HttpFn<F>(F);

#[async_trait]
impl<F, Fut> HttpFunction for HttpFn<F>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    async fn call(&self, request: Request) -> Response<Body> {
        (self.0)(request).await
    }
}

struct SqsFn<F>(F);

#[async_trait]
impl<F, Fut> SqsFunction for SqsFn<F>
where
    F: Fn(SqsEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<SqsBatchResponse, String>> + Send + 'static,
{
    async fn call(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        (self.0)(event).await
    }
}

struct ScheduledFn<F>(F);

#[async_trait]
impl<F, Fut> ScheduledFunction for ScheduledFn<F>
where
    F: Fn(serde_json::Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    async fn call(&self, event: serde_json::Value) -> Result<(), String> {
        (self.0)(event).await
    }
}

/// An [`HttpFunction`] from a closure.
pub fn http_fn<F, Fut>(f: F) -> Arc<dyn HttpFunction>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    Arc::new(HttpFn(f))
}

/// An [`SqsFunction`] from a closure.
pub fn sqs_fn<F, Fut>(f: F) -> Arc<dyn SqsFunction>
where
    F: Fn(SqsEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<SqsBatchResponse, String>> + Send + 'static,
{
    Arc::new(SqsFn(f))
}

/// A [`ScheduledFunction`] from a closure.
pub fn scheduled_fn<F, Fut>(f: F) -> Arc<dyn ScheduledFunction>
where
    F: Fn(serde_json::Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(ScheduledFn(f))
}

#[async_trait]
impl HttpFunction for support_aws::lambda::webform_http::WebformApi {
    async fn call(&self, request: Request) -> Response<Body> {
        self.handle(request).await
    }
}

#[async_trait]
impl SqsFunction for support_core::agent::Agent {
    async fn call(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        process_records(event, |message| async move { self.handle(&message).await })
            .await
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl SqsFunction for support_core::delivery::EmailDelivery {
    async fn call(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        process_records(event, |reply| async move { self.send(&reply).await })
            .await
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl HttpFunction for support_aws::lambda::whatsapp_http::WhatsappWebhook {
    async fn call(&self, request: Request) -> Response<Body> {
        self.handle(request).await
    }
}

#[async_trait]
impl SqsFunction for support_core::delivery::whatsapp::WhatsappDelivery {
    async fn call(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        process_records(event, |reply| async move { self.send(&reply).await })
            .await
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl ScheduledFunction for support_core::intake::Sweeper {
    async fn call(&self, _event: serde_json::Value) -> Result<(), String> {
        self.redrive_now().await.map(|_| ()).map_err(|e| e.to_string())
    }
}

#[async_trait]
impl SnsFunction for support_core::delivery::bounces::MailEvents {
    async fn call(&self, event: SnsEvent) -> Result<(), String> {
        support_aws::lambda::ses_events::handle_sns(self, event)
            .await
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl HttpFunction for support_aws::lambda::gmail_http::GmailPush {
    async fn call(&self, request: Request) -> Response<Body> {
        self.handle(request).await
    }
}

#[async_trait]
impl HttpFunction for support_aws::lambda::operator_http::OperatorApi {
    async fn call(&self, request: Request) -> Response<Body> {
        self.handle(request).await
    }
}

#[async_trait]
impl ScheduledFunction for support_core::inbox::InboxSync {
    async fn call(&self, _event: serde_json::Value) -> Result<(), String> {
        self.poll(chrono::Utc::now())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl ScheduledFunction for support_core::report::DailyReports {
    async fn call(&self, event: serde_json::Value) -> Result<(), String> {
        support_aws::lambda::daily_report::handle(self, &event, chrono::Utc::now())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// A function's handler: the kind depends on its events.
#[derive(Clone)]
pub enum Handler {
    Http(Arc<dyn HttpFunction>),
    Sqs(Arc<dyn SqsFunction>),
    Sns(Arc<dyn SnsFunction>),
    Scheduled(Arc<dyn ScheduledFunction>),
}

/// Builds the real handler of a template function from its resolved environment, the same
/// way its Lambda binary does (`XConfig::from_env()` there, `from_lookup` over the
/// template's environment here). `None` when the binary is not one of ours.
pub fn builtin_handler(binary: &str, env: &BTreeMap<String, String>, sdk: &SdkConfig) -> Result<Option<Handler>> {
    use support_aws::config::{
        AgentConfig, ConfigError, DailyReportConfig, EmailSenderConfig, GmailWebhookConfig, MailEventsConfig,
        MailboxConfig, OperatorConfig, SweeperConfig, WebformConfig, WhatsappSenderConfig, WhatsappWebhookConfig,
    };
    use support_aws::wiring;
    let lookup = |k: &str| env.get(k).cloned();
    let config_error = |e: ConfigError| anyhow!("{binary}: {e}");
    Ok(Some(match binary {
        "webform-api" => Handler::Http(Arc::new(wiring::webform_api(
            WebformConfig::from_lookup(lookup).map_err(config_error)?,
            sdk,
        ))),
        "agent" => Handler::Sqs(Arc::new(
            wiring::agent(AgentConfig::from_lookup(lookup).map_err(config_error)?, sdk)
                .map_err(|e| anyhow!("{binary}: {e}"))?,
        )),
        "email-sender" => Handler::Sqs(Arc::new(wiring::email_delivery(
            EmailSenderConfig::from_lookup(lookup).map_err(config_error)?,
            sdk,
        ))),
        "gmail-webhook" => Handler::Http(Arc::new(
            wiring::gmail_webhook(GmailWebhookConfig::from_lookup(lookup).map_err(config_error)?, sdk)
                .map_err(|e| anyhow!("{binary}: {e}"))?,
        )),
        "gmail-poller" => Handler::Scheduled(Arc::new(
            wiring::inbox_sync(MailboxConfig::from_lookup(lookup).map_err(config_error)?, sdk)
                .map_err(|e| anyhow!("{binary}: {e}"))?,
        )),
        "operator-api" => Handler::Http(Arc::new(
            wiring::operator_api(OperatorConfig::from_lookup(lookup).map_err(config_error)?, sdk)
                .map_err(|e| anyhow!("{binary}: {e}"))?,
        )),
        "ses-events" => Handler::Sns(Arc::new(wiring::mail_events(
            MailEventsConfig::from_lookup(lookup).map_err(config_error)?,
            sdk,
        ))),
        "daily-report" => Handler::Scheduled(Arc::new(wiring::daily_reports(
            DailyReportConfig::from_lookup(lookup).map_err(config_error)?,
            sdk,
        ))),
        "intake-sweeper" => Handler::Scheduled(Arc::new(wiring::intake_sweeper(
            SweeperConfig::from_lookup(lookup).map_err(config_error)?,
            sdk,
        ))),
        "whatsapp-webhook" => Handler::Http(Arc::new(wiring::whatsapp_webhook(
            WhatsappWebhookConfig::from_lookup(lookup).map_err(config_error)?,
            sdk,
        ))),
        "whatsapp-sender" => Handler::Sqs(Arc::new(
            wiring::whatsapp_delivery(WhatsappSenderConfig::from_lookup(lookup).map_err(config_error)?, sdk)
                .map_err(|e| anyhow!("{binary}: {e}"))?,
        )),
        _ => return Ok(None),
    }))
}
