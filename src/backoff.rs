//! Spreading retries out: many events, replicas or queue messages failing at the same
//! moment must not all come back at the same moment too.

use std::time::Duration;

/// `d`, give or take a fifth (0.8 to 1.2 times it), from the clock's nanoseconds: no
/// RNG is needed for this.
pub fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    d.mul_f64(0.8 + 0.4 * f64::from(nanos % 1001) / 1000.0)
}

/// `base` doubled for each attempt after the first, at most `cap`, before jitter.
pub fn exponential(base: Duration, cap: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..1000 {
            let d = jitter(Duration::from_secs(100));
            assert!((80.0..=120.0).contains(&d.as_secs_f64()), "{d:?}");
        }
    }

    #[test]
    fn exponential_doubles_up_to_the_cap() {
        let s = Duration::from_secs;
        let got: Vec<_> = (1..=6).map(|n| exponential(s(60), s(900), n)).collect();
        assert_eq!(got, [s(60), s(120), s(240), s(480), s(900), s(900)]);
        assert_eq!(exponential(s(60), s(900), 0), s(60));
        assert_eq!(exponential(s(60), s(900), u32::MAX), s(900));
    }
}
