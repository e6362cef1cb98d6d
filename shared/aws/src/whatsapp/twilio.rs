//! WhatsApp through Twilio's Messages API: `POST /2010-04-01/Accounts/{sid}/Messages.json`
//! with a form body and basic auth; listing the messages sent to a customer is how a retry
//! learns what an attempt that stopped midway already sent. The base URL is configurable
//! (a local stand-in on one machine).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use support_core::domain::DeliveryStatus;
use support_core::ports::whatsapp::{OutgoingMessage, ProviderMessage, WhatsappApi, WhatsappError};

use crate::twilio::delivery_status;

/// How long one API call may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How many of the customer's latest messages a retry looks through.
const LOOKBACK: usize = 50;

pub struct TwilioMessages {
    http: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: SecretString,
    /// The WhatsApp sender's number, E.164.
    from: String,
}

#[derive(Deserialize)]
struct Message {
    sid: String,
    status: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    date_created: Option<String>,
}

#[derive(Deserialize)]
struct MessageList {
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct ApiError {
    code: Option<u32>,
    message: Option<String>,
}

impl Message {
    fn provider_message(self) -> ProviderMessage {
        ProviderMessage {
            status: delivery_status(&self.status).unwrap_or(DeliveryStatus::Queued),
            sid: self.sid,
        }
    }
}

/// Whether Twilio refused the request for good: a 4xx about the message itself. Throttling
/// (429) passes, and 401, 403 and 404 are this deployment's configuration (credentials, the
/// account), not the message's: they fail until someone fixes it, and the queue keeps the
/// reply meanwhile.
fn is_refusal(status: StatusCode) -> bool {
    status.is_client_error()
        && !matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
        )
}

impl TwilioMessages {
    pub fn new(base_url: &str, account_sid: String, auth_token: SecretString, from: String) -> reqwest::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?,
            messages_url: format!("{base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"),
            account_sid,
            auth_token,
            from,
        })
    }

    fn whatsapp(number: &str) -> String {
        format!("whatsapp:{number}")
    }

    /// What an answer other than success means for the message.
    async fn failure(response: reqwest::Response) -> WhatsappError {
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs);
        let detail: Option<ApiError> = response.json().await.ok();
        let code = detail
            .as_ref()
            .and_then(|d| d.code)
            .unwrap_or(u32::from(status.as_u16()));
        let message = detail.and_then(|d| d.message).unwrap_or_else(|| status.to_string());
        if status == StatusCode::TOO_MANY_REQUESTS {
            WhatsappError::Throttled { retry_after }
        } else if is_refusal(status) {
            WhatsappError::Refused { code, message }
        } else {
            WhatsappError::Unavailable {
                why: format!("HTTP {status}: {message}"),
                // A server error may come after the message was created.
                may_have_sent: status.is_server_error(),
            }
        }
    }

    /// The request, authenticated as the account; a successful answer, or what its failure means.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, WhatsappError> {
        let response = request
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .send()
            .await
            .map_err(Self::unreachable)?;
        match response.status().is_success() {
            true => Ok(response),
            false => Err(Self::failure(response).await),
        }
    }

    fn unreachable(e: reqwest::Error) -> WhatsappError {
        WhatsappError::Unavailable {
            // A request that never connected created nothing; one that timed out may have.
            may_have_sent: !e.is_connect(),
            why: e.to_string(),
        }
    }
}

#[async_trait]
impl WhatsappApi for TwilioMessages {
    async fn send(&self, message: &OutgoingMessage) -> Result<ProviderMessage, WhatsappError> {
        let mut form = vec![
            ("To", Self::whatsapp(&message.to)),
            ("From", Self::whatsapp(&self.from)),
            ("Body", message.body.clone()),
        ];
        if let Some(callback) = &message.status_callback {
            form.push(("StatusCallback", callback.clone()));
        }
        let response = self.call(self.http.post(&self.messages_url).form(&form)).await?;
        let created: Message = response.json().await.map_err(|e| WhatsappError::Unavailable {
            why: format!("unreadable answer: {e}"),
            may_have_sent: true,
        })?;
        Ok(created.provider_message())
    }

    async fn find_sent(
        &self,
        to: &str,
        body: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<ProviderMessage>, WhatsappError> {
        let query = [
            ("To", Self::whatsapp(to)),
            ("From", Self::whatsapp(&self.from)),
            ("PageSize", LOOKBACK.to_string()),
        ];
        let response = self.call(self.http.get(&self.messages_url).query(&query)).await?;
        let list: MessageList = response.json().await.map_err(|e| WhatsappError::Unavailable {
            why: format!("unreadable message list: {e}"),
            may_have_sent: false,
        })?;
        let created_since = |m: &Message| {
            m.date_created
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
                .is_some_and(|d| d >= since)
        };
        Ok(list
            .messages
            .into_iter()
            .find(|m| m.body == body && created_since(m))
            .map(Message::provider_message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_about_the_message_are_final() {
        assert!(is_refusal(StatusCode::BAD_REQUEST));
        for passing in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::UNAUTHORIZED,
            StatusCode::NOT_FOUND,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            assert!(!is_refusal(passing), "{passing}");
        }
    }
}
