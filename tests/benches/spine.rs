//! Pushes N web form submissions through the local stack (moto, gateway,
//! pollers, real handlers) and prints throughput and latency from submit to a
//! stored, emailed reply; then the agent's own time per message, read from the
//! runs it records, which separates our handler's time from the emulator's
//! queueing; then ten submissions one at a time, for the latency of a single
//! message with nothing queued ahead of it. `BENCH_SUBMISSIONS` sets N (default 40).

use std::time::{Duration, Instant};

use integration_tests::{valid_form, TestApp};
use support_core::stats::percentile;

const QUESTIONS: &[&str] = &[
    "How do I invite a teammate to my workspace?",
    "I forgot my password and need to reset it.",
    "How can I import my boards from Trello?",
    "Where can I download my invoices?",
    "How do I set up two-factor authentication?",
];

fn summary(label: &str, values: Vec<f64>) {
    let at = |p| percentile(&values, p).unwrap_or(f64::NAN);
    println!(
        "{label:<42} n={:<4} p50={:>8.1} ms  p95={:>8.1} ms  max={:>8.1} ms",
        values.len(),
        at(50.0),
        at(95.0),
        at(100.0)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("BENCH_SUBMISSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let app = TestApp::spawn().await;
    let started = Instant::now();
    let mut submitted = Vec::with_capacity(n);
    let mut submit_ms = Vec::with_capacity(n);
    for i in 0..n {
        let mut form = valid_form();
        form["email"] = format!("customer{i}@bench.example").into();
        form["message"] = QUESTIONS[i % QUESTIONS.len()].into();
        let at = Instant::now();
        let id = app.submit_ok(&form).await;
        submit_ms.push(at.elapsed().as_secs_f64() * 1e3);
        submitted.push((id, at));
    }
    let mut end_to_end_ms = Vec::with_capacity(n);
    for (id, at) in &submitted {
        app.wait_for_sent_reply(id, Duration::from_secs(120))
            .await
            .expect("every submission is answered");
        end_to_end_ms.push(at.elapsed().as_secs_f64() * 1e3);
    }
    let total = started.elapsed();
    let agent_ms: Vec<f64> = app
        .ticket_table_items("agent_run")
        .await
        .iter()
        .filter_map(|i| i.get("duration_ms")?.as_n().ok()?.parse().ok())
        .collect();

    // One at a time: the latency of a single message with nothing queued ahead of it.
    let mut single_ms = Vec::new();
    for i in 0..10 {
        let mut form = valid_form();
        form["email"] = format!("single{i}@bench.example").into();
        let at = Instant::now();
        let id = app.submit_ok(&form).await;
        app.wait_for_sent_reply(&id, Duration::from_secs(60))
            .await
            .expect("answered");
        single_ms.push(at.elapsed().as_secs_f64() * 1e3);
    }

    println!(
        "\nspine benchmark: {n} web form submissions through the local stack (moto {})",
        app.stack.endpoint_url()
    );
    println!(
        "throughput: {:.2} submissions/s answered ({n} in {:.1} s)",
        n as f64 / total.as_secs_f64(),
        total.as_secs_f64()
    );
    summary("POST /support/submit (handler + moto)", submit_ms);
    summary("burst: submit -> stored, emailed reply", end_to_end_ms);
    summary("one at a time: submit -> emailed reply", single_ms);
    summary("agent per message (handler incl. moto I/O)", agent_ms);
    app.shutdown().await;
}
