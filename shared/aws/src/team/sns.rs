//! The team's notices on an SNS topic: its email subscribers read the subject and the
//! text, its HTTPS subscribers the same text with the notice as message attributes.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use support_core::ports::team::{TeamNotice, TeamNotifier};
use support_core::ports::InfraError;

/// SNS refuses a subject longer than this, or with a line break.
const MAX_SUBJECT_CHARS: usize = 100;

pub struct SnsTeamNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsTeamNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

fn attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data type is set")
}

#[async_trait]
impl TeamNotifier for SnsTeamNotifier {
    async fn notify(&self, notice: &TeamNotice) -> Result<(), InfraError> {
        let subject: String = notice
            .title()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_SUBJECT_CHARS)
            .collect();
        let mut publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(notice.text())
            .message_attributes("kind", attribute(notice.kind.as_str()))
            .message_attributes("ticket_id", attribute(notice.ticket_id.as_str()));
        if let Some(assignee) = &notice.assignee {
            publish = publish.message_attributes("assignee", attribute(assignee));
        }
        publish.send().await.map_err(|e| {
            InfraError::new(
                "publish team notice",
                aws_sdk_sns::error::DisplayErrorContext(e).to_string(),
            )
        })?;
        Ok(())
    }
}
