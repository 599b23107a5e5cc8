//! The numbers `wrenn bench` reports from a list of samples: nearest-rank
//! percentiles (a reported p95 is always a sample that was measured, never
//! an interpolation between two), the mean, the extremes. Pure, so every
//! rule is table-tested.

use serde::Serialize;

/// What a list of samples comes to, in the samples' unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) min: f64,
    pub(crate) p50: f64,
    pub(crate) p95: f64,
    pub(crate) p99: f64,
    pub(crate) mean: f64,
    pub(crate) max: f64,
}

impl Summary {
    /// The summary of `samples`; `None` when there are none.
    pub(crate) fn of(samples: &[f64]) -> Option<Summary> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        Some(Summary {
            n: sorted.len(),
            min,
            p50: nearest_rank(&sorted, 50.0)?,
            p95: nearest_rank(&sorted, 95.0)?,
            p99: nearest_rank(&sorted, 99.0)?,
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            max,
        })
    }
}

/// The `percent` percentile of ascending `sorted` by the nearest-rank
/// method: the smallest sample with at least `percent`% of the samples at
/// or below it, i.e. the one at 1-based rank ⌈percent/100 · n⌉ (at least 1).
pub(crate) fn nearest_rank(sorted: &[f64], percent: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // Multiplying first keeps whole ranks exact (95 · 20 / 100 is 19, not 19.000…04).
    let rank = (percent * sorted.len() as f64 / 100.0).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// The median of unsorted samples (nearest rank), for throughput lines.
pub(crate) fn median(samples: &[f64]) -> Option<f64> {
    Summary::of(samples).map(|summary| summary.p50)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_to(n: usize) -> Vec<f64> {
        (1..=n).map(|value| value as f64).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let cases: &[(Vec<f64>, f64, Option<f64>)] = &[
            (vec![], 50.0, None),
            (vec![7.0], 0.0, Some(7.0)),
            (vec![7.0], 50.0, Some(7.0)),
            (vec![7.0], 99.0, Some(7.0)),
            (one_to(2), 50.0, Some(1.0)),
            (one_to(2), 51.0, Some(2.0)),
            (one_to(10), 50.0, Some(5.0)),
            (one_to(10), 95.0, Some(10.0)),
            (one_to(20), 95.0, Some(19.0)),
            (one_to(20), 99.0, Some(20.0)),
            (one_to(100), 99.0, Some(99.0)),
            (one_to(100), 100.0, Some(100.0)),
            (one_to(200), 99.0, Some(198.0)),
            (one_to(3), 0.0, Some(1.0)),
        ];
        for (sorted, percent, want) in cases {
            assert_eq!(nearest_rank(sorted, *percent), *want, "p{percent} of {} samples", sorted.len());
        }
    }

    #[test]
    fn summaries_sort_first_and_average() {
        let summary = Summary::of(&[30.0, 10.0, 20.0, 40.0]).unwrap();
        assert_eq!(summary, Summary { n: 4, min: 10.0, p50: 20.0, p95: 40.0, p99: 40.0, mean: 25.0, max: 40.0 });
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    }
}
