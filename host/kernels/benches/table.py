#!/usr/bin/env python3
"""Turns criterion's results for the `kernels` bench into the Markdown table
of docs/performance.md: per shape and n, the time per call and GOP/s of each
implementation, and the ratio of Hark's q8_0 to the f32 baselines measured
in the same run. Usage: table.py target/criterion"""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
rows = []
for shape in ["384x384", "1536x384", "384x1536"]:
    for n in [1, 8, 32, 128]:
        group = os.path.join(root, f"{shape}_n={n}")
        if not os.path.isdir(group):
            continue
        r, c = map(int, shape.split("x"))
        macs = r * c * n
        times = {}
        for fmt in sorted(os.listdir(group)):
            for impl in sorted(os.listdir(os.path.join(group, fmt))):
                est = os.path.join(group, fmt, impl, "new", "estimates.json")
                if os.path.exists(est):
                    with open(est) as f:
                        times[f"{fmt}/{impl}"] = json.load(f)["median"]["point_estimate"]
        rows.append((shape, n, macs, times))

impls = []
for _, _, _, times in rows:
    for k in times:
        if k not in impls:
            impls.append(k)
order = lambda k: (0 if k.startswith(("q8_0", "q4_0", "i8row")) else 1 if k.startswith("f32/") and "/matrix" not in k and "/tract" not in k else 2, k)
impls.sort(key=order)
best = next((k for k in impls if k.startswith("q8_0/") and "avx2" not in k and "scalar" not in k), None)

def cell(ns, macs):
    us = ns / 1e3
    gops = 2 * macs / ns
    return f"{us:.2f} µs · {gops:.0f}" if us < 100 else f"{us:.0f} µs · {gops:.0f}"

print("| shape (rows×cols), n | " + " | ".join(impls) + " | q8_0 vs matrixmultiply | q8_0 vs tract |")
print("|---|" + "---|" * (len(impls) + 2))
for shape, n, macs, times in rows:
    cells = [cell(times[k], macs) if k in times else "–" for k in impls]
    ratio = lambda base: f"{times[base] / times[best]:.1f}×" if best in times and base in times else "–"
    print(f"| {shape}, n={n} | " + " | ".join(cells) + f" | {ratio('f32/matrixmultiply')} | {ratio('f32/tract')} |")
print()
print("Cells: median time per call · GOP/s (2 ops per multiply-add). Ratios: how many times faster Hark's q8_0 is.")
