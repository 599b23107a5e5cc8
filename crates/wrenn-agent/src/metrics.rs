//! Per-capsule metric history: one sample a second, kept at three
//! resolutions so a day of history costs a few kilobytes per capsule.
//!
//! | tier | resolution | points | covers |
//! |------|-----------:|-------:|-------:|
//! | 10m  |        1 s |    600 | 10 min |
//! | 2h   |       30 s |    240 |    2 h |
//! | 24h  |      5 min |    288 |   24 h |
//!
//! Coarser points are averages of the finer ones, stamped with the time of
//! their last input. Pure data structure: the sampler that reads cgroups
//! lives with the runtime.

use std::collections::VecDeque;

/// One measurement of one capsule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint {
    /// Seconds since the Unix epoch.
    pub timestamp_unix: i64,
    pub cpu_pct: f64,
    pub mem_bytes: u64,
    pub disk_bytes: u64,
}

/// A time range a client may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricRange {
    FiveMinutes,
    TenMinutes,
    OneHour,
    TwoHours,
    SixHours,
    TwelveHours,
    Day,
}

impl MetricRange {
    pub fn parse(text: &str) -> Option<MetricRange> {
        Some(match text {
            "5m" => MetricRange::FiveMinutes,
            "10m" => MetricRange::TenMinutes,
            "1h" => MetricRange::OneHour,
            "2h" => MetricRange::TwoHours,
            "6h" => MetricRange::SixHours,
            "12h" => MetricRange::TwelveHours,
            "24h" => MetricRange::Day,
            _ => return None,
        })
    }

    fn seconds(self) -> i64 {
        match self {
            MetricRange::FiveMinutes => 300,
            MetricRange::TenMinutes => 600,
            MetricRange::OneHour => 3600,
            MetricRange::TwoHours => 7200,
            MetricRange::SixHours => 6 * 3600,
            MetricRange::TwelveHours => 12 * 3600,
            MetricRange::Day => 24 * 3600,
        }
    }
}

const FINE_POINTS: usize = 600;
const MEDIUM_POINTS: usize = 240;
const COARSE_POINTS: usize = 288;
/// Fine points averaged into one medium point (30 s).
const FINE_PER_MEDIUM: usize = 30;
/// Medium points averaged into one coarse point (5 min).
const MEDIUM_PER_COARSE: usize = 10;

/// The three rings of one capsule.
#[derive(Debug, Clone, Default)]
pub struct MetricRings {
    fine: VecDeque<MetricPoint>,
    medium: VecDeque<MetricPoint>,
    coarse: VecDeque<MetricPoint>,
    pending_fine: Vec<MetricPoint>,
    pending_medium: Vec<MetricPoint>,
}

impl MetricRings {
    pub fn push(&mut self, point: MetricPoint) {
        push_bounded(&mut self.fine, point, FINE_POINTS);
        self.pending_fine.push(point);
        if self.pending_fine.len() == FINE_PER_MEDIUM {
            let medium = average(&self.pending_fine);
            self.pending_fine.clear();
            push_bounded(&mut self.medium, medium, MEDIUM_POINTS);
            self.pending_medium.push(medium);
            if self.pending_medium.len() == MEDIUM_PER_COARSE {
                let coarse = average(&self.pending_medium);
                self.pending_medium.clear();
                push_bounded(&mut self.coarse, coarse, COARSE_POINTS);
            }
        }
    }

    /// Points of the tier that covers `range`, no older than `now - range`.
    pub fn query(&self, range: MetricRange, now_unix: i64) -> Vec<MetricPoint> {
        let tier = match range {
            MetricRange::FiveMinutes | MetricRange::TenMinutes => &self.fine,
            MetricRange::OneHour | MetricRange::TwoHours => &self.medium,
            MetricRange::SixHours | MetricRange::TwelveHours | MetricRange::Day => &self.coarse,
        };
        let oldest = now_unix - range.seconds();
        tier.iter().filter(|p| p.timestamp_unix >= oldest).copied().collect()
    }

    pub fn latest(&self) -> Option<MetricPoint> {
        self.fine.back().copied()
    }
}

fn push_bounded(ring: &mut VecDeque<MetricPoint>, point: MetricPoint, capacity: usize) {
    if ring.len() == capacity {
        ring.pop_front();
    }
    ring.push_back(point);
}

fn average(points: &[MetricPoint]) -> MetricPoint {
    let n = points.len().max(1) as f64;
    let last =
        points.last().copied().unwrap_or(MetricPoint { timestamp_unix: 0, cpu_pct: 0.0, mem_bytes: 0, disk_bytes: 0 });
    MetricPoint {
        timestamp_unix: last.timestamp_unix,
        cpu_pct: points.iter().map(|p| p.cpu_pct).sum::<f64>() / n,
        mem_bytes: (points.iter().map(|p| p.mem_bytes as f64).sum::<f64>() / n) as u64,
        disk_bytes: (points.iter().map(|p| p.disk_bytes as f64).sum::<f64>() / n) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: i64, cpu: f64) -> MetricPoint {
        MetricPoint { timestamp_unix: t, cpu_pct: cpu, mem_bytes: t as u64 * 10, disk_bytes: 7 }
    }

    #[test]
    fn tiers_fill_and_stay_bounded() {
        let mut rings = MetricRings::default();
        let day = 24 * 3600 + 600;
        for t in 1..=day {
            rings.push(point(t, (t % 2) as f64 * 100.0));
        }
        assert_eq!(rings.fine.len(), FINE_POINTS);
        assert_eq!(rings.medium.len(), MEDIUM_POINTS);
        assert_eq!(rings.coarse.len(), COARSE_POINTS);
        // Alternating 0/100 averages to 50 at every coarser tier.
        assert!(rings.medium.iter().all(|p| (p.cpu_pct - 50.0).abs() < 1e-9));
        assert!(rings.coarse.iter().all(|p| (p.cpu_pct - 50.0).abs() < 1e-9));
        // Averages carry the time of their last input.
        assert_eq!(rings.medium.back().unwrap().timestamp_unix, day);
        assert_eq!(rings.latest().unwrap().timestamp_unix, day);
    }

    #[test]
    fn queries_pick_the_tier_and_window() {
        let mut rings = MetricRings::default();
        for t in 1..=7200 {
            rings.push(point(t, 1.0));
        }
        let now = 7200;
        assert_eq!(rings.query(MetricRange::FiveMinutes, now).len(), 301);
        assert_eq!(rings.query(MetricRange::TenMinutes, now).len(), 600);
        assert_eq!(rings.query(MetricRange::OneHour, now).len(), 121);
        assert_eq!(rings.query(MetricRange::TwoHours, now).len(), 240);
        assert_eq!(rings.query(MetricRange::Day, now).len(), 24);
        assert_eq!(MetricRange::parse("3h"), None);
        assert_eq!(MetricRange::parse("24h"), Some(MetricRange::Day));
    }
}
