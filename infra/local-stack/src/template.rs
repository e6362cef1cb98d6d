//! The parts of template.yaml the local stack needs, read through typed serde structs, so
//! that local names and environment variables come from the template, not from a second
//! copy.
//!
//! Only the values that are usually intrinsics stay YAML ([`Value`]), to be evaluated by
//! [`crate::intrinsics`]: environment variables and the CORS configuration. References to
//! resources (the queue of an SQS event or of a redrive policy, the API of an HttpApi event)
//! are read as the logical id they name. Other properties are literals (CloudFormation's
//! strings for numbers and booleans, like `"30"` or `"true"`, included); an intrinsic there
//! is an error, never read as the string it holds.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use indexmap::IndexMap;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;
use serde_norway::Value;

pub use crate::intrinsics::{evaluate, referenced_resource, Bindings, LOCAL_ACCOUNT_ID};
use crate::intrinsics::{evaluate_string, intrinsic};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("invalid template: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
}

pub(crate) fn invalid(at: impl Into<String>, message: impl Display) -> TemplateError {
    TemplateError::Invalid {
        at: at.into(),
        message: message.to_string(),
    }
}

/// A template parameter (`Parameters:`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterSpec {
    #[serde(rename = "Type", default = "string_type")]
    pub kind: String,
    #[serde(default, deserialize_with = "optional")]
    pub default: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub allowed_values: Vec<String>,
}

fn string_type() -> String {
    "String".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KeyElement {
    #[serde(rename = "AttributeName")]
    pub attribute: String,
    /// `HASH` or `RANGE`.
    #[serde(rename = "KeyType")]
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "IndexProps")]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<KeyElement>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    pub non_key_attributes: Vec<String>,
}

/// An `AWS::DynamoDB::Table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    /// `TableName` when the template sets one (the local name is prefixed either way).
    pub declared_name: Option<String>,
    pub billing_mode: String,
    /// Attribute name → type (`S`, `N`, `B`).
    pub attributes: BTreeMap<String, String>,
    pub key_schema: Vec<KeyElement>,
    pub global_indexes: Vec<IndexSpec>,
    pub local_indexes: Vec<IndexSpec>,
    /// TTL attribute, when `TimeToLiveSpecification.Enabled`.
    pub ttl_attribute: Option<String>,
    pub point_in_time_recovery: bool,
    pub sse: bool,
    pub stream_view_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RedriveSpec {
    /// Logical id of the dead-letter queue (`deadLetterTargetArn: !GetAtt <queue>.Arn`).
    #[serde(rename = "deadLetterTargetArn", deserialize_with = "resource")]
    pub dead_letter_queue: String,
    #[serde(rename = "maxReceiveCount", deserialize_with = "scalar")]
    pub max_receive_count: u32,
}

/// An `AWS::SQS::Queue` (its properties).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct QueueSpec {
    #[serde(skip)]
    pub logical_id: String,
    #[serde(rename = "QueueName", deserialize_with = "optional")]
    pub declared_name: Option<String>,
    #[serde(rename = "FifoQueue", deserialize_with = "scalar")]
    pub fifo: bool,
    #[serde(deserialize_with = "scalar")]
    pub content_based_deduplication: bool,
    #[serde(deserialize_with = "optional")]
    pub visibility_timeout: Option<u32>,
    #[serde(deserialize_with = "optional")]
    pub message_retention_period: Option<u32>,
    #[serde(deserialize_with = "optional")]
    pub delay_seconds: Option<u32>,
    #[serde(deserialize_with = "optional")]
    pub maximum_message_size: Option<u32>,
    #[serde(deserialize_with = "optional")]
    pub receive_message_wait_time_seconds: Option<u32>,
    #[serde(deserialize_with = "optional")]
    pub deduplication_scope: Option<String>,
    #[serde(deserialize_with = "optional")]
    pub fifo_throughput_limit: Option<String>,
    #[serde(rename = "RedrivePolicy")]
    pub redrive: Option<RedriveSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSpec {
    /// An `HttpApi` event: `method` is upper case (`ANY` for any), `path` may hold `{param}`
    /// and `{proxy+}`, or is `$default`.
    HttpApi {
        name: String,
        api: Option<String>,
        method: String,
        path: String,
        /// The API's authorizer that checks this route's requests (`Auth.Authorizer`, else
        /// the API's `DefaultAuthorizer`); `None` for a public route.
        authorizer: Option<String>,
        /// `Auth.AuthorizationScopes`: the token must hold one of them.
        authorization_scopes: Vec<String>,
    },
    /// An `SQS` event source mapping.
    Sqs {
        name: String,
        /// Logical id of the queue.
        queue: String,
        batch_size: u32,
        maximum_batching_window_seconds: u32,
        report_batch_item_failures: bool,
        enabled: bool,
    },
    /// A `Schedule` (EventBridge rule) or `ScheduleV2` (EventBridge Scheduler) event.
    Schedule {
        name: String,
        /// `true` for `ScheduleV2`.
        v2: bool,
        /// `rate(...)`, `cron(...)` or `at(...)`.
        expression: String,
        /// The period of a `rate(...)`; `None` for cron and at, which are not run on a timer.
        rate: Option<Duration>,
        enabled: bool,
        /// The rule's (schedule's) `Name`, when set.
        rule_name: Option<String>,
        /// `Input`: the JSON sent instead of the scheduled event, when set.
        input: Option<Json>,
    },
    /// An `SNS` subscription.
    Sns {
        name: String,
        /// Logical id of the topic.
        topic: String,
    },
    /// Any other event type: kept so a caller can see it is not emulated.
    Other { name: String, kind: String },
}

/// An `AWS::Serverless::Function`, with `Globals.Function` merged in.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the cargo binary that implements it.
    pub binary: Option<String>,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub timeout_seconds: u64,
    pub memory_mb: u64,
    /// Unevaluated `Environment.Variables`; see [`StackTemplate::environment`].
    pub environment: BTreeMap<String, Value>,
    pub events: Vec<EventSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CorsSpec {
    #[serde(deserialize_with = "list")]
    pub allow_origins: Vec<String>,
    #[serde(deserialize_with = "list")]
    pub allow_methods: Vec<String>,
    #[serde(deserialize_with = "list")]
    pub allow_headers: Vec<String>,
    #[serde(deserialize_with = "list")]
    pub expose_headers: Vec<String>,
    #[serde(deserialize_with = "optional")]
    pub max_age: Option<u32>,
    #[serde(deserialize_with = "scalar")]
    pub allow_credentials: bool,
}

/// An `AWS::Serverless::HttpApi`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpApiSpec {
    pub logical_id: String,
    pub cors: Option<CorsSpec>,
    /// `Auth.Authorizers`, by name.
    pub authorizers: BTreeMap<String, JwtAuthorizerSpec>,
}

/// A JWT authorizer of an HTTP API (`Auth.Authorizers.<name>`).
#[derive(Debug, Clone, PartialEq)]
pub struct JwtAuthorizerSpec {
    /// The request header holding the token (`IdentitySource: $request.header.<name>`),
    /// lower case.
    pub header: String,
    /// `JwtConfiguration` (`issuer`, `audience`), unevaluated: it names the stack's own
    /// resources; see [`JwtAuthorizerSpec::configuration`].
    jwt_configuration: Value,
}

/// An authorizer's `JwtConfiguration`, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfiguration {
    pub issuer: String,
    pub audiences: Vec<String>,
}

impl JwtAuthorizerSpec {
    /// The issuer and the audiences, with their intrinsics evaluated (API Gateway reads the
    /// keys in any case).
    pub fn configuration(&self, bindings: &Bindings, at: &str) -> Result<JwtConfiguration, TemplateError> {
        let json = evaluate(&self.jwt_configuration, bindings, at)?.unwrap_or_default();
        let field = |name: &str| {
            json.as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v.clone())
        };
        let issuer = match field("issuer") {
            Some(Json::String(issuer)) => issuer,
            _ => return Err(invalid(at, "issuer missing")),
        };
        let audiences = match field("audience") {
            Some(Json::String(audience)) => vec![audience],
            Some(Json::Array(audiences)) => audiences
                .into_iter()
                .map(|a| a.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| invalid(at, "every audience must be a string"))?,
            _ => return Err(invalid(at, "audience missing")),
        };
        Ok(JwtConfiguration { issuer, audiences })
    }
}

/// An `AWS::Cognito::UserPool`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UserPoolSpec {
    #[serde(skip)]
    pub logical_id: String,
    #[serde(rename = "UserPoolName", deserialize_with = "optional")]
    pub declared_name: Option<String>,
    /// `email` and/or `phone_number` sign users in instead of a user name.
    #[serde(deserialize_with = "list")]
    pub username_attributes: Vec<String>,
    #[serde(deserialize_with = "list")]
    pub auto_verified_attributes: Vec<String>,
    pub admin_create_user_config: AdminCreateUserConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AdminCreateUserConfig {
    #[serde(deserialize_with = "scalar")]
    pub allow_admin_create_user_only: bool,
}

/// An `AWS::Cognito::UserPoolClient`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserPoolClientSpec {
    #[serde(skip)]
    pub logical_id: String,
    /// Logical id of the pool (`UserPoolId: !Ref <pool>`).
    #[serde(rename = "UserPoolId", deserialize_with = "resource")]
    pub user_pool: String,
    #[serde(rename = "ClientName", default, deserialize_with = "optional")]
    pub declared_name: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    pub generate_secret: bool,
    #[serde(default, deserialize_with = "list")]
    pub explicit_auth_flows: Vec<String>,
}

/// What the local stack reads from template.yaml.
#[derive(Debug, Clone)]
pub struct StackTemplate {
    pub parameters: BTreeMap<String, ParameterSpec>,
    pub tables: BTreeMap<String, TableSpec>,
    pub queues: BTreeMap<String, QueueSpec>,
    pub functions: BTreeMap<String, FunctionSpec>,
    pub http_apis: BTreeMap<String, HttpApiSpec>,
    pub user_pools: BTreeMap<String, UserPoolSpec>,
    pub user_pool_clients: BTreeMap<String, UserPoolClientSpec>,
    /// Logical id → resource type, for every resource.
    pub resource_types: BTreeMap<String, String>,
    pub(crate) conditions: BTreeMap<String, Value>,
}

/// SAM's defaults when a function sets neither value.
const SAM_DEFAULT_TIMEOUT: u64 = 3;
const SAM_DEFAULT_MEMORY: u64 = 128;

// ---------------------------------------------------------------------------------------
// The template's shape, as serde reads it

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    #[serde(default)]
    parameters: BTreeMap<String, ParameterSpec>,
    #[serde(default)]
    conditions: BTreeMap<String, Value>,
    #[serde(default)]
    globals: Globals,
    resources: BTreeMap<String, Resource>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Globals {
    /// Merged into every function's properties before they are read.
    function: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    properties: Value,
    #[serde(default)]
    metadata: Value,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TableProps {
    #[serde(deserialize_with = "optional")]
    table_name: Option<String>,
    #[serde(deserialize_with = "optional")]
    billing_mode: Option<String>,
    attribute_definitions: Vec<AttributeDefinition>,
    key_schema: Vec<KeyElement>,
    global_secondary_indexes: Vec<IndexSpec>,
    local_secondary_indexes: Vec<IndexSpec>,
    time_to_live_specification: Option<Ttl>,
    point_in_time_recovery_specification: Option<Pitr>,
    #[serde(rename = "SSESpecification")]
    sse_specification: Option<Sse>,
    stream_specification: Option<Stream>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDefinition {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexProps {
    index_name: String,
    key_schema: Vec<KeyElement>,
    #[serde(default)]
    projection: Projection,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Projection {
    projection_type: Option<String>,
    non_key_attributes: Vec<String>,
}

impl From<IndexProps> for IndexSpec {
    fn from(i: IndexProps) -> Self {
        IndexSpec {
            name: i.index_name,
            key_schema: i.key_schema,
            projection_type: i.projection.projection_type.unwrap_or_else(|| "ALL".into()),
            non_key_attributes: i.projection.non_key_attributes,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ttl {
    attribute_name: String,
    #[serde(default, deserialize_with = "scalar")]
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Pitr {
    #[serde(default, deserialize_with = "scalar")]
    point_in_time_recovery_enabled: bool,
}

#[derive(Deserialize)]
struct Sse {
    #[serde(rename = "SSEEnabled", default, deserialize_with = "scalar")]
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Stream {
    stream_view_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct FunctionProps {
    #[serde(deserialize_with = "optional")]
    runtime: Option<String>,
    #[serde(deserialize_with = "optional")]
    handler: Option<String>,
    #[serde(deserialize_with = "optional")]
    timeout: Option<u64>,
    #[serde(deserialize_with = "optional")]
    memory_size: Option<u64>,
    environment: Environment,
    events: IndexMap<String, Event>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Environment {
    variables: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    properties: Value,
}

/// The properties of the events the local stack runs: `HttpApi`, `SQS`, `Schedule` and
/// `ScheduleV2`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct EventProperties {
    #[serde(deserialize_with = "optional_resource")]
    api_id: Option<String>,
    #[serde(deserialize_with = "optional")]
    method: Option<String>,
    #[serde(deserialize_with = "optional")]
    path: Option<String>,
    /// `!GetAtt <queue>.Arn`
    #[serde(deserialize_with = "optional_resource")]
    queue: Option<String>,
    #[serde(deserialize_with = "optional")]
    batch_size: Option<u32>,
    #[serde(deserialize_with = "optional")]
    maximum_batching_window_in_seconds: Option<u32>,
    function_response_types: Vec<String>,
    #[serde(deserialize_with = "optional")]
    enabled: Option<bool>,
    #[serde(alias = "ScheduleExpression", deserialize_with = "optional")]
    schedule: Option<String>,
    /// `ENABLED` or `DISABLED`.
    #[serde(deserialize_with = "optional")]
    state: Option<String>,
    #[serde(deserialize_with = "optional")]
    name: Option<String>,
    #[serde(deserialize_with = "optional")]
    input: Option<String>,
    /// `!Ref <topic>`
    #[serde(deserialize_with = "optional_resource")]
    topic: Option<String>,
    /// An `HttpApi` event's authorization.
    auth: EventAuth,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct EventAuth {
    /// An authorizer of the API, or `NONE` for a public route under a `DefaultAuthorizer`.
    #[serde(deserialize_with = "optional")]
    authorizer: Option<String>,
    #[serde(deserialize_with = "list")]
    authorization_scopes: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct FunctionMetadata {
    build_properties: BuildProperties,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct BuildProperties {
    binary: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct HttpApiProps {
    /// `true`, or the configuration (whose values may be intrinsics).
    cors_configuration: Value,
    auth: HttpApiAuth,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct HttpApiAuth {
    authorizers: BTreeMap<String, AuthorizerProps>,
    #[serde(deserialize_with = "optional")]
    default_authorizer: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AuthorizerProps {
    #[serde(deserialize_with = "optional")]
    identity_source: Option<String>,
    jwt_configuration: Value,
}

/// A literal scalar: CloudFormation takes numbers and booleans as strings too.
fn scalar_value<T: FromStr>(v: Value) -> Result<Option<T>, String>
where
    T::Err: Display,
{
    let text = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Tagged(t) => {
            return Err(format!(
                "{} is not supported here by the local stack: write the value",
                t.tag
            ))
        }
        other => return Err(format!("expected a scalar, got {other:?}")),
    };
    text.parse().map(Some).map_err(|e| format!("`{text}`: {e}"))
}

fn optional<'de, D: Deserializer<'de>, T: FromStr>(d: D) -> Result<Option<T>, D::Error>
where
    T::Err: Display,
{
    scalar_value(Value::deserialize(d)?).map_err(D::Error::custom)
}

fn scalar<'de, D: Deserializer<'de>, T: FromStr + Default>(d: D) -> Result<T, D::Error>
where
    T::Err: Display,
{
    optional(d).map(Option::unwrap_or_default)
}

/// A list, or a comma-separated string (a `CommaDelimitedList`).
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Sequence(items) => items
            .into_iter()
            .filter_map(|i| scalar_value::<String>(i).transpose())
            .collect::<Result<_, _>>()
            .map_err(D::Error::custom),
        v => Ok(scalar_value::<String>(v)
            .map_err(D::Error::custom)?
            .map(|s| s.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default()),
    }
}

/// The logical id a `!Ref X` or `!GetAtt X.Attr` points at.
fn resource<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    referenced_resource(&v).ok_or_else(|| D::Error::custom("expected !Ref or !GetAtt of a resource of this template"))
}

fn optional_resource<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    resource(d).map(Some)
}

/// Typed properties from a YAML value (absent properties are an empty map); errors name
/// the property.
fn properties<T: DeserializeOwned>(v: Value, at: &str) -> Result<T, TemplateError> {
    let v = if v.is_null() {
        Value::Mapping(Default::default())
    } else {
        v
    };
    serde_path_to_error::deserialize(v).map_err(|e| match e.path().to_string().as_str() {
        "." => invalid(at, e.inner()),
        path => invalid(format!("{at}.{path}"), e.inner()),
    })
}

// ---------------------------------------------------------------------------------------
// Reading the template

impl StackTemplate {
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TemplateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Document = serde_norway::from_str(text)?;
        let mut template = StackTemplate {
            parameters: doc.parameters,
            tables: BTreeMap::new(),
            queues: BTreeMap::new(),
            functions: BTreeMap::new(),
            http_apis: BTreeMap::new(),
            user_pools: BTreeMap::new(),
            user_pool_clients: BTreeMap::new(),
            resource_types: BTreeMap::new(),
            conditions: doc.conditions,
        };
        let mut default_authorizers = BTreeMap::new();
        // CORS configurations may refer to parameters: evaluate them with the defaults.
        let params = Bindings::parameters_only(&template, &BTreeMap::new());
        for (id, resource) in doc.resources {
            let at = format!("{id}.Properties");
            match resource.kind.as_str() {
                "AWS::DynamoDB::Table" => {
                    let table = table_spec(&id, properties(resource.properties, &at)?)?;
                    template.tables.insert(id.clone(), table);
                }
                "AWS::SQS::Queue" => {
                    let queue = QueueSpec {
                        logical_id: id.clone(),
                        ..properties(resource.properties, &at)?
                    };
                    template.queues.insert(id.clone(), queue);
                }
                "AWS::Serverless::Function" => {
                    let props = merge_globals(&doc.globals.function, resource.properties);
                    let metadata: FunctionMetadata = properties(resource.metadata, &format!("{id}.Metadata"))?;
                    let function = function_spec(&id, properties(props, &at)?, metadata)?;
                    template.functions.insert(id.clone(), function);
                }
                "AWS::Serverless::HttpApi" => {
                    let props: HttpApiProps = properties(resource.properties, &at)?;
                    let cors = cors_spec(props.cors_configuration, &params, &format!("{at}.CorsConfiguration"))?;
                    let mut authorizers = BTreeMap::new();
                    for (name, authorizer) in props.auth.authorizers {
                        let spec = authorizer_spec(authorizer, &format!("{at}.Auth.Authorizers.{name}"))?;
                        authorizers.insert(name, spec);
                    }
                    if let Some(default) = props.auth.default_authorizer {
                        default_authorizers.insert(id.clone(), default);
                    }
                    let api = HttpApiSpec {
                        logical_id: id.clone(),
                        cors,
                        authorizers,
                    };
                    template.http_apis.insert(id.clone(), api);
                }
                "AWS::Cognito::UserPool" => {
                    let pool = UserPoolSpec {
                        logical_id: id.clone(),
                        ..properties(resource.properties, &at)?
                    };
                    template.user_pools.insert(id.clone(), pool);
                }
                "AWS::Cognito::UserPoolClient" => {
                    let client = UserPoolClientSpec {
                        logical_id: id.clone(),
                        ..properties(resource.properties, &at)?
                    };
                    template.user_pool_clients.insert(id.clone(), client);
                }
                _ => {}
            }
            template.resource_types.insert(id, resource.kind);
        }
        template.apply_default_authorizers(&default_authorizers);
        template.check_references()?;
        Ok(template)
    }

    /// SAM's `DefaultAuthorizer`: on every route of its API that names no authorizer, and
    /// `Authorizer: NONE` makes a route public.
    fn apply_default_authorizers(&mut self, defaults: &BTreeMap<String, String>) {
        for function in self.functions.values_mut() {
            for event in &mut function.events {
                if let EventSpec::HttpApi { api, authorizer, .. } = event {
                    let default = api.as_ref().and_then(|api| defaults.get(api));
                    *authorizer = match authorizer.take() {
                        Some(name) if name == "NONE" => None,
                        Some(name) => Some(name),
                        None => default.cloned(),
                    };
                }
            }
        }
    }

    /// The function's environment (Globals + function), every intrinsic evaluated.
    pub fn environment(&self, function: &str, bindings: &Bindings) -> Result<BTreeMap<String, String>, TemplateError> {
        let spec = self
            .functions
            .get(function)
            .ok_or_else(|| invalid(function, "no such function"))?;
        let mut env = BTreeMap::new();
        for (name, value) in &spec.environment {
            if let Some(value) = evaluate_string(value, bindings, &format!("{function}.Environment.{name}"))? {
                env.insert(name.clone(), value);
            }
        }
        Ok(env)
    }

    /// Every queue logical id, dead-letter queues before the queues that redrive into them.
    pub fn queues_in_creation_order(&self) -> Vec<&QueueSpec> {
        let mut order: Vec<&QueueSpec> = Vec::new();
        fn visit<'a>(t: &'a StackTemplate, id: &str, order: &mut Vec<&'a QueueSpec>, depth: usize) {
            let Some(q) = t.queues.get(id) else { return };
            if order.iter().any(|o| o.logical_id == id) || depth > t.queues.len() {
                return;
            }
            if let Some(r) = &q.redrive {
                visit(t, &r.dead_letter_queue, order, depth + 1);
            }
            order.push(q);
        }
        for id in self.queues.keys() {
            visit(self, id, &mut order, 0);
        }
        order
    }

    fn events(&self, wanted: fn(&EventSpec) -> bool) -> Vec<(&FunctionSpec, &EventSpec)> {
        self.functions
            .values()
            .flat_map(|f| f.events.iter().map(move |e| (f, e)))
            .filter(|(_, e)| wanted(e))
            .collect()
    }

    /// The SQS event sources of every function: (function, event).
    pub fn sqs_events(&self) -> Vec<(&FunctionSpec, &EventSpec)> {
        self.events(|e| matches!(e, EventSpec::Sqs { .. }))
    }

    /// The HttpApi events of every function: (function, event).
    pub fn http_events(&self) -> Vec<(&FunctionSpec, &EventSpec)> {
        self.events(|e| matches!(e, EventSpec::HttpApi { .. }))
    }

    /// The SNS subscriptions of every function: (function, event).
    pub fn sns_events(&self) -> Vec<(&FunctionSpec, &EventSpec)> {
        self.events(|e| matches!(e, EventSpec::Sns { .. }))
    }

    /// The Schedule and ScheduleV2 events of every function: (function, event).
    pub fn schedule_events(&self) -> Vec<(&FunctionSpec, &EventSpec)> {
        self.events(|e| matches!(e, EventSpec::Schedule { .. }))
    }

    fn check_references(&self) -> Result<(), TemplateError> {
        for q in self.queues.values() {
            let Some(r) = &q.redrive else { continue };
            match self.queues.get(&r.dead_letter_queue) {
                None => {
                    let message = format!("dead-letter queue {} is not a queue", r.dead_letter_queue);
                    return Err(invalid(&q.logical_id, message));
                }
                Some(dlq) if dlq.fifo != q.fifo => {
                    let message = "a FIFO queue needs a FIFO dead-letter queue (and a standard one a standard)";
                    return Err(invalid(&q.logical_id, message));
                }
                _ => {}
            }
        }
        for (f, e) in self.http_events() {
            if let EventSpec::HttpApi {
                api,
                authorizer: Some(authorizer),
                ..
            } = e
            {
                let declared = api
                    .as_ref()
                    .and_then(|api| self.http_apis.get(api))
                    .is_some_and(|api| api.authorizers.contains_key(authorizer));
                if !declared {
                    let message = format!("authorizer {authorizer} is not one of its API's Auth.Authorizers");
                    return Err(invalid(&f.logical_id, message));
                }
            }
        }
        for client in self.user_pool_clients.values() {
            if !self.user_pools.contains_key(&client.user_pool) {
                let message = format!("UserPoolId {} is not a user pool of the template", client.user_pool);
                return Err(invalid(&client.logical_id, message));
            }
        }
        for (f, e) in self.sqs_events() {
            if let EventSpec::Sqs { queue, .. } = e {
                if !self.queues.contains_key(queue) {
                    let message = format!("SQS event on {queue}, which is not a queue of the template");
                    return Err(invalid(&f.logical_id, message));
                }
            }
        }
        Ok(())
    }
}

fn table_spec(id: &str, p: TableProps) -> Result<TableSpec, TemplateError> {
    let table = TableSpec {
        logical_id: id.to_owned(),
        declared_name: p.table_name,
        billing_mode: p.billing_mode.unwrap_or_else(|| "PROVISIONED".into()),
        attributes: p
            .attribute_definitions
            .into_iter()
            .map(|a| (a.attribute_name, a.attribute_type))
            .collect(),
        key_schema: p.key_schema,
        global_indexes: p.global_secondary_indexes,
        local_indexes: p.local_secondary_indexes,
        ttl_attribute: p
            .time_to_live_specification
            .filter(|t| t.enabled)
            .map(|t| t.attribute_name),
        point_in_time_recovery: p
            .point_in_time_recovery_specification
            .is_some_and(|p| p.point_in_time_recovery_enabled),
        sse: p.sse_specification.is_some_and(|s| s.enabled),
        stream_view_type: p.stream_specification.and_then(|s| s.stream_view_type),
    };
    if table.key_schema.is_empty() {
        return Err(invalid(id, "KeySchema missing"));
    }
    // Every key attribute must be defined, and nothing else (DynamoDB rejects both).
    let mut used: Vec<&str> = table.key_schema.iter().map(|k| k.attribute.as_str()).collect();
    for i in table.global_indexes.iter().chain(&table.local_indexes) {
        used.extend(i.key_schema.iter().map(|k| k.attribute.as_str()));
    }
    if let Some(a) = used.iter().find(|a| !table.attributes.contains_key(**a)) {
        return Err(invalid(id, format!("key attribute {a} has no AttributeDefinition")));
    }
    if let Some(extra) = table.attributes.keys().find(|a| !used.contains(&a.as_str())) {
        return Err(invalid(
            id,
            format!("AttributeDefinition {extra} is not used by any key"),
        ));
    }
    Ok(table)
}

/// SAM's Globals semantics: maps merge (the function wins on conflicts), anything else
/// set on the function replaces the global value.
fn merge_globals(globals: &Value, props: Value) -> Value {
    match (globals, props) {
        (Value::Mapping(g), Value::Mapping(p)) => {
            let mut out = g.clone();
            for (k, v) in p {
                let merged = match out.get(&k) {
                    Some(gv) if intrinsic(gv).is_none() && intrinsic(&v).is_none() => merge_globals(gv, v),
                    _ => v,
                };
                out.insert(k, merged);
            }
            Value::Mapping(out)
        }
        (g, Value::Null) => g.clone(),
        (_, p) => p,
    }
}

fn function_spec(id: &str, p: FunctionProps, metadata: FunctionMetadata) -> Result<FunctionSpec, TemplateError> {
    let mut events = Vec::new();
    for (name, event) in p.events {
        let at = format!("{id}.Events.{name}.Properties");
        let kind = event.kind;
        if !matches!(kind.as_str(), "HttpApi" | "SQS" | "SNS" | "Schedule" | "ScheduleV2") {
            events.push(EventSpec::Other { name, kind });
            continue;
        }
        let e: EventProperties = properties(event.properties, &at)?;
        let enabled = e.enabled.unwrap_or(true) && !e.state.is_some_and(|s| s.eq_ignore_ascii_case("DISABLED"));
        events.push(match kind.as_str() {
            "HttpApi" => EventSpec::HttpApi {
                name,
                api: e.api_id,
                method: e.method.map_or_else(|| "ANY".into(), |m| m.to_ascii_uppercase()),
                path: e.path.unwrap_or_else(|| "$default".into()),
                authorizer: e.auth.authorizer,
                authorization_scopes: e.auth.authorization_scopes,
            },
            "SQS" => EventSpec::Sqs {
                name,
                queue: e.queue.ok_or_else(|| invalid(&at, "Queue missing"))?,
                batch_size: e.batch_size.unwrap_or(10),
                maximum_batching_window_seconds: e.maximum_batching_window_in_seconds.unwrap_or(0),
                report_batch_item_failures: e.function_response_types.iter().any(|t| t == "ReportBatchItemFailures"),
                enabled,
            },
            "SNS" => EventSpec::Sns {
                name,
                topic: e.topic.ok_or_else(|| invalid(&at, "Topic missing"))?,
            },
            _ => {
                let v2 = kind == "ScheduleV2";
                let key = if v2 { "ScheduleExpression" } else { "Schedule" };
                let expression = e.schedule.ok_or_else(|| invalid(&at, format!("{key} missing")))?;
                let input = e.input.map(|i| serde_json::from_str(&i)).transpose();
                EventSpec::Schedule {
                    name,
                    v2,
                    rate: crate::schedule::rate(&expression).map_err(|e| invalid(format!("{at}.{key}"), e))?,
                    expression,
                    enabled,
                    rule_name: e.name,
                    input: input.map_err(|e| invalid(format!("{at}.Input"), format!("not JSON: {e}")))?,
                }
            }
        });
    }
    Ok(FunctionSpec {
        logical_id: id.to_owned(),
        binary: metadata.build_properties.binary,
        runtime: p.runtime,
        handler: p.handler,
        timeout_seconds: p.timeout.unwrap_or(SAM_DEFAULT_TIMEOUT),
        memory_mb: p.memory_size.unwrap_or(SAM_DEFAULT_MEMORY),
        environment: p.environment.variables,
        events,
    })
}

/// A JWT authorizer; Lambda authorizers (and IAM) are not emulated locally.
fn authorizer_spec(props: AuthorizerProps, at: &str) -> Result<JwtAuthorizerSpec, TemplateError> {
    if props.jwt_configuration.is_null() {
        return Err(invalid(
            at,
            "only JWT authorizers (JwtConfiguration) are emulated locally",
        ));
    }
    let source = props
        .identity_source
        .unwrap_or_else(|| "$request.header.Authorization".into());
    let header = source
        .strip_prefix("$request.header.")
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            invalid(
                format!("{at}.IdentitySource"),
                "only $request.header.<name> is emulated locally",
            )
        })?;
    Ok(JwtAuthorizerSpec {
        header: header.to_ascii_lowercase(),
        jwt_configuration: props.jwt_configuration,
    })
}

/// `CorsConfiguration: true` allows every origin; a map is evaluated, then read.
fn cors_spec(v: Value, params: &Bindings, at: &str) -> Result<Option<CorsSpec>, TemplateError> {
    match v {
        Value::Null | Value::Bool(false) => Ok(None),
        Value::Bool(true) => Ok(Some(CorsSpec {
            allow_origins: vec!["*".into()],
            ..Default::default()
        })),
        v => {
            let json = evaluate(&v, params, at)?.unwrap_or_default();
            serde_json::from_value(json).map(Some).map_err(|e| invalid(at, e))
        }
    }
}

/// A resource's local name: the logical id in kebab case without its type suffix, after
/// a per-stack prefix, e.g. `local-tickets`, `local-inbound-dead-letter.fifo`.
pub fn local_name(prefix: &str, logical_id: &str, declared: Option<&str>, fifo: bool) -> String {
    let base = match declared {
        Some(name) => name.trim_end_matches(".fifo").to_owned(),
        None => {
            let stripped = ["Table", "Queue"]
                .iter()
                .find_map(|s| logical_id.strip_suffix(s).filter(|rest| !rest.is_empty()))
                .unwrap_or(logical_id);
            kebab(stripped)
        }
    };
    let name = if prefix.is_empty() {
        base
    } else {
        format!("{prefix}-{base}")
    };
    if fifo {
        format!("{name}.fifo")
    } else {
        name
    }
}

fn kebab(id: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = id.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            // A new word starts at an upper case letter after a lower case one or a digit,
            // or before a lower case one inside an acronym ("SQSQueue" -> "sqs-queue").
            let prev_lower = i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let acronym_end =
                i > 0 && chars[i - 1].is_ascii_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev_lower || acronym_end {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../../template.yaml");

    fn template() -> StackTemplate {
        StackTemplate::parse(TEMPLATE).expect("template.yaml parses")
    }

    fn bindings(t: &StackTemplate) -> Bindings {
        let mut b = Bindings::with_parameters(t, &BTreeMap::new()).unwrap();
        b.region = "eu-west-1".into();
        for (id, table) in &t.tables {
            b.refs.insert(
                id.clone(),
                local_name("local", id, table.declared_name.as_deref(), false),
            );
        }
        for (id, q) in &t.queues {
            let name = local_name("local", id, q.declared_name.as_deref(), q.fifo);
            let url = format!("http://127.0.0.1:5000/123456789012/{name}");
            b.refs.insert(id.clone(), url.clone());
            b.attributes.insert((id.clone(), "QueueUrl".into()), url);
            b.attributes.insert(
                (id.clone(), "Arn".into()),
                format!("arn:aws:sqs:eu-west-1:123456789012:{name}"),
            );
        }
        b.attributes.insert(
            ("WebFormDistribution".into(), "DomainName".into()),
            "d111111abcdef8.cloudfront.net".into(),
        );
        b.refs
            .insert("MailConfigurationSet".into(), "local-MailConfigurationSet".into());
        b.refs.insert(
            "TeamTopic".into(),
            "arn:aws:sns:eu-west-1:123456789012:local-TeamTopic".into(),
        );
        b
    }

    #[test]
    fn names_are_prefixed_kebab_logical_ids() {
        assert_eq!(local_name("local", "TicketsTable", None, false), "local-tickets");
        assert_eq!(
            local_name("local", "InboundDeadLetterQueue", None, true),
            "local-inbound-dead-letter.fifo"
        );
        assert_eq!(local_name("t1", "EmailOutboundQueue", None, false), "t1-email-outbound");
        assert_eq!(local_name("x", "Queue", None, false), "x-queue");
        assert_eq!(local_name("x", "SQSInput", None, false), "x-sqs-input");
        assert_eq!(local_name("x", "Q", Some("named.fifo"), true), "x-named.fifo");
    }

    #[test]
    fn tables_match_the_template() {
        let t = template();
        let customers = &t.tables["CustomersTable"];
        assert_eq!(customers.billing_mode, "PAY_PER_REQUEST");
        assert_eq!(
            customers.key_schema,
            vec![KeyElement {
                attribute: "pk".into(),
                key_type: "HASH".into()
            }]
        );
        assert!(customers.point_in_time_recovery && customers.sse);
        assert!(customers.global_indexes.is_empty());

        let tickets = &t.tables["TicketsTable"];
        assert_eq!(tickets.key_schema.len(), 2);
        assert_eq!(
            tickets.key_schema[1],
            KeyElement {
                attribute: "sk".into(),
                key_type: "RANGE".into()
            }
        );
        let gsis: Vec<(&str, &str, &str)> = tickets
            .global_indexes
            .iter()
            .map(|i| {
                (
                    i.name.as_str(),
                    i.key_schema[0].attribute.as_str(),
                    i.key_schema[1].attribute.as_str(),
                )
            })
            .collect();
        assert_eq!(
            gsis,
            vec![
                ("by_customer", "gsi1pk", "gsi1sk"),
                ("by_status", "ticket_status", "updated_at"),
                ("by_day", "created_day", "created_at"),
                ("by_outbox", "outbox", "outbox_at")
            ]
        );
        assert!(tickets.global_indexes.iter().all(|i| i.projection_type == "ALL"));
        assert_eq!(tickets.ttl_attribute.as_deref(), Some("expires_at"));
        assert!(tickets.attributes.values().all(|t| t == "S"));
    }

    #[test]
    fn queues_match_the_template() {
        let t = template();
        let inbound = &t.queues["InboundQueue"];
        assert!(inbound.fifo && !inbound.content_based_deduplication);
        assert_eq!(
            inbound.redrive,
            Some(RedriveSpec {
                dead_letter_queue: "InboundDeadLetterQueue".into(),
                max_receive_count: 3
            })
        );
        assert!(t.queues["InboundDeadLetterQueue"].fifo);
        let email = &t.queues["EmailOutboundQueue"];
        assert!(!email.fifo);
        assert_eq!(
            email.redrive.as_ref().map(|r| r.dead_letter_queue.as_str()),
            Some("EmailOutboundDeadLetterQueue")
        );

        let order: Vec<&str> = t
            .queues_in_creation_order()
            .iter()
            .map(|q| q.logical_id.as_str())
            .collect();
        assert_eq!(order.len(), t.queues.len(), "every queue once");
        let pos = |id: &str| order.iter().position(|x| *x == id).unwrap();
        for q in t.queues.values() {
            if let Some(r) = &q.redrive {
                assert!(
                    pos(&r.dead_letter_queue) < pos(&q.logical_id),
                    "{} after its DLQ",
                    q.logical_id
                );
            }
        }
    }

    #[test]
    fn visibility_timeout_is_at_least_six_times_the_consumer_timeout() {
        let t = template();
        for (f, e) in t.sqs_events() {
            let EventSpec::Sqs { queue, .. } = e else {
                unreachable!()
            };
            let visibility = t.queues[queue].visibility_timeout.unwrap_or(30) as u64;
            assert!(
                visibility >= 6 * f.timeout_seconds,
                "{queue}: {visibility}s < 6 x {}s",
                f.timeout_seconds
            );
        }
    }

    #[test]
    fn functions_and_events_match_the_template() {
        let t = template();
        let binaries: Vec<(&str, &str)> = t
            .functions
            .values()
            .map(|f| (f.logical_id.as_str(), f.binary.as_deref().unwrap()))
            .collect();
        assert_eq!(
            binaries,
            vec![
                ("AgentFunction", "agent"),
                ("DailyReportFunction", "daily-report"),
                ("EmailSenderFunction", "email-sender"),
                ("GmailPollerFunction", "gmail-poller"),
                ("GmailWebhookFunction", "gmail-webhook"),
                ("IntakeSweeperFunction", "intake-sweeper"),
                ("OperatorApiFunction", "operator-api"),
                ("SesEventsFunction", "ses-events"),
                ("WebformApiFunction", "webform-api"),
                ("WhatsappSenderFunction", "whatsapp-sender"),
                ("WhatsappWebhookFunction", "whatsapp-webhook")
            ]
        );
        for f in t.functions.values() {
            assert_eq!(f.runtime.as_deref(), Some("provided.al2023"), "Globals are merged");
            assert_eq!(f.handler.as_deref(), Some("bootstrap"));
        }
        assert_eq!(t.functions["AgentFunction"].timeout_seconds, 90);
        assert_eq!(t.functions["WebformApiFunction"].timeout_seconds, 10);

        let routes: Vec<(String, String, Option<String>)> = t
            .http_events()
            .into_iter()
            .map(|(_, e)| match e {
                EventSpec::HttpApi { method, path, api, .. } => (method.clone(), path.clone(), api.clone()),
                _ => unreachable!(),
            })
            .collect();
        let api = Some("SupportHttpApi".to_owned());
        assert_eq!(
            routes,
            vec![
                ("POST".into(), "/webhooks/gmail".into(), api.clone()),
                ("ANY".into(), "/operator/{proxy+}".into(), api.clone()),
                ("POST".into(), "/support/submit".into(), api.clone()),
                ("GET".into(), "/support/ticket/{id}".into(), api.clone()),
                ("POST".into(), "/support/ticket/{id}/messages".into(), api.clone()),
                (
                    "GET".into(),
                    "/support/ticket/{id}/messages/{message_id}/original".into(),
                    api.clone()
                ),
                ("GET".into(), "/support/confirm/{id}".into(), api.clone()),
                ("POST".into(), "/webhooks/whatsapp".into(), api.clone()),
                ("POST".into(), "/webhooks/whatsapp/status".into(), api)
            ]
        );
        let sqs: Vec<(&str, &EventSpec)> = t
            .sqs_events()
            .into_iter()
            .map(|(f, e)| (f.logical_id.as_str(), e))
            .collect();
        assert_eq!(
            sqs,
            vec![
                (
                    "AgentFunction",
                    &EventSpec::Sqs {
                        name: "Inbound".into(),
                        queue: "InboundQueue".into(),
                        batch_size: 10,
                        maximum_batching_window_seconds: 0,
                        report_batch_item_failures: true,
                        enabled: true
                    }
                ),
                (
                    "EmailSenderFunction",
                    &EventSpec::Sqs {
                        name: "EmailOutbound".into(),
                        queue: "EmailOutboundQueue".into(),
                        batch_size: 10,
                        maximum_batching_window_seconds: 1,
                        report_batch_item_failures: true,
                        enabled: true
                    }
                ),
                (
                    "WhatsappSenderFunction",
                    &EventSpec::Sqs {
                        name: "WhatsappOutbound".into(),
                        queue: "WhatsappOutboundQueue".into(),
                        batch_size: 10,
                        maximum_batching_window_seconds: 1,
                        report_batch_item_failures: true,
                        enabled: true
                    }
                )
            ]
        );
        let cors = t.http_apis["SupportHttpApi"].cors.clone().unwrap();
        assert_eq!(cors.allow_origins, vec!["https://www.tandem.example"]);
        assert!(cors.allow_methods.contains(&"POST".to_owned()));
    }

    #[test]
    fn environments_resolve_refs_getatts_and_parameters() {
        let t = template();
        let b = bindings(&t);
        let webform = t.environment("WebformApiFunction", &b).unwrap();
        assert_eq!(webform["CUSTOMERS_TABLE"], "local-customers");
        assert_eq!(webform["TICKETS_TABLE"], "local-tickets");
        assert_eq!(
            webform["INBOUND_QUEUE_URL"],
            "http://127.0.0.1:5000/123456789012/local-inbound.fifo"
        );

        let agent = t.environment("AgentFunction", &b).unwrap();
        assert_eq!(
            agent["EMAIL_OUTBOUND_QUEUE_URL"],
            "http://127.0.0.1:5000/123456789012/local-email-outbound"
        );
        assert_eq!(
            agent["MODEL_PROVIDER"], "bedrock",
            "the template default; the local stack overrides it"
        );
        assert_eq!(agent["BEDROCK_MODEL_ID"], "anthropic.claude-3-5-haiku-20241022-v1:0");
        assert_eq!(
            agent["BEDROCK_MODEL_ID"],
            support_core::cost::PriceTable::bundled().model,
            "the bundled prices are the default model's"
        );
        assert_eq!(
            agent["PRICE_TABLE"], "",
            "the bundled one unless a deployment gives its own"
        );

        assert_eq!(
            agent["TEAM_TOPIC_ARN"],
            "arn:aws:sns:eu-west-1:123456789012:local-TeamTopic"
        );
        assert_eq!(agent["CONSOLE_URL"], "https://d111111abcdef8.cloudfront.net/console/");

        let sender = t.environment("EmailSenderFunction", &b).unwrap();
        assert_eq!(sender["SENDER_ADDRESS"], "support@tandem.example");
        assert_eq!(sender["SES_CONFIGURATION_SET"], "local-MailConfigurationSet");
        assert_eq!(sender["TICKETS_TABLE"], "local-tickets");
        assert_eq!(sender["SITE_URL"], "https://d111111abcdef8.cloudfront.net");

        // Globals give the functions the metrics' namespace and the stack's name.
        for env in [&webform, &agent, &sender] {
            assert_eq!(env["METRICS_NAMESPACE"], "CustomerSuccessAgent");
            assert_eq!(env["SERVICE_NAME"], "local");
        }
        let report = t.environment("DailyReportFunction", &b).unwrap();
        assert_eq!(report["TICKETS_TABLE"], "local-tickets");
        assert_eq!(report["SENDER_ADDRESS"], "support@tandem.example");
        assert_eq!(report["REPORT_ADDRESS"], "", "the default: stored only, not emailed");
        assert_eq!(report["PRICE_TABLE"], "", "the default: the bundled prices");
    }

    #[test]
    fn only_the_operator_routes_are_behind_the_user_pools_authorizer() {
        let t = template();
        for (f, e) in t.http_events() {
            let EventSpec::HttpApi { authorizer, path, .. } = e else {
                unreachable!()
            };
            let expected = (f.logical_id == "OperatorApiFunction").then(|| "OperatorJwt".to_owned());
            assert_eq!(authorizer, &expected, "{path}");
        }
        let pool = &t.user_pools["OperatorUserPool"];
        assert_eq!(pool.username_attributes, ["email"]);
        assert!(pool.admin_create_user_config.allow_admin_create_user_only);
        let client = &t.user_pool_clients["OperatorUserPoolClient"];
        assert_eq!(client.user_pool, "OperatorUserPool");
        assert!(!client.generate_secret);
        assert_eq!(
            client.explicit_auth_flows,
            ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        );

        let authorizer = &t.http_apis["SupportHttpApi"].authorizers["OperatorJwt"];
        assert_eq!(authorizer.header, "authorization");
        let mut b = bindings(&t);
        b.refs.insert("OperatorUserPool".into(), "eu-west-1_abc".into());
        b.refs.insert("OperatorUserPoolClient".into(), "client123".into());
        assert_eq!(
            authorizer.configuration(&b, "OperatorJwt").unwrap(),
            JwtConfiguration {
                issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc".into(),
                audiences: vec!["client123".into()],
            }
        );
        let cors = t.http_apis["SupportHttpApi"].cors.clone().unwrap();
        assert!(cors.allow_headers.contains(&"authorization".to_owned()));
    }

    #[test]
    fn default_authorizers_apply_unless_a_route_says_none_and_unknown_ones_are_refused() {
        let api = "  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n        DefaultAuthorizer: Jwt\n        Authorizers:\n          Jwt: {JwtConfiguration: {issuer: https://issuer.example, audience: [a]}}\n";
        let function = |events: &str| {
            StackTemplate::parse(&format!(
                "Resources:\n{api}  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n{events}"
            ))
        };
        let t = function(
            "        A: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /a, Method: GET}}\n        B: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /b, Method: GET, Auth: {Authorizer: NONE}}}\n",
        )
        .unwrap();
        let authorizers: Vec<Option<String>> = t
            .http_events()
            .into_iter()
            .map(|(_, e)| match e {
                EventSpec::HttpApi { authorizer, .. } => authorizer.clone(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(authorizers, [Some("Jwt".to_owned()), None]);
        let err = function(
            "        A: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /a, Method: GET, Auth: {Authorizer: Other}}}\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("Other"), "{err}");
    }

    #[test]
    fn literal_properties_take_strings_but_not_intrinsics() {
        let queue = |props: &str| {
            StackTemplate::parse(&format!(
                "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {props}\n"
            ))
        };
        let q = queue(r#"{FifoQueue: "true", VisibilityTimeout: "45", DelaySeconds: 2}"#).unwrap();
        let q = &q.queues["Q"];
        assert!(q.fifo);
        assert_eq!((q.visibility_timeout, q.delay_seconds), (Some(45), Some(2)));
        let err = queue("{VisibilityTimeout: !Ref Timeout}").unwrap_err().to_string();
        assert!(err.contains("Q.Properties.VisibilityTimeout: !Ref"), "{err}");
        let err = queue("{QueueName: !Sub '${AWS::StackName}-q'}")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("QueueName: !Sub"),
            "a tag is never read as the string it holds: {err}"
        );
        let err = queue("{VisibilityTimeout: soon}").unwrap_err().to_string();
        assert!(err.contains("soon"), "{err}");
    }

    #[test]
    fn schedule_events_are_read() {
        let t = StackTemplate::parse(include_str!("../tests/schedule-template.yaml")).unwrap();
        let events: Vec<(&str, &EventSpec)> = t
            .schedule_events()
            .into_iter()
            .map(|(f, e)| (f.logical_id.as_str(), e))
            .collect();
        assert_eq!(
            events[0],
            (
                "ReportFunction",
                &EventSpec::Schedule {
                    name: "Nightly".into(),
                    v2: true,
                    expression: "cron(0 3 * * ? *)".into(),
                    rate: None,
                    enabled: true,
                    rule_name: None,
                    input: None,
                }
            )
        );
        assert_eq!(
            events[1],
            (
                "SweeperFunction",
                &EventSpec::Schedule {
                    name: "Sweep".into(),
                    v2: false,
                    expression: "rate(1 minute)".into(),
                    rate: Some(Duration::from_secs(60)),
                    enabled: true,
                    rule_name: None,
                    input: None,
                }
            )
        );
        let EventSpec::Schedule {
            enabled,
            input,
            rule_name,
            rate,
            ..
        } = events[2].1
        else {
            unreachable!()
        };
        assert_eq!(
            (*enabled, rule_name.as_deref(), *rate),
            (false, Some("weekly-digest"), Some(Duration::from_secs(7 * 86400)))
        );
        assert_eq!(input, &Some(serde_json::json!({"kind": "digest"})));

        let bad = |schedule: &str| {
            StackTemplate::parse(&format!(
                "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        S: {{Type: Schedule, Properties: {{Schedule: \"{schedule}\"}}}}\n"
            ))
            .unwrap_err()
            .to_string()
        };
        assert!(bad("rate(0 minutes)").contains("F.Events.S"));
        assert!(bad("every day").contains("rate("));
    }

    #[test]
    fn broken_references_are_rejected() {
        let err = StackTemplate::parse(
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      FifoQueue: true\n      RedrivePolicy: {deadLetterTargetArn: !GetAtt D.Arn, maxReceiveCount: 3}\n  D: {Type: AWS::SQS::Queue}\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = StackTemplate::parse(
            "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: x, AttributeType: S}]\n      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("not used"), "{err}");
    }
}
