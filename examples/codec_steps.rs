//! Runs one step of the codec benchmark a fixed number of times, for instruction counts that
//! do not depend on machine noise:
//! `valgrind --tool=callgrind target/release/examples/codec_steps STEP N` with STEP one of
//! `tokenize`, `decode`, `validate`, on the generated 100-block CEB621 or on FILE when given
//! as a third argument.

use std::hint::black_box;

use quick_xml::events::Event;
use quick_xml::Reader;
use single_window::ceb::{decode_str, encode::encode, to_utf8};
use single_window::rules::Rules;
use single_window::synth;
use single_window::validate::validate;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let step = args.get(1).map_or("decode", String::as_str);
    let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(10);
    let rules = Rules::embedded().expect("shipped rules load");
    let bytes = match args.get(3) {
        Some(path) => std::fs::read(path).expect("readable file"),
        None => encode(&synth::inventory_message(1, 0, 100, &rules)).into_bytes(),
    };
    let mut total = 0usize;
    for _ in 0..n {
        total += match step {
            "tokenize" => {
                let mut reader = Reader::from_reader(&bytes[..]);
                let mut events = 0;
                while !matches!(reader.read_event(), Ok(Event::Eof) | Err(_)) {
                    events += 1;
                }
                events
            }
            "decode" => {
                let text = to_utf8(&bytes, &rules.limits).expect("utf-8");
                black_box(decode_str(&text, &rules.limits).expect("decodes"))
                    .blocks
                    .len()
            }
            _ => {
                let text = to_utf8(&bytes, &rules.limits).expect("utf-8");
                let message = decode_str(&text, &rules.limits).expect("decodes");
                message
                    .blocks
                    .iter()
                    .map(|b| validate(b, &rules).violations.len())
                    .sum()
            }
        };
    }
    println!("{step} x{n}: {total}");
}
