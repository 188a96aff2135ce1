//! One edit of a realistic 2 KB kustomization: parse, locate, splice, re-parse and
//! compare (goal: at most 50 µs). `parse` alone is measured beside it: an edit costs
//! two parses by design, since the result is re-read before it may be written.

use criterion::{Criterion, criterion_group, criterion_main};
use hoist::image::ImageSpec;
use hoist::manifest;
use std::hint::black_box;

const TEXT: &str = include_str!("../tests/fixtures/kustomization-2k.yaml");

fn edit(c: &mut Criterion) {
    let spec = ImageSpec::parse(
        "payments-worker:v2.15.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    let out = manifest::set_image(TEXT, &spec).unwrap();
    assert_eq!(out.changes.len(), 2, "the benchmark edits tag and digest");
    c.bench_function("set_image 2KB kustomization", |b| {
        b.iter(|| manifest::set_image(black_box(TEXT), &spec).unwrap())
    });
    c.bench_function("parse 2KB kustomization", |b| {
        b.iter(|| manifest::tree::parse(black_box(TEXT)).unwrap())
    });
}

criterion_group!(benches, edit);
criterion_main!(benches);
