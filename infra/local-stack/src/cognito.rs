//! The template's Cognito user pools and app clients, created in moto (idempotently, like the
//! tables and queues), with a development operator in each pool so that people and tests can
//! sign in as Cognito's `InitiateAuth` lets them.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AttributeType, AuthFlowType, ExplicitAuthFlowsType, MessageActionType,
    UsernameAttributeType, VerifiedAttributeType,
};
use aws_sdk_cognitoidentityprovider::Client;

use crate::provision::ProvisionSettings;
use crate::template::{local_name, StackTemplate, UserPoolClientSpec, UserPoolSpec};

/// The development operator, created in every user pool of the stack (locally only: in AWS
/// an administrator creates operators with `aws cognito-idp admin-create-user`).
pub const LOCAL_OPERATOR_EMAIL: &str = "operator@tandemboards.example";
/// The development operator's password (permanent: no change is asked at first sign-in).
pub const LOCAL_OPERATOR_PASSWORD: &str = "Local-operator-1";

/// moto's largest page of pools and clients; a local stack has a handful.
const PAGE: i32 = 60;

/// A provisioned user pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolResource {
    /// `<region>_<hex>`: what `!Ref` gives.
    pub id: String,
    pub name: String,
    pub arn: String,
}

impl UserPoolResource {
    /// The `iss` of the pool's tokens (and `!GetAtt <pool>.ProviderURL`): always AWS's form,
    /// moto included.
    pub fn issuer(&self, region: &str) -> String {
        format!("https://cognito-idp.{region}.amazonaws.com/{}", self.id)
    }
}

/// A provisioned app client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolClientResource {
    /// What `!Ref` gives, and the `aud` (`client_id`) of its tokens.
    pub id: String,
    pub name: String,
    /// Logical id of its pool.
    pub user_pool: String,
}

/// The tokens `InitiateAuth` gives.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// Every user pool (with the development operator) and app client of the template.
pub async fn provision_user_pools(
    sdk: &SdkConfig,
    template: &StackTemplate,
    settings: &ProvisionSettings,
) -> Result<(
    BTreeMap<String, UserPoolResource>,
    BTreeMap<String, UserPoolClientResource>,
)> {
    let idp = Client::new(sdk);
    let mut pools = BTreeMap::new();
    for spec in template.user_pools.values() {
        let pool = user_pool(&idp, spec, &settings.prefix).await?;
        create_operator(&idp, &pool.id, LOCAL_OPERATOR_EMAIL, LOCAL_OPERATOR_PASSWORD).await?;
        pools.insert(spec.logical_id.clone(), pool);
    }
    let mut clients = BTreeMap::new();
    for spec in template.user_pool_clients.values() {
        let pool = &pools[&spec.user_pool];
        clients.insert(
            spec.logical_id.clone(),
            user_pool_client(&idp, spec, pool, &settings.prefix).await?,
        );
    }
    Ok((pools, clients))
}

/// The pool of this name, created unless an earlier run left it (names are not unique in
/// Cognito: the first of the name is taken).
async fn user_pool(idp: &Client, spec: &UserPoolSpec, prefix: &str) -> Result<UserPoolResource> {
    let name = local_name(prefix, &spec.logical_id, spec.declared_name.as_deref(), false);
    let listed = idp
        .list_user_pools()
        .max_results(PAGE)
        .send()
        .await
        .context("ListUserPools")?;
    if let Some(id) = listed
        .user_pools()
        .iter()
        .find(|p| p.name() == Some(name.as_str()))
        .and_then(|p| p.id())
    {
        let described = idp
            .describe_user_pool()
            .user_pool_id(id)
            .send()
            .await
            .with_context(|| format!("DescribeUserPool {name}"))?;
        let arn = described.user_pool().and_then(|p| p.arn()).unwrap_or_default();
        return Ok(UserPoolResource {
            id: id.to_owned(),
            arn: arn.to_owned(),
            name,
        });
    }
    let created = idp
        .create_user_pool()
        .pool_name(&name)
        .set_username_attributes(Some(
            spec.username_attributes
                .iter()
                .map(|a| UsernameAttributeType::from(a.as_str()))
                .collect(),
        ))
        .set_auto_verified_attributes(Some(
            spec.auto_verified_attributes
                .iter()
                .map(|a| VerifiedAttributeType::from(a.as_str()))
                .collect(),
        ))
        .admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .allow_admin_create_user_only(spec.admin_create_user_config.allow_admin_create_user_only)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("CreateUserPool {name} ({})", spec.logical_id))?;
    let pool = created.user_pool().context("CreateUserPool returned no pool")?;
    Ok(UserPoolResource {
        id: pool.id().context("CreateUserPool returned no id")?.to_owned(),
        arn: pool.arn().unwrap_or_default().to_owned(),
        name,
    })
}

async fn user_pool_client(
    idp: &Client,
    spec: &UserPoolClientSpec,
    pool: &UserPoolResource,
    prefix: &str,
) -> Result<UserPoolClientResource> {
    let name = local_name(prefix, &spec.logical_id, spec.declared_name.as_deref(), false);
    let resource = |id: &str| UserPoolClientResource {
        id: id.to_owned(),
        name: name.clone(),
        user_pool: spec.user_pool.clone(),
    };
    let listed = idp
        .list_user_pool_clients()
        .user_pool_id(&pool.id)
        .max_results(PAGE)
        .send()
        .await
        .with_context(|| format!("ListUserPoolClients {}", pool.name))?;
    if let Some(id) = listed
        .user_pool_clients()
        .iter()
        .find(|c| c.client_name() == Some(name.as_str()))
        .and_then(|c| c.client_id())
    {
        return Ok(resource(id));
    }
    let created = idp
        .create_user_pool_client()
        .user_pool_id(&pool.id)
        .client_name(&name)
        .generate_secret(spec.generate_secret)
        .set_explicit_auth_flows(Some(
            spec.explicit_auth_flows
                .iter()
                .map(|f| ExplicitAuthFlowsType::from(f.as_str()))
                .collect(),
        ))
        .send()
        .await
        .with_context(|| format!("CreateUserPoolClient {name} ({})", spec.logical_id))?;
    let id = created
        .user_pool_client()
        .and_then(|c| c.client_id())
        .context("CreateUserPoolClient returned no client id")?;
    Ok(resource(id))
}

/// A user who can sign in at once: created by an administrator (no invitation sent) with a
/// verified email and a permanent password. Signs in by email, whatever the pool's
/// username attributes.
pub async fn create_operator(idp: &Client, pool_id: &str, email: &str, password: &str) -> Result<()> {
    let created = idp
        .admin_create_user()
        .user_pool_id(pool_id)
        .username(email)
        .message_action(MessageActionType::Suppress)
        .user_attributes(AttributeType::builder().name("email").value(email).build()?)
        .user_attributes(AttributeType::builder().name("email_verified").value("true").build()?)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Left by an earlier run: its password is set again below.
        Err(e) if e.code() == Some("UsernameExistsException") => {}
        Err(e) => return Err(anyhow::Error::new(e).context(format!("AdminCreateUser {email}"))),
    }
    idp.admin_set_user_password()
        .user_pool_id(pool_id)
        .username(email)
        .password(password)
        .permanent(true)
        .send()
        .await
        .with_context(|| format!("AdminSetUserPassword {email}"))?;
    Ok(())
}

/// Signs in with a user name and a password (`USER_PASSWORD_AUTH`), as the console does.
pub async fn sign_in(sdk: &SdkConfig, client_id: &str, username: &str, password: &str) -> Result<Tokens> {
    let answer = Client::new(sdk)
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .with_context(|| format!("InitiateAuth as {username}"))?;
    let result = answer
        .authentication_result()
        .context("InitiateAuth asked for a challenge instead of signing in")?;
    let token = |t: Option<&str>, what: &str| t.map(str::to_owned).with_context(|| format!("no {what}"));
    Ok(Tokens {
        id_token: token(result.id_token(), "ID token")?,
        access_token: token(result.access_token(), "access token")?,
        refresh_token: token(result.refresh_token(), "refresh token")?,
    })
}
