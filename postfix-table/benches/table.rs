//! Criterion benchmarks for `postfix-table`: lossless parse, parse plus key
//! index, inserting a new key, and writing an unchanged document.
//!
//! Inputs are generated in-process by [`gen_table`], byte for byte what
//! `scripts/gen-bench-table.py` writes (1,000,000 entries, about 56 MB).
//!
//! ```text
//! cargo bench -p postfix-table --bench table            # measure
//! cargo bench -p postfix-table --bench table -- --test  # run each once
//! ```
//!
//! When criterion runs in test mode (`--test`, or the bench binary started
//! without `--bench`, as `cargo test --benches` and nextest do) the "1m"
//! inputs shrink to [`TEST_ENTRIES`] entries so that the run stays fast,
//! even unoptimised. `BENCH_ENTRIES=N` overrides the size of the large input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use postfix_table::Table;

/// Entries in the large ("1m") document when measuring.
const LARGE_ENTRIES: usize = 1_000_000;
/// Entries in the small ("1k") document.
const SMALL_ENTRIES: usize = 1_000;
/// Entries in the large document in criterion's test mode.
const TEST_ENTRIES: usize = 10_000;

/// The value every inserted key gets.
const VALUE: &[u8] = b"[mx.new-relay.example]:587";

/// The benchmark table: `entries` mappings such as
/// `user000123@example-974050.com\t[mx.relay-000123.net]:2525`, a comment
/// line every 1000 entries and a blank line every 5000. Identical to
/// `scripts/gen-bench-table.py ENTRIES`.
fn gen_table(entries: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries * 57);
    let modulus = entries.max(1);
    for i in 0..entries {
        if i % 1000 == 0 {
            writeln!(out, "# block {}", i / 1000).unwrap();
        }
        if i % 5000 == 4999 {
            out.push(b'\n');
        }
        let dom = (i * 7919 + 13) % modulus;
        let sep = if i % 3 == 0 { '\t' } else { ' ' };
        let port = match i % 4 {
            0 => 25,
            1 => 587,
            2 => 465,
            _ => 2525,
        };
        writeln!(
            out,
            "user{i:06}@example-{dom:06}.com{sep}[mx.relay-{i:06}.net]:{port}"
        )
        .unwrap();
    }
    out
}

/// Criterion's own rule: test mode unless `--bench` is given without `--test`.
fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--test") || !has("--bench")
}

fn large_entries() -> usize {
    if let Some(n) = std::env::var("BENCH_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return n;
    }
    if test_mode() {
        TEST_ENTRIES
    } else {
        LARGE_ENTRIES
    }
}

fn parse(c: &mut Criterion) {
    let src = gen_table(large_entries());
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(src.len() as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    // The Table (input copy, nodes, index) is dropped outside the timing.
    g.bench_function("parse_1m", |b| {
        b.iter_with_large_drop(|| Table::parse(black_box(&src)))
    });
    g.bench_function("parse_index_1m", |b| {
        b.iter_with_large_drop(|| {
            let t = Table::parse(black_box(&src));
            t.build_key_index();
            t
        })
    });
    // Without the input copy that `parse` makes: what `postmap-lite` does
    // after `fs::read`. The untimed setup (a 56 MB clone) dominates the wall
    // time, hence fewer samples.
    g.sample_size(10);
    g.bench_function("from_vec_1m", |b| {
        b.iter_batched(
            || src.clone(),
            |v| Table::from_vec(black_box(v)),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("from_vec_index_1m", |b| {
        b.iter_batched(
            || src.clone(),
            |v| {
                let t = Table::from_vec(black_box(v));
                t.build_key_index();
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Inserts distinct new keys, one `set()` per iteration, into an indexed
/// document of `entries` entries. The document is re-parsed and re-indexed
/// (outside the timing) after every `entries / 10` inserts, so it stays
/// within 10% of its size; keys are built outside the timing too.
fn bench_insert(c: &mut Criterion, name: &str, entries: usize, group: &str) {
    let src = gen_table(entries);
    let fresh = || {
        let t = Table::from_vec(src.clone());
        t.build_key_index();
        t
    };
    let reset_every = (entries / 10).max(1) as u64;
    let mut table = fresh();
    let mut since_reset = 0u64;
    let mut serial = 0u64;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.sample_size(30);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                if since_reset >= reset_every {
                    table = fresh();
                    since_reset = 0;
                }
                let n = (iters - done).min(reset_every - since_reset);
                let keys: Vec<Vec<u8>> = (0..n)
                    .map(|k| format!("new{:010}@insert-bench.example", serial + k).into_bytes())
                    .collect();
                let start = Instant::now();
                for k in &keys {
                    black_box(table.set(k, VALUE).unwrap());
                }
                total += start.elapsed();
                // Outside the timing: the last key inserted is found.
                if let Some(k) = keys.last() {
                    assert_eq!(table.get(k).as_deref(), Some(VALUE));
                }
                serial += n;
                since_reset += n;
                done += n;
            }
            total
        })
    });
    g.finish();
}

fn insert(c: &mut Criterion) {
    bench_insert(c, "insert_1m", large_entries(), "insert");
    bench_insert(c, "insert_1k", SMALL_ENTRIES, "insert");
}

fn write_unchanged(c: &mut Criterion) {
    let src = gen_table(large_entries());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    std::fs::write(&input, &src).unwrap();
    let table = Table::parse(&src);
    let mut g = c.benchmark_group("write");
    g.throughput(Throughput::Bytes(src.len() as u64));
    g.sample_size(20);
    // `Table::write_to` into a freshly truncated file, as `postmap-lite --echo FILE > OUT`.
    g.bench_function("write_unchanged_1m", |b| {
        b.iter(|| {
            let f = File::create(&output).unwrap();
            table.write_to(&f).unwrap();
        })
    });
    // The baseline: `std::fs::copy` (copy_file_range, as `cp`) of the same bytes.
    g.bench_function("fs_copy_1m", |b| {
        b.iter(|| std::fs::copy(&input, &output).unwrap())
    });
    g.finish();
    // Not run when only listing; otherwise the last write left the input.
    if let Ok(written) = std::fs::read(&output) {
        assert_eq!(written, src);
    }
}

criterion_group!(benches, parse, insert, write_unchanged);
criterion_main!(benches);
