//! Per-host latency percentiles (nearest-rank, no interpolation).

use std::time::Duration;

use serde::Serialize;

/// p50/p95/p99/max of a set of host latencies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    /// Number of samples.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest sample.
    pub max: Duration,
}

impl Percentiles {
    /// Nearest-rank percentiles of `samples` (all zero when empty): the
    /// p-th percentile is the smallest sample with at least p % of the
    /// samples at or below it, so every figure is a latency a host really had.
    pub fn of(samples: &[Duration]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Self {
            count: sorted.len(),
            p50: nearest_rank(&sorted, 50),
            p95: nearest_rank(&sorted, 95),
            p99: nearest_rank(&sorted, 99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }
}

/// `sorted[ceil(p/100 * n) - 1]`; zero for no samples.
fn nearest_rank(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn one_to_hundred() {
        // 1..=100 ms shuffled: nearest rank gives exactly p ms.
        let mut samples: Vec<Duration> = (1..=100).map(ms).collect();
        samples.reverse();
        samples.swap(3, 70);
        let p = Percentiles::of(&samples);
        assert_eq!(p.count, 100);
        assert_eq!(p.p50, ms(50));
        assert_eq!(p.p95, ms(95));
        assert_eq!(p.p99, ms(99));
        assert_eq!(p.max, ms(100));
    }

    #[test]
    fn small_sets_and_outliers() {
        assert_eq!(Percentiles::of(&[]), Percentiles::default());
        let one = Percentiles::of(&[ms(7)]);
        assert_eq!((one.p50, one.p99, one.max), (ms(7), ms(7), ms(7)));
        // 19 fast hosts and one slow: p50 and p95 stay fast, p99 sees it.
        let mut samples = vec![ms(10); 19];
        samples.push(ms(900));
        let p = Percentiles::of(&samples);
        assert_eq!(
            (p.p50, p.p95, p.p99, p.max),
            (ms(10), ms(10), ms(900), ms(900))
        );
        // Two samples: the median is the lower one (rank 1 of 2).
        let two = Percentiles::of(&[ms(30), ms(10)]);
        assert_eq!((two.p50, two.p95), (ms(10), ms(30)));
    }
}
