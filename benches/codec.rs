//! Codec and validation throughput on the same bytes, side by side:
//! (a) a bare quick-xml event loop that only tokenizes (the ceiling),
//! (b) decode into domain types (encoding check, namespaces, schema order, typed fields),
//! (c) decode + validate every block.
//! Inputs: the official CEB311 and CEB621 samples and a generated 100-block CEB621 of valid
//! shipments. `scripts/bench_table.py` turns criterion's medians into MB/s, messages/s and c/a.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quick_xml::events::Event;
use quick_xml::Reader;
use single_window::ceb::{decode_str, encode::encode, to_utf8};
use single_window::rules::Rules;
use single_window::synth;
use single_window::validate::validate;

fn inputs(rules: &Rules) -> Vec<(&'static str, Vec<u8>)> {
    let sample = |name: &str| {
        std::fs::read(format!("../shared/ceb/import/{name}"))
            .unwrap_or_else(|e| panic!("../shared/ceb/import/{name}: {e}"))
    };
    let generated = encode(&synth::inventory_message(1, 0, 100, rules)).into_bytes();
    vec![
        ("ceb311_sample", sample("CEB311Message.xml")),
        ("ceb621_sample", sample("CEB621Message.xml")),
        ("ceb621_100_generated", generated),
    ]
}

fn tokenize(bytes: &[u8]) -> usize {
    let mut reader = Reader::from_reader(bytes);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return events,
            Ok(event) => {
                black_box(&event);
                events += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn decode_only(bytes: &[u8], rules: &Rules) -> usize {
    let text = to_utf8(bytes, &rules.limits).unwrap();
    let message = decode_str(&text, &rules.limits).unwrap();
    black_box(&message);
    message.blocks.len()
}

fn decode_validate(bytes: &[u8], rules: &Rules) -> usize {
    let text = to_utf8(bytes, &rules.limits).unwrap();
    let message = decode_str(&text, &rules.limits).unwrap();
    let mut violations = 0;
    for block in &message.blocks {
        violations += validate(block, rules).violations.len();
    }
    black_box(violations)
}

fn codec(c: &mut Criterion) {
    let rules = Rules::embedded().unwrap();
    for (name, bytes) in inputs(&rules) {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("a_tokenize", |b| b.iter(|| tokenize(black_box(&bytes))));
        group.bench_function("b_decode", |b| {
            b.iter(|| decode_only(black_box(&bytes), &rules))
        });
        group.bench_function("c_decode_validate", |b| {
            b.iter(|| decode_validate(black_box(&bytes), &rules))
        });
        group.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
