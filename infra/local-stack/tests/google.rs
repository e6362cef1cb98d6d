//! Google's side of the email channel against the local stand-in, served on a real port:
//! the push verifier with the stand-in's published keys, the Gmail adapter, and the OAuth
//! access tokens it runs on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use local_stack::google::{self, GoogleStandIn, GoogleStandInConfig, GoogleUrls, Script};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use support_aws::google::oauth::{AccessTokens, RefreshTokenGrant, TokenError};
use support_aws::google::push::{decode_push, PushAuthConfig, PushNotice, PushRejected, PushVerifier};
use support_aws::jwt::TokenRejected;
use support_aws::mailbox::gmail::{GmailConfig, GmailMailbox};
use support_core::ports::mailbox::{HistoryId, Mailbox, MailboxError};

const AUDIENCE: &str = "https://support.tandem.example/webhooks/gmail";
const WEBHOOK_PATH: &str = "/webhooks/gmail";
const TOPIC: &str = "projects/tandem-local/topics/gmail-push";

/// The stand-in on a port of its own, with a webhook that verifies its pushes.
struct Served {
    google: Arc<GoogleStandIn>,
    urls: GoogleUrls,
    /// The paths of the requests the server got, in order.
    requests: Arc<Mutex<Vec<String>>>,
    /// What the webhook made of each push: the notice, or the refusal's status.
    received: Arc<Mutex<Vec<Result<PushNotice, u16>>>>,
}

impl Served {
    async fn start(config: GoogleStandInConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let urls = GoogleUrls::on(&origin);
        let google = GoogleStandIn::new(GoogleStandInConfig {
            push_endpoint: Some(format!("{origin}{WEBHOOK_PATH}")),
            push_audience: AUDIENCE.into(),
            ..config
        });
        let received = Arc::new(Mutex::new(Vec::new()));
        let webhook = Webhook {
            verifier: verifier(&urls.jwks, AUDIENCE),
            received: received.clone(),
        };
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let app = google::router(google.clone())
            .merge(Router::new().route(WEBHOOK_PATH, post(receive)).with_state(webhook))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                recorded.lock().unwrap().push(request.uri().path().to_owned());
                next.run(request)
            }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Served {
            google,
            urls,
            requests,
            received,
        }
    }

    fn requests_to(&self, path_end: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.ends_with(path_end))
            .count()
    }

    fn grant(&self) -> RefreshTokenGrant {
        let config = self.google.config();
        RefreshTokenGrant {
            token_url: self.urls.token.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            refresh_token: config.refresh_token.clone(),
        }
    }

    fn gmail(&self) -> GmailMailbox {
        self.gmail_as("me")
    }

    fn gmail_as(&self, user: &str) -> GmailMailbox {
        let config = GmailConfig {
            api_base_url: self.urls.gmail_api.clone(),
            user: user.into(),
            topic_name: TOPIC.into(),
        };
        GmailMailbox::new(config, self.grant()).unwrap()
    }

    async fn deliver(&self, raw: &str, label: &str) -> google::Delivered {
        self.google.deliver(raw.as_bytes().to_vec(), label).await
    }
}

fn verifier(jwks_url: &str, audience: &str) -> PushVerifier {
    PushVerifier::new(PushAuthConfig {
        jwks_url: jwks_url.into(),
        audience: audience.into(),
        service_account: google::LOCAL_PUSH_SERVICE_ACCOUNT.into(),
    })
    .unwrap()
}

#[derive(Clone)]
struct Webhook {
    verifier: PushVerifier,
    received: Arc<Mutex<Vec<Result<PushNotice, u16>>>>,
}

/// The Gmail webhook's first steps: the token, then the body.
async fn receive(State(webhook): State<Webhook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let outcome = match webhook.verifier.verify(authorization).await {
        Ok(()) => decode_push(&body).map_err(|_| 400),
        Err(rejected) => Err(rejected.status()),
    };
    let status = match &outcome {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(status) => StatusCode::from_u16(*status).unwrap(),
    };
    webhook.received.lock().unwrap().push(outcome);
    status
}

fn email(n: usize) -> String {
    format!(
        "From: Customer {n} <customer{n}@example.com>\r\nTo: support@tandem.example\r\nSubject: Question {n}\r\nMessage-ID: <q{n}@example.com>\r\n\r\nHello, question {n}.\r\n"
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn pushes_carry_a_token_the_verifier_accepts_and_the_notification() {
    let served = Served::start(GoogleStandInConfig::default()).await;
    let delivered = served.deliver(&email(1), "INBOX").await;
    assert_eq!(delivered.push.status, Some(204), "{:?}", delivered.push);
    let received = served.received.lock().unwrap().clone();
    assert_eq!(
        received,
        [Ok(PushNotice {
            email_address: google::LOCAL_SUPPORT_MAILBOX.into(),
            history_id: HistoryId(delivered.history_id),
            message_id: delivered.push.message_id.clone(),
        })]
    );
    assert_eq!(served.google.pushes(), [delivered.push]);

    // A push Google lost: recorded, never sent; the next one is sent again.
    served.google.script(Script {
        drop_pushes: 1,
        ..Script::default()
    });
    let lost = served.deliver(&email(2), "INBOX").await;
    assert!(lost.push.dropped && lost.push.status.is_none(), "{:?}", lost.push);
    let sent = served.deliver(&email(3), "INBOX").await;
    assert_eq!(sent.push.status, Some(204));
    assert_eq!(served.received.lock().unwrap().len(), 2, "the lost push never arrived");
}

#[tokio::test]
async fn tokens_not_from_google_for_this_endpoint_are_unauthenticated_and_others_forbidden() {
    let served = Served::start(GoogleStandInConfig::default()).await;
    let google = &served.google;
    let verifier = verifier(&served.urls.jwks, AUDIENCE);
    let with = |field: &str, value: Value| {
        let mut claims = google.push_claims();
        claims[field] = value;
        claims
    };
    let an_hour_ago = Utc::now().timestamp() - 3600;

    let accepted = [
        google.sign_token(&google.push_claims()),
        google.sign_token(&with("iss", json!("accounts.google.com"))),
        // Expired, but within the leeway for clock skew.
        google.sign_token(&with("exp", json!(Utc::now().timestamp() - 5))),
    ];
    for token in accepted {
        assert_eq!(verifier.verify(Some(&bearer(&token))).await, Ok(()));
    }

    let refused = [
        (
            google.sign_token(&with("aud", json!("https://elsewhere.example/webhooks/gmail"))),
            PushRejected::Token(TokenRejected::WrongAudience),
        ),
        (
            google.sign_token(&with("iss", json!("https://evil.example"))),
            PushRejected::Token(TokenRejected::WrongIssuer),
        ),
        (
            google.sign_token(&with("exp", json!(an_hour_ago))),
            PushRejected::Token(TokenRejected::Expired),
        ),
        (
            google.sign_token_with_unpublished_key(&google.push_claims(), google.key_id()),
            PushRejected::Token(TokenRejected::BadSignature),
        ),
        (
            google.sign_token_with_unpublished_key(&google.push_claims(), "unpublished-key"),
            PushRejected::Token(TokenRejected::UnknownKey),
        ),
        (
            google.sign_token(&with("email", json!("someone@tandem-local.iam.gserviceaccount.com"))),
            PushRejected::WrongServiceAccount {
                email: Some("someone@tandem-local.iam.gserviceaccount.com".into()),
            },
        ),
        (
            google.sign_token(&with("email_verified", json!(false))),
            PushRejected::EmailNotVerified,
        ),
    ];
    for (token, expected) in refused {
        let rejected = verifier.verify(Some(&bearer(&token))).await.unwrap_err();
        assert_eq!(rejected, expected);
        assert!(
            !rejected.to_string().contains(&token),
            "the message never holds the token"
        );
    }
    assert_eq!(
        verifier.verify(None).await,
        Err(PushRejected::Token(TokenRejected::MissingHeader))
    );
    let token = google.sign_token(&google.push_claims());
    let basic = format!("Basic {token}");
    assert_eq!(
        verifier.verify(Some(&basic)).await,
        Err(PushRejected::Token(TokenRejected::NotBearer))
    );
    assert!(matches!(
        verifier.verify(Some("Bearer not-a-jwt")).await,
        Err(PushRejected::Token(TokenRejected::Malformed(_)))
    ));

    let statuses = |rejections: &[PushRejected]| rejections.iter().map(PushRejected::status).collect::<Vec<_>>();
    assert_eq!(
        statuses(&[
            PushRejected::Token(TokenRejected::MissingHeader),
            PushRejected::Token(TokenRejected::WrongAudience),
            PushRejected::Token(TokenRejected::WrongIssuer),
            PushRejected::Token(TokenRejected::Expired),
            PushRejected::Token(TokenRejected::BadSignature),
        ]),
        [401; 5]
    );
    assert_eq!(
        statuses(&[
            PushRejected::WrongServiceAccount { email: None },
            PushRejected::EmailNotVerified
        ]),
        [403; 2]
    );
}

#[tokio::test]
async fn googles_keys_are_fetched_once_and_unknown_keys_cannot_make_them_fetched_again() {
    let served = Served::start(GoogleStandInConfig::default()).await;
    let google = &served.google;
    let verifier = verifier(&served.urls.jwks, AUDIENCE);
    for _ in 0..3 {
        let token = google.sign_token(&google.push_claims());
        verifier.clone().verify(Some(&bearer(&token))).await.unwrap();
    }
    for n in 0..5 {
        let token = google.sign_token_with_unpublished_key(&google.push_claims(), &format!("kid-{n}"));
        assert_eq!(
            verifier.verify(Some(&bearer(&token))).await,
            Err(PushRejected::Token(TokenRejected::UnknownKey))
        );
    }
    assert_eq!(served.requests_to("/oauth2/v3/certs"), 1);

    // Keys out of reach are the verifier's trouble, not the push's: 503, and Pub/Sub retries.
    let unreachable = PushVerifier::new(PushAuthConfig {
        jwks_url: "http://127.0.0.1:1/certs".into(),
        audience: AUDIENCE.into(),
        service_account: google::LOCAL_PUSH_SERVICE_ACCOUNT.into(),
    })
    .unwrap();
    let token = google.sign_token(&google.push_claims());
    let rejected = unreachable.verify(Some(&bearer(&token))).await.unwrap_err();
    assert!(
        matches!(rejected, PushRejected::Token(TokenRejected::KeysUnavailable(_))),
        "{rejected}"
    );
    assert_eq!(rejected.status(), 503);
}

#[tokio::test]
async fn the_history_is_read_over_every_page_oldest_first_and_sent_mail_is_not_in_it() {
    let served = Served::start(GoogleStandInConfig {
        history_page_size: 2,
        ..GoogleStandInConfig::default()
    })
    .await;
    let gmail = served.gmail();
    let start = gmail.recent_inbox(10).await.unwrap();
    assert!(start.added.is_empty());

    let mut inbox = Vec::new();
    for n in 1..=5 {
        inbox.push(served.deliver(&email(n), "INBOX").await);
        if n == 3 {
            served
                .deliver(
                    "From: support@tandem.example\r\nSubject: Re: Question 3\r\n\r\nAnswer.\r\n",
                    "SENT",
                )
                .await;
        }
    }
    let changes = gmail.inbox_added_since(start.history_id).await.unwrap();
    let ids: Vec<&str> = changes.added.iter().map(|m| m.id.as_str()).collect();
    let expected: Vec<&str> = inbox.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, expected);
    assert_eq!(changes.history_id, HistoryId(inbox[4].history_id));
    assert_eq!(served.requests_to("/history"), 3, "5 records in pages of 2");

    // From a history id in the middle: what came after it only.
    let later = gmail.inbox_added_since(HistoryId(inbox[2].history_id)).await.unwrap();
    let ids: Vec<&str> = later.added.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, expected[3..]);

    // The full sync: the latest, oldest first, and the history id now.
    let recent = gmail.recent_inbox(3).await.unwrap();
    let ids: Vec<&str> = recent.added.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, expected[2..]);
    assert_eq!(recent.history_id, changes.history_id);
}

#[tokio::test]
async fn an_expired_history_id_is_reported_as_such() {
    let served = Served::start(GoogleStandInConfig::default()).await;
    let gmail = served.gmail();
    served.deliver(&email(1), "INBOX").await;
    served.google.script(Script {
        expire_history: 1,
        ..Script::default()
    });
    assert!(matches!(
        gmail.inbox_added_since(HistoryId(1000)).await,
        Err(MailboxError::HistoryExpired)
    ));
    assert_eq!(gmail.inbox_added_since(HistoryId(1000)).await.unwrap().added.len(), 1);
}

#[tokio::test]
async fn raw_messages_come_back_byte_for_byte_with_their_labels_and_threads() {
    let served = Served::start(GoogleStandInConfig::default()).await;
    let gmail = served.gmail();
    // Non-ASCII and bytes whose base64 has the URL-safe alphabet's own characters.
    let question = "From: Zoë <zoe@example.com>\r\nTo: support@tandem.example\r\nSubject: =?UTF-8?Q?Caf=C3=A9?=\r\nMessage-ID: <first@example.com>\r\n\r\nÇa ne marche pas ??>>> ~~~\r\n";
    let asked = served.deliver(question, "INBOX").await;
    let message = gmail.message(&asked.id).await.unwrap();
    assert_eq!(message.raw, question.as_bytes());
    assert_eq!(
        (message.id.as_str(), message.labels.as_slice()),
        (asked.id.as_str(), &["INBOX".to_owned()][..])
    );
    assert!((Utc::now() - message.received_at).num_seconds().abs() < 60);

    // The reply the support address sent, and the customer's answer to it: one thread.
    let reply = "From: support@tandem.example\r\nMessage-ID: <reply@tandem.example>\r\nIn-Reply-To: <first@example.com>\r\n\r\nTry again.\r\n";
    let replied = served.deliver(reply, "SENT").await;
    let sent = gmail.message(&replied.id).await.unwrap();
    assert_eq!(sent.labels, ["SENT"]);
    let answer = "From: Zoë <zoe@example.com>\r\nIn-Reply-To: <reply@tandem.example>\r\nReferences: <first@example.com>\r\n <reply@tandem.example>\r\n\r\nStill broken.\r\n";
    let answered = served.deliver(answer, "INBOX").await;
    assert_eq!([&replied.thread_id, &answered.thread_id], [&asked.thread_id; 2]);
    let unrelated = served.deliver(&email(9), "INBOX").await;
    assert_ne!(unrelated.thread_id, asked.thread_id);

    assert!(matches!(
        gmail.message("0000000000000000").await,
        Err(MailboxError::NotFound)
    ));
}

#[tokio::test]
async fn watch_asks_for_the_inbox_on_the_topic() {
    let served = Served::start(GoogleStandInConfig::default()).await;
    served.deliver(&email(1), "INBOX").await;
    let watch = served.gmail().watch().await.unwrap();
    assert_eq!(watch.history_id, HistoryId(1001));
    let days = (watch.expires_at - Utc::now()).num_hours() as f64 / 24.0;
    assert!((6.9..=7.0).contains(&days), "{days} days");
    assert_eq!(
        served.google.watches(),
        [google::WatchRequest {
            topic_name: TOPIC.into(),
            label_ids: vec!["INBOX".into()],
            label_filter_behavior: Some("INCLUDE".into()),
        }]
    );
}

#[tokio::test]
async fn another_mailbox_is_refused() {
    let served = Served::start(GoogleStandInConfig::default()).await;
    assert!(served
        .gmail_as(google::LOCAL_SUPPORT_MAILBOX)
        .recent_inbox(1)
        .await
        .is_ok());
    let other = served.gmail_as("someone@else.example").recent_inbox(1).await;
    assert!(matches!(other, Err(MailboxError::Refused(_))), "{other:?}");
}

#[tokio::test]
async fn access_tokens_are_kept_and_replaced_once_refused() {
    let served = Served::start(GoogleStandInConfig::default()).await;
    let tokens = AccessTokens::new(reqwest::Client::new(), served.grant());
    let first = tokens.token().await.unwrap();
    let again = tokens.token().await.unwrap();
    assert_eq!(again.expose_secret(), first.expose_secret());
    assert_eq!(served.google.token_grants(), 1);
    let second = tokens.refresh(&first).await.unwrap();
    assert_ne!(second.expose_secret(), first.expose_secret());
    // Another caller refused the same old token meanwhile: it gets the new one.
    assert_eq!(
        tokens.refresh(&first).await.unwrap().expose_secret(),
        second.expose_secret()
    );
    assert_eq!(served.google.token_grants(), 2);

    // The Gmail adapter: a revoked token is refused once, then replaced.
    let gmail = served.gmail();
    gmail.recent_inbox(1).await.unwrap();
    assert_eq!(served.google.token_grants(), 3);
    served.google.script(Script {
        revoke_access_tokens: true,
        ..Script::default()
    });
    gmail.recent_inbox(1).await.unwrap();
    assert_eq!(served.google.token_grants(), 4);
    assert_eq!(
        served.requests_to("/profile"),
        3,
        "the refused call, and the same again"
    );
}

#[tokio::test]
async fn tokens_shorter_lived_than_the_renewal_margin_are_fetched_each_time() {
    let served = Served::start(GoogleStandInConfig {
        access_token_lifetime: Duration::from_secs(30),
        ..GoogleStandInConfig::default()
    })
    .await;
    let tokens = AccessTokens::new(reqwest::Client::new(), served.grant());
    tokens.token().await.unwrap();
    tokens.token().await.unwrap();
    assert_eq!(served.google.token_grants(), 2);
}

#[tokio::test]
async fn a_refused_grant_is_final_and_an_unreachable_endpoint_is_not() {
    let served = Served::start(GoogleStandInConfig::default()).await;
    let refused = [
        RefreshTokenGrant {
            refresh_token: "revoked".into(),
            ..served.grant()
        },
        RefreshTokenGrant {
            client_secret: "wrong".into(),
            ..served.grant()
        },
    ];
    for grant in refused {
        let error = AccessTokens::new(reqwest::Client::new(), grant)
            .token()
            .await
            .unwrap_err();
        assert!(matches!(error, TokenError::Refused(_)), "{error}");
    }
    let unreachable = RefreshTokenGrant {
        token_url: "http://127.0.0.1:1/token".into(),
        ..served.grant()
    };
    let error = AccessTokens::new(reqwest::Client::new(), unreachable)
        .token()
        .await
        .unwrap_err();
    assert!(matches!(error, TokenError::Unavailable(_)), "{error}");

    // Through the adapter: a configuration problem, not an outage.
    let config = GmailConfig {
        api_base_url: served.urls.gmail_api.clone(),
        user: "me".into(),
        topic_name: TOPIC.into(),
    };
    let revoked = RefreshTokenGrant {
        refresh_token: "revoked".into(),
        ..served.grant()
    };
    let gmail = GmailMailbox::new(config, revoked).unwrap();
    assert!(matches!(gmail.watch().await, Err(MailboxError::Refused(_))));
}
