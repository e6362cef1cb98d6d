//! Gmail's push endpoint: Pub/Sub's signed notice that the support mailbox changed. The
//! notice is verified (Google's OIDC token), decoded, and answered by a sync of the inbox
//! from the stored history id; a 2xx acknowledges it, anything else makes Pub/Sub retry.

use lambda_http::{Body, Request, Response};
use support_core::inbox::{InboxSync, SyncError};

use super::http::{self, body_bytes, error, json_response};
use crate::google::push::{decode_push, PushVerifier};

pub const PUSH: &str = "POST /webhooks/gmail";
/// The route keys this function serves: template.yaml's `HttpApi` events of the function.
pub const ROUTES: &[&str] = &[PUSH];
/// A push is a few hundred bytes: anything far larger is not one.
const MAX_BODY_BYTES: usize = 16 * 1024;

pub struct GmailPush {
    verifier: PushVerifier,
    sync: InboxSync,
}

impl GmailPush {
    pub fn new(verifier: PushVerifier, sync: InboxSync) -> Self {
        Self { verifier, sync }
    }

    /// Answers one push. Nothing is read from the mailbox unless the push is Google's, for
    /// this mailbox.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        http::counted(self.answer(request).await)
    }

    async fn answer(&self, request: Request) -> Response<Body> {
        let authorization = request.headers().get("authorization").and_then(|v| v.to_str().ok());
        if let Err(rejected) = self.verifier.verify(authorization).await {
            tracing::warn!(reason = %rejected, "a push that is not Google's for this subscription");
            let code = match rejected.status() {
                403 => "forbidden",
                _ => "unauthenticated",
            };
            return error(rejected.status(), code, &rejected.to_string());
        }
        let body = body_bytes(&request);
        if body.len() > MAX_BODY_BYTES {
            return error(413, "payload_too_large", "A push is at most 16 KB");
        }
        let notice = match decode_push(body) {
            Ok(notice) => notice,
            Err(e) => return error(400, "malformed_push", &e.to_string()),
        };
        if !notice.email_address.eq_ignore_ascii_case(self.sync.address().as_str()) {
            tracing::warn!(mailbox = %notice.email_address, "a push for a mailbox this endpoint does not serve");
            return error(
                422,
                "unknown_mailbox",
                "This endpoint serves one support mailbox, and the push names another",
            );
        }
        match self.sync.sync(Some(notice.history_id)).await {
            Ok(report) => {
                tracing::info!(pubsub_message_id = %notice.message_id, accepted = report.accepted, skipped = report.skipped, "mailbox synced");
                json_response(
                    200,
                    serde_json::json!({ "accepted": report.accepted, "skipped": report.skipped }),
                )
            }
            // Pub/Sub redelivers: the sync starts again from the stored history id.
            Err(e) => {
                tracing::error!(error = %e, "mailbox sync failed");
                let code = match e {
                    SyncError::Mailbox(support_core::ports::mailbox::MailboxError::Refused(_)) => "mailbox_refused",
                    _ => "unavailable",
                };
                error(503, code, "The mailbox could not be read now; the push will be retried")
            }
        }
    }
}
