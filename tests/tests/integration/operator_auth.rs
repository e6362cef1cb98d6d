//! Operators sign in to the operator user pool (moto's Cognito, made from template.yaml) and
//! reach the operator API with its tokens; the gateway checks them as API Gateway's JWT
//! authorizer does, so a missing, forged, expired, other pool's or other client's token is
//! refused with 401 before the function runs. The customers' routes need no token.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use integration_tests::{valid_form, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use local_stack::cognito::{self, LOCAL_OPERATOR_EMAIL, LOCAL_OPERATOR_PASSWORD};
use local_stack::{http_fn, LocalStackOptions};
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::{json, Value};
use support_aws::config::OperatorConfig;
use support_aws::lambda::operator_http::OperatorApi;
use support_aws::wiring;

/// A stack whose operator-api is the real handler, counted.
async fn app_counting_operator_calls() -> (TestApp, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    // Built once the stack gives its environment, as the function's binary builds it.
    let api: Arc<OnceLock<OperatorApi>> = Arc::new(OnceLock::new());
    let (slot, counted) = (api.clone(), calls.clone());
    let handler = http_fn(move |request| {
        let (api, counted) = (slot.clone(), counted.clone());
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            api.get().expect("built before any request").handle(request).await
        }
    });
    let options = LocalStackOptions::default()
        .without_pollers()
        .without_schedules()
        .http_function("OperatorApiFunction", handler);
    let app = TestApp::spawn_with(options).await;
    let env = app
        .stack
        .environment("OperatorApiFunction")
        .expect("the function's environment");
    let config = OperatorConfig::from_lookup(|k| env.get(k).cloned()).expect("its configuration");
    let built = wiring::operator_api(config, app.stack.sdk_config()).expect("the operator API");
    assert!(api.set(built).is_ok());
    (app, calls)
}

async fn me(app: &TestApp, authorization: Option<&str>) -> (u16, Value) {
    let mut request = app.http.get(format!("{}/operator/me", app.base_url));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

/// A JWT's claims, unverified.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

/// moto's Cognito signing key, which ships in moto (`cognitoidp/resources`), read with
/// moto's own Python.
fn motos_signing_key() -> EncodingKey {
    let moto_server = local_stack::moto::locate(None, &local_stack::workspace_root());
    let python = moto_server.with_file_name("python");
    let output = std::process::Command::new(&python)
        .args([
            "-c",
            "import gzip, os, moto.cognitoidp as c; print(gzip.open(os.path.join(os.path.dirname(c.__file__), 'resources', 'jwks-private.json.gz')).read().decode())",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", python.display()));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let jwk: Value = serde_json::from_slice(&output.stdout).expect("moto's key is a JWK");
    let number = |name: &str| {
        let text = jwk[name].as_str().unwrap_or_else(|| panic!("the key has {name}"));
        rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(text).expect("base64url"))
    };
    // The JWK holds n, e and d only: the primes are recovered from them.
    let key = rsa::RsaPrivateKey::from_components(number("n"), number("e"), number("d"), Vec::new())
        .expect("moto's key is an RSA key");
    EncodingKey::from_rsa_der(key.to_pkcs1_der().expect("it encodes").as_bytes())
}

/// A token signed as moto signs its pools' tokens (key id `dummy`).
fn signed_by_moto(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("dummy".into());
    jsonwebtoken::encode(&header, claims, &motos_signing_key()).expect("signed")
}

/// A new app client of a pool; its id.
async fn app_client(idp: &aws_sdk_cognitoidentityprovider::Client, pool: &str, name: &str) -> String {
    let created = idp
        .create_user_pool_client()
        .user_pool_id(pool)
        .client_name(name)
        .send()
        .await
        .unwrap();
    created.user_pool_client.and_then(|c| c.client_id).unwrap()
}

/// Cognito's `InitiateAuth` as the console's page sends it: unsigned, from the gateway's origin.
async fn initiate_auth(app: &TestApp, endpoint: &str, client_id: &Value, password: &str) -> reqwest::Response {
    app.http
        .post(endpoint)
        .header("origin", &app.base_url)
        .header("x-amz-target", "AWSCognitoIdentityProviderService.InitiateAuth")
        .header("content-type", "application/x-amz-json-1.1")
        .body(
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client_id,
                "AuthParameters": {"USERNAME": LOCAL_OPERATOR_EMAIL, "PASSWORD": password},
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_signed_in_to_the_pool_gets_in_with_either_token() {
    let (app, calls) = app_counting_operator_calls().await;
    let tokens = app.stack.operator_tokens().await.unwrap();
    let id_claims = claims(&tokens.id_token);
    let pool = app.stack.user_pool("OperatorUserPool").unwrap();
    assert_eq!(
        id_claims["iss"],
        pool.issuer(app.stack.region()),
        "moto issues as Cognito"
    );

    let expected = json!({
        "sub": id_claims["sub"],
        // With email sign-in, Cognito's user name is its own id for the user.
        "username": id_claims["cognito:username"],
        "email": LOCAL_OPERATOR_EMAIL,
    });
    assert_eq!(
        me(&app, Some(&format!("Bearer {}", tokens.id_token))).await,
        (200, expected.clone())
    );
    // An access token has no email; API Gateway takes it without `Bearer ` too.
    let (status, body) = me(&app, Some(&tokens.access_token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["sub"], &body["username"]),
        (&expected["sub"], &expected["username"])
    );
    assert_eq!(body["email"], Value::Null);
    assert_eq!(
        app.operator_token().await.split('.').count(),
        3,
        "the helper signs in too"
    );

    let response = app
        .http
        .post(format!("{}/operator/nothing-here", app.base_url))
        .bearer_auth(&tokens.id_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_are_missing_forged_expired_or_of_another_pool_or_client_never_reach_the_function() {
    let (app, calls) = app_counting_operator_calls().await;
    let sdk = app.stack.sdk_config();
    let idp = aws_sdk_cognitoidentityprovider::Client::new(sdk);
    let ours = app.stack.operator_tokens().await.unwrap();

    // The same user name and password in another pool of the same moto: signed with the
    // same key, told apart only by `iss`.
    let elsewhere = idp
        .create_user_pool()
        .pool_name("elsewhere")
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let elsewhere_client = app_client(&idp, &elsewhere, "console").await;
    cognito::create_operator(&idp, &elsewhere, LOCAL_OPERATOR_EMAIL, LOCAL_OPERATOR_PASSWORD)
        .await
        .unwrap();
    let other_pool = cognito::sign_in(sdk, &elsewhere_client, LOCAL_OPERATOR_EMAIL, LOCAL_OPERATOR_PASSWORD)
        .await
        .unwrap();
    // Another app client of our own pool: the right `iss`, another audience.
    let pool = app.stack.user_pool("OperatorUserPool").unwrap().id.clone();
    let other_client = app_client(&idp, &pool, "not-the-console").await;
    let other_client = cognito::sign_in(sdk, &other_client, LOCAL_OPERATOR_EMAIL, LOCAL_OPERATOR_PASSWORD)
        .await
        .unwrap();

    let tampered = {
        let (rest, signature) = ours.id_token.rsplit_once('.').unwrap();
        let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        signature[0] ^= 1;
        format!("{rest}.{}", URL_SAFE_NO_PAD.encode(signature))
    };
    let mut claims_of_ours = claims(&ours.id_token);
    let an_hour_ago = chrono::Utc::now().timestamp() - 3600;
    claims_of_ours["iat"] = json!(an_hour_ago - 3600);
    claims_of_ours["auth_time"] = json!(an_hour_ago - 3600);
    claims_of_ours["exp"] = json!(an_hour_ago);
    let expired = signed_by_moto(&claims_of_ours);
    // The same claims, not expired, signed the same way, get in: only `exp` refuses the other.
    claims_of_ours["exp"] = json!(an_hour_ago + 7200);
    assert_eq!(
        me(&app, Some(&format!("Bearer {}", signed_by_moto(&claims_of_ours))))
            .await
            .0,
        200
    );
    assert_eq!(calls.swap(0, Ordering::SeqCst), 1);

    // Our client's audience, issued by the other pool: moto's one key signs it, `iss` refuses it.
    let mut other_issuer = claims(&ours.id_token);
    other_issuer["iss"] = claims(&other_pool.id_token)["iss"].clone();
    let other_issuer = signed_by_moto(&other_issuer);

    let refused = [
        ("no header", None),
        ("garbage", Some("Bearer not.a.token".to_owned())),
        ("an empty bearer", Some("Bearer ".to_owned())),
        ("a tampered signature", Some(format!("Bearer {tampered}"))),
        ("an expired token", Some(format!("Bearer {expired}"))),
        (
            "another pool's ID token",
            Some(format!("Bearer {}", other_pool.id_token)),
        ),
        (
            "another pool's access token",
            Some(format!("Bearer {}", other_pool.access_token)),
        ),
        ("our audience from another pool", Some(format!("Bearer {other_issuer}"))),
        (
            "another client's ID token",
            Some(format!("Bearer {}", other_client.id_token)),
        ),
        (
            "another client's access token",
            Some(format!("Bearer {}", other_client.access_token)),
        ),
    ];
    for (what, authorization) in refused {
        let (status, body) = me(&app, authorization.as_deref()).await;
        assert_eq!((status, body), (401, json!({"message": "Unauthorized"})), "{what}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no refused request reached the function"
    );

    // The customers' routes stay public.
    assert_eq!(app.submit(&valid_form()).await.status(), 201);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_on_the_cognito_endpoint_its_config_names_as_a_browser_does() {
    let app = TestApp::spawn_with(LocalStackOptions::default().without_pollers().without_schedules()).await;
    let response = app.get("/console/config.json").await;
    assert_eq!(response.status(), 200);
    let config: Value = response.json().await.unwrap();
    let client = app.stack.user_pool_client("OperatorUserPoolClient").unwrap();
    assert_eq!(
        config,
        json!({
            "apiBase": app.base_url,
            "cognitoEndpoint": app.stack.endpoint_url(),
            "region": app.stack.region(),
            "clientId": client.id,
        })
    );

    // The page's preflight and its unsigned InitiateAuth, from the gateway's origin.
    let endpoint = config["cognitoEndpoint"].as_str().unwrap();
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, endpoint)
        .header("origin", &app.base_url)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-amz-target")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        app.base_url.as_str()
    );
    let signed_in = initiate_auth(&app, endpoint, &config["clientId"], LOCAL_OPERATOR_PASSWORD).await;
    assert_eq!(signed_in.status(), 200);
    assert_eq!(
        signed_in.headers()["access-control-allow-origin"],
        app.base_url.as_str()
    );
    let signed_in: Value = signed_in.json().await.unwrap();
    let token = signed_in["AuthenticationResult"]["IdToken"].as_str().unwrap();
    let (status, body) = me(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], LOCAL_OPERATOR_EMAIL);

    let wrong_password = initiate_auth(&app, endpoint, &config["clientId"], "Wrong-password-1").await;
    assert_eq!(wrong_password.status(), 400, "Cognito's NotAuthorizedException");
    app.shutdown().await;
}
