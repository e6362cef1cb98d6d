//! The parts of template.yaml the local stack needs, parsed into plain structs, and an
//! evaluator for the CloudFormation intrinsics (`!Ref`, `!GetAtt`, `!Sub`, ...) so that
//! local names and environment variables come from the template, not from a second copy.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;
use serde_yaml::Value;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
}

fn invalid(at: impl Into<String>, message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid {
        at: at.into(),
        message: message.into(),
    }
}

/// A template parameter (`Parameters:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSpec {
    pub kind: String,
    pub default: Option<String>,
    pub allowed_values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    pub attribute: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveSpec {
    /// Logical id of the dead-letter queue.
    pub dead_letter_queue: String,
    pub max_receive_count: u32,
}

/// An `AWS::SQS::Queue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub declared_name: Option<String>,
    pub fifo: bool,
    pub content_based_deduplication: bool,
    pub visibility_timeout: Option<u32>,
    pub message_retention_period: Option<u32>,
    pub delay_seconds: Option<u32>,
    pub maximum_message_size: Option<u32>,
    pub receive_message_wait_time_seconds: Option<u32>,
    pub deduplication_scope: Option<String>,
    pub fifo_throughput_limit: Option<String>,
    pub redrive: Option<RedriveSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSpec {
    /// An `HttpApi` event: `method` is upper case (`ANY` for any), `path` may hold `{param}`.
    HttpApi {
        name: String,
        api: Option<String>,
        method: String,
        path: String,
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

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsSpec {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u32>,
    pub allow_credentials: bool,
}

/// An `AWS::Serverless::HttpApi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpApiSpec {
    pub logical_id: String,
    pub cors: Option<CorsSpec>,
}

/// What the local stack reads from template.yaml.
#[derive(Debug, Clone)]
pub struct StackTemplate {
    pub parameters: BTreeMap<String, ParameterSpec>,
    pub tables: BTreeMap<String, TableSpec>,
    pub queues: BTreeMap<String, QueueSpec>,
    pub functions: BTreeMap<String, FunctionSpec>,
    pub http_apis: BTreeMap<String, HttpApiSpec>,
    /// Logical id → resource type, for every resource.
    pub resource_types: BTreeMap<String, String>,
    conditions: BTreeMap<String, Value>,
}

/// SAM's defaults when a function sets neither value.
const SAM_DEFAULT_TIMEOUT: u64 = 3;
const SAM_DEFAULT_MEMORY: u64 = 128;

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
        let doc: Value = serde_yaml::from_str(text)?;
        let parameters = parse_parameters(doc.get("Parameters"))?;
        let conditions = mapping(doc.get("Conditions"))
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let mut template = StackTemplate {
            parameters,
            tables: BTreeMap::new(),
            queues: BTreeMap::new(),
            functions: BTreeMap::new(),
            http_apis: BTreeMap::new(),
            resource_types: BTreeMap::new(),
            conditions,
        };
        // Resource properties may refer to parameters: evaluate them with the defaults.
        let params = Bindings::parameters_only(&template, &BTreeMap::new());
        let globals = doc.get("Globals").and_then(|g| g.get("Function")).cloned();
        let resources = mapping(doc.get("Resources")).ok_or_else(|| invalid("Resources", "missing"))?;
        for (id, resource) in resources {
            let id = id
                .as_str()
                .ok_or_else(|| invalid("Resources", "non-string logical id"))?
                .to_owned();
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(&id, "missing Type"))?
                .to_owned();
            let empty = Value::Mapping(Default::default());
            let props = resource.get("Properties").unwrap_or(&empty);
            match kind.as_str() {
                "AWS::DynamoDB::Table" => {
                    template.tables.insert(id.clone(), parse_table(&id, props, &params)?);
                }
                "AWS::SQS::Queue" => {
                    template.queues.insert(id.clone(), parse_queue(&id, props, &params)?);
                }
                "AWS::Serverless::Function" => {
                    let merged = match &globals {
                        Some(g) => merge_globals(g, props),
                        None => props.clone(),
                    };
                    template
                        .functions
                        .insert(id.clone(), parse_function(&id, resource, &merged, &params)?);
                }
                "AWS::Serverless::HttpApi" => {
                    template
                        .http_apis
                        .insert(id.clone(), parse_http_api(&id, props, &params)?);
                }
                _ => {}
            }
            template.resource_types.insert(id, kind);
        }
        template.check_references()?;
        Ok(template)
    }

    /// The function's environment (Globals + function), every intrinsic evaluated.
    pub fn environment(&self, function: &str, bindings: &Bindings) -> Result<BTreeMap<String, String>, TemplateError> {
        let spec = self
            .functions
            .get(function)
            .ok_or_else(|| invalid(function, "no such function"))?;
        let mut env = BTreeMap::new();
        for (name, value) in &spec.environment {
            let at = format!("{function}.Environment.{name}");
            if let Some(value) = evaluate(value, bindings, &at)? {
                env.insert(name.clone(), json_to_string(&value, &at)?);
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

    /// The SQS event sources of every function: (function, event).
    pub fn sqs_events(&self) -> Vec<(&FunctionSpec, &EventSpec)> {
        self.functions
            .values()
            .flat_map(|f| f.events.iter().map(move |e| (f, e)))
            .filter(|(_, e)| matches!(e, EventSpec::Sqs { .. }))
            .collect()
    }

    /// The HttpApi events of every function: (function, event).
    pub fn http_events(&self) -> Vec<(&FunctionSpec, &EventSpec)> {
        self.functions
            .values()
            .flat_map(|f| f.events.iter().map(move |e| (f, e)))
            .filter(|(_, e)| matches!(e, EventSpec::HttpApi { .. }))
            .collect()
    }

    fn check_references(&self) -> Result<(), TemplateError> {
        for q in self.queues.values() {
            if let Some(r) = &q.redrive {
                match self.queues.get(&r.dead_letter_queue) {
                    None => {
                        return Err(invalid(
                            &q.logical_id,
                            format!("dead-letter queue {} is not a queue", r.dead_letter_queue),
                        ))
                    }
                    Some(dlq) if dlq.fifo != q.fifo => {
                        return Err(invalid(
                            &q.logical_id,
                            "a FIFO queue needs a FIFO dead-letter queue (and a standard one a standard)",
                        ))
                    }
                    _ => {}
                }
            }
        }
        for f in self.functions.values() {
            for e in &f.events {
                if let EventSpec::Sqs { queue, .. } = e {
                    if !self.queues.contains_key(queue) {
                        return Err(invalid(
                            &f.logical_id,
                            format!("SQS event on {queue}, which is not a queue of the template"),
                        ));
                    }
                }
            }
        }
        Ok(())
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

// ---------------------------------------------------------------------------------------
// Intrinsic functions

/// What `Ref`/`Fn::GetAtt` resolve to: parameter values, pseudo parameters and resources.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    pub parameters: BTreeMap<String, String>,
    /// Logical id → the value of `!Ref` on it.
    pub refs: BTreeMap<String, String>,
    /// (logical id, attribute) → the value of `!GetAtt id.attribute`.
    pub attributes: BTreeMap<(String, String), String>,
    pub region: String,
    pub account_id: String,
    pub stack_name: String,
    conditions: BTreeMap<String, Value>,
}

/// moto's account.
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";

impl Bindings {
    /// Parameter defaults with `overrides` applied (checked against `AllowedValues`).
    pub fn parameters_only(template: &StackTemplate, overrides: &BTreeMap<String, String>) -> Self {
        let mut parameters = BTreeMap::new();
        for (name, spec) in &template.parameters {
            if let Some(v) = overrides.get(name).or(spec.default.as_ref()) {
                parameters.insert(name.clone(), v.clone());
            }
        }
        Bindings {
            parameters,
            region: "us-east-1".into(),
            account_id: LOCAL_ACCOUNT_ID.into(),
            stack_name: "local".into(),
            conditions: template.conditions.clone(),
            ..Default::default()
        }
    }

    pub fn with_parameters(
        template: &StackTemplate,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, TemplateError> {
        for (name, value) in overrides {
            let spec = template.parameters.get(name).ok_or_else(|| {
                invalid(
                    format!("parameter override {name}"),
                    "the template has no such parameter",
                )
            })?;
            if !spec.allowed_values.is_empty() && !spec.allowed_values.contains(value) {
                return Err(invalid(
                    format!("parameter override {name}"),
                    format!("`{value}` is not one of {:?}", spec.allowed_values),
                ));
            }
        }
        Ok(Self::parameters_only(template, overrides))
    }

    fn reference(&self, name: &str) -> Option<Json> {
        let s = match name {
            "AWS::Region" => self.region.clone(),
            "AWS::AccountId" => self.account_id.clone(),
            "AWS::StackName" => self.stack_name.clone(),
            "AWS::StackId" => format!(
                "arn:aws:cloudformation:{}:{}:stack/{}/00000000-0000-0000-0000-000000000000",
                self.region, self.account_id, self.stack_name
            ),
            "AWS::Partition" => "aws".into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            _ => {
                if let Some(p) = self.parameters.get(name) {
                    p.clone()
                } else {
                    self.refs.get(name)?.clone()
                }
            }
        };
        Some(Json::String(s))
    }

    fn attribute(&self, id: &str, attr: &str) -> Option<String> {
        self.attributes.get(&(id.to_owned(), attr.to_owned())).cloned()
    }

    fn condition(&self, name: &str, at: &str) -> Result<bool, TemplateError> {
        let c = self
            .conditions
            .get(name)
            .ok_or_else(|| invalid(at, format!("no condition {name}")))?;
        condition_value(c, self, at)
    }
}

/// The intrinsic function a YAML node calls, in either the short (`!Ref x`) or the long
/// (`{Ref: x}`, `{"Fn::GetAtt": [...]}`) form.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let full = if name == "Ref" || name == "Condition" {
                name.to_owned()
            } else {
                format!("Fn::{name}")
            };
            Some((full, &t.value))
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k == "Condition" || k.starts_with("Fn::")).then(|| (k.to_owned(), inner))
        }
        _ => None,
    }
}

/// Evaluates a template value to JSON; `None` is `AWS::NoValue`.
pub fn evaluate(v: &Value, b: &Bindings, at: &str) -> Result<Option<Json>, TemplateError> {
    if let Some((name, arg)) = intrinsic(v) {
        return evaluate_intrinsic(&name, arg, b, at);
    }
    Ok(Some(match v {
        Value::Null => Json::Null,
        Value::Bool(x) => Json::Bool(*x),
        Value::Number(n) => serde_json::to_value(n).map_err(|e| invalid(at, e.to_string()))?,
        Value::String(s) => Json::String(s.clone()),
        Value::Sequence(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if let Some(x) = evaluate(item, b, &format!("{at}[{i}]"))? {
                    out.push(x);
                }
            }
            Json::Array(out)
        }
        Value::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, item) in m {
                let k = k.as_str().ok_or_else(|| invalid(at, "non-string key"))?;
                if let Some(x) = evaluate(item, b, &format!("{at}.{k}"))? {
                    out.insert(k.to_owned(), x);
                }
            }
            Json::Object(out)
        }
        Value::Tagged(t) => return Err(invalid(at, format!("unsupported tag {}", t.tag))),
    }))
}

fn evaluate_intrinsic(name: &str, arg: &Value, b: &Bindings, at: &str) -> Result<Option<Json>, TemplateError> {
    let text = |v: &Value, what: &str| -> Result<String, TemplateError> {
        let j = evaluate(v, b, at)?.ok_or_else(|| invalid(at, format!("{what}: AWS::NoValue")))?;
        json_to_string(&j, at)
    };
    let list = |v: &Value| -> Result<Vec<Json>, TemplateError> {
        match evaluate(v, b, at)? {
            Some(Json::Array(items)) => Ok(items),
            other => Err(invalid(at, format!("{name}: expected a list, got {other:?}"))),
        }
    };
    match name {
        "Ref" => {
            let target = arg.as_str().ok_or_else(|| invalid(at, "Ref needs a name"))?;
            if target == "AWS::NoValue" {
                return Ok(None);
            }
            b.reference(target)
                .map(Some)
                .ok_or_else(|| invalid(at, format!("cannot resolve !Ref {target} locally")))
        }
        "Fn::GetAtt" => {
            let (id, attr) = get_att_target(arg).ok_or_else(|| invalid(at, "malformed GetAtt"))?;
            b.attribute(&id, &attr)
                .map(|s| Some(Json::String(s)))
                .ok_or_else(|| invalid(at, format!("cannot resolve !GetAtt {id}.{attr} locally")))
        }
        "Fn::Sub" => {
            let (template, vars) = match arg {
                Value::String(s) => (s.clone(), BTreeMap::new()),
                Value::Sequence(items) if items.len() == 2 => {
                    let s = items[0]
                        .as_str()
                        .ok_or_else(|| invalid(at, "Sub needs a string"))?
                        .to_owned();
                    let mut vars = BTreeMap::new();
                    for (k, v) in mapping(Some(&items[1])).ok_or_else(|| invalid(at, "Sub variables must be a map"))? {
                        let k = k.as_str().ok_or_else(|| invalid(at, "Sub variable name"))?;
                        vars.insert(k.to_owned(), text(v, "Sub variable")?);
                    }
                    (s, vars)
                }
                _ => return Err(invalid(at, "malformed Sub")),
            };
            substitute(&template, &vars, b, at).map(|s| Some(Json::String(s)))
        }
        "Fn::Join" => {
            let items = arg
                .as_sequence()
                .filter(|s| s.len() == 2)
                .ok_or_else(|| invalid(at, "malformed Join"))?;
            let delimiter = text(&items[0], "Join delimiter")?;
            let parts: Result<Vec<String>, _> = list(&items[1])?.iter().map(|j| json_to_string(j, at)).collect();
            Ok(Some(Json::String(parts?.join(&delimiter))))
        }
        "Fn::Split" => {
            let items = arg
                .as_sequence()
                .filter(|s| s.len() == 2)
                .ok_or_else(|| invalid(at, "malformed Split"))?;
            let delimiter = text(&items[0], "Split delimiter")?;
            let source = text(&items[1], "Split source")?;
            Ok(Some(Json::Array(
                source
                    .split(delimiter.as_str())
                    .map(|s| Json::String(s.to_owned()))
                    .collect(),
            )))
        }
        "Fn::Select" => {
            let items = arg
                .as_sequence()
                .filter(|s| s.len() == 2)
                .ok_or_else(|| invalid(at, "malformed Select"))?;
            let index: usize = text(&items[0], "Select index")?
                .parse()
                .map_err(|_| invalid(at, "Select index"))?;
            let values = list(&items[1])?;
            values
                .get(index)
                .cloned()
                .map(Some)
                .ok_or_else(|| invalid(at, "Select index out of range"))
        }
        "Fn::If" => {
            let items = arg
                .as_sequence()
                .filter(|s| s.len() == 3)
                .ok_or_else(|| invalid(at, "malformed If"))?;
            let cond = items[0]
                .as_str()
                .ok_or_else(|| invalid(at, "If needs a condition name"))?;
            let chosen = if b.condition(cond, at)? { &items[1] } else { &items[2] };
            evaluate(chosen, b, at)
        }
        "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
            // Only reached when a condition expression is used as a value.
            let wrapped = Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
                tag: serde_yaml::value::Tag::new(name.trim_start_matches("Fn::")),
                value: arg.clone(),
            }));
            condition_value(&wrapped, b, at).map(|x| Some(Json::Bool(x)))
        }
        other => Err(invalid(
            at,
            format!("intrinsic {other} is not supported by the local stack"),
        )),
    }
}

fn condition_value(v: &Value, b: &Bindings, at: &str) -> Result<bool, TemplateError> {
    let (name, arg) = intrinsic(v).ok_or_else(|| invalid(at, "a condition must be Fn::Equals/Not/And/Or/Condition"))?;
    let items = || {
        arg.as_sequence()
            .ok_or_else(|| invalid(at, format!("{name} needs a list")))
    };
    match name.as_str() {
        "Fn::Equals" => {
            let items = items()?;
            if items.len() != 2 {
                return Err(invalid(at, "Equals needs two values"));
            }
            Ok(evaluate(&items[0], b, at)? == evaluate(&items[1], b, at)?)
        }
        "Fn::Not" => Ok(!condition_value(
            items()?.first().ok_or_else(|| invalid(at, "Not needs one condition"))?,
            b,
            at,
        )?),
        "Fn::And" => items()?
            .iter()
            .try_fold(true, |acc, c| Ok(acc && condition_value(c, b, at)?)),
        "Fn::Or" => items()?
            .iter()
            .try_fold(false, |acc, c| Ok(acc || condition_value(c, b, at)?)),
        "Condition" => b.condition(arg.as_str().ok_or_else(|| invalid(at, "Condition needs a name"))?, at),
        other => Err(invalid(at, format!("{other} is not a condition function"))),
    }
}

fn substitute(
    template: &str,
    vars: &BTreeMap<String, String>,
    b: &Bindings,
    at: &str,
) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| invalid(at, "unterminated ${ in Sub"))?;
        let name = after[..end].trim();
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else if let Some(v) = vars.get(name) {
            out.push_str(v);
        } else if let Some((id, attr)) = name.split_once('.') {
            out.push_str(
                &b.attribute(id, attr)
                    .ok_or_else(|| invalid(at, format!("cannot resolve ${{{name}}} locally")))?,
            );
        } else {
            let v = b
                .reference(name)
                .ok_or_else(|| invalid(at, format!("cannot resolve ${{{name}}} locally")))?;
            out.push_str(&json_to_string(&v, at)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn get_att_target(arg: &Value) -> Option<(String, String)> {
    match arg {
        Value::String(s) => {
            let (id, attr) = s.split_once('.')?;
            Some((id.to_owned(), attr.to_owned()))
        }
        Value::Sequence(items) if items.len() == 2 => {
            Some((items[0].as_str()?.to_owned(), items[1].as_str()?.to_owned()))
        }
        _ => None,
    }
}

/// The logical id a `!Ref X` or `!GetAtt X.Attr` points at, without evaluating it.
pub fn referenced_resource(v: &Value) -> Option<String> {
    match intrinsic(v)? {
        (name, arg) if name == "Ref" => arg.as_str().map(str::to_owned),
        (name, arg) if name == "Fn::GetAtt" => get_att_target(arg).map(|(id, _)| id),
        _ => None,
    }
}

fn json_to_string(v: &Json, at: &str) -> Result<String, TemplateError> {
    match v {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        // CommaDelimitedList parameters evaluate to a list.
        Json::Array(items) => Ok(items
            .iter()
            .map(|i| json_to_string(i, at))
            .collect::<Result<Vec<_>, _>>()?
            .join(",")),
        other => Err(invalid(at, format!("expected a scalar, got {other}"))),
    }
}

// ---------------------------------------------------------------------------------------
// Resource parsers

fn mapping(v: Option<&Value>) -> Option<&serde_yaml::Mapping> {
    v.and_then(Value::as_mapping)
}

fn parse_parameters(v: Option<&Value>) -> Result<BTreeMap<String, ParameterSpec>, TemplateError> {
    let mut out = BTreeMap::new();
    for (k, p) in mapping(v).into_iter().flatten() {
        let name = k
            .as_str()
            .ok_or_else(|| invalid("Parameters", "non-string name"))?
            .to_owned();
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        out.insert(
            name,
            ParameterSpec {
                kind: p.get("Type").and_then(Value::as_str).unwrap_or("String").to_owned(),
                default: p.get("Default").and_then(scalar),
                allowed_values: p
                    .get("AllowedValues")
                    .and_then(Value::as_sequence)
                    .map(|s| s.iter().filter_map(scalar).collect())
                    .unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

/// A property evaluated with the parameter defaults.
fn prop(props: &Value, key: &str, b: &Bindings, at: &str) -> Result<Option<Json>, TemplateError> {
    match props.get(key) {
        None => Ok(None),
        Some(v) => evaluate(v, b, &format!("{at}.{key}")),
    }
}

fn prop_string(props: &Value, key: &str, b: &Bindings, at: &str) -> Result<Option<String>, TemplateError> {
    prop(props, key, b, at)?
        .map(|j| json_to_string(&j, &format!("{at}.{key}")))
        .transpose()
}

fn prop_u32(props: &Value, key: &str, b: &Bindings, at: &str) -> Result<Option<u32>, TemplateError> {
    prop_string(props, key, b, at)?
        .map(|s| {
            s.parse()
                .map_err(|_| invalid(format!("{at}.{key}"), format!("`{s}` is not a whole number")))
        })
        .transpose()
}

fn prop_bool(props: &Value, key: &str, b: &Bindings, at: &str) -> Result<Option<bool>, TemplateError> {
    prop_string(props, key, b, at)?
        .map(|s| match s.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(invalid(format!("{at}.{key}"), format!("`{s}` is not a boolean"))),
        })
        .transpose()
}

fn key_schema(v: &Json, at: &str) -> Result<Vec<KeyElement>, TemplateError> {
    v.as_array()
        .ok_or_else(|| invalid(at, "KeySchema must be a list"))?
        .iter()
        .map(|k| {
            Ok(KeyElement {
                attribute: k["AttributeName"]
                    .as_str()
                    .ok_or_else(|| invalid(at, "AttributeName"))?
                    .to_owned(),
                key_type: k["KeyType"].as_str().ok_or_else(|| invalid(at, "KeyType"))?.to_owned(),
            })
        })
        .collect()
}

fn indexes(v: Option<Json>, at: &str) -> Result<Vec<IndexSpec>, TemplateError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    v.as_array()
        .ok_or_else(|| invalid(at, "indexes must be a list"))?
        .iter()
        .map(|i| {
            Ok(IndexSpec {
                name: i["IndexName"]
                    .as_str()
                    .ok_or_else(|| invalid(at, "IndexName"))?
                    .to_owned(),
                key_schema: key_schema(&i["KeySchema"], at)?,
                projection_type: i["Projection"]["ProjectionType"].as_str().unwrap_or("ALL").to_owned(),
                non_key_attributes: i["Projection"]["NonKeyAttributes"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn parse_table(id: &str, props: &Value, b: &Bindings) -> Result<TableSpec, TemplateError> {
    let attributes = prop(props, "AttributeDefinitions", b, id)?
        .and_then(|a| a.as_array().cloned())
        .ok_or_else(|| invalid(id, "AttributeDefinitions missing"))?
        .iter()
        .map(|a| {
            Ok((
                a["AttributeName"]
                    .as_str()
                    .ok_or_else(|| invalid(id, "AttributeName"))?
                    .to_owned(),
                a["AttributeType"]
                    .as_str()
                    .ok_or_else(|| invalid(id, "AttributeType"))?
                    .to_owned(),
            ))
        })
        .collect::<Result<BTreeMap<_, _>, TemplateError>>()?;
    let keys = prop(props, "KeySchema", b, id)?.ok_or_else(|| invalid(id, "KeySchema missing"))?;
    let ttl = prop(props, "TimeToLiveSpecification", b, id)?;
    let ttl_attribute = ttl.as_ref().and_then(|t| {
        let enabled = matches!(&t["Enabled"], Json::Bool(true)) || t["Enabled"].as_str() == Some("true");
        enabled
            .then(|| t["AttributeName"].as_str().map(str::to_owned))
            .flatten()
    });
    let flag = |v: Option<Json>, key: &str| {
        v.map(|j| matches!(&j[key], Json::Bool(true)) || j[key].as_str() == Some("true"))
            .unwrap_or(false)
    };
    let table = TableSpec {
        logical_id: id.to_owned(),
        declared_name: prop_string(props, "TableName", b, id)?,
        billing_mode: prop_string(props, "BillingMode", b, id)?.unwrap_or_else(|| "PROVISIONED".into()),
        key_schema: key_schema(&keys, &format!("{id}.KeySchema"))?,
        global_indexes: indexes(
            prop(props, "GlobalSecondaryIndexes", b, id)?,
            &format!("{id}.GlobalSecondaryIndexes"),
        )?,
        local_indexes: indexes(
            prop(props, "LocalSecondaryIndexes", b, id)?,
            &format!("{id}.LocalSecondaryIndexes"),
        )?,
        attributes,
        ttl_attribute,
        point_in_time_recovery: flag(
            prop(props, "PointInTimeRecoverySpecification", b, id)?,
            "PointInTimeRecoveryEnabled",
        ),
        sse: flag(prop(props, "SSESpecification", b, id)?, "SSEEnabled"),
        stream_view_type: prop(props, "StreamSpecification", b, id)?
            .and_then(|s| s["StreamViewType"].as_str().map(str::to_owned)),
    };
    // Every key attribute must be defined, and nothing else (DynamoDB rejects both).
    let mut used: Vec<&str> = table.key_schema.iter().map(|k| k.attribute.as_str()).collect();
    for i in table.global_indexes.iter().chain(&table.local_indexes) {
        used.extend(i.key_schema.iter().map(|k| k.attribute.as_str()));
    }
    for a in &used {
        if !table.attributes.contains_key(*a) {
            return Err(invalid(id, format!("key attribute {a} has no AttributeDefinition")));
        }
    }
    if let Some(extra) = table.attributes.keys().find(|a| !used.contains(&a.as_str())) {
        return Err(invalid(
            id,
            format!("AttributeDefinition {extra} is not used by any key"),
        ));
    }
    Ok(table)
}

fn parse_queue(id: &str, props: &Value, b: &Bindings) -> Result<QueueSpec, TemplateError> {
    let redrive = match props.get("RedrivePolicy") {
        None => None,
        Some(r) => {
            let at = format!("{id}.RedrivePolicy");
            let target = r
                .get("deadLetterTargetArn")
                .ok_or_else(|| invalid(&at, "deadLetterTargetArn missing"))?;
            let dead_letter_queue = referenced_resource(target).ok_or_else(|| {
                invalid(
                    &at,
                    "deadLetterTargetArn must be !GetAtt <queue>.Arn of a queue in this template",
                )
            })?;
            let max = prop_u32(r, "maxReceiveCount", b, &at)?.ok_or_else(|| invalid(&at, "maxReceiveCount missing"))?;
            Some(RedriveSpec {
                dead_letter_queue,
                max_receive_count: max,
            })
        }
    };
    let fifo = prop_bool(props, "FifoQueue", b, id)?.unwrap_or(false);
    Ok(QueueSpec {
        logical_id: id.to_owned(),
        declared_name: prop_string(props, "QueueName", b, id)?,
        fifo,
        content_based_deduplication: prop_bool(props, "ContentBasedDeduplication", b, id)?.unwrap_or(false),
        visibility_timeout: prop_u32(props, "VisibilityTimeout", b, id)?,
        message_retention_period: prop_u32(props, "MessageRetentionPeriod", b, id)?,
        delay_seconds: prop_u32(props, "DelaySeconds", b, id)?,
        maximum_message_size: prop_u32(props, "MaximumMessageSize", b, id)?,
        receive_message_wait_time_seconds: prop_u32(props, "ReceiveMessageWaitTimeSeconds", b, id)?,
        deduplication_scope: prop_string(props, "DeduplicationScope", b, id)?,
        fifo_throughput_limit: prop_string(props, "FifoThroughputLimit", b, id)?,
        redrive,
    })
}

/// SAM's Globals semantics: maps merge (the function wins on conflicts), anything else
/// set on the function replaces the global value.
fn merge_globals(globals: &Value, props: &Value) -> Value {
    match (globals, props) {
        (Value::Mapping(g), Value::Mapping(p)) => {
            let mut out = g.clone();
            for (k, v) in p {
                let merged = match out.get(k) {
                    Some(gv) if intrinsic(gv).is_none() && intrinsic(v).is_none() => merge_globals(gv, v),
                    _ => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Mapping(out)
        }
        (_, p) => p.clone(),
    }
}

fn parse_function(id: &str, resource: &Value, props: &Value, b: &Bindings) -> Result<FunctionSpec, TemplateError> {
    let environment = props
        .get("Environment")
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut events = Vec::new();
    for (name, event) in mapping(props.get("Events")).into_iter().flatten() {
        let name = name.as_str().unwrap_or_default().to_owned();
        let at = format!("{id}.Events.{name}");
        let kind = event.get("Type").and_then(Value::as_str).unwrap_or_default().to_owned();
        let empty = Value::Mapping(Default::default());
        let ep = event.get("Properties").unwrap_or(&empty);
        events.push(match kind.as_str() {
            "HttpApi" => EventSpec::HttpApi {
                name,
                api: ep.get("ApiId").and_then(referenced_resource),
                method: prop_string(ep, "Method", b, &at)?
                    .unwrap_or_else(|| "ANY".into())
                    .to_ascii_uppercase(),
                path: prop_string(ep, "Path", b, &at)?.unwrap_or_else(|| "$default".into()),
            },
            "SQS" => {
                let queue = ep
                    .get("Queue")
                    .and_then(referenced_resource)
                    .ok_or_else(|| invalid(&at, "Queue must be !GetAtt <queue>.Arn of a queue in this template"))?;
                let response_types = prop(ep, "FunctionResponseTypes", b, &at)?;
                EventSpec::Sqs {
                    name,
                    queue,
                    batch_size: prop_u32(ep, "BatchSize", b, &at)?.unwrap_or(10),
                    maximum_batching_window_seconds: prop_u32(ep, "MaximumBatchingWindowInSeconds", b, &at)?
                        .unwrap_or(0),
                    report_batch_item_failures: response_types
                        .and_then(|t| t.as_array().cloned())
                        .is_some_and(|t| t.iter().any(|x| x.as_str() == Some("ReportBatchItemFailures"))),
                    enabled: prop_bool(ep, "Enabled", b, &at)?.unwrap_or(true),
                }
            }
            _ => EventSpec::Other { name, kind },
        });
    }
    Ok(FunctionSpec {
        logical_id: id.to_owned(),
        binary: resource
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|p| p.get("Binary"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        runtime: prop_string(props, "Runtime", b, id)?,
        handler: prop_string(props, "Handler", b, id)?,
        timeout_seconds: prop_u32(props, "Timeout", b, id)?
            .map(u64::from)
            .unwrap_or(SAM_DEFAULT_TIMEOUT),
        memory_mb: prop_u32(props, "MemorySize", b, id)?
            .map(u64::from)
            .unwrap_or(SAM_DEFAULT_MEMORY),
        environment,
        events,
    })
}

fn parse_http_api(id: &str, props: &Value, b: &Bindings) -> Result<HttpApiSpec, TemplateError> {
    let at = format!("{id}.CorsConfiguration");
    let cors = match prop(props, "CorsConfiguration", b, id)? {
        None | Some(Json::Bool(false)) => None,
        Some(Json::Bool(true)) => Some(CorsSpec {
            allow_origins: vec!["*".into()],
            ..Default::default()
        }),
        Some(c) => {
            let strings = |key: &str| -> Result<Vec<String>, TemplateError> {
                match &c[key] {
                    Json::Null => Ok(Vec::new()),
                    Json::Array(items) => items.iter().map(|i| json_to_string(i, &at)).collect(),
                    other => Ok(json_to_string(other, &at)?
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .collect()),
                }
            };
            Some(CorsSpec {
                allow_origins: strings("AllowOrigins")?,
                allow_methods: strings("AllowMethods")?,
                allow_headers: strings("AllowHeaders")?,
                expose_headers: strings("ExposeHeaders")?,
                max_age: match &c["MaxAge"] {
                    Json::Null => None,
                    v => json_to_string(v, &at)?.parse().ok(),
                },
                allow_credentials: matches!(c["AllowCredentials"], Json::Bool(true)),
            })
        }
    };
    Ok(HttpApiSpec {
        logical_id: id.to_owned(),
        cors,
    })
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
                ("EmailSenderFunction", "email-sender"),
                ("IntakeSweeperFunction", "intake-sweeper"),
                ("WebformApiFunction", "webform-api")
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
                ("POST".into(), "/support/submit".into(), api.clone()),
                ("GET".into(), "/support/ticket/{id}".into(), api)
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

        let sender = t.environment("EmailSenderFunction", &b).unwrap();
        assert_eq!(sender["SENDER_ADDRESS"], "support@tandem.example");
        assert_eq!(sender["SES_CONFIGURATION_SET"], "");
        assert_eq!(sender["TICKETS_TABLE"], "local-tickets");
    }

    #[test]
    fn parameter_overrides_are_checked_against_allowed_values() {
        let t = template();
        let ok = BTreeMap::from([("ModelProvider".to_owned(), "offline".to_owned())]);
        assert_eq!(
            Bindings::with_parameters(&t, &ok).unwrap().parameters["ModelProvider"],
            "offline"
        );
        let bad = BTreeMap::from([("ModelProvider".to_owned(), "gpt".to_owned())]);
        assert!(Bindings::with_parameters(&t, &bad).is_err());
        let unknown = BTreeMap::from([("Nope".to_owned(), "x".to_owned())]);
        assert!(Bindings::with_parameters(&t, &unknown).is_err());
    }

    #[test]
    fn intrinsics_in_both_forms() {
        let t = StackTemplate::parse(
            r#"
Parameters:
  Name: {Type: String, Default: maya@northwind.example}
  Empty: {Type: String, Default: ""}
Conditions:
  HasEmpty: !Not [!Equals [!Ref Empty, ""]]
Resources:
  Q: {Type: AWS::SQS::Queue}
  F:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          LONG_REF: {Ref: Q}
          LONG_ATT: {"Fn::GetAtt": [Q, Arn]}
          SUB: !Sub "${AWS::Region}/${Q.QueueName}/${Name}/${!Literal}"
          SUB_VARS: !Sub ["${Domain}", {Domain: !Select [1, !Split ["@", !Ref Name]]}]
          JOIN: !Join ["-", [a, !Ref AWS::AccountId]]
          IF: !If [HasEmpty, yes, no]
          NUMBER: 5
          GONE: !Ref AWS::NoValue
"#,
        )
        .unwrap();
        let mut b = Bindings::with_parameters(&t, &BTreeMap::new()).unwrap();
        b.refs.insert("Q".into(), "http://q".into());
        b.attributes.insert(("Q".into(), "Arn".into()), "arn:q".into());
        b.attributes.insert(("Q".into(), "QueueName".into()), "local-q".into());
        let env = t.environment("F", &b).unwrap();
        assert_eq!(env["LONG_REF"], "http://q");
        assert_eq!(env["LONG_ATT"], "arn:q");
        assert_eq!(env["SUB"], "us-east-1/local-q/maya@northwind.example/${Literal}");
        assert_eq!(env["SUB_VARS"], "northwind.example");
        assert_eq!(env["JOIN"], "a-123456789012");
        assert_eq!(env["IF"], "no");
        assert_eq!(env["NUMBER"], "5");
        assert!(!env.contains_key("GONE"));

        let missing = StackTemplate::parse(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          X: !GetAtt Nope.Arn\n",
        )
        .unwrap();
        let err = missing.environment("F", &Bindings::default()).unwrap_err().to_string();
        assert!(err.contains("Nope.Arn"), "{err}");
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
