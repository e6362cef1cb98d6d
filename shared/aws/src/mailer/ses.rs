use async_trait::async_trait;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, RawMessage};
use aws_sdk_sesv2::Client;
use support_core::ports::mailer::{MailError, Mailer};
use support_core::ports::InfraError;

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

/// SES's answers that the same message will get again: the address or the message is
/// refused, not the moment.
fn is_permanent(error: &SendEmailError) -> bool {
    matches!(
        error,
        SendEmailError::MessageRejected(_)
            | SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::BadRequestException(_)
            | SendEmailError::NotFoundException(_)
    )
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send_raw(&self, mime: Vec<u8>) -> Result<String, MailError> {
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
            .map_err(|e| {
                let text = DisplayErrorContext(&e).to_string();
                match e.as_service_error() {
                    Some(service) if is_permanent(service) => MailError::Rejected(text),
                    _ => MailError::Unavailable(InfraError::new("send email", text)),
                }
            })?;
        out.message_id
            .ok_or_else(|| MailError::Unavailable(InfraError::new("send email", "SES returned no message id")))
    }
}
