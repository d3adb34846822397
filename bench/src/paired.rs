//! The judged comparisons, measured again in interleaved rounds. On a shared machine one 10 s run
//! of a path can differ from the next by more than a sub-millisecond target, and such drift hits
//! both sides of a round alike: each round runs the reference and keel back to back (which goes
//! first alternates), and a target is judged on the median of the rounds' differences.

use crate::load::Measured;

/// Two paths compared at one load.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    /// What the comparison shows (and how its rounds are labelled).
    pub name: &'static str,
    /// The path keel is judged against.
    pub reference: &'static str,
    /// The keel path.
    pub keel: &'static str,
    /// `Some(rate)` for a fixed rate, `None` for saturation.
    pub rate: Option<u32>,
    /// The body size in bytes.
    pub body: usize,
}

/// Both sides of one round.
#[derive(Debug, Clone)]
pub struct Round {
    pub comparison: Comparison,
    pub index: usize,
    pub reference: Measured,
    pub keel: Measured,
}

/// Runs `rounds` rounds of every comparison with `measure(path, rate, body size)`.
pub fn run(
    comparisons: &[Comparison],
    rounds: usize,
    mut measure: impl FnMut(&str, Option<u32>, usize) -> Result<Measured, String>,
) -> Result<Vec<Round>, String> {
    let mut out = Vec::new();
    for index in 0..rounds {
        for &c in comparisons {
            let (reference, keel) = if index % 2 == 0 {
                let reference = measure(c.reference, c.rate, c.body)?;
                (reference, measure(c.keel, c.rate, c.body)?)
            } else {
                let keel = measure(c.keel, c.rate, c.body)?;
                (measure(c.reference, c.rate, c.body)?, keel)
            };
            eprintln!(
                "{} round {}: {} p50 {:.3} ms p90 {:.3} ms p99 {:.3} ms {:.0} req/s; {} p50 {:.3} ms p90 {:.3} ms p99 {:.3} ms {:.0} req/s",
                c.name,
                index + 1,
                c.reference,
                reference.p50,
                reference.p90,
                reference.p99,
                reference.rps,
                c.keel,
                keel.p50,
                keel.p90,
                keel.p99,
                keel.rps
            );
            out.push(Round { comparison: c, index, reference, keel });
        }
    }
    Ok(out)
}

/// `f` of each round of the comparison named `name`, and their median (`None` without rounds).
pub fn median_of(rounds: &[Round], name: &str, f: impl Fn(&Round) -> f64) -> Option<(f64, Vec<f64>)> {
    let values: Vec<f64> = rounds.iter().filter(|r| r.comparison.name == name).map(f).collect();
    median(&values).map(|m| (m, values))
}

/// The median of `values` (`None` when empty).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOP: Comparison = Comparison { name: "hop", reference: "a", keel: "b", rate: Some(10), body: 1 };

    fn measured(p50: f64) -> Measured {
        Measured { p50, ..Default::default() }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn rounds_alternate_which_side_goes_first() {
        let mut order = Vec::new();
        let rounds = run(&[HOP], 2, |path, _, _| {
            order.push(path.to_owned());
            Ok(measured(if path == "b" { 0.5 } else { 0.2 }))
        })
        .unwrap();
        assert_eq!(order, ["a", "b", "b", "a"]);
        let (m, each) = median_of(&rounds, "hop", |r| r.keel.p50 - r.reference.p50).unwrap();
        assert!((m - 0.3).abs() < 1e-9 && each.len() == 2, "{m} {each:?}");
        assert!(median_of(&rounds, "other", |r| r.keel.p50).is_none());
    }
}
