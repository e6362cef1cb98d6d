//! `cargo bench -p support-embedding`: all-MiniLM-L6-v2 on this machine's CPU. Prints the
//! cold start (nothing loaded to the first embedding), p50/p95 for one message of 64 and of
//! 256 tokens, a batch of 32 passages, and the process's peak resident memory.

use std::time::Instant;

use support_core::ports::embedder::Embedder;
use support_core::stats::percentile;
use support_embedding::{default_model_dir, MiniLmEmbedder, MAX_TOKENS};
use tokenizers::Tokenizer;

const RUNS: usize = 200;
const BATCH_RUNS: usize = 20;

const WORDS: &[&str] = &[
    "my",
    "team",
    "cannot",
    "export",
    "the",
    "board",
    "to",
    "a",
    "spreadsheet",
    "since",
    "last",
    "week",
    "and",
    "every",
    "card",
    "with",
    "comments",
    "shows",
    "an",
    "error",
    "when",
    "we",
    "open",
    "timeline",
    "view",
    "after",
    "renaming",
    "project",
    "invoice",
    "for",
    "march",
    "was",
    "charged",
    "twice",
    "please",
    "refund",
    "extra",
    "seat",
    "our",
    "admin",
    "lost",
    "access",
    "two-factor",
    "codes",
    "slack",
    "notifications",
    "stopped",
];

/// Words from `WORDS` (offset by `seed`) until the text is `tokens` long, [CLS] and [SEP]
/// included, by the model's own tokenizer.
fn text_of(tokenizer: &Tokenizer, tokens: usize, seed: usize) -> String {
    let mut text = String::new();
    for word in WORDS.iter().cycle().skip(seed) {
        let longer = format!("{text} {word}");
        if tokenizer.encode(longer.trim(), true).expect("tokenize").len() > tokens {
            break;
        }
        text = longer;
    }
    text.trim().to_owned()
}

fn report(label: &str, millis: &[f64]) {
    let p50 = percentile(millis, 50.0).unwrap_or(f64::NAN);
    let p95 = percentile(millis, 95.0).unwrap_or(f64::NAN);
    println!(
        "{label:<34} p50 {p50:>8.2} ms   p95 {p95:>8.2} ms   ({} runs)",
        millis.len()
    );
}

fn time_runs(embedder: &MiniLmEmbedder, texts: &[&str], runs: usize) -> Vec<f64> {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            embedder.embed(texts).expect("embed");
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

/// VmHWM: the most memory the process has held resident, in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let dir = default_model_dir();
    // Candle's default is one thread per physical core; its spinning barrier suffers when other
    // processes share the cores, so the figures depend on the machine being otherwise idle.
    println!(
        "threads                            {:>8}      (CANDLE_NUM_THREADS, RAYON_NUM_THREADS)",
        candle_core::utils::get_num_threads()
    );

    let start = Instant::now();
    let embedder = MiniLmEmbedder::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let loaded = start.elapsed();
    embedder.embed(&["hello"]).expect("embed");
    let cold = start.elapsed();
    println!(
        "cold start                         {:>8.1} ms   (load {:.1} ms + first embedding)",
        cold.as_secs_f64() * 1e3,
        loaded.as_secs_f64() * 1e3
    );
    println!(
        "peak RSS after load                {:>8.1} MB",
        peak_rss_mb().unwrap_or(f64::NAN)
    );

    let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).expect("tokenizer");
    // tokenizer.json pads and cuts to 128 tokens; the texts are measured as they are.
    tokenizer.with_padding(None);
    tokenizer.with_truncation(None).expect("no truncation");
    let short = text_of(&tokenizer, 64, 0);
    let long = text_of(&tokenizer, MAX_TOKENS, 0);
    report("one message, 64 tokens", &time_runs(&embedder, &[&short], RUNS));
    report("one message, 256 tokens", &time_runs(&embedder, &[&long], RUNS));

    // Passages of 32 to 256 tokens, as knowledge-base chunks come.
    let passages: Vec<String> = (0..32).map(|i| text_of(&tokenizer, 32 + i * 7, i)).collect();
    let passages: Vec<&str> = passages.iter().map(String::as_str).collect();
    let batch = time_runs(&embedder, &passages, BATCH_RUNS);
    report("batch of 32 passages (32-249 tok)", &batch);
    let per_passage: Vec<f64> = batch.iter().map(|ms| ms / 32.0).collect();
    report("  per passage", &per_passage);

    println!(
        "peak RSS (VmHWM)                   {:>8.1} MB",
        peak_rss_mb().unwrap_or(f64::NAN)
    );
}
