//! A moto server child process: AWS on one machine.
//!
//! moto is started through a tiny `sh` guard that kills it as soon as our end of its stdin
//! pipe closes. That happens on `stop()`, on drop, and also when this process dies without
//! running destructors (SIGKILL, a test harness timeout), so no orphaned moto is left behind.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Runs `$0 "$@"` in the background, prints its pid, then waits for EOF on stdin and
/// kills it. Background jobs of a non-interactive shell get /dev/null as stdin, so moto
/// never reads our pipe.
const GUARD: &str = r#""$0" "$@" & pid=$!
echo "$pid"
trap 'kill "$pid" 2>/dev/null; exit 0' TERM INT HUP
while read -r _; do :; done
kill "$pid" 2>/dev/null
wait "$pid""#;

const LOG_TAIL_LINES: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error("cannot start moto_server ({binary}): {source}")]
    Spawn { binary: String, source: std::io::Error },
    #[error("moto_server exited before answering; its last output:\n{0}")]
    Exited(String),
    #[error("moto_server did not answer on {endpoint} within {seconds} s; its last output:\n{log}")]
    Timeout {
        endpoint: String,
        seconds: u64,
        log: String,
    },
    #[error("no free local port: {0}")]
    Port(std::io::Error),
}

pub struct MotoServer {
    guard: Child,
    stdin: Option<ChildStdin>,
    moto_pid: Option<u32>,
    endpoint: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl std::fmt::Debug for MotoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotoServer")
            .field("endpoint", &self.endpoint)
            .field("pid", &self.moto_pid)
            .finish()
    }
}

/// Where moto_server is: `explicit`, else `$MOTO_SERVER`, else the workspace venv, else PATH.
pub fn locate(explicit: Option<&Path>, workspace: &Path) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_owned();
    }
    if let Some(p) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = workspace.join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

fn free_port() -> Result<u16, MotoError> {
    // The port is released before moto binds it; a collision in that gap is unlikely and
    // shows up as a start timeout rather than as a wrong endpoint.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(MotoError::Port)?;
    Ok(listener.local_addr().map_err(MotoError::Port)?.port())
}

impl MotoServer {
    /// Starts moto on a free port of 127.0.0.1 and waits until it answers HTTP.
    pub async fn start(binary: &Path) -> Result<Self, MotoError> {
        let port = free_port()?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut command = Command::new("sh");
        // Its own process group: a terminal's Ctrl-C reaches only us, and we stop moto
        // after the pollers finished their in-flight work.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut guard = command
            .arg("-c")
            .arg(GUARD)
            .arg(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| MotoError::Spawn {
                binary: binary.display().to_string(),
                source,
            })?;
        let stdin = guard.stdin.take();
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (pid_tx, pid_rx) = std::sync::mpsc::channel();
        // moto logs every request: drain both pipes on plain threads (independent of any
        // tokio runtime) so it never blocks on a full pipe; keep a tail for error reports.
        if let Some(out) = guard.stdout.take() {
            let log = log.clone();
            std::thread::spawn(move || drain(out, &log, Some(pid_tx)));
        }
        if let Some(err) = guard.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || drain(err, &log, None));
        }
        let moto_pid = pid_rx.recv_timeout(Duration::from_secs(5)).ok();
        let mut server = MotoServer {
            guard,
            stdin,
            moto_pid,
            endpoint,
            log,
        };
        server.wait_ready(Duration::from_secs(30)).await?;
        Ok(server)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn pid(&self) -> Option<u32> {
        self.moto_pid
    }

    fn log_tail(&self) -> String {
        self.log
            .lock()
            .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), MotoError> {
        let started = Instant::now();
        loop {
            if let Ok(Some(_)) = self.guard.try_wait() {
                return Err(MotoError::Exited(self.log_tail()));
            }
            if answers(&self.endpoint).await {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(MotoError::Timeout {
                    endpoint: self.endpoint.clone(),
                    seconds: limit.as_secs(),
                    log: self.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops moto and waits (briefly) for it to exit.
    pub fn stop(&mut self) {
        // Closing the pipe makes the guard kill moto and exit.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.guard.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The guard did not finish in time: kill both by pid.
        if let Some(pid) = self.moto_pid {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        let _ = self.guard.kill();
        let _ = self.guard.wait();
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn drain(pipe: impl Read, log: &Mutex<VecDeque<String>>, mut pid_tx: Option<std::sync::mpsc::Sender<u32>>) {
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        if let Some(tx) = pid_tx.take() {
            if let Ok(pid) = line.trim().parse() {
                let _ = tx.send(pid);
                continue;
            }
        }
        tracing::trace!(target: "moto", "{line}");
        if let Ok(mut l) = log.lock() {
            if l.len() == LOG_TAIL_LINES {
                l.pop_front();
            }
            l.push_back(line);
        }
    }
}

/// Whether an HTTP server answers at `endpoint` (`http://host:port`).
pub async fn answers(endpoint: &str) -> bool {
    let Some(authority) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let authority = authority.trim_end_matches('/');
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(authority).await.ok()?;
        let request = format!("GET /moto-api/ HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).await.ok()?;
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.ok()?;
        Some(buf.starts_with(b"HTTP/1."))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(true))
    )
}
