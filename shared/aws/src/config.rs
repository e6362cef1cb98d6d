//! Each function's configuration, read from its environment (set by
//! template.yaml in AWS, by the local stack on one machine).

use std::fmt;

use support_core::cost::PriceTable;
use support_core::domain::{parse_email_address, EmailAddress};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

struct Lookup<F>(F);

impl<F: Fn(&str) -> Option<String>> Lookup<F> {
    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    fn optional(&self, name: &'static str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn email_address<F: Fn(&str) -> Option<String>>(
    env: &Lookup<F>,
    name: &'static str,
) -> Result<EmailAddress, ConfigError> {
    parse_email_address(&env.required(name)?).map_err(|e| ConfigError::Invalid {
        name,
        reason: e.to_string(),
    })
}

/// What the intake runs on, in every function that receives messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeConfig {
    pub customers_table: String,
    pub tickets_table: String,
    pub inbound_queue_url: String,
}

impl IntakeConfig {
    fn read<F: Fn(&str) -> Option<String>>(env: &Lookup<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            customers_table: env.required("CUSTOMERS_TABLE")?,
            tickets_table: env.required("TICKETS_TABLE")?,
            inbound_queue_url: env.required("INBOUND_QUEUE_URL")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebformConfig {
    pub intake: IntakeConfig,
}

impl WebformConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            intake: IntakeConfig::read(&Lookup(lookup))?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

/// Which model answers: Amazon Bedrock, or the offline retrieval-and-rules engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelProvider {
    Offline,
    Bedrock { model_id: String },
}

impl fmt::Display for ModelProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelProvider::Offline => f.write_str("offline"),
            ModelProvider::Bedrock { model_id } => write!(f, "bedrock ({model_id})"),
        }
    }
}

/// The handler of SES's bounce and complaint events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailEventsConfig {
    pub tickets_table: String,
    pub team: TeamConfig,
}

impl MailEventsConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Lookup(lookup);
        Ok(Self {
            tickets_table: env.required("TICKETS_TABLE")?,
            team: TeamConfig::from_env(&env)?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// Identities: the agent links a WhatsApp number to an address on a one-time code.
    pub customers_table: String,
    pub tickets_table: String,
    pub email_outbound_queue_url: String,
    /// Optional until the WhatsApp sender is deployed: without it WhatsApp replies fail loudly.
    pub whatsapp_outbound_queue_url: Option<String>,
    pub model: ModelProvider,
    /// The sentence-embedding model's files (`EMBEDDING_MODEL_DIR`; in AWS the model
    /// layer's `/opt/all-MiniLM-L6-v2`).
    pub embedding_model_dir: std::path::PathBuf,
    pub autonomy: support_core::autonomy::AutonomyPolicy,
    pub team: TeamConfig,
    /// What a turn's usage costs (logged with it).
    pub prices: PriceTable,
    /// The function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, set by Lambda and by the
    /// local stack from the template's `MemorySize`); 0 where nothing bills GB-seconds.
    pub memory_mb: u32,
}

/// A deployment's price table (`PRICE_TABLE`, the PriceTable parameter), else the bundled one.
fn price_table<F: Fn(&str) -> Option<String>>(env: &Lookup<F>) -> Result<PriceTable, ConfigError> {
    match env.optional("PRICE_TABLE") {
        Some(json) => PriceTable::parse(&json).map_err(|e| ConfigError::Invalid {
            name: "PRICE_TABLE",
            reason: e.to_string(),
        }),
        None => Ok(PriceTable::bundled().clone()),
    }
}

/// Where the team is told about escalations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamConfig {
    pub topic_arn: String,
    /// The operator console's address, for links (`CONSOLE_URL`).
    pub console_url: String,
}

impl TeamConfig {
    fn from_env(env: &Lookup<impl Fn(&str) -> Option<String>>) -> Result<Self, ConfigError> {
        Ok(Self {
            topic_arn: env.required("TEAM_TOPIC_ARN")?,
            console_url: env.required("CONSOLE_URL")?,
        })
    }
}

/// The operator API: the tickets, the outbound queues a person's reply goes on, the team's
/// topic, and the knowledge base a person searches (the agent's model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorConfig {
    pub tickets_table: String,
    pub email_outbound_queue_url: String,
    pub whatsapp_outbound_queue_url: Option<String>,
    pub team: TeamConfig,
    pub embedding_model_dir: std::path::PathBuf,
}

impl OperatorConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Lookup(lookup);
        Ok(Self {
            tickets_table: env.required("TICKETS_TABLE")?,
            email_outbound_queue_url: env.required("EMAIL_OUTBOUND_QUEUE_URL")?,
            whatsapp_outbound_queue_url: env.optional("WHATSAPP_OUTBOUND_QUEUE_URL"),
            team: TeamConfig::from_env(&env)?,
            embedding_model_dir: env.required("EMBEDDING_MODEL_DIR")?.into(),
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

impl AgentConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Lookup(lookup);
        let model = match env.optional("MODEL_PROVIDER").as_deref() {
            None | Some("offline") => ModelProvider::Offline,
            Some("bedrock") => ModelProvider::Bedrock {
                model_id: env.required("BEDROCK_MODEL_ID")?,
            },
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "MODEL_PROVIDER",
                    reason: format!("`{other}` is not `offline` or `bedrock`"),
                })
            }
        };
        Ok(Self {
            customers_table: env.required("CUSTOMERS_TABLE")?,
            tickets_table: env.required("TICKETS_TABLE")?,
            email_outbound_queue_url: env.required("EMAIL_OUTBOUND_QUEUE_URL")?,
            whatsapp_outbound_queue_url: env.optional("WHATSAPP_OUTBOUND_QUEUE_URL"),
            model,
            embedding_model_dir: env.required("EMBEDDING_MODEL_DIR")?.into(),
            // A deployment's own policy (the AutonomyPolicy parameter), else the bundled one.
            autonomy: match env.optional("AUTONOMY_POLICY") {
                Some(json) => {
                    support_core::autonomy::AutonomyPolicy::parse(&json).map_err(|e| ConfigError::Invalid {
                        name: "AUTONOMY_POLICY",
                        reason: e.to_string(),
                    })?
                }
                None => support_core::autonomy::AutonomyPolicy::bundled(),
            },
            team: TeamConfig::from_env(&env)?,
            prices: price_table(&env)?,
            memory_mb: match env.optional("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") {
                Some(mb) => mb.parse().map_err(|_| ConfigError::Invalid {
                    name: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                    reason: format!("`{mb}` is not a number of MB"),
                })?,
                None => 0,
            },
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

/// The intake sweeper queues what a crash or an outage left in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweeperConfig {
    pub tickets_table: String,
    pub inbound_queue_url: String,
}

impl SweeperConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Lookup(lookup);
        Ok(Self {
            tickets_table: env.required("TICKETS_TABLE")?,
            inbound_queue_url: env.required("INBOUND_QUEUE_URL")?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSenderConfig {
    pub tickets_table: String,
    pub sender_address: EmailAddress,
    pub configuration_set: Option<String>,
    /// The public site (`SITE_URL`, the web form's origin): replies to a typed address carry
    /// the link to confirm it there. Without it, no link is sent.
    pub site_url: Option<String>,
    pub team: TeamConfig,
}

impl EmailSenderConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Lookup(lookup);
        Ok(Self {
            tickets_table: env.required("TICKETS_TABLE")?,
            sender_address: email_address(&env, "SENDER_ADDRESS")?,
            configuration_set: env.optional("SES_CONFIGURATION_SET"),
            site_url: env.optional("SITE_URL").map(|url| url.trim_end_matches('/').to_owned()),
            team: TeamConfig::from_env(&env)?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

/// The daily report: where it reads and stores, and where it is emailed.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyReportConfig {
    pub tickets_table: String,
    /// The From of the report's email (`SENDER_ADDRESS`, a verified SES identity).
    pub sender_address: EmailAddress,
    /// The team's address (`REPORT_ADDRESS`); empty or unset: the report is stored only.
    pub report_address: Option<EmailAddress>,
    /// What the agent's turns are costed at: the agent's own table.
    pub prices: PriceTable,
}

impl DailyReportConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Lookup(lookup);
        let report_address = match env.optional("REPORT_ADDRESS") {
            Some(_) => Some(email_address(&env, "REPORT_ADDRESS")?),
            None => None,
        };
        Ok(Self {
            tickets_table: env.required("TICKETS_TABLE")?,
            sender_address: email_address(&env, "SENDER_ADDRESS")?,
            report_address,
            prices: price_table(&env)?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

/// A credential (Twilio's auth token, Google's client secret and refresh token). Never
/// logged (`secrecy`); in AWS it comes from Secrets Manager (template.yaml), locally from
/// the environment.
#[derive(Clone)]
pub struct Secret(pub secrecy::SecretString);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl Eq for Secret {}

impl<F: Fn(&str) -> Option<String>> Lookup<F> {
    fn secret(&self, name: &'static str) -> Result<Secret, ConfigError> {
        Ok(Secret(self.required(name)?.into()))
    }
}

/// The public URL Twilio calls for incoming messages (`TWILIO_WEBHOOK_URL`): what the
/// signatures are computed over, never the URL API Gateway rebuilds. Status callbacks go
/// to it with `/status` appended (the template's second route).
fn webhook_url<F: Fn(&str) -> Option<String>>(env: &Lookup<F>) -> Result<String, ConfigError> {
    let url = env.required("TWILIO_WEBHOOK_URL")?;
    let absolute = url.starts_with("https://") || url.starts_with("http://");
    if !absolute || url.contains(['?', '#']) || url.ends_with('/') {
        return Err(ConfigError::Invalid {
            name: "TWILIO_WEBHOOK_URL",
            reason: format!("`{url}` is not an absolute http(s) URL without query, fragment or trailing slash"),
        });
    }
    Ok(url)
}

/// The status callback URL of a webhook URL.
pub fn status_callback_url(webhook_url: &str) -> String {
    format!("{webhook_url}/status")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsappWebhookConfig {
    pub intake: IntakeConfig,
    pub auth_token: Secret,
    pub webhook_url: String,
    /// Told when Twilio reports a reply undelivered.
    pub team: TeamConfig,
}

impl WhatsappWebhookConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Lookup(lookup);
        Ok(Self {
            intake: IntakeConfig::read(&env)?,
            auth_token: env.secret("TWILIO_AUTH_TOKEN")?,
            webhook_url: webhook_url(&env)?,
            team: TeamConfig::from_env(&env)?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsappSenderConfig {
    pub tickets_table: String,
    pub account_sid: String,
    pub auth_token: Secret,
    /// Twilio's REST API (`TWILIO_API_BASE_URL`, default `https://api.twilio.com`; the local
    /// stand-in on one machine).
    pub api_base_url: String,
    /// The WhatsApp sender's number (`TWILIO_WHATSAPP_FROM`, E.164).
    pub from: String,
    pub status_callback_url: String,
    pub team: TeamConfig,
}

impl WhatsappSenderConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Lookup(lookup);
        let account_sid = env.required("TWILIO_ACCOUNT_SID")?;
        if !account_sid.starts_with("AC") {
            return Err(ConfigError::Invalid {
                name: "TWILIO_ACCOUNT_SID",
                reason: "an account SID starts with AC".into(),
            });
        }
        let from = env.required("TWILIO_WHATSAPP_FROM")?;
        if !from.starts_with('+') {
            return Err(ConfigError::Invalid {
                name: "TWILIO_WHATSAPP_FROM",
                reason: format!("`{from}` is not an E.164 number (+ and digits)"),
            });
        }
        Ok(Self {
            tickets_table: env.required("TICKETS_TABLE")?,
            account_sid,
            auth_token: env.secret("TWILIO_AUTH_TOKEN")?,
            api_base_url: env
                .optional("TWILIO_API_BASE_URL")
                .unwrap_or_else(|| "https://api.twilio.com".into())
                .trim_end_matches('/')
                .to_owned(),
            from,
            status_callback_url: status_callback_url(&webhook_url(&env)?),
            team: TeamConfig::from_env(&env)?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

/// The support mailbox on Gmail, read by the push webhook and the scheduled poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxConfig {
    pub intake: IntakeConfig,
    /// The support address (`SUPPORT_MAILBOX`): the Gmail mailbox, and the From of replies.
    pub address: EmailAddress,
    /// Whose Authentication-Results prove a sender (`GMAIL_AUTHSERV_ID`, default
    /// `mx.google.com`, the only one Gmail's servers add).
    pub authserv_id: String,
    /// Gmail's API (`GMAIL_API_BASE_URL`, default `https://gmail.googleapis.com`; the local
    /// stand-in on one machine).
    pub api_base_url: String,
    /// The Pub/Sub topic the mailbox's `watch` publishes to (`GMAIL_PUBSUB_TOPIC`,
    /// `projects/<project>/topics/<topic>`).
    pub pubsub_topic: String,
    /// Google's OAuth token endpoint (`GOOGLE_TOKEN_URL`, default
    /// `https://oauth2.googleapis.com/token`).
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The mailbox owner's consent (`GMAIL_REFRESH_TOKEN`), scope `gmail.readonly`.
    pub refresh_token: Secret,
}

impl MailboxConfig {
    fn read<F: Fn(&str) -> Option<String>>(env: &Lookup<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            intake: IntakeConfig::read(env)?,
            address: email_address(env, "SUPPORT_MAILBOX")?,
            authserv_id: env
                .optional("GMAIL_AUTHSERV_ID")
                .unwrap_or_else(|| "mx.google.com".into()),
            api_base_url: env
                .optional("GMAIL_API_BASE_URL")
                .unwrap_or_else(|| "https://gmail.googleapis.com".into()),
            pubsub_topic: env.required("GMAIL_PUBSUB_TOPIC")?,
            token_url: env
                .optional("GOOGLE_TOKEN_URL")
                .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
            client_id: env.required("GOOGLE_CLIENT_ID")?,
            client_secret: env.secret("GOOGLE_CLIENT_SECRET")?,
            refresh_token: env.secret("GMAIL_REFRESH_TOKEN")?,
        })
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Lookup(lookup))
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

/// The Gmail push webhook: the mailbox, and whose pushes it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GmailWebhookConfig {
    pub mailbox: MailboxConfig,
    /// Google's published keys (`GOOGLE_JWKS_URL`, default
    /// `https://www.googleapis.com/oauth2/v3/certs`).
    pub jwks_url: String,
    /// The audience of the push subscription's tokens (`GMAIL_PUSH_AUDIENCE`).
    pub audience: String,
    /// The service account the push subscription signs as (`GMAIL_PUSH_SERVICE_ACCOUNT`).
    pub service_account: String,
}

impl GmailWebhookConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Lookup(lookup);
        Ok(Self {
            mailbox: MailboxConfig::read(&env)?,
            jwks_url: env
                .optional("GOOGLE_JWKS_URL")
                .unwrap_or_else(|| "https://www.googleapis.com/oauth2/v3/certs".into()),
            audience: env.required("GMAIL_PUSH_AUDIENCE")?,
            service_account: env.required("GMAIL_PUSH_SERVICE_ACCOUNT")?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }
}

/// Where a function's metrics go: their CloudWatch namespace, and the `Service` dimension
/// they all carry (the stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub namespace: String,
    pub service: String,
}

impl MetricsConfig {
    /// `METRICS_NAMESPACE` (default the product's namespace) and `SERVICE_NAME`; without
    /// one, the Lambda function's own name, else `local`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let env = Lookup(lookup);
        Self {
            namespace: env
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| support_core::telemetry::DEFAULT_NAMESPACE.to_owned()),
            service: env
                .optional("SERVICE_NAME")
                .or_else(|| env.optional("AWS_LAMBDA_FUNCTION_NAME"))
                .unwrap_or_else(|| "local".to_owned()),
        }
    }

    pub fn from_env() -> Self {
        Self::from_lookup(env_lookup)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const TEAM_TOPIC: (&str, &str) = ("TEAM_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:team");
    const CONSOLE: (&str, &str) = ("CONSOLE_URL", "https://support.example/console/");

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn metrics_name_the_stack_else_the_function_and_default_their_namespace() {
        let config = MetricsConfig::from_lookup(lookup(&[
            ("SERVICE_NAME", "support-prod"),
            ("METRICS_NAMESPACE", "Acme"),
        ]));
        assert_eq!(
            config,
            MetricsConfig {
                namespace: "Acme".into(),
                service: "support-prod".into()
            }
        );
        let lambda = MetricsConfig::from_lookup(lookup(&[("AWS_LAMBDA_FUNCTION_NAME", "support-AgentFunction-x1")]));
        assert_eq!(lambda.namespace, support_core::telemetry::DEFAULT_NAMESPACE);
        assert_eq!(lambda.service, "support-AgentFunction-x1");
        assert_eq!(
            MetricsConfig::from_lookup(lookup(&[("SERVICE_NAME", " ")])).service,
            "local"
        );
    }

    #[test]
    fn agent_defaults_to_the_offline_engine_and_names_what_is_missing() {
        let base = [
            ("CUSTOMERS_TABLE", "c"),
            ("TICKETS_TABLE", "t"),
            ("EMAIL_OUTBOUND_QUEUE_URL", "q"),
            ("EMBEDDING_MODEL_DIR", "/opt/m"),
            TEAM_TOPIC,
            CONSOLE,
        ];
        let config = AgentConfig::from_lookup(lookup(&base)).unwrap();
        assert_eq!(config.model, ModelProvider::Offline);
        assert_eq!(config.autonomy, support_core::autonomy::AutonomyPolicy::bundled());
        assert_eq!(&config.prices, PriceTable::bundled());
        assert_eq!(config.memory_mb, 0, "outside Lambda");
        let mut reviewed = base.to_vec();
        reviewed.push(("AUTONOMY_POLICY", r#"{"default": {"mode": "supervised"}}"#));
        assert!(
            matches!(
                AgentConfig::from_lookup(lookup(&reviewed)),
                Err(ConfigError::Invalid {
                    name: "AUTONOMY_POLICY",
                    ..
                })
            ),
            "a supervised policy without a threshold is refused at start"
        );
        let without_team: Vec<_> = base.iter().copied().filter(|(k, _)| *k != "TEAM_TOPIC_ARN").collect();
        assert_eq!(
            AgentConfig::from_lookup(lookup(&without_team)),
            Err(ConfigError::Missing("TEAM_TOPIC_ARN"))
        );
        let mut bedrock = base.to_vec();
        bedrock.push(("MODEL_PROVIDER", "bedrock"));
        assert_eq!(
            AgentConfig::from_lookup(lookup(&bedrock)),
            Err(ConfigError::Missing("BEDROCK_MODEL_ID"))
        );
        let mut wrong = base.to_vec();
        wrong.push(("MODEL_PROVIDER", "gpt"));
        assert!(matches!(
            AgentConfig::from_lookup(lookup(&wrong)),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn the_agent_reads_its_memory_and_a_deployments_price_table() {
        let base = [
            ("CUSTOMERS_TABLE", "c"),
            ("TICKETS_TABLE", "t"),
            ("EMAIL_OUTBOUND_QUEUE_URL", "q"),
            ("EMBEDDING_MODEL_DIR", "/opt/m"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
            TEAM_TOPIC,
            CONSOLE,
        ];
        assert_eq!(AgentConfig::from_lookup(lookup(&base)).unwrap().memory_mb, 1024);
        let mut own: serde_json::Value = serde_json::to_value(PriceTable::bundled()).unwrap();
        own["model"] = "anthropic.claude-3-7-sonnet-20250219-v1:0".into();
        let own = own.to_string();
        let mut priced = base.to_vec();
        priced.push(("PRICE_TABLE", &own));
        assert_eq!(
            AgentConfig::from_lookup(lookup(&priced)).unwrap().prices.model,
            "anthropic.claude-3-7-sonnet-20250219-v1:0"
        );
        let mut broken = base.to_vec();
        broken.push(("PRICE_TABLE", r#"{"model": "x"}"#));
        assert!(
            matches!(
                AgentConfig::from_lookup(lookup(&broken)),
                Err(ConfigError::Invalid {
                    name: "PRICE_TABLE",
                    ..
                })
            ),
            "a bad price table is refused at start"
        );
        let mut odd = base.to_vec();
        odd.retain(|(k, _)| !k.starts_with("AWS_LAMBDA"));
        odd.push(("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1 GB"));
        assert!(matches!(
            AgentConfig::from_lookup(lookup(&odd)),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn twilio_settings_are_checked_and_the_token_never_printed() {
        let ok = [
            ("TICKETS_TABLE", "t"),
            ("TWILIO_ACCOUNT_SID", "AC0123"),
            ("TWILIO_AUTH_TOKEN", "s3cret-token"),
            ("TWILIO_WHATSAPP_FROM", "+14155238886"),
            ("TWILIO_WEBHOOK_URL", "https://support.example/webhooks/whatsapp"),
            TEAM_TOPIC,
            CONSOLE,
        ];
        let config = WhatsappSenderConfig::from_lookup(lookup(&ok)).unwrap();
        assert_eq!(config.api_base_url, "https://api.twilio.com");
        assert_eq!(
            config.status_callback_url,
            "https://support.example/webhooks/whatsapp/status"
        );
        assert!(!format!("{config:?}").contains("s3cret"));
        for (name, bad) in [
            ("TWILIO_WEBHOOK_URL", "support.example/webhooks/whatsapp"),
            ("TWILIO_WEBHOOK_URL", "https://support.example/webhooks/whatsapp?x=1"),
            ("TWILIO_ACCOUNT_SID", "0123"),
            ("TWILIO_WHATSAPP_FROM", "whatsapp:+1415"),
        ] {
            let mut env = ok.to_vec();
            env.retain(|(k, _)| *k != name);
            env.push((name, bad));
            assert!(
                matches!(
                    WhatsappSenderConfig::from_lookup(lookup(&env)),
                    Err(ConfigError::Invalid { .. })
                ),
                "{name}={bad}"
            );
        }
    }

    #[test]
    fn sender_address_must_be_an_email_and_empty_configuration_set_means_none() {
        let ok = [
            ("TICKETS_TABLE", "t"),
            ("SENDER_ADDRESS", "support@tandem.example"),
            ("SES_CONFIGURATION_SET", ""),
            TEAM_TOPIC,
            CONSOLE,
        ];
        assert_eq!(
            EmailSenderConfig::from_lookup(lookup(&ok)).unwrap().configuration_set,
            None
        );
        let bad = [("TICKETS_TABLE", "t"), ("SENDER_ADDRESS", "support")];
        assert!(matches!(
            EmailSenderConfig::from_lookup(lookup(&bad)),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn the_report_is_emailed_only_when_an_address_is_set() {
        let base = [("TICKETS_TABLE", "t"), ("SENDER_ADDRESS", "support@tandem.example")];
        let config = DailyReportConfig::from_lookup(lookup(&base)).unwrap();
        assert_eq!(config.report_address, None);
        assert_eq!(
            &config.prices,
            PriceTable::bundled(),
            "the agent's table unless PRICE_TABLE is set"
        );
        let mut empty = base.to_vec();
        empty.push(("REPORT_ADDRESS", " "));
        assert_eq!(
            DailyReportConfig::from_lookup(lookup(&empty)).unwrap().report_address,
            None
        );
        let mut team = base.to_vec();
        team.push(("REPORT_ADDRESS", "team@tandem.example"));
        assert_eq!(
            DailyReportConfig::from_lookup(lookup(&team))
                .unwrap()
                .report_address
                .map(|a| a.to_string()),
            Some("team@tandem.example".to_owned())
        );
        let mut bad = base.to_vec();
        bad.push(("REPORT_ADDRESS", "team"));
        assert!(matches!(
            DailyReportConfig::from_lookup(lookup(&bad)),
            Err(ConfigError::Invalid {
                name: "REPORT_ADDRESS",
                ..
            })
        ));
        assert_eq!(
            DailyReportConfig::from_lookup(lookup(&base[..1])),
            Err(ConfigError::Missing("SENDER_ADDRESS"))
        );
    }
}
