//! The linear-time check of the hostile-input tests of every crate (the
//! other crates' tests include this file with `#[path]`).

#![allow(dead_code)]

use std::time::Duration;

/// `HOSTILE_SCALE` (default 1): multiplies the sizes the linear-time
/// checks use.
pub fn hostile_scale() -> usize {
    std::env::var("HOSTILE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Times `run(n)` and `run(8 * n)` (each returns how long its work took),
/// best of five interleaved runs, and fails when the ratio reaches 24
/// (linear work gives 8, quadratic 64) unless the 8n run took under 300 ms
/// anyway, or when the 8n run took 20 s or more.
pub fn assert_linear(name: &str, n: usize, mut run: impl FnMut(usize) -> Duration) {
    let (mut small, mut big) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        small = small.min(run(n));
        big = big.min(run(8 * n));
    }
    let ratio = big.as_secs_f64() / small.as_secs_f64().max(1e-4);
    eprintln!("{name}: n={n} {small:?}, 8n {big:?}, ratio {ratio:.1}");
    assert!(
        big < Duration::from_millis(300) || ratio < 24.0,
        "{name}: {small:?} at n, {big:?} at 8n"
    );
    assert!(big < Duration::from_secs(20), "{name}: {big:?}");
}
