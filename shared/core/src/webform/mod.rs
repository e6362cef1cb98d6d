//! The web support form: its fields checked, and what the status page may show of a ticket.

mod validation;
mod view;

/// Where a claimed address is confirmed: `GET <site>/support/confirm/<ticket id>?token=…`
/// (the form API's route, template.yaml).
pub const CONFIRM_PATH: &str = "/support/confirm";

pub use validation::{validate, validate_follow_up, FieldError, ValidSubmission};
pub use view::TicketView;
