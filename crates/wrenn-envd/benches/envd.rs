//! envd benchmark: runs the release `envd` binary on loopback and measures
//! what users feel. Not a test: it asserts nothing, it reports.
//!
//! `cargo bench -p wrenn-envd --bench envd` (add `-- --quick` for a short run).
//! Prints a table and writes every sample to `target/bench/envd.json`.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods, missing_docs)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connectrpc::client::{ClientConfig, HttpClient};
use futures::StreamExt;
use wrenn_proto::envd::process as pb;
use wrenn_proto::envd::process::__buffa::oneof;

struct Sizes {
    n_starts: usize,
    n_exec: usize,
    throughput_secs: u64,
    transfer_bytes: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes { n_starts: 10, n_exec: 100, throughput_secs: 2, transfer_bytes: 256 << 20 }
    } else {
        Sizes { n_starts: 30, n_exec: 1000, throughput_secs: 5, transfer_bytes: 1 << 30 }
    };
    let binary = env!("CARGO_BIN_EXE_envd");
    let root = tempfile::tempdir()?;
    let mut report = Report::default();

    // Start to healthy, and idle RSS of a fresh envd.
    let mut idle_rss_kib = Vec::new();
    for _ in 0..sizes.n_starts {
        let port = free_port()?;
        let started = Instant::now();
        let mut child = spawn_envd(binary, port, root.path())?;
        wait_healthy(port).await?;
        report.sample("start_to_healthy_ms", started.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
        idle_rss_kib.push(rss_kib(child.id())? as f64);
        stop(&mut child);
    }
    report.values("idle_rss_kib", idle_rss_kib);
    report.values("binary_size_kib", vec![std::fs::metadata(binary)?.len() as f64 / 1024.0]);

    let port = free_port()?;
    let mut child = spawn_envd(binary, port, root.path())?;
    wait_healthy(port).await?;
    let base = format!("http://127.0.0.1:{port}");
    let process = pb::ProcessClient::new(HttpClient::plaintext(), ClientConfig::new(base.parse()?));

    // Exec round trip: Start `true` and read the stream to its end event.
    for _ in 0..20 {
        exec_true(&process).await?;
    }
    for _ in 0..sizes.n_exec {
        let started = Instant::now();
        exec_true(&process).await?;
        report.sample("exec_true_round_trip_ms", started.elapsed());
    }

    // Processes started per second, 8 clients in parallel.
    let deadline = Instant::now() + Duration::from_secs(sizes.throughput_secs);
    let started = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let process = process.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    exec_true(&process).await?;
                    n += 1;
                }
                anyhow::Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await??;
    }
    report.values("processes_per_second", vec![total as f64 / started.elapsed().as_secs_f64()]);

    // Upload and download of one large file, streamed both ways.
    let http = reqwest::Client::builder().http1_only().build()?;
    let n_bytes = sizes.transfer_bytes;
    let chunk = bytes::Bytes::from(vec![0x5au8; 1 << 20]);
    let body =
        futures::stream::iter((0..n_bytes / chunk.len() as u64).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let started = Instant::now();
    let response = http
        .post(format!("{base}/files?path=bench.bin"))
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await?;
    anyhow::ensure!(response.status().is_success(), "upload failed: {}", response.status());
    report.values("upload_mb_per_s", vec![n_bytes as f64 / 1e6 / started.elapsed().as_secs_f64()]);
    let started = Instant::now();
    let response =
        http.get(format!("{base}/files?path=bench.bin")).header("accept-encoding", "identity").send().await?;
    anyhow::ensure!(response.status().is_success(), "download failed: {}", response.status());
    let mut received = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        received += chunk?.len() as u64;
    }
    anyhow::ensure!(received == n_bytes, "downloaded {received} of {n_bytes} bytes");
    report.values("download_mb_per_s", vec![n_bytes as f64 / 1e6 / started.elapsed().as_secs_f64()]);
    report.values("rss_after_transfers_kib", vec![rss_kib(child.id())? as f64]);
    stop(&mut child);

    report.print(n_bytes);
    report.write_json()?;
    Ok(())
}

async fn exec_true(process: &pb::ProcessClient<HttpClient>) -> anyhow::Result<()> {
    let request = pb::StartRequest {
        process: pb::ProcessConfig { cmd: "true".to_owned(), ..Default::default() }.into(),
        stdin: Some(false),
        ..Default::default()
    };
    let mut stream = process.start(request).await?;
    while let Some(message) = stream.message::<pb::StartResponse>().await? {
        if let Some(event) = message.to_owned_message().event.into_option()
            && let Some(oneof::process_event::Event::End(end)) = event.event
        {
            anyhow::ensure!(end.exit_code == 0, "true exited with {}", end.exit_code);
        }
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn spawn_envd(binary: &str, port: u16, root: &std::path::Path) -> anyhow::Result<Child> {
    Ok(Command::new(binary)
        .args(["--dev", "--port", &port.to_string(), "--root"])
        .arg(root)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?)
}

/// Polls `/health` over fresh connections every 0.5 ms.
async fn wait_healthy(port: u16) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await {
            stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await?;
            let mut buf = Vec::new();
            stream.read_to_end(&mut buf).await?;
            if buf.starts_with(b"HTTP/1.1 200") {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    anyhow::bail!("envd on port {port} never became healthy")
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

fn stop(child: &mut Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
}

#[derive(Default)]
struct Report {
    series: Vec<(&'static str, Vec<f64>)>,
}

impl Report {
    fn sample(&mut self, name: &'static str, elapsed: Duration) {
        let value = elapsed.as_secs_f64() * 1e3;
        match self.series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => self.series.push((name, vec![value])),
        }
    }

    fn values(&mut self, name: &'static str, values: Vec<f64>) {
        self.series.push((name, values));
    }

    fn print(&self, n_bytes: u64) {
        println!("envd benchmark (loopback, transfer size {} MiB)", n_bytes >> 20);
        println!("{:<28} {:>6} {:>12} {:>12} {:>12}", "metric", "n", "p50", "p95", "p99");
        for (name, values) in &self.series {
            println!(
                "{:<28} {:>6} {:>12.3} {:>12.3} {:>12.3}",
                name,
                values.len(),
                percentile(values, 50.0),
                percentile(values, 95.0),
                percentile(values, 99.0)
            );
        }
    }

    fn write_json(&self) -> anyhow::Result<()> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
        std::fs::create_dir_all(&dir)?;
        let map: serde_json::Map<String, serde_json::Value> =
            self.series.iter().map(|(name, values)| (name.to_string(), serde_json::json!(values))).collect();
        let path = dir.join("envd.json");
        std::fs::File::create(&path)?.write_all(serde_json::to_string_pretty(&map)?.as_bytes())?;
        println!("samples: {}", path.display());
        Ok(())
    }
}

fn percentile(values: &[f64], pct: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((pct / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
