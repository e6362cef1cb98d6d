//! `cargo run -p integration-tests --bin eval`: the labelled tickets through
//! the whole pipeline on a fresh local stack; prints the scores.

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let tickets = integration_tests::eval::labelled_tickets()?;
    let app = integration_tests::TestApp::spawn().await;
    let report = integration_tests::eval::run(&app, &tickets).await?;
    println!(
        "eval: {} labelled tickets through the local stack (offline engine)\n",
        tickets.len()
    );
    print!("{}", report.render());
    app.shutdown().await;
    Ok(())
}
