//! Figures over recorded durations, shared by the registry's health and `/metrics`.

/// The nearest-rank percentile of sorted, non-empty `values`.
pub fn nearest_rank(values: &[u64], percent: usize) -> u64 {
    let rank = (values.len() * percent).div_ceil(100).max(1);
    values[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(nearest_rank(&[7], 95), 7);
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(
            (nearest_rank(&hundred, 50), nearest_rank(&hundred, 95)),
            (50, 95)
        );
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 50), 20);
    }
}
