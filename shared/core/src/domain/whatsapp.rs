//! WhatsApp's rules that the product designs around (Twilio's and Meta's, not ours).

use chrono::{DateTime, Duration, Utc};

/// The customer-service window: free-form replies only within 24 hours of the customer's
/// last message. Outside it only approved templates may be sent (Twilio error 63016).
pub const SESSION_WINDOW: Duration = Duration::hours(24);

/// Twilio's error when a free-form message is sent outside the window.
pub const WINDOW_CLOSED_ERROR: u32 = 63016;

/// The longest message WhatsApp lets a customer send, in characters.
pub const MAX_INBOUND_CHARS: usize = 4096;

/// Whether a free-form reply may still be sent, the customer having last written at `last_inbound`.
pub fn window_open(last_inbound: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < last_inbound + SESSION_WINDOW
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_closes_24_hours_after_the_customers_last_message() {
        let wrote = Utc::now();
        assert!(window_open(wrote, wrote + Duration::hours(23) + Duration::minutes(59)));
        assert!(!window_open(wrote, wrote + Duration::hours(24)));
    }
}
