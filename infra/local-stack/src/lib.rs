//! The whole SAM stack on one machine, wired from template.yaml:
//!
//! - moto (started here, or an existing endpoint) stands in for DynamoDB, SQS, SES and Cognito;
//! - every table, queue and user pool (with its app clients) the template declares is
//!   created in it (names derived from the logical ids with a per-stack prefix), plus the SES
//!   identity of the sender address and a development operator in each user pool;
//! - each function's environment is the template's (Globals + function) with `!Ref`,
//!   `!GetAtt` and parameters resolved to the local resources, and its real handler from
//!   `shared` is built from that environment, exactly as its Lambda binary does;
//! - an HTTP gateway routes the template's `HttpApi` events, one poller per `SQS` event
//!   does what Lambda's event source mapping does, and one timer per `Schedule` or
//!   `ScheduleV2` event does what EventBridge does; routes behind a JWT authorizer get their
//!   tokens checked as API Gateway checks them, against the user pools in moto.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let stack = local_stack::LocalStack::start(local_stack::LocalStackOptions::default().region("eu-west-3")).await?;
//! println!("{} {}", stack.gateway_url().unwrap(), stack.queue("InboundQueue").unwrap().url);
//! stack.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! A `LocalStack` runs its gateway and pollers as tasks of the tokio runtime that started
//! it: keep that runtime alive (a multi-threaded one, so handlers and pollers overlap).

pub mod authorizer;
pub mod cognito;
pub mod functions;
pub mod gateway;
pub mod google;
pub mod intrinsics;
pub mod logs;
pub mod moto;
pub mod poller;
pub mod provision;
pub mod schedule;
pub mod template;
pub mod twilio;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_config::{Region, SdkConfig};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use functions::{http_fn, scheduled_fn, sqs_fn, Handler, HttpFunction, ScheduledFunction, SqsFunction};
pub use poller::{PollerSnapshot, PollerStats};
pub use provision::{QueueResource, Resources, TableResource};
pub use template::{EventSpec, FunctionSpec, QueueSpec, StackTemplate, TableSpec};

/// The workspace root (this crate lives in `infra/local-stack`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}

/// Environment variables the local stack sets for every function unless overridden: the
/// deterministic offline model instead of Bedrock, and the development Twilio account and
/// Google OAuth client of the stand-ins instead of the template's Secrets Manager references.
pub const LOCAL_DEFAULTS: &[(&str, &str)] = &[
    ("MODEL_PROVIDER", "offline"),
    ("TWILIO_ACCOUNT_SID", twilio::LOCAL_ACCOUNT_SID),
    ("TWILIO_AUTH_TOKEN", twilio::LOCAL_AUTH_TOKEN),
    ("GOOGLE_CLIENT_ID", google::LOCAL_CLIENT_ID),
    ("GOOGLE_CLIENT_SECRET", google::LOCAL_CLIENT_SECRET),
    ("GMAIL_REFRESH_TOKEN", google::LOCAL_REFRESH_TOKEN),
];

/// The template's parameter holding the public URL Twilio calls; locally, the gateway's.
const WEBHOOK_URL_PARAMETER: &str = "WhatsappWebhookUrl";
/// The path of the incoming WhatsApp route (template.yaml), under the gateway's URL.
const WEBHOOK_PATH: &str = "/webhooks/whatsapp";
/// Where the Twilio stand-in is served, under the gateway's URL.
pub const TWILIO_STAND_IN_PATH: &str = "/local/twilio";
/// The path of the Gmail push route, under the gateway's URL: where the Google stand-in
/// pushes.
const GMAIL_WEBHOOK_PATH: &str = "/webhooks/gmail";

/// Where the operator console reads the API's and Cognito's whereabouts, under the gateway's
/// URL (docs/operator-api.md).
pub const CONSOLE_CONFIG_PATH: &str = "/console/config.json";

/// The function's memory in MB, which Lambda sets in every function's environment.
const MEMORY_SIZE_VARIABLE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

/// Environment variables naming an SES sender identity, which is created in moto.
const SENDER_VARIABLES: &[&str] = &["SENDER_ADDRESS"];

#[derive(Clone)]
pub struct LocalStackOptions {
    /// The SAM template; default `<workspace>/template.yaml`.
    pub template_path: PathBuf,
    /// Use this AWS endpoint (e.g. a running moto) instead of starting moto.
    pub endpoint_url: Option<String>,
    /// moto_server to start; default `$MOTO_SERVER`, the workspace venv, then PATH.
    pub moto_server: Option<PathBuf>,
    pub region: String,
    /// Prefix of every resource name, so several stacks can share one moto.
    pub prefix: String,
    /// Gateway port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Like `sam deploy --parameter-overrides`.
    pub parameter_overrides: BTreeMap<String, String>,
    /// Environment variables set on every function, over everything else.
    pub env_overrides: BTreeMap<String, String>,
    /// Let variables of this process override the template's values of the same name.
    pub inherit_process_env: bool,
    /// Caps every queue's visibility timeout (seconds), so redeliveries come quickly in tests.
    pub max_visibility_timeout: Option<u32>,
    /// Static files served at `/`; default `<workspace>/web-form/dist` when it exists.
    pub static_dir: Option<PathBuf>,
    pub start_gateway: bool,
    pub start_pollers: bool,
    /// ReceiveMessage long-poll wait of the pollers (seconds).
    pub poll_wait_seconds: i32,
    /// Run the `Schedule`/`ScheduleV2` events on timers.
    pub start_schedules: bool,
    /// Every schedule's period instead of the template's (tests); also runs cron schedules.
    pub schedule_interval: Option<Duration>,
    /// How long the gateway waits for a request body before answering 408.
    pub body_timeout: Duration,
    /// The most records in a page of the Gmail stand-in's history (Gmail's is 500): small
    /// in tests, to make a sync read several pages.
    pub gmail_history_page_size: Option<usize>,
    /// Handlers by function logical id, instead of the built-in ones.
    pub handlers: BTreeMap<String, Handler>,
    /// Where each function's output goes, as Lambda sends it to CloudWatch Logs: its JSON
    /// log lines and its metrics (EMF lines), in `<logical id>.log`, started afresh. `None`:
    /// a directory of the stack's own in the system's temporary directory, removed with it.
    pub log_dir: Option<PathBuf>,
}

impl Default for LocalStackOptions {
    fn default() -> Self {
        LocalStackOptions {
            template_path: workspace_root().join("template.yaml"),
            endpoint_url: None,
            moto_server: None,
            region: "us-east-1".into(),
            prefix: "local".into(),
            port: 0,
            parameter_overrides: BTreeMap::new(),
            env_overrides: BTreeMap::new(),
            inherit_process_env: false,
            max_visibility_timeout: None,
            static_dir: None,
            start_gateway: true,
            start_pollers: true,
            poll_wait_seconds: 1,
            start_schedules: true,
            schedule_interval: None,
            body_timeout: gateway::DEFAULT_BODY_TIMEOUT,
            gmail_history_page_size: None,
            handlers: BTreeMap::new(),
            log_dir: None,
        }
    }
}

impl LocalStackOptions {
    /// Options for a developer's run, from this process's environment: `AWS_ENDPOINT_URL`
    /// (attach instead of starting moto), `AWS_REGION`, `PORT` (default 3000),
    /// `LOCAL_STACK_PREFIX`, `LOCAL_STACK_TEMPLATE`; function variables of the template
    /// (e.g. `MODEL_PROVIDER`) set here override the template's. The functions' logs go to
    /// `<workspace>/.local/logs/`.
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut o = LocalStackOptions {
            inherit_process_env: true,
            port: 3000,
            log_dir: Some(workspace_root().join(".local/logs")),
            ..Default::default()
        };
        o.endpoint_url = var("AWS_ENDPOINT_URL");
        if let Some(r) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
            o.region = r;
        }
        if let Some(p) = var("PORT") {
            o.port = p.parse().with_context(|| format!("PORT={p} is not a port number"))?;
        }
        if let Some(p) = var("LOCAL_STACK_PREFIX") {
            o.prefix = p;
        }
        if let Some(t) = var("LOCAL_STACK_TEMPLATE") {
            o.template_path = t.into();
        }
        Ok(o)
    }

    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    pub fn endpoint_url(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint_url = Some(endpoint.into());
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env_overrides.insert(name.into(), value.into());
        self
    }

    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameter_overrides.insert(name.into(), value.into());
        self
    }

    pub fn max_visibility_timeout(mut self, seconds: u32) -> Self {
        self.max_visibility_timeout = Some(seconds);
        self
    }

    pub fn without_gateway(mut self) -> Self {
        self.start_gateway = false;
        self
    }

    pub fn without_pollers(mut self) -> Self {
        self.start_pollers = false;
        self
    }

    pub fn without_schedules(mut self) -> Self {
        self.start_schedules = false;
        self
    }

    pub fn schedule_interval(mut self, interval: Duration) -> Self {
        self.schedule_interval = Some(interval);
        self
    }

    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    pub fn gmail_history_page_size(mut self, records: usize) -> Self {
        self.gmail_history_page_size = Some(records);
        self
    }

    pub fn http_function(mut self, logical_id: impl Into<String>, f: Arc<dyn HttpFunction>) -> Self {
        self.handlers.insert(logical_id.into(), Handler::Http(f));
        self
    }

    pub fn sqs_function(mut self, logical_id: impl Into<String>, f: Arc<dyn SqsFunction>) -> Self {
        self.handlers.insert(logical_id.into(), Handler::Sqs(f));
        self
    }

    pub fn scheduled_function(mut self, logical_id: impl Into<String>, f: Arc<dyn ScheduledFunction>) -> Self {
        self.handlers.insert(logical_id.into(), Handler::Scheduled(f));
        self
    }

    pub fn log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = Some(dir.into());
        self
    }
}

/// How long each start-up step took.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartupTimings {
    /// Starting moto until it answered (zero when attached to an endpoint).
    pub moto: Duration,
    pub provisioning: Duration,
    pub total: Duration,
}

/// A running local stack. Dropping it stops everything; [`LocalStack::shutdown`] stops
/// gracefully (in-flight invocations finish).
pub struct LocalStack {
    template: StackTemplate,
    endpoint_url: String,
    region: String,
    sdk: SdkConfig,
    resources: Resources,
    environments: BTreeMap<String, BTreeMap<String, String>>,
    gateway_addr: Option<SocketAddr>,
    static_dir: Option<PathBuf>,
    pollers: BTreeMap<String, Arc<PollerStats>>,
    schedules: Arc<schedule::Schedules>,
    /// Topic logical id → the functions subscribed to it.
    subscribers: BTreeMap<String, Vec<Subscriber>>,
    timings: StartupTimings,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    moto: Option<moto::MotoServer>,
    twilio: Arc<twilio::TwilioStandIn>,
    google: Arc<google::GoogleStandIn>,
    logs: LogDir,
}

/// Where the functions' outputs are; a directory the stack made itself goes with it.
struct LogDir {
    path: PathBuf,
    temporary: bool,
}

impl Drop for LogDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A function subscribed to a topic: its logical id and its handler.
type Subscriber = (String, Arc<dyn functions::SnsFunction>);

/// An SDK configuration for a local endpoint: fixed credentials, no IMDS, no profile.
pub async fn local_sdk_config(endpoint_url: &str, region: &str) -> SdkConfig {
    support_aws::wiring::sdk_config_loader()
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint_url)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "local-stack",
        ))
        .load()
        .await
}

impl LocalStack {
    pub async fn start(options: LocalStackOptions) -> Result<Self> {
        let started = Instant::now();
        let template = StackTemplate::load(&options.template_path)
            .with_context(|| format!("loading {}", options.template_path.display()))?;
        validate_prefix(&options.prefix)?;

        let moto_started = Instant::now();
        let (moto, endpoint_url) = match &options.endpoint_url {
            Some(url) => (None, url.trim_end_matches('/').to_owned()),
            None => {
                let binary = moto::locate(options.moto_server.as_deref(), &workspace_root());
                let server = moto::MotoServer::start(&binary).await.with_context(|| {
                    "moto is needed to run locally: run scripts/start-local.sh once, or `python3 -m venv .venv && .venv/bin/pip install 'moto[server]'`, or set MOTO_SERVER"
                })?;
                let url = server.endpoint().to_owned();
                (Some(server), url)
            }
        };
        let moto_time = if moto.is_some() {
            moto_started.elapsed()
        } else {
            Duration::ZERO
        };
        if moto.is_some() {
            tracing::info!(endpoint = %endpoint_url, ms = moto_time.as_millis() as u64, "moto started");
        }
        let sdk = local_sdk_config(&endpoint_url, &options.region).await;

        let provisioning_started = Instant::now();
        let settings = provision::ProvisionSettings {
            prefix: options.prefix.clone(),
            max_visibility_timeout: options.max_visibility_timeout,
        };
        let (tables, queues, (), (user_pools, user_pool_clients)) = tokio::try_join!(
            provision::provision_tables(&sdk, &template, &settings),
            provision::provision_queues(&sdk, &template, &settings),
            provision::provision_topics(&sdk, &template, &settings),
            cognito::provision_user_pools(&sdk, &template, &settings),
        )
        .context("provisioning the template's resources")?;
        let mut resources = Resources {
            tables,
            queues,
            email_identities: Vec::new(),
            user_pools,
            user_pool_clients,
        };

        // The gateway's address first: the functions' environment names it (the public
        // webhook URL, the Twilio stand-in).
        let listener = match options.start_gateway {
            true => Some(
                tokio::net::TcpListener::bind(("127.0.0.1", options.port))
                    .await
                    .with_context(|| format!("binding the gateway to 127.0.0.1:{}", options.port))?,
            ),
            false => None,
        };
        let gateway_url = match &listener {
            Some(l) => format!("http://{}", l.local_addr()?),
            None => format!("http://127.0.0.1:{}", options.port),
        };
        let bindings = bindings(&template, &options, &resources, &gateway_url)?;
        let mut environments = BTreeMap::new();
        for id in template.functions.keys() {
            let env = function_environment(&template, id, &bindings, &options, &gateway_url)?;
            environments.insert(id.clone(), env);
        }
        // The stand-ins take the values the functions were given, so that both sides agree.
        let function_value = |name: &str, default: &str| {
            environments
                .values()
                .find_map(|env| env.get(name).filter(|v| !v.is_empty()).cloned())
                .unwrap_or_else(|| default.to_owned())
        };
        let twilio = twilio::TwilioStandIn::new(
            function_value("TWILIO_ACCOUNT_SID", twilio::LOCAL_ACCOUNT_SID),
            function_value("TWILIO_AUTH_TOKEN", twilio::LOCAL_AUTH_TOKEN).into(),
        );
        let push_endpoint = format!("{gateway_url}{GMAIL_WEBHOOK_PATH}");
        let google_config = google::GoogleStandInConfig {
            client_id: function_value("GOOGLE_CLIENT_ID", google::LOCAL_CLIENT_ID),
            client_secret: function_value("GOOGLE_CLIENT_SECRET", google::LOCAL_CLIENT_SECRET).into(),
            refresh_token: function_value("GMAIL_REFRESH_TOKEN", google::LOCAL_REFRESH_TOKEN).into(),
            mailbox: function_value("SUPPORT_MAILBOX", google::LOCAL_SUPPORT_MAILBOX),
            push_audience: function_value("GMAIL_PUSH_AUDIENCE", &push_endpoint),
            push_service_account: function_value("GMAIL_PUSH_SERVICE_ACCOUNT", google::LOCAL_PUSH_SERVICE_ACCOUNT),
            push_endpoint: listener.is_some().then_some(push_endpoint),
            history_page_size: options
                .gmail_history_page_size
                .unwrap_or(google::GoogleStandInConfig::default().history_page_size),
            ..Default::default()
        };
        // Its RSA key is generated while the SES identities are provisioned.
        let google = tokio::task::spawn_blocking(move || google::GoogleStandIn::new(google_config));
        let mut senders: Vec<String> = environments
            .values()
            .flat_map(|env| {
                SENDER_VARIABLES
                    .iter()
                    .filter_map(|k| env.get(*k))
                    .filter(|v| !v.is_empty())
                    .cloned()
            })
            .collect();
        senders.sort();
        senders.dedup();
        resources.email_identities = provision::provision_email_identities(&sdk, &senders).await?;
        let google = google.await.context("generating the Google stand-in's key")?;
        let provisioning = provisioning_started.elapsed();
        tracing::info!(
            tables = resources.tables.len(),
            queues = resources.queues.len(),
            ms = provisioning.as_millis() as u64,
            "provisioned from the template"
        );

        let log_dir = match &options.log_dir {
            Some(path) => LogDir {
                path: path.clone(),
                temporary: false,
            },
            None => LogDir {
                path: std::env::temp_dir().join(format!("local-stack-logs-{}", uuid::Uuid::new_v4().simple())),
                temporary: true,
            },
        };
        std::fs::create_dir_all(&log_dir.path).with_context(|| format!("creating {}", log_dir.path.display()))?;

        // Handlers: the options' ones, else the built-in ones of `shared`; each runs as its
        // function, its output in its log file.
        let mut handlers = BTreeMap::new();
        for (id, spec) in &template.functions {
            let binary = spec.binary.as_deref().unwrap_or(id);
            let handler = match options.handlers.get(id) {
                Some(h) => h.clone(),
                None => match functions::builtin_handler(binary, &environments[id], &sdk)? {
                    Some(h) => h,
                    None => {
                        tracing::warn!(function = %id, "no handler for this function; its events are not served");
                        continue;
                    }
                },
            };
            let env = &environments[id];
            let metrics = support_aws::config::MetricsConfig::from_lookup(|k| env.get(k).cloned());
            let output = logs::FunctionOutput::create(&log_dir.path, id, binary, &metrics)?;
            handlers.insert(id.clone(), logs::logged(handler, Arc::new(output)));
        }

        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut pollers = BTreeMap::new();
        if options.start_pollers {
            let client = aws_sdk_sqs::Client::new(&sdk);
            for (f, e) in template.sqs_events() {
                let EventSpec::Sqs {
                    name,
                    queue,
                    batch_size,
                    maximum_batching_window_seconds,
                    report_batch_item_failures,
                    enabled,
                } = e
                else {
                    continue;
                };
                let Some(Handler::Sqs(function)) = handlers.get(&f.logical_id).cloned() else {
                    tracing::warn!(function = %f.logical_id, event = %name, "no SQS handler; event source not started");
                    continue;
                };
                if !enabled {
                    continue;
                }
                let q = &resources.queues[queue];
                let stats = Arc::new(PollerStats::default());
                pollers.insert(f.logical_id.clone(), stats.clone());
                let poller = poller::Poller {
                    config: poller::PollerConfig {
                        function: f.logical_id.clone(),
                        queue_url: q.url.clone(),
                        queue_arn: q.arn.clone(),
                        region: options.region.clone(),
                        batch_size: *batch_size,
                        // Gathering a batch must end well before the first message's
                        // visibility expires, or it is received twice; only matters when
                        // max_visibility_timeout shrinks the template's timeouts.
                        maximum_batching_window: Duration::from_secs((*maximum_batching_window_seconds).into()).min(
                            Duration::from_secs(
                                provision::effective_visibility_timeout(
                                    &template.queues[queue],
                                    options.max_visibility_timeout,
                                )
                                .into(),
                            ) / 2,
                        ),
                        report_batch_item_failures: *report_batch_item_failures,
                        function_timeout: Duration::from_secs(f.timeout_seconds),
                        wait_time_seconds: options.poll_wait_seconds,
                    },
                    client: client.clone(),
                    function,
                    stats,
                };
                tasks.push(tokio::spawn(poller.run(stop_rx.clone())));
            }
        }

        let mut subscribers: BTreeMap<String, Vec<Subscriber>> = BTreeMap::new();
        for (f, e) in template.sns_events() {
            if let (EventSpec::Sns { topic, .. }, Some(Handler::Sns(function))) = (e, handlers.get(&f.logical_id)) {
                subscribers
                    .entry(topic.clone())
                    .or_default()
                    .push((f.logical_id.clone(), function.clone()));
            }
        }

        let schedules = Arc::new(schedule_targets(&template, &handlers, &options));
        if options.start_schedules {
            for target in schedules.values().flatten().filter(|t| t.interval.is_some()) {
                tasks.push(tokio::spawn(target.clone().run(stop_rx.clone())));
            }
        }

        let static_dir = options
            .static_dir
            .clone()
            .or_else(|| Some(workspace_root().join("web-form/dist")))
            .filter(|d| d.join("index.html").is_file());
        let mut gateway_addr = None;
        if let Some(listener) = listener {
            let addr = listener.local_addr()?;
            let config = gateway_config(
                &template,
                &handlers,
                &options,
                static_dir.clone(),
                &endpoint_url,
                &bindings,
            )?;
            let console = console_config(&resources, &gateway_url, &endpoint_url, &options.region);
            let app = Router::new()
                .route(
                    CONSOLE_CONFIG_PATH,
                    axum::routing::get(move || std::future::ready(axum::Json(console.clone()))),
                )
                .merge(schedule::invoke_router(schedules.clone()))
                .nest(TWILIO_STAND_IN_PATH, twilio::router(twilio.clone()))
                .merge(google::router(google.clone()))
                .merge(gateway::router(config)?)
                .into_make_service_with_connect_info::<SocketAddr>();
            let mut stop_rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                    tracing::error!(error = %e, "gateway stopped");
                }
            }));
            gateway_addr = Some(addr);
        }

        let timings = StartupTimings {
            moto: moto_time,
            provisioning,
            total: started.elapsed(),
        };
        Ok(LocalStack {
            template,
            endpoint_url,
            region: options.region,
            sdk,
            resources,
            environments,
            gateway_addr,
            static_dir,
            pollers,
            schedules,
            subscribers,
            timings,
            stop,
            tasks,
            moto,
            twilio,
            google,
            logs: log_dir,
        })
    }

    /// Where the functions' outputs are (see [`LocalStackOptions::log_dir`]).
    pub fn log_dir(&self) -> &Path {
        &self.logs.path
    }

    /// A function's output, as Lambda sends it to CloudWatch Logs: its JSON log lines and
    /// its metrics' EMF lines.
    pub fn log_file(&self, function: &str) -> PathBuf {
        self.logs.path.join(format!("{function}.log"))
    }

    /// A provisioned user pool, by logical id.
    pub fn user_pool(&self, logical_id: &str) -> Option<&cognito::UserPoolResource> {
        self.resources.user_pools.get(logical_id)
    }

    /// A provisioned app client, by logical id.
    pub fn user_pool_client(&self, logical_id: &str) -> Option<&cognito::UserPoolClientResource> {
        self.resources.user_pool_clients.get(logical_id)
    }

    /// The development operator's tokens, signed in through the console's app client as
    /// the console signs in.
    pub async fn operator_tokens(&self) -> Result<cognito::Tokens> {
        let client = console_client(&self.resources).context("the template has no user pool client")?;
        cognito::sign_in(
            &self.sdk,
            &client.id,
            cognito::LOCAL_OPERATOR_EMAIL,
            cognito::LOCAL_OPERATOR_PASSWORD,
        )
        .await
    }

    /// The Twilio stand-in: what the WhatsApp sender was asked to send.
    pub fn twilio(&self) -> &twilio::TwilioStandIn {
        &self.twilio
    }

    /// The Google stand-in: the support mailbox, its pushes, Google's keys and tokens.
    pub fn google(&self) -> &google::GoogleStandIn {
        &self.google
    }

    pub fn template(&self) -> &StackTemplate {
        &self.template
    }

    /// The AWS endpoint (moto).
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// SDK configuration pointing at the local endpoint and region.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    pub fn table(&self, logical_id: &str) -> Option<&TableResource> {
        self.resources.tables.get(logical_id)
    }

    pub fn queue(&self, logical_id: &str) -> Option<&QueueResource> {
        self.resources.queues.get(logical_id)
    }

    /// A function's resolved environment, as its handler got it.
    pub fn environment(&self, function: &str) -> Option<&BTreeMap<String, String>> {
        self.environments.get(function)
    }

    pub fn gateway_addr(&self) -> Option<SocketAddr> {
        self.gateway_addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn gateway_url(&self) -> Option<String> {
        self.gateway_addr.map(|a| format!("http://{a}"))
    }

    /// Where the web form is served from, when it is.
    pub fn static_dir(&self) -> Option<&Path> {
        self.static_dir.as_deref()
    }

    /// Counters of the poller feeding a function.
    pub fn poller_stats(&self, function: &str) -> Option<PollerSnapshot> {
        self.pollers.get(function).map(|s| s.snapshot())
    }

    /// Runs the function's `Schedule`/`ScheduleV2` events now, one after the other, as
    /// their timers would (cron and disabled schedules too), and returns the first failure.
    pub async fn run_scheduled(&self, function: &str) -> Result<(), String> {
        let targets = self
            .schedules
            .get(function)
            .ok_or_else(|| format!("{function} has no schedule event with a handler"))?;
        for target in targets {
            target
                .invoke()
                .await
                .map_err(|e| format!("{function} {}: {e}", target.event))?;
        }
        Ok(())
    }

    /// Runs a function with a schedule event once with `event` instead of the schedule's, as
    /// Lambda's Invoke API does (the gateway serves it at [`schedule::INVOKE_PATH`]).
    pub async fn invoke(&self, function: &str, event: Value) -> Result<(), schedule::InvokeError> {
        schedule::invoke(&self.schedules, function, event).await
    }

    /// Publishes a message to a template topic, as SNS does: every function subscribed to it
    /// gets it (one record), in turn; returns the first failure.
    pub async fn publish(&self, topic: &str, message: &str) -> Result<(), String> {
        let subscribers = self
            .subscribers
            .get(topic)
            .ok_or_else(|| format!("no function is subscribed to {topic}"))?;
        let event: aws_lambda_events::event::sns::SnsEvent = serde_json::from_value(serde_json::json!({
            "Records": [{
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": format!("arn:aws:sns:{}:{}:{topic}:local", self.region, template::LOCAL_ACCOUNT_ID),
                "Sns": {
                    "Type": "Notification",
                    "MessageId": uuid::Uuid::new_v4().to_string(),
                    "TopicArn": format!("arn:aws:sns:{}:{}:{topic}", self.region, template::LOCAL_ACCOUNT_ID),
                    "Subject": null,
                    "Message": message,
                    "Timestamp": chrono::Utc::now().to_rfc3339(),
                    "SignatureVersion": "1",
                    "Signature": "local",
                    "SigningCertUrl": "http://localhost/local.pem",
                    "UnsubscribeUrl": "http://localhost/unsubscribe",
                    "MessageAttributes": {}
                }
            }]
        }))
        .map_err(|e| format!("an SNS event: {e}"))?;
        for (function, subscriber) in subscribers {
            subscriber
                .call(event.clone())
                .await
                .map_err(|e| format!("{function}: {e}"))?;
        }
        Ok(())
    }

    pub fn timings(&self) -> StartupTimings {
        self.timings
    }

    /// Whether this stack started (and will stop) its own moto.
    pub fn owns_moto(&self) -> bool {
        self.moto.is_some()
    }

    /// Stops the pollers (after their in-flight invocation), the gateway, then moto.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), task).await.is_err() {
                abort.abort();
            }
        }
        if let Some(mut moto) = self.moto.take() {
            tokio::task::spawn_blocking(move || moto.stop()).await.ok();
        }
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
        // MotoServer's own Drop stops moto.
    }
}

fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.len() > 30
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("prefix `{prefix}` must be at most 30 letters, digits, - or _");
    }
    Ok(())
}

/// The app client the operator console signs in with: the template's (the first, should
/// there be several).
fn console_client(resources: &Resources) -> Option<&cognito::UserPoolClientResource> {
    resources.user_pool_clients.values().next()
}

/// `/console/config.json`: the API on the gateway, and Cognito on moto, which answers the
/// browser's unsigned `InitiateAuth` (CORS included) like Cognito's own endpoint.
fn console_config(resources: &Resources, gateway_url: &str, endpoint_url: &str, region: &str) -> Value {
    json!({
        "apiBase": gateway_url,
        "cognitoEndpoint": endpoint_url,
        "region": region,
        "clientId": console_client(resources).map(|c| c.id.clone()),
    })
}

/// What `!Ref`/`!GetAtt` mean locally: parameters, then the provisioned resources.
fn bindings(
    template: &StackTemplate,
    options: &LocalStackOptions,
    resources: &Resources,
    gateway_url: &str,
) -> Result<template::Bindings> {
    let mut parameters = options.parameter_overrides.clone();
    // The parameters a deployment must give, given the local stand-ins' values.
    let local_values = [
        (WEBHOOK_URL_PARAMETER, format!("{gateway_url}{WEBHOOK_PATH}")),
        ("GmailPushAudience", format!("{gateway_url}{GMAIL_WEBHOOK_PATH}")),
        ("GmailPushServiceAccount", google::LOCAL_PUSH_SERVICE_ACCOUNT.to_owned()),
        ("GmailPubsubTopic", google::LOCAL_PUBSUB_TOPIC.to_owned()),
    ];
    for (name, value) in local_values {
        if template.parameters.contains_key(name) {
            parameters.entry(name.to_owned()).or_insert(value);
        }
    }
    let mut b = template::Bindings::with_parameters(template, &parameters)?;
    b.region = options.region.clone();
    b.stack_name = options.prefix.clone();
    for (id, t) in &resources.tables {
        b.refs.insert(id.clone(), t.name.clone());
        b.attributes.insert((id.clone(), "Arn".into()), t.arn.clone());
    }
    for (id, q) in &resources.queues {
        b.refs.insert(id.clone(), q.url.clone());
        b.attributes.insert((id.clone(), "Arn".into()), q.arn.clone());
        b.attributes.insert((id.clone(), "QueueUrl".into()), q.url.clone());
        b.attributes.insert((id.clone(), "QueueName".into()), q.name.clone());
    }
    for id in template.functions.keys() {
        let name = format!("{}-{}", options.prefix, id);
        b.attributes.insert(
            (id.clone(), "Arn".into()),
            format!(
                "arn:aws:lambda:{}:{}:function:{name}",
                options.region,
                template::LOCAL_ACCOUNT_ID
            ),
        );
        b.refs.insert(id.clone(), name);
    }
    for id in template.http_apis.keys() {
        b.refs.insert(id.clone(), "local".into());
    }
    for (id, pool) in &resources.user_pools {
        let issuer = pool.issuer(&options.region);
        b.refs.insert(id.clone(), pool.id.clone());
        b.attributes.insert((id.clone(), "Arn".into()), pool.arn.clone());
        b.attributes.insert(
            (id.clone(), "ProviderName".into()),
            issuer.trim_start_matches("https://").to_owned(),
        );
        b.attributes.insert((id.clone(), "ProviderURL".into()), issuer);
        b.attributes.insert((id.clone(), "UserPoolId".into()), pool.id.clone());
    }
    for (id, client) in &resources.user_pool_clients {
        b.refs.insert(id.clone(), client.id.clone());
        b.attributes.insert((id.clone(), "ClientId".into()), client.id.clone());
        b.attributes.insert((id.clone(), "Name".into()), client.name.clone());
    }
    // The gateway serves the site and its API on one origin, as the CloudFront distribution does.
    let gateway_host = gateway_url.trim_start_matches("http://");
    for (id, kind) in &template.resource_types {
        match kind.as_str() {
            "AWS::CloudFront::Distribution" => {
                b.attributes
                    .insert((id.clone(), "DomainName".into()), gateway_host.to_owned());
            }
            // Named for the functions that use them; nothing is published locally.
            "AWS::SES::ConfigurationSet" => {
                b.refs.insert(id.clone(), format!("{}-{id}", options.prefix));
            }
            // Made in moto by `provision::provision_topics`, under this name.
            "AWS::SNS::Topic" => {
                b.refs.insert(
                    id.clone(),
                    format!(
                        "arn:aws:sns:{}:{}:{}",
                        options.region,
                        template::LOCAL_ACCOUNT_ID,
                        provision::topic_name(&options.prefix, id)
                    ),
                );
            }
            _ => {}
        }
    }
    Ok(b)
}

/// The template's environment of a function with the local defaults, this process's
/// variables (when inherited) and the options' overrides applied, in that order.
fn function_environment(
    template: &StackTemplate,
    function: &str,
    bindings: &template::Bindings,
    options: &LocalStackOptions,
    gateway_url: &str,
) -> Result<BTreeMap<String, String>> {
    let mut env = template.environment(function, bindings)?;
    // What Lambda sets besides the template's variables: the memory GB-seconds are billed on.
    if let Some(spec) = template.functions.get(function) {
        env.insert(MEMORY_SIZE_VARIABLE.to_owned(), spec.memory_mb.to_string());
    }
    for (k, v) in LOCAL_DEFAULTS {
        if let Some(slot) = env.get_mut(*k) {
            *slot = (*v).to_owned();
        }
    }
    // Twilio's and Google's APIs are the stand-ins on the gateway, and the site is the
    // gateway (over http).
    let google_urls = google::GoogleUrls::on(gateway_url);
    for (name, url) in [
        ("TWILIO_API_BASE_URL", format!("{gateway_url}{TWILIO_STAND_IN_PATH}")),
        ("GOOGLE_JWKS_URL", google_urls.jwks),
        ("GOOGLE_TOKEN_URL", google_urls.token),
        ("GMAIL_API_BASE_URL", google_urls.gmail_api),
        ("SITE_URL", gateway_url.to_owned()),
        ("CONSOLE_URL", format!("{gateway_url}/console/")),
    ] {
        if let Some(slot) = env.get_mut(name) {
            *slot = url;
        }
    }
    // What the template leaves empty, the Google stand-in's pushes fill: they are for the
    // gateway's Gmail route, signed for the development service account, about the
    // development mailbox.
    for (name, value) in [
        ("GMAIL_PUSH_AUDIENCE", format!("{gateway_url}{GMAIL_WEBHOOK_PATH}")),
        (
            "GMAIL_PUSH_SERVICE_ACCOUNT",
            google::LOCAL_PUSH_SERVICE_ACCOUNT.to_owned(),
        ),
        ("SUPPORT_MAILBOX", google::LOCAL_SUPPORT_MAILBOX.to_owned()),
    ] {
        if let Some(slot) = env.get_mut(name).filter(|v| v.is_empty()) {
            *slot = value;
        }
    }
    // The model layer's files are where scripts/ensure-model.sh put them, not in /opt.
    if let Some(slot) = env.get_mut("EMBEDDING_MODEL_DIR") {
        *slot = support_embedding::default_model_dir().display().to_string();
    }
    if options.inherit_process_env {
        for (k, slot) in env.iter_mut() {
            if let Ok(v) = std::env::var(k) {
                *slot = v;
            }
        }
    }
    for (k, v) in &options.env_overrides {
        if let Some(slot) = env.get_mut(k) {
            *slot = v.clone();
        }
    }
    Ok(env)
}

/// Each function's schedule events with its handler, and the period of their timers.
fn schedule_targets(
    template: &StackTemplate,
    handlers: &BTreeMap<String, Handler>,
    options: &LocalStackOptions,
) -> schedule::Schedules {
    let mut targets: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for (f, e) in template.schedule_events() {
        let EventSpec::Schedule {
            name,
            v2,
            expression,
            rate,
            enabled,
            rule_name,
            input,
        } = e
        else {
            continue;
        };
        let Some(Handler::Scheduled(handler)) = handlers.get(&f.logical_id).cloned() else {
            tracing::warn!(function = %f.logical_id, event = %name, "no scheduled handler; schedule not started");
            continue;
        };
        let interval = options.schedule_interval.or(*rate).filter(|_| *enabled);
        if interval.is_none() && *enabled {
            tracing::warn!(function = %f.logical_id, event = %name, %expression, "only rate() schedules run on a timer locally; LocalStack::run_scheduled runs this one");
        }
        let rule = rule_name
            .clone()
            .unwrap_or_else(|| format!("{}-{}{name}", options.prefix, f.logical_id));
        let (service, resource) = if *v2 {
            ("scheduler", "schedule/default")
        } else {
            ("events", "rule")
        };
        targets
            .entry(f.logical_id.clone())
            .or_default()
            .push(Arc::new(schedule::ScheduleTarget {
                function: f.logical_id.clone(),
                event: name.clone(),
                arn: format!(
                    "arn:aws:{service}:{}:{}:{resource}/{rule}",
                    options.region,
                    template::LOCAL_ACCOUNT_ID
                ),
                region: options.region.clone(),
                account_id: template::LOCAL_ACCOUNT_ID.into(),
                input: input.clone(),
                interval,
                timeout: Duration::from_secs(f.timeout_seconds),
                handler,
            }));
    }
    targets
}

fn gateway_config(
    template: &StackTemplate,
    handlers: &BTreeMap<String, Handler>,
    options: &LocalStackOptions,
    static_dir: Option<PathBuf>,
    endpoint_url: &str,
    bindings: &template::Bindings,
) -> Result<gateway::GatewayConfig> {
    let mut routes = Vec::new();
    let mut functions = BTreeMap::new();
    for (f, e) in template.http_events() {
        if let EventSpec::HttpApi {
            method,
            path,
            api,
            authorizer,
            authorization_scopes,
            ..
        } = e
        {
            let auth = authorizer.as_ref().map(|authorizer| gateway::RouteAuth {
                authorizer: authorizer.clone(),
                scopes: authorization_scopes.clone(),
            });
            routes.push(gateway::Route::new(method, path, &f.logical_id, api.clone()).with_auth(auth));
        }
        let handler = match handlers.get(&f.logical_id) {
            Some(Handler::Http(h)) => Some(h.clone()),
            _ => None,
        };
        functions.insert(
            f.logical_id.clone(),
            gateway::GatewayFunction {
                handler,
                timeout: Duration::from_secs(f.timeout_seconds),
            },
        );
    }
    let cors = template
        .http_apis
        .iter()
        .filter_map(|(id, api)| Some((id.clone(), api.cors.clone()?)))
        .collect();
    let mut authorizers = BTreeMap::new();
    for (api, spec) in &template.http_apis {
        for (name, authorizer) in &spec.authorizers {
            let at = format!("{api}.Auth.Authorizers.{name}.JwtConfiguration");
            let configuration = authorizer.configuration(bindings, &at)?;
            let jwks_url = authorizer::jwks_url(&configuration.issuer, endpoint_url);
            let checker = authorizer::JwtAuthorizer::new(&authorizer.header, configuration, &jwks_url)
                .with_context(|| format!("{api}.Auth.Authorizers.{name}"))?;
            authorizers.insert((api.clone(), name.clone()), Arc::new(checker));
        }
    }
    Ok(gateway::GatewayConfig {
        routes,
        functions,
        cors,
        authorizers,
        static_dir,
        body_timeout: options.body_timeout,
        health: json!({
            "region": options.region,
            "endpoint": endpoint_url,
            "routes": template.http_events().iter().filter_map(|(_, e)| match e {
                EventSpec::HttpApi { method, path, .. } => Some(format!("{method} {path}")),
                _ => None,
            }).collect::<Vec<_>>(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_resources(t: &StackTemplate) -> Resources {
        let mut r = Resources::default();
        for id in t.tables.keys() {
            let name = template::local_name("local", id, None, false);
            r.tables.insert(
                id.clone(),
                TableResource {
                    arn: format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}"),
                    name,
                },
            );
        }
        for (id, q) in &t.queues {
            let name = template::local_name("local", id, None, q.fifo);
            r.queues.insert(
                id.clone(),
                QueueResource {
                    url: format!("http://moto/123456789012/{name}"),
                    arn: format!("arn:aws:sqs:us-east-1:123456789012:{name}"),
                    name,
                },
            );
        }
        r
    }

    #[test]
    fn local_defaults_and_overrides_apply_in_order() {
        let t = StackTemplate::parse(include_str!("../../../template.yaml")).unwrap();
        let r = fake_resources(&t);
        let options = LocalStackOptions::default();
        let b = bindings(&t, &options, &r, GATEWAY).unwrap();
        let agent = function_environment(&t, "AgentFunction", &b, &options, GATEWAY).unwrap();
        assert_eq!(agent["MODEL_PROVIDER"], "offline", "offline by default locally");
        assert_eq!(agent["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "1024", "as Lambda sets it");
        assert_eq!(
            agent["EMAIL_OUTBOUND_QUEUE_URL"],
            "http://moto/123456789012/local-email-outbound"
        );
        assert_eq!(agent["TICKETS_TABLE"], "local-tickets");

        let options = LocalStackOptions::default()
            .env("MODEL_PROVIDER", "bedrock")
            .env("NOT_DECLARED", "x");
        let agent = function_environment(&t, "AgentFunction", &b, &options, GATEWAY).unwrap();
        assert_eq!(agent["MODEL_PROVIDER"], "bedrock");
        assert!(
            !agent.contains_key("NOT_DECLARED"),
            "only the template's variables exist"
        );

        let options = LocalStackOptions::default().parameter("SenderAddress", "help@acme.example");
        let b = bindings(&t, &options, &r, GATEWAY).unwrap();
        let sender = function_environment(&t, "EmailSenderFunction", &b, &options, GATEWAY).unwrap();
        assert_eq!(sender["SENDER_ADDRESS"], "help@acme.example");

        // Twilio locally: the stand-in's account, on the gateway; the webhook verifies the
        // gateway's URL.
        let whatsapp = function_environment(&t, "WhatsappSenderFunction", &b, &options, GATEWAY).unwrap();
        assert_eq!(whatsapp["TWILIO_API_BASE_URL"], "http://127.0.0.1:3000/local/twilio");
        assert_eq!(whatsapp["TWILIO_AUTH_TOKEN"], twilio::LOCAL_AUTH_TOKEN);
        assert_eq!(
            whatsapp["TWILIO_WEBHOOK_URL"],
            "http://127.0.0.1:3000/webhooks/whatsapp"
        );
    }

    const GATEWAY: &str = "http://127.0.0.1:3000";

    #[test]
    fn google_variables_name_the_stand_in_and_its_development_credentials() {
        // template.yaml has no Gmail function yet: one declaring what the email channel reads.
        let t = StackTemplate::parse(
            r#"
Resources:
  GmailWebhookFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: bootstrap
      Runtime: provided.al2023
      Environment:
        Variables:
          GOOGLE_JWKS_URL: https://www.googleapis.com/oauth2/v3/certs
          GOOGLE_TOKEN_URL: https://oauth2.googleapis.com/token
          GMAIL_API_BASE_URL: https://gmail.googleapis.com
          GOOGLE_CLIENT_ID: "{{resolve:secretsmanager:gmail:SecretString:client_id}}"
          GOOGLE_CLIENT_SECRET: "{{resolve:secretsmanager:gmail:SecretString:client_secret}}"
          GMAIL_REFRESH_TOKEN: "{{resolve:secretsmanager:gmail:SecretString:refresh_token}}"
          GMAIL_PUSH_AUDIENCE: ""
          GMAIL_PUSH_SERVICE_ACCOUNT: ""
          SUPPORT_MAILBOX: help@acme.example
"#,
        )
        .unwrap();
        let options = LocalStackOptions::default();
        let b = bindings(&t, &options, &fake_resources(&t), GATEWAY).unwrap();
        let env = function_environment(&t, "GmailWebhookFunction", &b, &options, GATEWAY).unwrap();
        let expected = [
            ("GOOGLE_JWKS_URL", "http://127.0.0.1:3000/local/google/oauth2/v3/certs"),
            ("GOOGLE_TOKEN_URL", "http://127.0.0.1:3000/local/google/token"),
            ("GMAIL_API_BASE_URL", "http://127.0.0.1:3000/local/google"),
            ("GOOGLE_CLIENT_ID", google::LOCAL_CLIENT_ID),
            ("GOOGLE_CLIENT_SECRET", google::LOCAL_CLIENT_SECRET),
            ("GMAIL_REFRESH_TOKEN", google::LOCAL_REFRESH_TOKEN),
            ("GMAIL_PUSH_AUDIENCE", "http://127.0.0.1:3000/webhooks/gmail"),
            ("GMAIL_PUSH_SERVICE_ACCOUNT", google::LOCAL_PUSH_SERVICE_ACCOUNT),
            // A value the template gives is kept: the stand-in takes it too.
            ("SUPPORT_MAILBOX", "help@acme.example"),
        ];
        for (name, value) in expected {
            assert_eq!(env[name], value, "{name}");
        }
    }

    #[test]
    fn every_function_config_builds_from_the_template_environment() {
        // The contract with shared: each handler's config reads the template's variables.
        let t = StackTemplate::parse(include_str!("../../../template.yaml")).unwrap();
        let options = LocalStackOptions::default();
        let b = bindings(&t, &options, &fake_resources(&t), GATEWAY).unwrap();
        let env = |f: &str| function_environment(&t, f, &b, &options, GATEWAY).unwrap();
        let webform = env("WebformApiFunction");
        support_aws::config::WebformConfig::from_lookup(|k| webform.get(k).cloned()).unwrap();
        let agent = env("AgentFunction");
        support_aws::config::AgentConfig::from_lookup(|k| agent.get(k).cloned()).unwrap();
        let sender = env("EmailSenderFunction");
        support_aws::config::EmailSenderConfig::from_lookup(|k| sender.get(k).cloned()).unwrap();
        let webhook = env("WhatsappWebhookFunction");
        support_aws::config::WhatsappWebhookConfig::from_lookup(|k| webhook.get(k).cloned()).unwrap();
        let whatsapp = env("WhatsappSenderFunction");
        support_aws::config::WhatsappSenderConfig::from_lookup(|k| whatsapp.get(k).cloned()).unwrap();
        let gmail = env("GmailWebhookFunction");
        support_aws::config::GmailWebhookConfig::from_lookup(|k| gmail.get(k).cloned()).unwrap();
        let poller = env("GmailPollerFunction");
        support_aws::config::MailboxConfig::from_lookup(|k| poller.get(k).cloned()).unwrap();
        let events = env("SesEventsFunction");
        support_aws::config::MailEventsConfig::from_lookup(|k| events.get(k).cloned()).unwrap();
    }

    #[test]
    fn each_http_function_serves_exactly_the_routes_the_template_gives_it() {
        // Routes are declared once, in template.yaml: the gateway routes them, and the
        // function dispatches on their route keys.
        let t = StackTemplate::parse(include_str!("../../../template.yaml")).unwrap();
        for (function, routes) in [
            ("WebformApiFunction", support_aws::lambda::webform_http::ROUTES),
            ("WhatsappWebhookFunction", support_aws::lambda::whatsapp_http::ROUTES),
            ("GmailWebhookFunction", support_aws::lambda::gmail_http::ROUTES),
            ("OperatorApiFunction", support_aws::lambda::operator_http::ROUTES),
        ] {
            let mut declared: Vec<String> = t
                .http_events()
                .into_iter()
                .filter(|(f, _)| f.logical_id == function)
                .filter_map(|(_, e)| match e {
                    EventSpec::HttpApi { method, path, .. } => Some(format!("{method} {path}")),
                    _ => None,
                })
                .collect();
            declared.sort();
            let mut served = routes.to_vec();
            served.sort();
            assert_eq!(declared, served, "{function}");
        }
        let webhook = support_aws::lambda::whatsapp_http::INCOMING;
        assert_eq!(webhook.strip_prefix("POST "), Some(WEBHOOK_PATH));
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(validate_prefix("t-1_a").is_ok());
        assert!(validate_prefix("has space").is_err());
        assert!(validate_prefix(&"x".repeat(31)).is_err());
    }
}
