//! From configuration to ports: each function's use case built over its AWS adapters,
//! once per container. The Lambda binaries and the local stack both build them here.

#[cfg(any(feature = "dynamodb", feature = "sqs", feature = "ses", feature = "bedrock"))]
use std::sync::Arc;

use aws_config::SdkConfig;

#[cfg(any(
    feature = "dynamodb",
    feature = "sqs",
    feature = "ses",
    feature = "bedrock",
    feature = "twilio"
))]
use crate::config;

/// The AWS configuration shared by every client of a function: region, credentials and
/// endpoints (`AWS_ENDPOINT_URL` points it at a local emulator).
pub async fn aws_sdk_config() -> SdkConfig {
    sdk_config_loader().load().await
}

/// The SDK's configuration loader with its HTTPS client on rustls and ring (see the
/// workspace's Cargo.toml): every SDK configuration, in AWS and locally, starts here.
pub fn sdk_config_loader() -> aws_config::ConfigLoader {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client)
}

/// A client of one AWS service on the function's configuration, its calls counted
/// (`usage::AwsCallCounter`): every client a function uses is made here.
macro_rules! counted_client {
    ($feature:literal, $name:ident, $sdk:ident, $service:ident) => {
        #[cfg(feature = $feature)]
        pub fn $name(sdk: &SdkConfig) -> $sdk::Client {
            let config = $sdk::config::Builder::from(sdk)
                .interceptor(crate::usage::AwsCallCounter(crate::usage::AwsService::$service))
                .build();
            $sdk::Client::from_conf(config)
        }
    };
}

counted_client!("dynamodb", dynamodb_client, aws_sdk_dynamodb, DynamoDb);
counted_client!("sqs", sqs_client, aws_sdk_sqs, Sqs);
counted_client!("ses", ses_client, aws_sdk_sesv2, Ses);
counted_client!("sns", sns_client, aws_sdk_sns, Sns);
counted_client!("bedrock", bedrock_client, aws_sdk_bedrockruntime, Bedrock);

/// The intake over its tables and queue, with the adapters the function also reads through.
#[cfg(all(
    feature = "dynamodb",
    feature = "sqs",
    any(feature = "http", feature = "twilio-webhook", feature = "gmail")
))]
fn intake(
    config: config::IntakeConfig,
    sdk: &SdkConfig,
) -> (
    support_core::intake::Intake,
    Arc<crate::tickets::dynamodb::DynamoTickets>,
    Arc<crate::customers::dynamodb::DynamoCustomers>,
) {
    let dynamodb = dynamodb_client(sdk);
    let tickets = Arc::new(crate::tickets::dynamodb::DynamoTickets::new(
        dynamodb.clone(),
        config.tickets_table,
    ));
    let customers = Arc::new(crate::customers::dynamodb::DynamoCustomers::new(
        dynamodb,
        config.customers_table,
    ));
    let inbound = crate::queue::sqs::SqsQueue::new(sqs_client(sdk), config.inbound_queue_url);
    let intake = support_core::intake::Intake::new(customers.clone(), tickets.clone(), Arc::new(inbound));
    (intake, tickets, customers)
}

#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "http"))]
pub fn webform_api(config: config::WebformConfig, sdk: &SdkConfig) -> crate::lambda::webform_http::WebformApi {
    let (intake, tickets, customers) = intake(config.intake, sdk);
    crate::lambda::webform_http::WebformApi::new(
        intake,
        crate::lambda::webform_http::WebformPorts {
            tickets: tickets.clone(),
            channels: customers.clone(),
            customers,
            verifications: tickets,
        },
    )
}

#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "twilio-webhook", feature = "sns"))]
pub fn whatsapp_webhook(
    config: config::WhatsappWebhookConfig,
    sdk: &SdkConfig,
) -> crate::lambda::whatsapp_http::WhatsappWebhook {
    let (intake, tickets, _) = intake(config.intake, sdk);
    crate::lambda::whatsapp_http::WhatsappWebhook::new(
        intake,
        tickets,
        crate::twilio::signature::RequestValidator::new(config.auth_token.0),
        config.webhook_url,
        team_alert(config.team, sdk),
    )
}

/// The inbox sync of the support mailbox on Gmail (the push webhook's and the poll's).
#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "gmail"))]
pub fn inbox_sync(
    config: config::MailboxConfig,
    sdk: &SdkConfig,
) -> Result<support_core::inbox::InboxSync, crate::mailbox::gmail::GmailSetupError> {
    let cursor = crate::mailbox::dynamodb::DynamoMailboxCursor::new(dynamodb_client(sdk), &config.intake.tickets_table);
    let (intake, _, _) = intake(config.intake, sdk);
    let gmail = crate::mailbox::gmail::GmailMailbox::new(
        crate::mailbox::gmail::GmailConfig {
            api_base_url: config.api_base_url,
            user: config.address.to_string(),
            topic_name: config.pubsub_topic,
        },
        crate::google::oauth::RefreshTokenGrant {
            token_url: config.token_url,
            client_id: config.client_id,
            client_secret: config.client_secret.0,
            refresh_token: config.refresh_token.0,
        },
    )?;
    Ok(support_core::inbox::InboxSync::new(
        Arc::new(gmail),
        Arc::new(cursor),
        intake,
        support_core::inbox::InboxSettings {
            address: config.address,
            authserv_id: config.authserv_id,
        },
    ))
}

/// The Gmail push webhook: Google's pushes verified, then the inbox synced.
#[cfg(all(feature = "dynamodb", feature = "sqs", feature = "gmail", feature = "gmail-push"))]
pub fn gmail_webhook(
    config: config::GmailWebhookConfig,
    sdk: &SdkConfig,
) -> Result<crate::lambda::gmail_http::GmailPush, crate::mailbox::gmail::GmailSetupError> {
    let verifier = crate::google::push::PushVerifier::new(crate::google::push::PushAuthConfig {
        jwks_url: config.jwks_url,
        audience: config.audience,
        service_account: config.service_account,
    })?;
    Ok(crate::lambda::gmail_http::GmailPush::new(
        verifier,
        inbox_sync(config.mailbox, sdk)?,
    ))
}

#[cfg(all(feature = "dynamodb", feature = "sqs"))]
pub fn intake_sweeper(config: config::SweeperConfig, sdk: &SdkConfig) -> support_core::intake::Sweeper {
    let tickets = crate::tickets::dynamodb::DynamoTickets::new(dynamodb_client(sdk), config.tickets_table);
    let inbound = crate::queue::sqs::SqsQueue::new(sqs_client(sdk), config.inbound_queue_url);
    support_core::intake::Sweeper::new(Arc::new(tickets), Arc::new(inbound))
}

/// The agent, with the embedding model loaded (once per process) and the semantic rails
/// embedded. Fails when the model's files are missing or broken.
#[cfg(all(
    feature = "dynamodb",
    feature = "sqs",
    feature = "bedrock",
    feature = "embedding",
    feature = "sns"
))]
pub fn agent(
    config: config::AgentConfig,
    sdk: &SdkConfig,
) -> Result<support_core::agent::Agent, support_core::ports::embedder::EmbedError> {
    use support_core::agent::rails::SemanticRails;
    use support_core::ports::engine::offline::OfflineEngine;
    use support_core::ports::engine::Engine;
    use support_core::ports::queue::MessageQueue;

    let engine: Arc<dyn Engine> = match config.model {
        config::ModelProvider::Offline => Arc::new(OfflineEngine),
        config::ModelProvider::Bedrock { model_id } => {
            if model_id != config.prices.model {
                tracing::warn!(model_id, priced = %config.prices.model, "the price table is for another model: turns' costs are off");
            }
            Arc::new(crate::engine::bedrock::BedrockEngine::new(
                bedrock_client(sdk),
                model_id,
                crate::engine::bedrock::RetryPolicy::default(),
            ))
        }
    };
    let dynamodb = dynamodb_client(sdk);
    let tickets = Arc::new(crate::tickets::dynamodb::DynamoTickets::new(
        dynamodb.clone(),
        config.tickets_table,
    ));
    let customers = crate::customers::dynamodb::DynamoCustomers::new(dynamodb, config.customers_table);
    let sqs = sqs_client(sdk);
    let queue = |url: String| Arc::new(crate::queue::sqs::SqsQueue::new(sqs.clone(), url)) as Arc<dyn MessageQueue>;
    let embedder = support_embedding::shared_embedder(&config.embedding_model_dir)?;
    let classifiers = support_embedding::precomputed::load_classifiers(&config.embedding_model_dir)?;
    let rails = Arc::new(SemanticRails::new(classifiers.intents));
    let articles = Arc::new(classifiers.articles);
    Ok(support_core::agent::Agent::new(support_core::agent::AgentPorts {
        knowledge: Arc::new(
            support_core::knowledge::Knowledge::with_learned(embedder, tickets.clone()).with_article_model(articles),
        ),
        history: tickets.clone(),
        replies: tickets.clone(),
        outbound: support_core::delivery::Outbound {
            email: queue(config.email_outbound_queue_url),
            whatsapp: config.whatsapp_outbound_queue_url.map(queue),
        },
        engine,
        rails,
        identities: Arc::new(customers),
        verifications: tickets.clone(),
        burst_settle: support_core::agent::BURST_SETTLE,
        autonomy: Arc::new(config.autonomy),
        team: support_core::agent::Team {
            presence: tickets,
            alert: team_alert(config.team, sdk),
        },
        meter: Arc::new(crate::usage::TurnMeter {
            memory_mb: config.memory_mb,
        }),
        prices: config.prices,
    }))
}

#[cfg(all(
    feature = "dynamodb",
    feature = "sqs",
    feature = "sns",
    feature = "embedding",
    feature = "operator-api"
))]
pub fn operator_api(
    config: config::OperatorConfig,
    sdk: &SdkConfig,
) -> Result<crate::lambda::operator_http::OperatorApi, support_core::ports::embedder::EmbedError> {
    use support_core::delivery::Outbound;
    use support_core::desk::{DeskPorts, OperatorDesk};
    use support_core::ports::queue::MessageQueue;

    let tickets = Arc::new(crate::tickets::dynamodb::DynamoTickets::new(
        dynamodb_client(sdk),
        config.tickets_table,
    ));
    let reports = tickets.clone();
    let sqs = sqs_client(sdk);
    let queue = |url: String| Arc::new(crate::queue::sqs::SqsQueue::new(sqs.clone(), url)) as Arc<dyn MessageQueue>;
    let embedder = support_embedding::shared_embedder(&config.embedding_model_dir)?;
    let desk = OperatorDesk::new(DeskPorts {
        store: tickets.clone(),
        knowledge: Arc::new(support_core::knowledge::Knowledge::with_learned(
            embedder,
            tickets.clone(),
        )),
        history: tickets.clone(),
        outbound: Outbound {
            email: queue(config.email_outbound_queue_url),
            whatsapp: config.whatsapp_outbound_queue_url.map(queue),
        },
        presence: tickets,
        alert: team_alert(config.team, sdk),
    });
    Ok(crate::lambda::operator_http::OperatorApi::new(desk, reports))
}

#[cfg(all(feature = "dynamodb", feature = "ses", feature = "sns"))]
pub fn email_delivery(config: config::EmailSenderConfig, sdk: &SdkConfig) -> support_core::delivery::EmailDelivery {
    let dynamodb = dynamodb_client(sdk);
    support_core::delivery::EmailDelivery::new(
        Arc::new(crate::tickets::dynamodb::DynamoTickets::new(
            dynamodb.clone(),
            &config.tickets_table,
        )),
        Arc::new(crate::mailer::ses::SesMailer::new(
            ses_client(sdk),
            config.configuration_set,
        )),
        Arc::new(crate::mailer::dynamodb::DynamoUndeliverables::new(
            dynamodb,
            config.tickets_table,
        )),
        config.sender_address,
        config.site_url,
        team_alert(config.team, sdk),
    )
}

/// The daily report: read from and stored in the tickets table, emailed through SES when
/// the team's address is set.
#[cfg(all(feature = "dynamodb", feature = "ses"))]
pub fn daily_reports(config: config::DailyReportConfig, sdk: &SdkConfig) -> support_core::report::DailyReports {
    use support_core::report::{DailyReports, ReportMail, ReportPorts};
    let tickets = Arc::new(crate::tickets::dynamodb::DynamoTickets::new(
        dynamodb_client(sdk),
        config.tickets_table,
    ));
    let mail = config.report_address.map(|to| ReportMail {
        // No configuration set: the report's bounces are not a customer's reply's.
        mailer: Arc::new(crate::mailer::ses::SesMailer::new(ses_client(sdk), None)),
        from: config.sender_address,
        to,
    });
    DailyReports::new(
        ReportPorts {
            source: tickets.clone(),
            store: tickets,
            mail,
        },
        config.prices,
    )
}

#[cfg(all(feature = "ses-events", feature = "sns"))]
pub fn mail_events(config: config::MailEventsConfig, sdk: &SdkConfig) -> support_core::delivery::bounces::MailEvents {
    let dynamodb = dynamodb_client(sdk);
    support_core::delivery::bounces::MailEvents::new(
        Arc::new(crate::mailer::dynamodb::DynamoUndeliverables::new(
            dynamodb.clone(),
            &config.tickets_table,
        )),
        Arc::new(crate::tickets::dynamodb::DynamoTickets::new(
            dynamodb,
            config.tickets_table,
        )),
        team_alert(config.team, sdk),
    )
}

/// The team's topic, told of escalations.
#[cfg(feature = "sns")]
fn team_alert(config: config::TeamConfig, sdk: &SdkConfig) -> support_core::ports::team::TeamAlert {
    support_core::ports::team::TeamAlert {
        notifier: Arc::new(crate::team::sns::SnsTeamNotifier::new(
            sns_client(sdk),
            config.topic_arn,
        )),
        console_url: config.console_url,
    }
}

#[cfg(all(feature = "dynamodb", feature = "twilio", feature = "sns"))]
pub fn whatsapp_delivery(
    config: config::WhatsappSenderConfig,
    sdk: &SdkConfig,
) -> Result<support_core::delivery::whatsapp::WhatsappDelivery, reqwest::Error> {
    use support_core::delivery::whatsapp::{StatusCallback, WhatsappDelivery};
    let twilio = crate::whatsapp::twilio::TwilioMessages::new(
        &config.api_base_url,
        config.account_sid,
        config.auth_token.0,
        config.from,
    )?;
    Ok(WhatsappDelivery::new(
        Arc::new(crate::tickets::dynamodb::DynamoTickets::new(
            dynamodb_client(sdk),
            config.tickets_table,
        )),
        Arc::new(twilio),
        StatusCallback {
            url: config.status_callback_url,
        },
        team_alert(config.team, sdk),
    ))
}
