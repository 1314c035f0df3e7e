"""The peer of `cargo bench -p hark-plugin-vision --bench ocr`: RapidOCR
(PP-OCRv4 on onnxruntime) reading the same PNG, timed the same way.

    python rapidocr_peer.py IMAGE RUNS  ->  JSON on stdout
"""
import json
import os
import sys
import time

import cv2
import onnxruntime
from rapidocr_onnxruntime import RapidOCR


def main():
    path, runs = sys.argv[1], int(sys.argv[2])
    image = cv2.imread(path)
    engine = RapidOCR()
    result, _ = engine(image, use_cls=False)  # warm-up
    times, det, rec = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        result, elapse = engine(image, use_cls=False)
        times.append((time.perf_counter() - started) * 1000.0)
        # RapidOCR's own per-stage times: detector, classifier, recogniser.
        det.append(elapse[0] * 1000.0)
        rec.append(elapse[2] * 1000.0)
    times.sort()
    det.sort()
    rec.sort()
    # RapidOCR returns boxes top to bottom; one box per line here.
    text = "\n".join(r[1] for r in (result or []))
    print(json.dumps({
        "median_ms": times[len(times) // 2],
        "det_ms": det[len(det) // 2],
        "rec_ms": rec[len(rec) // 2],
        "text": text,
        "onnxruntime": onnxruntime.__version__,
        "threads": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
