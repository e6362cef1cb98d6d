//! The web form's fields checked against `shared/webform-rules.json` (see [`RULES`]), the
//! same file the browser form reads, and against the text hygiene rules the form mirrors.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::rules::{LengthRule, RULES};
use crate::domain::{parse_email_address, parse_variant, text, Category, EmailAddress, Priority, UnknownVariant};

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

    /// The trimmed string value of `field` with bidirectional controls removed, or `None`
    /// after recording why not.
    fn text(&mut self, field: &'static str, label: &str, rule: &LengthRule, single_line: bool) -> Option<String> {
        let value = match self.form.get(field) {
            None | Some(Value::Null) => {
                self.fail(field, format!("{label} is required"));
                return None;
            }
            Some(Value::String(s)) => text::without_bidi_controls(s).trim().to_owned(),
            Some(_) => {
                self.fail(field, format!("{label} must be text"));
                return None;
            }
        };
        let length = value.chars().count();
        if text::is_blank(&value) {
            self.fail(field, format!("{label} is required"));
        } else if length < rule.min {
            self.fail(field, format!("{label} must be at least {} characters", rule.min));
        } else if length > rule.max {
            self.fail(field, format!("{label} must be at most {} characters", rule.max));
        } else if single_line && value.chars().any(char::is_control) {
            self.fail(field, format!("{label} must be a single line of text"));
        } else if text::has_stray_controls(&value) {
            self.fail(field, format!("{label} contains characters that are not text"));
        } else {
            return Some(value);
        }
        None
    }

    fn choice<T>(
        &mut self,
        field: &'static str,
        label: &str,
        parse: impl Fn(&str) -> Result<T, UnknownVariant>,
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
                    self.fail(field, format!("{label} must be one of: {}", e.allowed));
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
        .and_then(|raw| match parse_email_address(&raw) {
            Ok(email) => Some(email),
            Err(_) => {
                check.fail("email", "Email must be a valid email address");
                None
            }
        });
    let subject = check.text("subject", "Subject", &rules.subject, true);
    let category = check.choice("category", "Category", parse_variant::<Category>, None);
    let message = check.text("message", "Message", &rules.message, false);
    let priority = check.choice(
        "priority",
        "Priority",
        parse_variant::<Priority>,
        Some(Priority::Medium),
    );
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

/// Checks a follow-up to a ticket (its message alone) like the form's message field.
pub fn validate_follow_up(form: &Map<String, Value>) -> Result<String, Vec<FieldError>> {
    let mut check = Checker {
        form,
        errors: Vec::new(),
    };
    check
        .text("message", "Message", &RULES.message, false)
        .ok_or(check.errors)
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

    #[test]
    fn hidden_characters_are_refused_or_removed() {
        let mut v = valid();
        v["name"] = json!("\u{200B}\u{200D}");
        v["subject"] = json!(" \u{FEFF} \u{2060} ");
        v["message"] = json!("Hello\u{0}there, the board is broken");
        v["email"] = json!("Eve <eve@evil.example>");
        let errors = validate(&form(v)).unwrap_err();
        assert_eq!(fields(&errors), ["name", "email", "subject", "message"]);
        assert_eq!(errors[0].message, "Name is required");
        assert_eq!(errors[3].message, "Message contains characters that are not text");

        let mut v = valid();
        v["subject"] = json!("Invoice \u{202e}fdp.exe");
        assert_eq!(validate(&form(v)).unwrap().subject, "Invoice fdp.exe");
        for address in ["bob@[127.0.0.1]", "first.last@localhost"] {
            let mut v = valid();
            v["email"] = json!(address);
            assert_eq!(fields(&validate(&form(v)).unwrap_err()), ["email"], "{address}");
        }
    }
}
