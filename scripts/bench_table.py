#!/usr/bin/env python3
"""Prints the codec benchmark as a table: median time, MB/s, messages/s, blocks/s, c/a.

Run after `cargo bench --bench codec`; reads target/criterion/<input>/<step>/new/estimates.json.
"""
import json
import os
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
INPUTS = [("ceb311_sample", 6), ("ceb621_sample", 10), ("ceb621_100_generated", 100)]
STEPS = ["a_tokenize", "b_decode", "c_decode_validate"]


def median_ns(group, step):
    with open(os.path.join(ROOT, group, step, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]


def size(group):
    with open(os.path.join(ROOT, group, STEPS[0], "new", "benchmark.json")) as f:
        return json.load(f)["throughput"]["Bytes"]


print("| input | bytes | step | median | MB/s | messages/s | blocks/s | ratio to (a) |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for group, blocks in INPUTS:
    n = size(group)
    a = median_ns(group, STEPS[0])
    for step in STEPS:
        t = median_ns(group, step)
        print(f"| {group} | {n} | {step} | {t/1000:.1f} µs | {n / t * 1e3:.0f} | {1e9 / t:.0f} | {blocks * 1e9 / t:.0f} | {a / t:.2f} |")
