//! The labelled set through the whole pipeline on the local stack must meet the
//! product's targets: category accuracy 85%, escalation recall 0.95 and
//! precision 0.85. (`cargo run -p integration-tests --bin eval` prints the detail.)

use integration_tests::eval::{dev_set, labelled_tickets, render_understanding, run, understanding};
use integration_tests::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_labelled_set_meets_the_accuracy_and_escalation_targets() {
    let tickets = labelled_tickets().unwrap();
    let app = TestApp::spawn().await;
    let report = run(&app, &tickets).await.unwrap();
    let summary = report.render();
    println!("{summary}");
    let overall = &report.overall;
    assert!(overall.n >= 85, "most labelled tickets were scored:\n{summary}");
    assert!(overall.category_accuracy >= 0.85, "category accuracy:\n{summary}");
    assert!(overall.escalation_recall >= 0.95, "escalation recall:\n{summary}");
    assert!(overall.escalation_precision >= 0.85, "escalation precision:\n{summary}");
    app.shutdown().await;
}

/// The held-out split of `context/dev-set.json` (messages written the way customers write,
/// never used for training or thresholds), through the whole pipeline. The understanding
/// issue's targets are escalation recall ≥ 0.95, false escalations ≤ 5%, answer
/// correctness ≥ 85% and wrong confident answers ≤ 5%; they are NOT reached yet (the
/// README and the notes give the figures). These floors hold what was reached, so
/// that a change that makes understanding worse fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_held_out_split_keeps_the_understanding_reached() {
    let tickets = dev_set("held_out").unwrap();
    let app = TestApp::spawn().await;
    let report = run(&app, &tickets).await.unwrap();
    let summary = render_understanding(&report);
    println!("{summary}");
    let all: Vec<_> = report.outcomes.iter().collect();
    let measured = understanding(&all);
    assert!(measured.n >= 180, "most held-out messages were decided:\n{summary}");
    assert!(measured.escalation_recall >= 0.78, "escalation recall:\n{summary}");
    assert!(measured.false_escalations <= 0.27, "false escalations:\n{summary}");
    assert!(measured.answer_correctness >= 0.58, "answer correctness:\n{summary}");
    assert!(measured.wrong_confident <= 0.17, "wrong confident answers:\n{summary}");
    assert!(measured.no_answer_recall >= 0.65, "no_answer detection:\n{summary}");
    app.shutdown().await;
}
