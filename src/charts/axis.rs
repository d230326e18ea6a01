//! "Nice" axes: covering ranges, tick steps and number formats.

use super::{data::*, types::*};

/// A covering axis: its domain is `[min, max]`, the first and last tick.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Axis {
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) ticks: Vec<(f64, String)>,
}

pub(super) fn is_degenerate(lo: f64, hi: f64) -> bool {
    let mid = lo / 2.0 + hi / 2.0;
    let span = hi - lo;
    span.is_nan() || span <= MIN_SPAN.max(mid.abs() * MIN_RELATIVE_SPAN)
}

/// The range ticks are computed for: data range, or a padded one around a single value.
pub(super) fn padded_range(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = (clamp_magnitude(lo), clamp_magnitude(hi));
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if !is_degenerate(lo, hi) {
        return (lo, hi);
    }
    let mid = lo / 2.0 + hi / 2.0;
    let pad = mid.abs() * 0.1;
    if pad < MIN_SPAN * 10.0 {
        // Zero, or indistinguishable from it.
        return (-1.0, 1.0);
    }
    (mid - pad, mid + pad)
}

/// A candidate tick step `mant × 10^p` covering the range with ticks `i0..=i1` × step.
pub(super) struct Candidate {
    /// Distance of the tick count from [`TICK_TARGET`].
    pub(super) score: f64,
    /// Tie-break in favour of 1, 2, 5 over 2.5.
    pub(super) rank: u8,
    pub(super) mant: f64,
    pub(super) p: i32,
    pub(super) step: f64,
    pub(super) i0: f64,
    pub(super) i1: f64,
}

impl Candidate {
    /// Closer to the target count; then the rounder mantissa; then the larger step.
    pub(super) fn beats(&self, other: &Self) -> bool {
        self.score
            .total_cmp(&other.score)
            .then(self.rank.cmp(&other.rank))
            .then(other.step.total_cmp(&self.step))
            .is_lt()
    }
}

/// `m * 10^p`, dividing for negative `p` so decimal steps like 0.1 are correctly rounded.
pub(super) fn pow10_mul(m: f64, p: i32) -> f64 {
    if p >= 0 {
        m * 10f64.powi(p)
    } else {
        m / 10f64.powi(-p)
    }
}

/// Nice ticks (1, 2, 2.5 or 5 × 10^k apart) covering `lo..=hi`, about [`TICK_TARGET`] of them.
///
/// With `integers` (all data values are whole, e.g. steps, epochs, counts) only whole steps
/// are used: an epoch axis reads 0, 2, 4 rather than 0, 2.5, 5, and a single step 3 gets
/// ticks 2, 3, 4 rather than 2.8, 3, 3.2.
pub(super) fn nice_axis(lo: f64, hi: f64, integers: bool) -> Axis {
    let (lo, hi) = padded_range(lo, hi);
    let raw = (hi - lo) / (TICK_TARGET - 1.0);
    let e = raw.log10().floor();
    if !e.is_finite() {
        return fallback_axis(lo, hi);
    }
    let e = e as i32;

    // (mant, shift of p, rank): steps 1, 2, 5 × 10^k and 2.5 × 10^k = 25 × 10^(k-1).
    const MANTISSAS: [(f64, i32, u8); 4] = [(1.0, 0, 0), (2.0, 0, 1), (5.0, 0, 2), (25.0, -1, 3)];
    let mut best: Option<Candidate> = None;
    // Whole steps need k >= 0: always offer k = 0 for integer data.
    let k_max = if integers { (e + 1).max(0) } else { e + 1 };
    for k in (e - 1)..=k_max {
        for (mant, shift, rank) in MANTISSAS {
            let p = k + shift;
            if integers && p < 0 {
                continue;
            }
            let step = pow10_mul(mant, p);
            if !(step.is_finite() && step > 0.0) {
                continue;
            }
            // The tolerance keeps float noise (0.3 / 0.1 = 2.9999…) from adding a tick.
            let i0 = (lo / step + 1e-9).floor();
            let i1 = (hi / step - 1e-9).ceil();
            let count = i1 - i0 + 1.0;
            if !count.is_finite() || count < 2.0 {
                continue;
            }
            let candidate = Candidate {
                score: (count - TICK_TARGET).abs(),
                rank,
                mant,
                p,
                step,
                i0,
                i1,
            };
            if best.as_ref().is_none_or(|b| candidate.beats(b)) {
                best = Some(candidate);
            }
        }
    }
    let Some(Candidate {
        mant,
        p,
        step,
        i0,
        i1,
        ..
    }) = best
    else {
        return fallback_axis(lo, hi);
    };

    let values: Vec<f64> = (0..)
        .map(|i| i0 + i as f64)
        .take_while(|i| *i <= i1)
        .take(64)
        .map(|i| pow10_mul(i * mant, p) + 0.0)
        .filter(|v| v.is_finite())
        .collect();
    let (Some(&min), Some(&max)) = (values.first(), values.last()) else {
        return fallback_axis(lo, hi);
    };
    if max <= min {
        return fallback_axis(lo, hi);
    }
    let labels = tick_labels(&values, step, p);
    Axis {
        min,
        max,
        ticks: values.into_iter().zip(labels).collect(),
    }
}

/// Two ticks at the ends; only reachable through float edge cases the search rejected.
pub(super) fn fallback_axis(lo: f64, hi: f64) -> Axis {
    let (lo, hi) = if hi > lo && (hi - lo).is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    Axis {
        min: lo,
        max: hi,
        ticks: vec![(lo, fmt_sig(lo)), (hi, fmt_sig(hi))],
    }
}

/// Labels for ticks `step = mant × 10^p` apart: exactly as many decimals as the step needs
/// (so 0.25 is never shown as 0.2), trailing zeros dropped (so integers have no decimals).
/// Axes reaching 1e6, or staying below 1e-3, use compact scientific form ("1.5e6", "2e-5").
pub(super) fn tick_labels(values: &[f64], step: f64, p: i32) -> Vec<String> {
    let max_abs = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let sci = max_abs >= 1e6 || (max_abs > 0.0 && max_abs < 1e-3);
    values
        .iter()
        .map(|&v| {
            if v.abs() < step * 1e-6 {
                "0".to_string()
            } else if sci {
                let exp = sci_exponent(v);
                let decimals = (exp - p).clamp(0, 17) as usize;
                trim_sci(&format!("{v:.decimals$e}"))
            } else {
                let decimals = (-p).clamp(0, 17) as usize;
                trim_decimals(&format!("{v:.decimals$}"))
            }
        })
        .collect()
}

/// Decimal exponent of `v` as Rust's shortest `{:e}` form writes it (no log10 off-by-one).
pub(super) fn sci_exponent(v: f64) -> i32 {
    let s = format!("{v:e}");
    s.split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0)
}

pub(super) fn trim_decimals(s: &str) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" {
            "0".to_string()
        } else {
            t.to_string()
        }
    } else {
        s.to_string()
    }
}

pub(super) fn trim_sci(s: &str) -> String {
    match s.split_once('e') {
        Some((mantissa, exp)) => format!("{}e{exp}", trim_decimals(mantissa)),
        None => s.to_string(),
    }
}

/// A value to at most 4 significant digits, compact: `0.0421`, `12`, `1235`, `1.5e6`, `2e-5`.
/// Integers of up to 6 digits are shown whole (a step count should not lose digits).
pub(super) fn fmt_sig(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return trim_sci(&format!("{v:.3e}"));
    }
    let magnitude = a.log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    trim_decimals(&format!("{v:.decimals$}"))
}
