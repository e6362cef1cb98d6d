//! The web support form's API: submit a request, read a ticket's status.

mod api;
mod validation;

pub use api::{TicketView, WebformApi};
pub use validation::{validate, FieldError, FormRules, ValidSubmission, RULES};
