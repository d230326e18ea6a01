//! Data preparation: clamping, sorting out non-finite points, downsampling long series.

use super::types::*;

pub(super) fn clamp_magnitude(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-MAX_MAGNITUDE, MAX_MAGNITUDE)
    }
}

/// Min and max of the (clamped) values seen, and whether they were all integers.
pub(super) struct Extent {
    pub(super) range: Option<(f64, f64)>,
    pub(super) integers: bool,
}

impl Default for Extent {
    fn default() -> Self {
        Self {
            range: None,
            integers: true,
        }
    }
}

impl Extent {
    pub(super) fn add(&mut self, v: f64) {
        self.integers &= v.fract() == 0.0;
        let v = clamp_magnitude(v);
        self.range = Some(match self.range {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }

    pub(super) fn get(&self) -> Option<(f64, f64)> {
        self.range
    }
}

pub(super) fn sorted_finite(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}

/// Min/max bucket downsampling of x-sorted points (see [`line_chart`]).
pub(super) fn downsample(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let n = points.len();
    if n <= DOWNSAMPLE_ABOVE {
        return points.to_vec();
    }
    let (Some(&first), Some(&last)) = (points.first(), points.last()) else {
        return points.to_vec();
    };
    let interior = &points[1..n - 1];
    let m = interior.len() as u64;
    let buckets = ((DOWNSAMPLE_TO - 2) / 2) as u64;
    let mut out = Vec::with_capacity(DOWNSAMPLE_TO);
    out.push(first);
    for b in 0..buckets {
        // u64 arithmetic: `b * m` could overflow a 32-bit usize on wasm32.
        let start = (b * m / buckets) as usize;
        let end = ((b + 1) * m / buckets) as usize;
        let Some(bucket) = interior.get(start..end) else {
            continue;
        };
        let mut lo = None::<(usize, f64)>;
        let mut hi = None::<(usize, f64)>;
        for (i, &(_, y)) in bucket.iter().enumerate() {
            if lo.is_none_or(|(_, v)| y < v) {
                lo = Some((i, y));
            }
            if hi.is_none_or(|(_, v)| y > v) {
                hi = Some((i, y));
            }
        }
        if let (Some((a, _)), Some((b, _))) = (lo, hi) {
            let (first_i, second_i) = if a <= b { (a, b) } else { (b, a) };
            out.push(bucket[first_i]);
            if second_i != first_i {
                out.push(bucket[second_i]);
            }
        }
    }
    out.push(last);
    out
}
