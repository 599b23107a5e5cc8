//! A team's capsule counts over a stats range (`/v1/capsules/stats`): how
//! many capsules ran and what they reserved, now, at the busiest moment,
//! and as a series of buckets.
//!
//! Pure, over [`RunInterval`]s: a bucket holds the highest value reached
//! at any instant inside it (a capsule that lived for two seconds still
//! shows), each of the three counts maximised on its own. The last bucket
//! is the one that holds "now" and ends there.

use crate::app::usage::RunInterval;
use crate::app::usage::ranges::StatsRange;

/// Running capsules and what they reserve, at one instant or as a peak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occupancy {
    pub running: u64,
    pub vcpus: u64,
    pub memory_mb: u64,
}

/// The answer of `/v1/capsules/stats`, before it becomes JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamStats {
    pub range: StatsRange,
    /// At "now".
    pub current: Occupancy,
    /// The highest of each count over the range.
    pub peaks: Occupancy,
    /// One point per bucket, oldest first: `(bucket start in unix ms, the
    /// bucket's highest counts)`.
    pub series: Vec<(i64, Occupancy)>,
}

impl Occupancy {
    fn add(&mut self, interval: &RunInterval) {
        self.running += 1;
        self.vcpus += interval.vcpus;
        self.memory_mb += interval.memory_mb;
    }

    /// Every `add` is matched by at most one later `remove` of the same
    /// interval, so nothing goes below zero; saturating keeps bad rows
    /// from wrapping anyway.
    fn remove(&mut self, interval: &RunInterval) {
        self.running = self.running.saturating_sub(1);
        self.vcpus = self.vcpus.saturating_sub(interval.vcpus);
        self.memory_mb = self.memory_mb.saturating_sub(interval.memory_mb);
    }

    fn max(self, other: Occupancy) -> Occupancy {
        Occupancy {
            running: self.running.max(other.running),
            vcpus: self.vcpus.max(other.vcpus),
            memory_mb: self.memory_mb.max(other.memory_mb),
        }
    }
}

/// The stats of `range` ending at `now_ms`.
pub(crate) fn team_stats(intervals: &[RunInterval], range: StatsRange, now_ms: i64) -> TeamStats {
    let bucket_ms = range.bucket_seconds() * 1000;
    let n_buckets = range.n_buckets();
    let last_start = now_ms.div_euclid(bucket_ms) * bucket_ms;
    let first_start = last_start - (n_buckets as i64 - 1) * bucket_ms;

    let events = change_points(intervals, first_start);
    let mut next_event = 0;
    let mut level = Occupancy::default();
    let mut series = Vec::with_capacity(n_buckets);
    for index in 0..n_buckets {
        let start = first_start + index as i64 * bucket_ms;
        let end = if index + 1 == n_buckets { now_ms + 1 } else { start + bucket_ms };
        while let Some(&(at, change, interval)) = events.get(next_event)
            && at <= start
        {
            apply(&mut level, change, interval);
            next_event += 1;
        }
        let mut highest = level;
        while let Some(&(at, change, interval)) = events.get(next_event)
            && at < end
        {
            apply(&mut level, change, interval);
            highest = highest.max(level);
            next_event += 1;
        }
        series.push((start, highest));
    }

    let current = occupancy_at(intervals, now_ms);
    let peaks = series.iter().fold(current, |peak, &(_, bucket)| peak.max(bucket));
    TeamStats { range, current, peaks, series }
}

/// What runs at `at_ms`: intervals are half open, `[start, end)`.
fn occupancy_at(intervals: &[RunInterval], at_ms: i64) -> Occupancy {
    let mut level = Occupancy::default();
    for interval in intervals.iter().filter(|interval| interval.covers(at_ms)) {
        level.add(interval);
    }
    level
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    // Ends sort before starts at the same instant: `[start, end)` means a
    // capsule that ends when another starts never runs alongside it, and
    // no level in between is higher than the level after both.
    End,
    Start,
}

/// Every start and end at or after `from_ms`, in time order; an interval
/// that began earlier and still runs then starts at `from_ms`.
fn change_points(intervals: &[RunInterval], from_ms: i64) -> Vec<(i64, Change, &RunInterval)> {
    let mut events = Vec::with_capacity(intervals.len() * 2);
    for interval in intervals {
        if interval.end_ms.is_some_and(|end| end <= from_ms.max(interval.start_ms)) {
            continue;
        }
        events.push((interval.start_ms.max(from_ms), Change::Start, interval));
        if let Some(end) = interval.end_ms {
            events.push((end, Change::End, interval));
        }
    }
    events.sort_by_key(|&(at, change, _)| (at, change));
    events
}

fn apply(level: &mut Occupancy, change: Change, interval: &RunInterval) {
    match change {
        Change::Start => level.add(interval),
        Change::End => level.remove(interval),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// 5 minute stats (10 s buckets) at a "now" 5 s into its last bucket.
    const NOW: i64 = 1_700_000_000_000 + 5_000;

    fn interval(start_ms: i64, end_ms: Option<i64>, vcpus: u64, memory_mb: u64) -> RunInterval {
        RunInterval { start_ms, end_ms, vcpus, memory_mb }
    }

    fn occ(running: u64, vcpus: u64, memory_mb: u64) -> Occupancy {
        Occupancy { running, vcpus, memory_mb }
    }

    #[test]
    fn buckets_are_aligned_and_end_at_now() {
        let stats = team_stats(&[], StatsRange::FiveMinutes, NOW);
        assert_eq!(stats.series.len(), 30);
        let last = stats.series.last().unwrap().0;
        assert_eq!(last, 1_700_000_000_000);
        assert_eq!(stats.series[0].0, last - 29 * 10_000);
        assert!(stats.series.windows(2).all(|pair| pair[1].0 - pair[0].0 == 10_000));
        assert!(stats.series.iter().all(|&(_, bucket)| bucket == Occupancy::default()));
        assert_eq!(stats.current, Occupancy::default());
        assert_eq!(stats.peaks, Occupancy::default());
    }

    #[test]
    fn current_and_peaks_follow_the_intervals() {
        let last_bucket = 1_700_000_000_000;
        let cases = [
            ("nothing ran", vec![], occ(0, 0, 0), occ(0, 0, 0)),
            (
                "one running since long ago",
                vec![interval(NOW - 60 * MIN, None, 2, 512)],
                occ(1, 2, 512),
                occ(1, 2, 512),
            ),
            (
                "one that ended inside the range counts in peaks only",
                vec![interval(NOW - 3 * MIN, Some(NOW - 2 * MIN), 4, 1024)],
                occ(0, 0, 0),
                occ(1, 4, 1024),
            ),
            (
                "one that ended before the range counts nowhere",
                vec![interval(NOW - 20 * MIN, Some(NOW - 10 * MIN), 4, 1024)],
                occ(0, 0, 0),
                occ(0, 0, 0),
            ),
            (
                "overlapping capsules add up; peaks are per count",
                vec![
                    interval(NOW - 4 * MIN, Some(NOW - MIN), 1, 4096),
                    interval(NOW - 3 * MIN, None, 8, 256),
                    interval(NOW - 2 * MIN, Some(NOW - MIN), 1, 256),
                ],
                occ(1, 8, 256),
                occ(3, 10, 4608),
            ),
            (
                "back to back capsules never overlap",
                vec![interval(NOW - 4 * MIN, Some(NOW - 2 * MIN), 1, 100), interval(NOW - 2 * MIN, None, 1, 100)],
                occ(1, 1, 100),
                occ(1, 1, 100),
            ),
            (
                "a two second capsule still shows in its bucket",
                vec![interval(last_bucket - 7_000, Some(last_bucket - 5_000), 2, 300)],
                occ(0, 0, 0),
                occ(1, 2, 300),
            ),
            (
                "a capsule that starts after now does not count",
                vec![interval(NOW + 1, None, 2, 300)],
                occ(0, 0, 0),
                occ(0, 0, 0),
            ),
            (
                "a capsule that started exactly now counts",
                vec![interval(NOW, None, 2, 300)],
                occ(1, 2, 300),
                occ(1, 2, 300),
            ),
        ];
        for (name, intervals, current, peaks) in cases {
            let stats = team_stats(&intervals, StatsRange::FiveMinutes, NOW);
            assert_eq!(stats.current, current, "{name}: current");
            assert_eq!(stats.peaks, peaks, "{name}: peaks");
            assert_eq!(stats.series.len(), 30, "{name}");
        }
    }

    #[test]
    fn each_bucket_holds_its_own_highest_level() {
        let last = 1_700_000_000_000;
        let bucket = |index: usize| last - (29 - index as i64) * 10_000;
        let intervals = [
            // Runs through buckets 10..=12 (ends exactly at bucket 13's start).
            interval(bucket(10) + 3_000, Some(bucket(13)), 1, 100),
            // Lives one second inside bucket 11.
            interval(bucket(11) + 1_000, Some(bucket(11) + 2_000), 2, 200),
            // Started before the range and still runs.
            interval(bucket(0) - 50 * MIN, None, 4, 400),
        ];
        let stats = team_stats(&intervals, StatsRange::FiveMinutes, NOW);
        let levels: Vec<Occupancy> = stats.series.iter().map(|&(_, level)| level).collect();
        let mut expected = vec![occ(1, 4, 400); 30];
        expected[10] = occ(2, 5, 500);
        expected[11] = occ(3, 7, 700);
        expected[12] = occ(2, 5, 500);
        assert_eq!(levels, expected);
        assert_eq!(stats.peaks, occ(3, 7, 700));
        assert_eq!(stats.current, occ(1, 4, 400));
    }

    #[test]
    fn every_range_yields_its_bucket_count() {
        for range in StatsRange::ALL {
            let stats = team_stats(&[interval(NOW - 90 * 24 * 60 * MIN, None, 1, 1)], range, NOW);
            assert_eq!(stats.series.len(), range.n_buckets(), "{}", range.as_str());
            assert!(stats.series.iter().all(|&(_, level)| level == occ(1, 1, 1)), "{}", range.as_str());
            let span = stats.series.last().unwrap().0 - stats.series[0].0;
            assert!(span < range.seconds() * 1000, "{}", range.as_str());
        }
    }
}
