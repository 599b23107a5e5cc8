//! Control plane benchmark through the public API of a real `wrenn up`:
//! what a user of the SDK feels. Not a test: it reports, it asserts only
//! that the calls succeed.
//!
//! `cargo bench -p wrenn --bench api` (add `-- --quick` for a CI-sized run).
//! Runs as root, needs the `minimal` template in `WRENN_TEST_TEMPLATE_CACHE`
//! (`<cache>/templates/minimal`) and release `wrenn-launch` and `envd` next
//! to the bench's `wrenn` (`cargo build --release -p wrenn-agent -p
//! wrenn-envd --bins`). Prints a table and writes every sample to
//! `target/bench/api.json`.
//!
//! ```text
//! tti seq      POST /v1/capsules, then POST …/exec `true` at once (the exec
//!              waits for the capsule to run): time to interactive, one at a time
//! tti conc     the same for N capsules at once
//! exec rtt     POST …/exec `true` on a running capsule, one at a time
//! get rps      GET /v1/capsules/{id} from 16 concurrent clients
//! memory       the wrenn process's RSS idle and with the concurrent capsules
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods, missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const KEY: &str = "wrenn-bench-key-0123456789abcdef";
/// Same lock as the privileged tests: the agent sweeps `wrenn-*` objects.
const LOCK_FILE: &str = "/tmp/wrenn-network-tests.lock";
const GET_CLIENTS: usize = 16;

struct Sizes {
    tti_seq: usize,
    tti_conc: usize,
    exec: usize,
    get_for: Duration,
}

fn main() -> BenchResult<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("api bench skipped: it runs `wrenn up`, which needs root");
        return Ok(());
    }
    let Some(cache) = std::env::var_os("WRENN_TEST_TEMPLATE_CACHE").map(PathBuf::from) else {
        eprintln!("api bench skipped: set WRENN_TEST_TEMPLATE_CACHE to a dir holding templates/minimal");
        return Ok(());
    };
    let quick = std::env::args().any(|arg| arg == "--quick");
    let sizes = if quick {
        Sizes { tti_seq: 8, tti_conc: 20, exec: 100, get_for: Duration::from_secs(2) }
    } else {
        Sizes { tti_seq: 30, tti_conc: 50, exec: 500, get_for: Duration::from_secs(5) }
    };
    let _lock = network_lock()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let server = Server::start(&cache)?;
    let result = runtime.block_on(run(&server, &sizes));
    let stopped = server.stop();
    let report = result?;
    stopped?;
    print_report(&report);
    write_json(&report)?;
    Ok(())
}

/// Takes the privileged tests' lock, held by this process until the
/// returned file closes (a lock held by a child outlived the bench when
/// only the `flock` parent was killed).
fn network_lock() -> BenchResult<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(LOCK_FILE)?;
    // SAFETY: the descriptor is open for the whole call; flock only locks it.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("flock {LOCK_FILE}: {}", std::io::Error::last_os_error()).into());
    }
    Ok(file)
}

/// The `wrenn up` under test, with its data dir.
struct Server {
    child: Child,
    data_dir: PathBuf,
    base: String,
}

impl Server {
    fn start(cache: &Path) -> BenchResult<Server> {
        let wrenn = PathBuf::from(env!("CARGO_BIN_EXE_wrenn"));
        let beside = wrenn.parent().ok_or("wrenn has no directory")?;
        for tool in ["wrenn-launch", "envd"] {
            if !beside.join(tool).is_file() {
                return Err(format!(
                    "{} is missing: cargo build --release -p wrenn-agent -p wrenn-envd --bins",
                    beside.join(tool).display()
                )
                .into());
            }
        }
        let data_dir = PathBuf::from(format!("/var/tmp/wrenn-api-bench-{}", std::process::id()));
        let templates = data_dir.join("agent/templates");
        std::fs::create_dir_all(&templates)?;
        let status = Command::new("cp").arg("-al").arg(cache.join("templates/minimal")).arg(&templates).status()?;
        if !status.success() {
            Command::new("cp").arg("-a").arg(cache.join("templates/minimal")).arg(&templates).status()?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::fs::File::create(data_dir.join("wrenn.log"))?;
        let child = Command::new(&wrenn)
            .args(["up", "--data-dir"])
            .arg(&data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--base-templates", "minimal"])
            .env("WRENN_BOOTSTRAP_API_KEY", KEY)
            .env("WRENN_LOG", "warn")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        Ok(Server { child, data_dir, base: format!("http://127.0.0.1:{port}") })
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn stop(mut self) -> BenchResult<()> {
        // SAFETY: kill with a valid pid of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.wait()?;
        let status = Command::new("rm").arg("-rf").arg("--one-file-system").arg(&self.data_dir).status()?;
        if !status.success() {
            return Err(format!("could not remove {}", self.data_dir.display()).into());
        }
        Ok(())
    }
}

struct Report {
    tti_seq_ms: Vec<f64>,
    tti_conc_ms: Vec<f64>,
    tti_conc_wall_ms: f64,
    exec_ms: Vec<f64>,
    get_rps: f64,
    rss_idle_kib: u64,
    rss_loaded_kib: u64,
    concurrent: usize,
}

async fn run(server: &Server, sizes: &Sizes) -> BenchResult<Report> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let api = Api { client, base: server.base.clone() };
    api.wait_ready().await?;
    // Warm up: the first capsule pays for cold caches.
    let warm = api.create().await?;
    api.exec_true(&warm).await?;
    api.destroy(&warm).await?;

    let mut tti_seq_ms = Vec::new();
    for _ in 0..sizes.tti_seq {
        let started = Instant::now();
        let id = api.create().await?;
        api.exec_true(&id).await?;
        tti_seq_ms.push(ms(started.elapsed()));
        api.destroy(&id).await?;
    }
    api.wait_all_stopped().await?;
    let rss_idle_kib = server.rss_kib();

    let wall = Instant::now();
    let tasks: Vec<_> = (0..sizes.tti_conc)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let id = api.create().await?;
                api.exec_true(&id).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((id, ms(started.elapsed())))
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut tti_conc_ms = Vec::new();
    for task in tasks {
        let (id, elapsed) = task.await??;
        ids.push(id);
        tti_conc_ms.push(elapsed);
    }
    let tti_conc_wall_ms = ms(wall.elapsed());
    let rss_loaded_kib = server.rss_kib();

    let target = ids.first().ok_or("no capsule")?.clone();
    let mut exec_ms = Vec::new();
    for _ in 0..sizes.exec {
        let started = Instant::now();
        api.exec_true(&target).await?;
        exec_ms.push(ms(started.elapsed()));
    }

    let deadline = Instant::now() + sizes.get_for;
    let readers: Vec<_> = (0..GET_CLIENTS)
        .map(|_| {
            let api = api.clone();
            let target = target.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    api.get(&target).await?;
                    n += 1;
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(n)
            })
        })
        .collect();
    let mut gets = 0u64;
    for reader in readers {
        gets += reader.await??;
    }
    let get_rps = gets as f64 / sizes.get_for.as_secs_f64();

    for id in &ids {
        api.destroy(id).await?;
    }
    api.wait_all_stopped().await?;
    Ok(Report {
        tti_seq_ms,
        tti_conc_ms,
        tti_conc_wall_ms,
        exec_ms,
        get_rps,
        rss_idle_kib,
        rss_loaded_kib,
        concurrent: sizes.tti_conc,
    })
}

#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn wait_ready(&self) -> BenchResult<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answered = self.client.get(format!("{}/v1/capsules", self.base)).header("x-api-key", KEY).send().await;
            if answered.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("wrenn up did not serve within 60 s (see its wrenn.log)".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn create(&self) -> BenchResult<String> {
        let response = self
            .client
            .post(format!("{}/v1/capsules", self.base))
            .header("x-api-key", KEY)
            .json(&json!({"template": "minimal", "memory_mb": 256, "disk_mb": 512}))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            return Err(format!("create answered {status}: {body}").into());
        }
        Ok(body["id"].as_str().ok_or("no id")?.to_owned())
    }

    async fn exec_true(&self, id: &str) -> BenchResult<()> {
        let response = self
            .client
            .post(format!("{}/v1/capsules/{id}/exec", self.base))
            .header("x-api-key", KEY)
            .json(&json!({"cmd": "/bin/true", "timeout_sec": 30}))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() || body["exit_code"] != 0 {
            return Err(format!("exec answered {status}: {body}").into());
        }
        Ok(())
    }

    async fn get(&self, id: &str) -> BenchResult<()> {
        let response =
            self.client.get(format!("{}/v1/capsules/{id}", self.base)).header("x-api-key", KEY).send().await?;
        if !response.status().is_success() {
            return Err(format!("get answered {}", response.status()).into());
        }
        response.bytes().await?;
        Ok(())
    }

    async fn destroy(&self, id: &str) -> BenchResult<()> {
        let response =
            self.client.delete(format!("{}/v1/capsules/{id}", self.base)).header("x-api-key", KEY).send().await?;
        if !response.status().is_success() {
            return Err(format!("destroy answered {}", response.status()).into());
        }
        Ok(())
    }

    async fn wait_all_stopped(&self) -> BenchResult<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let list: Vec<Value> = self
                .client
                .get(format!("{}/v1/capsules", self.base))
                .header("x-api-key", KEY)
                .send()
                .await?
                .json()
                .await?;
            if list.iter().all(|capsule| capsule["status"] == "stopped") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("capsules did not stop within 120 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

fn percentile(values: &[f64], pct: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((pct / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn print_report(report: &Report) {
    println!("{:<40} {:>8} {:>8} {:>8} {:>6}", "api (wrenn up)", "p50", "p95", "p99", "n");
    for (name, values) in [
        ("create → first exec, sequential (ms)", &report.tti_seq_ms),
        (&*format!("create → first exec, {} at once (ms)", report.concurrent), &report.tti_conc_ms),
        ("exec round trip `true` (ms)", &report.exec_ms),
    ] {
        println!(
            "{name:<40} {:>8.1} {:>8.1} {:>8.1} {:>6}",
            percentile(values, 50.0),
            percentile(values, 95.0),
            percentile(values, 99.0),
            values.len()
        );
    }
    println!("{:<40} {:>8.1}", format!("{} at once, wall clock (ms)", report.concurrent), report.tti_conc_wall_ms);
    println!("{:<40} {:>8.0}", format!("GET capsule, {GET_CLIENTS} clients (req/s)"), report.get_rps);
    println!(
        "{:<40} {:>8.1} {:>8.1}",
        "wrenn RSS idle / loaded (MiB)",
        report.rss_idle_kib as f64 / 1024.0,
        report.rss_loaded_kib as f64 / 1024.0
    );
}

fn write_json(report: &Report) -> BenchResult<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir)?;
    let value = json!({
        "tti_seq_ms": report.tti_seq_ms,
        "tti_conc_ms": report.tti_conc_ms,
        "tti_conc_wall_ms": report.tti_conc_wall_ms,
        "concurrent": report.concurrent,
        "exec_ms": report.exec_ms,
        "get_rps": report.get_rps,
        "rss_idle_kib": report.rss_idle_kib,
        "rss_loaded_kib": report.rss_loaded_kib,
    });
    let mut file = std::fs::File::create(dir.join("api.json"))?;
    writeln!(file, "{}", serde_json::to_string_pretty(&value)?)?;
    println!("samples: {}", dir.join("api.json").display());
    Ok(())
}
