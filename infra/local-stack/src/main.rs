//! `cargo run -p local-stack`: the whole system on this machine until Ctrl-C.
//! Configuration comes from the environment; see `LocalStackOptions::from_env`.

use anyhow::Result;
use local_stack::{LocalStack, LocalStackOptions};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<()> {
    // The SDK and hyper are chatty at info; RUST_LOG overrides (e.g. RUST_LOG=debug,moto=trace).
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn,aws_sdk_sts=warn,hyper=warn"));
    tracing_subscriber::fmt()
        .compact()
        .with_env_filter(filter)
        .with_target(false)
        .init();

    let options = LocalStackOptions::from_env()?;
    let stack = match LocalStack::start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("local stack failed to start: {e:#}");
            std::process::exit(1);
        }
    };
    print_summary(&stack);

    shutdown_signal().await;
    eprintln!("\nstopping...");
    stack.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn print_summary(stack: &LocalStack) {
    let t = stack.timings();
    let gateway = stack.gateway_url().unwrap_or_else(|| "(not started)".into());
    let mut out = String::new();
    out.push_str("\nCustomer success agent: local stack is up\n\n");
    if stack.static_dir().is_some() {
        out.push_str(&format!("  Web form        {gateway}/\n"));
    } else {
        out.push_str("  Web form        (web-form/dist not built: cd web-form && npm ci && npm run build)\n");
    }
    out.push_str(&format!("  API             {gateway}  (health: {gateway}/health)\n"));
    for (_, e) in stack.template().http_events() {
        if let local_stack::EventSpec::HttpApi { method, path, .. } = e {
            out.push_str(&format!("                    {method:<5} {gateway}{path}\n"));
        }
    }
    for (f, e) in stack.template().schedule_events() {
        if let local_stack::EventSpec::Schedule {
            expression, enabled, ..
        } = e
        {
            let state = if *enabled { "" } else { "  (disabled)" };
            out.push_str(&format!("  Schedule        {:<20} {expression}{state}\n", f.logical_id));
        }
    }
    if !stack.template().schedule_events().is_empty() {
        out.push_str(&format!(
            "  Invoke          POST {gateway}{}  (a scheduled function with your event, as `aws lambda invoke --endpoint-url {gateway}`)\n",
            local_stack::schedule::INVOKE_PATH.replace("{name}", "<function>")
        ));
    }
    if let Some(url) = stack
        .environment("WhatsappWebhookFunction")
        .and_then(|env| env.get("TWILIO_WEBHOOK_URL"))
    {
        out.push_str(&format!(
            "  WhatsApp        {url}  (the public URL Twilio's signatures are checked against)\n"
        ));
        out.push_str(&format!(
            "  Twilio stand-in {gateway}{}/messages  (what the WhatsApp sender sent)\n",
            local_stack::TWILIO_STAND_IN_PATH
        ));
    }
    out.push_str(&format!(
        "  Gmail stand-in  POST {gateway}{}/messages  (a raw message into {}, pushed to the Gmail webhook)\n",
        local_stack::google::GMAIL_STAND_IN_PATH,
        stack.google().config().mailbox
    ));
    for (id, pool) in &stack.resources().user_pools {
        out.push_str(&format!(
            "  Operator        {} / {}  (user pool {id} {}; signs in on the AWS endpoint below)\n",
            local_stack::cognito::LOCAL_OPERATOR_EMAIL,
            local_stack::cognito::LOCAL_OPERATOR_PASSWORD,
            pool.id
        ));
    }
    for (id, client) in &stack.resources().user_pool_clients {
        out.push_str(&format!("  App client      {:<36} {id}\n", client.id));
    }
    if !stack.resources().user_pool_clients.is_empty() {
        out.push_str(&format!(
            "  Console config  {gateway}{}\n",
            local_stack::CONSOLE_CONFIG_PATH
        ));
    }
    out.push_str(&format!(
        "  AWS (moto)      {}  region {}{}\n",
        stack.endpoint_url(),
        stack.region(),
        if stack.owns_moto() { "" } else { "  (attached)" }
    ));
    out.push_str(&format!(
        "  Sent emails     {}/moto-api/data.json  (ses.RawMessage, ses.Message)\n",
        stack.endpoint_url()
    ));
    out.push_str(&format!(
        "  Function logs   {}/<Function>.log  (each function's JSON log lines and EMF metrics)\n",
        stack.log_dir().display()
    ));
    for (id, table) in &stack.resources().tables {
        out.push_str(&format!("  Table           {:<20} {id}\n", table.name));
    }
    for (id, q) in &stack.resources().queues {
        out.push_str(&format!("  Queue           {:<36} {id}\n", q.name));
    }
    for id in &stack.resources().email_identities {
        out.push_str(&format!("  SES identity    {id}\n"));
    }
    if let Some(env) = stack.environment("AgentFunction") {
        if let Some(model) = env.get("MODEL_PROVIDER") {
            out.push_str(&format!("  Model           {model}\n"));
        }
    }
    out.push_str(&format!(
        "\n  Started in {} ms (moto {} ms, provisioning {} ms). Ctrl-C stops everything.\n\n  Use the AWS CLI against it: AWS_ENDPOINT_URL={} AWS_REGION={} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws ...\n",
        t.total.as_millis(),
        t.moto.as_millis(),
        t.provisioning.as_millis(),
        stack.endpoint_url(),
        stack.region()
    ));
    println!("{out}");
}
