"""Issue 28's budget: 500 test images of 32x32 RGB with a small convolutional ONNX model, the full report (every
default section, saliency with its checks), HTML + PDF + JSON, <= 60 s on the 2-core machine; the sizes the saliency
plan chose (windows, masks, examples) are read back from metrics.json.

The images (made once into --data as PNG, ImageFolder layout): dim noise and a 7x7 square of one of four colours at a
random place; the class is the colour. The model (built here with onnx.helper, NCHW): two 3x3 convolutions (4 colour
detectors, then 8 filters), ReLU, global max pooling, a dense layer and softmax.

    python bench/bench_images.py
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

COLOURS = {"red": (230, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 230), "yellow": (220, 220, 30)}
SIZE = 32


def make_images(folder: Path, n: int, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    names = list(COLOURS)
    for name in names:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        k = i % len(names)
        image = rng.uniform(0, 40, (SIZE, SIZE, 3))
        t, left = rng.integers(0, SIZE - 7, 2)
        image[t:t + 7, left:left + 7] = COLOURS[names[k]]
        Image.fromarray(image.astype(np.uint8)).save(folder / names[k] / f"{i}.png")


def make_model(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    colours = np.array([COLOURS[c] for c in sorted(COLOURS)], np.float32) / 255  # classes in sorted order
    w1 = np.zeros((4, 3, 3, 3), np.float32)
    for k, c in enumerate(colours):  # a matched filter per colour: + its own channels, - the others
        w1[k] = ((c - c.mean()) / 9)[:, None, None]
    w2 = np.zeros((8, 4, 3, 3), np.float32)
    for k in range(8):
        w2[k, k % 4, 1, 1] = 1.0 + 0.1 * (k // 4)
    dense = np.zeros((8, 4), np.float32)
    for k in range(8):
        dense[k, k % 4] = 20.0
    inits = [helper.make_tensor(n, TensorProto.FLOAT, a.shape, a.ravel()) for n, a in (
        ("w1", w1), ("b1", np.full(4, -0.05, np.float32)), ("w2", w2), ("b2", np.zeros(8, np.float32)),
        ("d", dense), ("e", np.zeros(4, np.float32)))]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("GlobalMaxPool", ["r2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "d", "e"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                          [None, 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.metadata_props.add(key="classes", value=",".join(sorted(COLOURS)))
    onnx.save(model, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "postreport-images")
    args = parser.parse_args()
    data = args.data
    if not (data / "_done").exists():
        make_images(data / "train", 200, 0)
        make_images(data / "test", 500, 1)
        make_model(data / "cnn.onnx")
        (data / "_done").touch()
    out = data / "run"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-c", "from postreport.cli import console; console()", "data=images",
           f"data.path={data / 'train'}", f"data.test_path={data / 'test'}", "model=file",
           f"model.path={data / 'cnn.onnx'}", "report.formats=[html,pdf,json]", f"hydra.run.dir={out}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(f"500 test images 32x32 RGB, ONNX CNN, full report: {seconds:.1f} s (budget 60 s), exit {proc.returncode}")
    if proc.returncode not in (0, 1, 3):
        print(proc.stderr[-3000:])
        return
    doc = json.loads((out / "metrics.json").read_text())
    s = doc["results"]["saliency"]
    print(f"accuracy {doc['metrics']['accuracy']:.3f}; saliency: window {s['window']}, stride {s['stride']}, "
          f"{s['masks']} RISE masks, {len(s['examples'])} examples")
    for method, c in s["checks"].items():
        rand = c["randomisation"][-1] if c["randomisation"] else None
        print(f"  {method}: all-layers rank correlation {rand and round(rand['rank_correlation'], 3)}, deletion "
              f"{c['deletion']['difference']:+.3f}, insertion {c['insertion']['difference']:+.3f}: {c['verdict']}")
    log = (out / "postreport.log").read_text().splitlines()
    for line in log:
        if "step analysis: saliency" in line or "step render pdf" in line or "step load data" in line:
            print("  " + line.split(" - ")[-1])


if __name__ == "__main__":
    main()
