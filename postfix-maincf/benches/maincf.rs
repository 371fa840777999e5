//! Criterion benchmarks for `postfix-maincf`: parsing a 50,000-parameter
//! main.cf, computing its effective values and diagnostics, the
//! `postconf -n` view, and 1000 single `set` calls plus one save on a
//! realistic file (Debian's `main.cf.dist` + 500 parameters).
//!
//! Inputs are generated in-process, byte for byte what
//! `scripts/gen-bench-maincf.py` writes; the realistic base is
//! `/usr/share/postfix/main.cf.dist` when it exists (Debian's `postfix`
//! package), else nothing.
//!
//! ```text
//! cargo bench -p postfix-maincf --bench maincf            # measure
//! cargo bench -p postfix-maincf --bench maincf -- --test  # run each once
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use postfix_maincf::MainCf;
use postfix_maincf::postconf::{ShowOptions, show};

/// `scripts/gen-bench-maincf.py COUNT OUT [BASE]`, in-process.
fn gen_maincf(count: usize, base: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for i in 0..count {
        if i % 100 == 0 {
            out.extend_from_slice(format!("# bench block {}\n", i / 100).as_bytes());
        }
        let reference = if i > 0 {
            format!("${{bench_param_{:06}}}, ", i - 1)
        } else {
            String::new()
        };
        out.extend_from_slice(
            format!(
                "bench_param_{i:06} = {reference}relay-{i}.example.net:587 list item {i}, more"
            )
            .as_bytes(),
        );
        if i % 50 == 0 {
            out.extend_from_slice(b"\n    continued value text");
        }
        out.push(b'\n');
    }
    out
}

/// The 1000 `name = value` pairs of the edit benchmark: 500 existing
/// parameters replaced, 500 new ones appended.
pub fn thousand_sets() -> Vec<(String, String)> {
    (0..500)
        .map(|i| (format!("bench_param_{i:06}"), format!("new value {i}")))
        .chain((0..500).map(|i| {
            (
                format!("new_param_{i:04}"),
                format!("[relay-{i}.example]:587"),
            )
        }))
        .collect()
}

fn benches(c: &mut Criterion) {
    let large = gen_maincf(50_000, b"");
    let base = std::fs::read("/usr/share/postfix/main.cf.dist").unwrap_or_default();
    let realistic = gen_maincf(500, &base);

    let mut g = c.benchmark_group("maincf");
    g.throughput(Throughput::Bytes(large.len() as u64));
    g.bench_function("parse_50k", |b| {
        b.iter_batched(
            || large.clone(),
            |v| black_box(MainCf::from_vec(v)),
            BatchSize::LargeInput,
        )
    });
    let cf = MainCf::parse(&large);
    g.bench_function("effective_50k", |b| {
        b.iter(|| black_box(cf.effective().len()))
    });
    g.bench_function("diagnostics_50k", |b| {
        b.iter(|| black_box(cf.diagnostics().len()))
    });
    let options = ShowOptions {
        nondefault: true,
        ..ShowOptions::default()
    };
    g.bench_function("show_n_50k", |b| {
        b.iter(|| black_box(show("/etc/postfix", &cf, b"", &options, &[]).stdout.len()))
    });
    g.finish();

    let sets = thousand_sets();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("main.cf");
    let mut g = c.benchmark_group("maincf_edit");
    g.bench_function("set_1000_one_by_one_and_save", |b| {
        b.iter_batched(
            || MainCf::parse(&realistic),
            |mut cf| {
                for (name, value) in &sets {
                    cf.set(name, value).unwrap();
                }
                let mut tmp = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
                cf.write_to(&mut tmp).unwrap();
                tmp.persist(&path).unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("set_all_1000_and_save", |b| {
        b.iter_batched(
            || MainCf::parse(&realistic),
            |mut cf| {
                cf.set_all(sets.iter().map(|(n, v)| (n, v))).unwrap();
                let mut tmp = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
                cf.write_to(&mut tmp).unwrap();
                tmp.persist(&path).unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(maincf, benches);
criterion_main!(maincf);
