//! The CloudFormation intrinsics (`!Ref`, `!GetAtt`, `!Sub`, `!Join`, `!Split`, `!Select`,
//! `!If` and the condition functions), in their short (`!Ref x`) and long (`{Ref: x}`)
//! forms, evaluated against what they mean locally: parameter values, pseudo parameters and
//! the provisioned resources.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use serde_norway::Value;

use crate::template::{invalid, StackTemplate, TemplateError};

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
pub(crate) fn intrinsic(v: &Value) -> Option<(String, &Value)> {
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

/// An intrinsic's arguments in their shape, e.g. `(delimiter, list)` for `Fn::Join`.
fn arguments<T: DeserializeOwned>(arg: &Value, name: &str, at: &str) -> Result<T, TemplateError> {
    serde_norway::from_value(arg.clone()).map_err(|e| invalid(at, format!("malformed {name}: {e}")))
}

fn evaluate_intrinsic(name: &str, arg: &Value, b: &Bindings, at: &str) -> Result<Option<Json>, TemplateError> {
    let text = |v: &Value| evaluate_string(v, b, at)?.ok_or_else(|| invalid(at, format!("{name}: AWS::NoValue")));
    let list = |v: &Value| match evaluate(v, b, at)? {
        Some(Json::Array(items)) => Ok(items),
        other => Err(invalid(at, format!("{name}: expected a list, got {other:?}"))),
    };
    let unresolved = |what: String| invalid(at, format!("cannot resolve {what} locally"));
    match name {
        "Ref" => match arguments::<String>(arg, name, at)?.as_str() {
            "AWS::NoValue" => Ok(None),
            target => b
                .reference(target)
                .map(Some)
                .ok_or_else(|| unresolved(format!("!Ref {target}"))),
        },
        "Fn::GetAtt" => {
            let (id, attr) = get_att_target(arg).ok_or_else(|| invalid(at, "malformed GetAtt"))?;
            let value = b
                .attribute(&id, &attr)
                .ok_or_else(|| unresolved(format!("!GetAtt {id}.{attr}")))?;
            Ok(Some(Json::String(value)))
        }
        "Fn::Sub" => {
            let (template, variables): (String, BTreeMap<String, Value>) = match arg {
                Value::String(s) => (s.clone(), BTreeMap::new()),
                _ => arguments(arg, name, at)?,
            };
            let mut vars = BTreeMap::new();
            for (k, v) in &variables {
                vars.insert(k.clone(), text(v)?);
            }
            substitute(&template, &vars, b, at).map(|s| Some(Json::String(s)))
        }
        "Fn::Join" => {
            let (delimiter, items): (Value, Value) = arguments(arg, name, at)?;
            let parts: Vec<String> = list(&items)?
                .iter()
                .map(|j| json_to_string(j, at))
                .collect::<Result<_, _>>()?;
            Ok(Some(Json::String(parts.join(&text(&delimiter)?))))
        }
        "Fn::Split" => {
            let (delimiter, source): (Value, Value) = arguments(arg, name, at)?;
            let (delimiter, source) = (text(&delimiter)?, text(&source)?);
            Ok(Some(source.split(delimiter.as_str()).collect::<Vec<_>>().into()))
        }
        "Fn::Select" => {
            let (index, items): (Value, Value) = arguments(arg, name, at)?;
            let index: usize = text(&index)?.parse().map_err(|_| invalid(at, "Select index"))?;
            let item = list(&items)?.get(index).cloned();
            item.map(Some).ok_or_else(|| invalid(at, "Select index out of range"))
        }
        "Fn::If" => {
            let (condition, yes, no): (String, Value, Value) = arguments(arg, name, at)?;
            evaluate(if b.condition(&condition, at)? { &yes } else { &no }, b, at)
        }
        // A condition expression used as a value.
        "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
            condition(name, arg, b, at).map(|x| Some(Json::Bool(x)))
        }
        other => Err(invalid(
            at,
            format!("intrinsic {other} is not supported by the local stack"),
        )),
    }
}

fn condition_value(v: &Value, b: &Bindings, at: &str) -> Result<bool, TemplateError> {
    let (name, arg) = intrinsic(v).ok_or_else(|| invalid(at, "a condition must be Fn::Equals/Not/And/Or/Condition"))?;
    condition(&name, arg, b, at)
}

fn condition(name: &str, arg: &Value, b: &Bindings, at: &str) -> Result<bool, TemplateError> {
    let each = |conditions: Vec<Value>| -> Result<Vec<bool>, TemplateError> {
        conditions.iter().map(|c| condition_value(c, b, at)).collect()
    };
    match name {
        "Fn::Equals" => {
            let (x, y): (Value, Value) = arguments(arg, name, at)?;
            Ok(evaluate(&x, b, at)? == evaluate(&y, b, at)?)
        }
        "Fn::Not" => {
            let (c,): (Value,) = arguments(arg, name, at)?;
            Ok(!condition_value(&c, b, at)?)
        }
        "Fn::And" => Ok(each(arguments(arg, name, at)?)?.into_iter().all(|x| x)),
        "Fn::Or" => Ok(each(arguments(arg, name, at)?)?.into_iter().any(|x| x)),
        "Condition" => b.condition(&arguments::<String>(arg, name, at)?, at),
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

/// Evaluates a template value to a string; `None` is `AWS::NoValue`.
pub(crate) fn evaluate_string(v: &Value, b: &Bindings, at: &str) -> Result<Option<String>, TemplateError> {
    evaluate(v, b, at)?.map(|j| json_to_string(&j, at)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn parameter_overrides_are_checked_against_allowed_values() {
        let t = StackTemplate::parse(include_str!("../../../template.yaml")).unwrap();
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
}
