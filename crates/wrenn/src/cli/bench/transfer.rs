//! File throughput: a file of `--file-mib` MiB streamed into a running
//! capsule and back, [`ROUNDS`] times each way. The data is pseudo-random
//! (nothing on the way can compress it), held in memory here so the disk of
//! this machine is not what is measured, and every download is compared
//! with what was sent: a transfer that returns other bytes is a failure,
//! not a fast sample.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;

use crate::cli::bench::probe::{message, ms};
use crate::cli::bench::report::{Metric, Report, Throughput};
use crate::cli::bench::{Bench, Phase};

/// Rounds per direction.
pub(crate) const ROUNDS: usize = 3;
/// Where the file goes inside the capsule (on its disk, not in memory).
const REMOTE_PATH: &str = "/tmp/wrenn-bench.bin";
const MIB: usize = 1 << 20;

pub(crate) async fn run(bench: &Bench<'_>, report: &mut Report) {
    let mib = bench.sizes.file_mib;
    let spinner = bench.spinner(Phase::Files, "starting a capsule");
    let data: Arc<[u8]> = pattern(mib * MIB).into();
    let mut upload = Metric::new("upload", format!("upload {mib} MiB"), "ms", ROUNDS);
    let mut download = Metric::new("download", format!("download {mib} MiB"), "ms", ROUNDS);
    match bench.ready_capsule().await {
        Ok(id) => {
            let files = bench.client.files(&id);
            for round in 1..=ROUNDS {
                spinner.set(format!("upload {round}/{ROUNDS}"));
                let started = Instant::now();
                let sent = files.upload(REMOTE_PATH, Cursor::new(Arc::clone(&data))).await;
                upload.record(sent.map(|()| ms(started.elapsed())).map_err(message));
                spinner.set(format!("download {round}/{ROUNDS}"));
                let started = Instant::now();
                let received = download_and_compare(&files, &data).await;
                download.record(received.map(|()| ms(started.elapsed())));
            }
            let _ = bench.tracker.destroy(&id).await;
        }
        Err(error) => {
            upload.fail_rest(&error);
            download.fail_rest(&error);
        }
    }
    let bytes = data.len() as u64;
    report.throughput.push(Throughput::new("upload", bytes, &upload.samples));
    report.throughput.push(Throughput::new("download", bytes, &download.samples));
    report.metrics.push(upload);
    report.metrics.push(download);
}

/// Downloads the file and checks it is `expected`, byte for byte.
async fn download_and_compare(files: &wrenn_client::Files<'_>, expected: &[u8]) -> Result<(), String> {
    let mut chunks = files.download(REMOTE_PATH).await.map_err(message)?;
    let mut offset = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(message)?;
        let end = offset + chunk.len();
        if expected.get(offset..end) != Some(&chunk[..]) {
            return Err(format!("the download differs from the upload within bytes {offset}..{end}"));
        }
        offset = end;
    }
    if offset != expected.len() {
        return Err(format!("the download has {offset} bytes, the upload {}", expected.len()));
    }
    Ok(())
}

/// `len` pseudo-random bytes (xorshift64*), the same every run.
fn pattern(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        data.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    data.truncate(len);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_has_the_size_asked_and_does_not_repeat_early() {
        for len in [0, 1, 7, 8, 9, MIB + 3] {
            assert_eq!(pattern(len).len(), len);
        }
        let data = pattern(MIB);
        assert_eq!(data, pattern(MIB), "the same every run");
        assert_ne!(data[..4096], data[4096..8192]);
        let zeros = data.iter().filter(|byte| **byte == 0).count();
        assert!(zeros < MIB / 128, "about 1/256 of the bytes are 0, not {zeros}");
    }
}
