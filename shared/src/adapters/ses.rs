use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};
use aws_sdk_sesv2::Client;

use crate::ports::{InfraError, Mailer};

/// Sends raw MIME through SES v2 (raw, so that threading headers survive).
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, configuration_set: Option<String>) -> Self {
        Self {
            client,
            configuration_set,
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send_raw(&self, mime: Vec<u8>) -> Result<String, InfraError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mime))
            .build()
            .map_err(|e| InfraError::new("build raw email", e))?;
        let out = self
            .client
            .send_email()
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| InfraError::new("send email", aws_sdk_sesv2::error::DisplayErrorContext(e).to_string()))?;
        out.message_id
            .ok_or_else(|| InfraError::new("send email", "SES returned no message id"))
    }
}
