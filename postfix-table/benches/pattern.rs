//! Criterion benchmarks for pattern tables: parse + compile + first lookup
//! of a 10,000-rule `regexp:` table (the table `scripts/bench-pattern.sh`
//! generates), a lookup that matches an early rule, one that walks the
//! whole table, and a `cidr:` lookup over 10,000 networks.
//!
//! ```text
//! cargo bench -p postfix-table --bench pattern            # measure
//! cargo bench -p postfix-table --bench pattern -- --test  # run each once
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use postfix_table::pattern::{PatternKind, PatternTable};

const RULES: usize = 10_000;

/// Same shape as `scripts/bench-pattern.sh`'s generator.
fn regexp_table(rules: usize) -> Vec<u8> {
    let mut out = b"# generated\n".to_vec();
    for i in 0..rules {
        let d = i % 97;
        let line = match i % 10 {
            0 => format!("/^([a-z]+)\\+{i}@example-{d}\\.com$/ relay:[mx{i}.example]:$1\n"),
            5 => format!("if /@example-{d}\\.com$/\n/^user{i}@/ smtp:[mx{i}.example]\nendif\n"),
            _ => format!("/^user{i}@example-{d}\\.com$/ relay:[mx{i}.example]\n"),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn cidr_table(rules: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..rules {
        out.extend_from_slice(format!("10.{}.{}.0/24 net{i}\n", i / 256, i % 256).as_bytes());
    }
    out
}

fn benches(c: &mut Criterion) {
    let src = regexp_table(RULES);
    if PatternKind::Regexp.engine_available() {
        c.bench_function("regexp_10k_parse_compile_first_lookup", |b| {
            b.iter(|| {
                let t = PatternTable::parse(PatternKind::Regexp, black_box(&src));
                black_box(t.lookup(b"user1@example-1.com").unwrap())
            })
        });
        let t = PatternTable::parse(PatternKind::Regexp, &src);
        assert!(t.lookup(b"user1@example-1.com").unwrap().is_some());
        c.bench_function("regexp_10k_lookup_early_hit", |b| {
            b.iter(|| black_box(t.lookup(black_box(b"user7@example-7.com")).unwrap()))
        });
        c.bench_function("regexp_10k_lookup_miss", |b| {
            b.iter(|| black_box(t.lookup(black_box(b"nobody@nowhere.example")).unwrap()))
        });
    }
    let cidr = PatternTable::parse(PatternKind::Cidr, &cidr_table(RULES));
    assert!(cidr.lookup(b"10.39.15.1").unwrap().is_some());
    c.bench_function("cidr_10k_lookup_last", |b| {
        b.iter(|| black_box(cidr.lookup(black_box(b"10.39.15.1")).unwrap()))
    });
}

criterion_group!(pattern, benches);
criterion_main!(pattern);
