//! One edit of a realistic 2 KB kustomization: parse, locate, splice, re-parse and
//! compare. The goal is at most 50 µs per edit.

use criterion::{Criterion, criterion_group, criterion_main};
use hoist::image::ImageSpec;
use hoist::manifest;

fn edit(c: &mut Criterion) {
    let text = include_str!("../tests/fixtures/kustomization-2k.yaml");
    let spec = ImageSpec::parse(
        "payments-worker:v2.15.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    let out = manifest::set_image(text, &spec).unwrap();
    assert_eq!(out.changes.len(), 2, "the benchmark edits tag and digest");
    c.bench_function("set_image 2KB kustomization", |b| {
        b.iter(|| manifest::set_image(std::hint::black_box(text), &spec).unwrap())
    });
}

criterion_group!(benches, edit);
criterion_main!(benches, more);

fn parse_only(c: &mut Criterion) {
    let text = include_str!("../tests/fixtures/kustomization-2k.yaml");
    c.bench_function("parse 2KB", |b| {
        b.iter(|| manifest::tree::parse(std::hint::black_box(text)).unwrap())
    });
    c.bench_function("granit events 2KB no comments", |b| {
        b.iter(|| {
            let mut o = granit_parser::Options::default();
            o.emit_comments = false;
            let mut p =
                granit_parser::Parser::new_from_str_with_options(std::hint::black_box(text), o);
            let mut n = 0;
            while let Some(e) = p.next_event() {
                e.unwrap();
                n += 1;
            }
            n
        })
    });
    c.bench_function("granit events 2KB", |b| {
        b.iter(|| {
            let mut p = granit_parser::Parser::new_from_str(std::hint::black_box(text));
            let mut n = 0;
            while let Some(e) = p.next_event() {
                e.unwrap();
                n += 1;
            }
            n
        })
    });
}
criterion_group!(more, parse_only);
