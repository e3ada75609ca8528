"""Parity of the engine with the official fixtures on any device and precision.

    python bench/parity_device.py --fixtures ../shared/fixtures --device cuda [--precision fp16]
    (precisions: plugin.protocol.PRECISIONS: fp32, official-mixed, fp16, bf16)

Prints mean/max |alpha - official| per fixture and the seconds per frame it took. On CUDA, TF32
is turned off for fp32 so the comparison with the CPU-made fixtures is fair (cuDNN allows TF32 by
default); `--tf32` keeps it on to show what it costs in accuracy.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from plugin.protocol import PRECISIONS  # noqa: E402 - the one vocabulary (standard library only)

FIXTURES = ("parity_two_objects.npz", "parity_single.npz")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fixtures", default=os.environ.get("MATANYONE_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures")))
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS)
    p.add_argument("--tf32", action="store_true")
    p.add_argument("--only", choices=FIXTURES, help="one fixture instead of both")
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from matanyone_engine import EngineSettings, load_network, matte_frames

    if not args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    for name in [args.only] if args.only else FIXTURES:
        data = np.load(os.path.join(args.fixtures, name))
        salt = str(data["salt"])
        net = load_network(f"stand-in:{salt}", device=args.device, precision=args.precision)
        start = time.perf_counter()
        alphas = matte_frames(net, data["frames"], data["masks"], warmup=int(data["warmup"]),
                              settings=EngineSettings(precision=args.precision))
        if net.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        diff = np.abs(alphas - data["alphas"])
        steps = data["frames"].shape[0] + int(data["warmup"]) + 1
        print(json.dumps({"fixture": name, "device": str(net.device), "precision": args.precision,
                          "tf32": bool(args.tf32), "mean_abs": float(diff.mean()), "max_abs": float(diff.max()),
                          "s_per_step": round(seconds / steps, 4)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
