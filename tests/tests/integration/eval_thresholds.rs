//! The labelled set through the whole pipeline on the local stack must meet the
//! product's targets: category accuracy 85%, escalation recall 0.95 and
//! precision 0.85. (`cargo run -p integration-tests --bin eval` prints the detail.)

use integration_tests::eval::{labelled_tickets, run};
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
