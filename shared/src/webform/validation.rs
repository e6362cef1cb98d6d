//! The web form's rules, from `shared/webform-rules.json`: the same file the
//! browser form imports, so client and server can never disagree.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{Category, EmailAddress, Priority};

#[derive(Debug, Deserialize)]
pub struct LengthRule {
    #[serde(default)]
    pub min: usize,
    pub max: usize,
}

#[derive(Debug, Deserialize)]
pub struct FormRules {
    pub name: LengthRule,
    pub subject: LengthRule,
    pub message: LengthRule,
    pub email: LengthRule,
    pub max_body_bytes: usize,
}

pub static RULES: LazyLock<FormRules> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../webform-rules.json")).expect("webform-rules.json is valid")
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// A submission that passed every rule; fields are trimmed.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSubmission {
    pub name: String,
    pub email: EmailAddress,
    pub subject: String,
    pub category: Category,
    pub priority: Priority,
    pub message: String,
}

struct Checker<'a> {
    form: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Checker<'_> {
    fn fail(&mut self, field: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field,
            message: message.into(),
        });
    }

    /// The trimmed string value of `field`, or `None` after recording why not.
    fn text(&mut self, field: &'static str, label: &str, rule: &LengthRule, single_line: bool) -> Option<String> {
        let value = match self.form.get(field) {
            None | Some(Value::Null) => {
                self.fail(field, format!("{label} is required"));
                return None;
            }
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(_) => {
                self.fail(field, format!("{label} must be text"));
                return None;
            }
        };
        let length = value.chars().count();
        if length == 0 {
            self.fail(field, format!("{label} is required"));
        } else if length < rule.min {
            self.fail(field, format!("{label} must be at least {} characters", rule.min));
        } else if length > rule.max {
            self.fail(field, format!("{label} must be at most {} characters", rule.max));
        } else if single_line && value.chars().any(char::is_control) {
            self.fail(field, format!("{label} must be a single line of text"));
        } else {
            return Some(value);
        }
        None
    }

    fn choice<T>(
        &mut self,
        field: &'static str,
        label: &str,
        parse: impl Fn(&str) -> Result<T, crate::domain::UnknownVariant>,
        default: Option<T>,
    ) -> Option<T> {
        match self.form.get(field) {
            None | Some(Value::Null) => {
                if default.is_none() {
                    self.fail(field, format!("{label} is required"));
                }
                default
            }
            Some(Value::String(s)) => match parse(s.trim()) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.fail(
                        field,
                        format!("{label} must be one of: {}", e.allowed.replace(' ', ", ")),
                    );
                    None
                }
            },
            Some(_) => {
                self.fail(field, format!("{label} must be text"));
                None
            }
        }
    }
}

/// Checks a decoded JSON form against every rule and reports all failures at once.
pub fn validate(form: &Map<String, Value>) -> Result<ValidSubmission, Vec<FieldError>> {
    let rules = &*RULES;
    let mut check = Checker {
        form,
        errors: Vec::new(),
    };
    let name = check.text("name", "Name", &rules.name, true);
    let email = check
        .text("email", "Email", &rules.email, true)
        .and_then(|raw| match raw.parse::<EmailAddress>() {
            Ok(email) if raw.contains('.') => Some(email),
            _ => {
                check.fail("email", "Email must be a valid email address");
                None
            }
        });
    let subject = check.text("subject", "Subject", &rules.subject, true);
    let category = check.choice("category", "Category", Category::parse, None);
    let message = check.text("message", "Message", &rules.message, false);
    let priority = check.choice("priority", "Priority", Priority::parse, Some(Priority::Medium));
    match (name, email, subject, category, message, priority) {
        (Some(name), Some(email), Some(subject), Some(category), Some(message), Some(priority))
            if check.errors.is_empty() =>
        {
            Ok(ValidSubmission {
                name,
                email,
                subject,
                category,
                priority,
                message,
            })
        }
        _ => Err(check.errors),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn form(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn valid() -> Value {
        json!({
            "name": "Maya Lin",
            "email": "maya@northwind.example",
            "subject": "Cannot invite teammate",
            "category": "technical",
            "message": "The invite button is greyed out on my board.",
        })
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_form_is_trimmed_and_priority_defaults_to_medium() {
        let mut v = valid();
        v["name"] = json!("  Maya Lin  ");
        let ok = validate(&form(v)).unwrap();
        assert_eq!(ok.name, "Maya Lin");
        assert_eq!(ok.priority, Priority::Medium);
        assert_eq!(ok.category, Category::Technical);
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let errors = validate(&Map::new()).unwrap_err();
        assert_eq!(fields(&errors), ["name", "email", "subject", "category", "message"]);
    }

    #[test]
    fn lengths_are_enforced_at_their_boundaries() {
        let cases = [
            ("name", "A".into(), false),
            ("name", "Al".into(), true),
            ("name", "a".repeat(100), true),
            ("name", "a".repeat(101), false),
            ("subject", "Help".into(), false),
            ("subject", "Help!".into(), true),
            ("subject", "s".repeat(200), true),
            ("subject", "s".repeat(201), false),
            ("message", "123456789".into(), false),
            ("message", "1234567890".into(), true),
            ("message", "m".repeat(5000), true),
            ("message", "m".repeat(5001), false),
            // Characters, not bytes: 10 emoji are a valid message.
            ("message", "🙂".repeat(10), true),
        ];
        for (field, value, accepted) in cases {
            let mut v = valid();
            v[field] = json!(value);
            assert_eq!(validate(&form(v)).is_ok(), accepted, "{field} = {value:?}");
        }
    }

    #[test]
    fn wrong_values_get_clear_messages() {
        let mut v = valid();
        v["email"] = json!("not-an-email");
        v["category"] = json!("sales");
        v["priority"] = json!("urgent");
        v["name"] = json!(42);
        v["subject"] = json!("Hello\r\nBcc: victim@example.com");
        let errors = validate(&form(v)).unwrap_err();
        assert_eq!(fields(&errors), ["name", "email", "subject", "category", "priority"]);
        assert_eq!(errors[0].message, "Name must be text");
        assert_eq!(
            errors[3].message,
            "Category must be one of: general, technical, billing, bug_report, feedback"
        );
        assert_eq!(errors[2].message, "Subject must be a single line of text");
    }
}
