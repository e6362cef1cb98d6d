//! The web support form: its fields checked, and what the status page may show of a ticket.

mod validation;
mod view;

pub use validation::{validate, FieldError, ValidSubmission};
pub use view::TicketView;
