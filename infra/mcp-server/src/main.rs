//! support-mcp: the support agent's tools for an operator's AI assistant, over MCP on stdio.
//! Every tool calls the operator HTTP API with the operator's token, so the assistant is
//! held to the same authentication and rules as the console. stdout carries the protocol:
//! logs go to stderr.

mod api;
mod model;
mod server;
mod skills;

use std::process::ExitCode;

use reqwest::Url;
use rmcp::ServiceExt;

use api::OperatorApi;
use server::SupportTools;

const USAGE: &str = "support-mcp needs SUPPORT_API_URL (the support HTTP API's base URL, e.g. https://<api-id>.execute-api.<region>.amazonaws.com or http://127.0.0.1:3000 for the local stack) and SUPPORT_OPERATOR_TOKEN (a Cognito ID token of the operator user pool, sent as Authorization: Bearer)";

/// The exit code of a configuration error: the MCP client shows the stderr line with it.
const CONFIG_ERROR: u8 = 2;

struct Config {
    api_url: Url,
    token: String,
}

impl Config {
    fn from_env() -> Result<Self, String> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let (raw_url, token) = match (var("SUPPORT_API_URL"), var("SUPPORT_OPERATOR_TOKEN")) {
            (Some(url), Some(token)) => (url, token),
            (None, Some(_)) => return Err(format!("SUPPORT_API_URL not set. {USAGE}")),
            (Some(_), None) => return Err(format!("SUPPORT_OPERATOR_TOKEN not set. {USAGE}")),
            (None, None) => return Err(format!("SUPPORT_API_URL and SUPPORT_OPERATOR_TOKEN not set. {USAGE}")),
        };
        let api_url = Url::parse(&raw_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| format!("SUPPORT_API_URL {raw_url:?} is not an http(s) URL. {USAGE}"))?;
        // A pasted "Bearer <token>" would otherwise be sent as "Bearer Bearer <token>".
        let token = token.strip_prefix("Bearer ").unwrap_or(&token).trim().to_owned();
        Ok(Self { api_url, token })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "support_mcp=info".into()),
        )
        .init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("support-mcp: {message}");
            return ExitCode::from(CONFIG_ERROR);
        }
    };
    let api = match OperatorApi::new(config.api_url.clone(), config.token) {
        Ok(api) => api,
        Err(e) => {
            eprintln!("support-mcp: cannot make an HTTP client: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(api = %config.api_url, "serving the support tools on stdio");
    let served = match SupportTools::new(api).serve(rmcp::transport::stdio()).await {
        Ok(service) => service.waiting().await.map(drop).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the MCP session failed");
            ExitCode::FAILURE
        }
    }
}
