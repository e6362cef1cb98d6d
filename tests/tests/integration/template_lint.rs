//! template.yaml passes `cfn-lint` and `sam validate --lint` (installed into
//! ./.venv by scripts/ensure-tools.sh).

use std::path::PathBuf;
use std::process::Command;

fn venv_tool(name: &str) -> PathBuf {
    let path = local_stack::workspace_root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/ensure-tools.sh",
        path.display()
    );
    path
}

fn run(tool: &str, args: &[&str]) {
    let output = Command::new(venv_tool(tool))
        .args(args)
        .current_dir(local_stack::workspace_root())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .expect("the linter runs");
    assert!(
        output.status.success(),
        "{tool} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn cfn_lint_passes() {
    run("cfn-lint", &["template.yaml"]);
}

#[test]
fn sam_validate_lint_passes() {
    run("sam", &["validate", "--lint", "--template-file", "template.yaml"]);
}
