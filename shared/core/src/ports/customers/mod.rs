//! One customer across channels, found by any of their proven identities.
//!
//! Only proven identities reach here: the intake identifies a sender only when its channel
//! proved who sent the message ([`IdentityProof`]); a claimed address stays on its own
//! ticket. Two customers become one only on proof (a one-time code), recorded on the
//! customer with how it was proven.

pub mod memory;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::InfraError;
use crate::domain::{Channel, CustomerId, EmailAddress, IdentityProof, Sender};

#[async_trait]
pub trait CustomerDirectory: Send + Sync {
    /// The customer owning any identity of `sender` (email, phone), with identities not yet
    /// known to them linked; a new customer when none matches. Safe under concurrent calls
    /// for the same identity: exactly one customer results. `proof` is how the channel
    /// proved the sender: it is recorded with the identities.
    async fn identify(
        &self,
        sender: &Sender,
        proof: IdentityProof,
        now: DateTime<Utc>,
    ) -> Result<CustomerId, InfraError>;
}

/// What linking a proven email address did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    /// The customer who now owns both identities.
    pub customer: CustomerId,
    /// The customer merged into it, when the address belonged to another customer: its
    /// identities now point to [`Linked::customer`] and its history is to be moved there.
    pub merged_from: Option<CustomerId>,
}

/// What a customer is known by.
#[async_trait]
pub trait CustomerChannels: Send + Sync {
    /// The channels the customer is known on by proven identities.
    async fn channels(&self, customer: &CustomerId) -> Result<Vec<Channel>, InfraError>;
}

/// What the agent may do with identities once a customer proved one.
#[async_trait]
pub trait IdentityLinks: CustomerChannels {
    /// The customer an email address belongs to, if any. Never told to the one who claims it.
    async fn owner_of_email(&self, email: &EmailAddress) -> Result<Option<CustomerId>, InfraError>;

    /// `customer` proved `email` (how: `proof`, through its identity `through`, e.g. the
    /// phone a code came back on): the two become one customer, recorded on it. Safe to run
    /// again.
    async fn link_email(
        &self,
        customer: &CustomerId,
        email: &EmailAddress,
        proof: IdentityProof,
        through: &str,
        now: DateTime<Utc>,
    ) -> Result<Linked, InfraError>;
}

/// One identity of a customer and how it was proven, as recorded on the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenIdentity {
    /// The identity key (`EMAIL#…`, `PHONE#…`).
    pub identity: String,
    pub proof: IdentityProof,
    pub at: DateTime<Utc>,
    /// The other identity the proof went through (a code sent to one came back on the other).
    #[serde(default)]
    pub via: Option<String>,
}

/// The identity key of an email address (lower-cased).
pub fn email_key(email: &EmailAddress) -> String {
    format!("EMAIL#{}", email.as_str().to_lowercase())
}

/// The identity key of a phone number (E.164) or WhatsApp id.
pub fn phone_key(phone: &str) -> String {
    format!("PHONE#{phone}")
}

/// The identity keys of a sender: lower-cased email, phone as given (E.164).
pub fn identity_keys(sender: &Sender) -> Vec<String> {
    let email = sender.email.as_ref().map(email_key);
    let phone = sender.phone.as_deref().map(phone_key);
    email.into_iter().chain(phone).collect()
}

/// The channel an identity key reaches the customer on.
pub fn channel_of(identity: &str) -> Option<Channel> {
    if identity.starts_with("EMAIL#") {
        Some(Channel::Email)
    } else if identity.starts_with("PHONE#") {
        Some(Channel::Whatsapp)
    } else {
        None
    }
}

/// The channels of a customer's identities, each once, in a stable order.
pub fn channels_of<'a>(identities: impl IntoIterator<Item = &'a str>) -> Vec<Channel> {
    let mut channels: Vec<Channel> = identities.into_iter().filter_map(channel_of).collect();
    channels.sort_by_key(|c| c.as_str());
    channels.dedup();
    channels
}
