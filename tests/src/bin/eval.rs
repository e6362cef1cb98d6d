//! `cargo run -p integration-tests --bin eval [dev <tune|held_out>]`: the labelled tickets
//! (or a split of the development set) through the whole pipeline on a fresh local stack;
//! prints the scores.

use integration_tests::eval::{dev_set, labelled_tickets, render_understanding, run};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (tickets, name) = match args.as_slice() {
        [set, split] if set == "dev" => (dev_set(split)?, format!("the {split} split of context/dev-set.json")),
        _ => (labelled_tickets()?, "context/sample-tickets.json".to_owned()),
    };
    let app = integration_tests::TestApp::spawn().await;
    let report = run(&app, &tickets).await?;
    println!(
        "eval: {} labelled messages of {name} through the local stack (offline engine)\n",
        tickets.len()
    );
    print!("{}", report.render());
    println!("\nunderstanding:\n{}", render_understanding(&report));
    app.shutdown().await;
    Ok(())
}
