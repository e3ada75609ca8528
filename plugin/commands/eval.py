"""`matanyone-plugin eval`: score a predicted alpha sequence against ground truth as the papers do."""
from __future__ import annotations

import argparse
import re

from plugin.errors import UserError

HELP = "score a predicted alpha sequence against ground truth (MAD, MSE, Grad, dtSSD, Conn) and write a report"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help=HELP, description=HELP + ". Frames are paired by frame number. Predictions are "
        "8-bit quantised first, as the published numbers were (--float to score them as they are).")
    parser.add_argument("--pred", required=True, metavar="PATTERN",
                        help="predicted alpha: shot.####.exr, shot.%%04d.png, one frame's path, or a folder")
    parser.add_argument("--gt", required=True, metavar="PATTERN",
                        help="ground-truth alpha (with --core: per-frame segmentation masks)")
    parser.add_argument("--frames", metavar="A-B", type=_frame_range,
                        help="score only frames A to B (source frame numbers); default: every predicted frame")
    parser.add_argument("--mode", choices=("lr", "hr", "auto"), default="auto",
                        help="lr: the papers' 512x288 protocol (Grad min-max normalised, Conn); hr: their "
                             "1920x1080 protocol (no Conn); auto (default): hr above 1920x1080/2 pixels")
    parser.add_argument("--core", action="store_true",
                        help="core-region MAD/MSE/dtSSD from a segmentation mask given as --gt: trimap by 21x21 "
                             "dilation/erosion (our reading of the MatAnyone paper, labelled as such)")
    parser.add_argument("--float", dest="quantize", action="store_false",
                        help="score float predictions as they are (default: 8-bit quantised, as published)")
    parser.add_argument("--out", metavar="DIR",
                        help="folder for metrics.json, metrics.csv, report.png (default: eval/ beside --pred)")
    parser.add_argument("--no-report", dest="report", action="store_false", help="skip report.png")
    parser.set_defaults(func=handle)


def _frame_range(text: str):
    m = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r}: give a frame range such as 1001-1100 (or one frame)")
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) is not None else first
    return first, last


def handle(args) -> int:
    import os

    from plugin.evaluate import evaluate

    if not args.pred or not args.pred.strip():
        raise UserError("--pred: empty pattern; give the predicted alpha sequence, e.g. out/hero.####.exr")
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.pred.rstrip("/\\"))), "eval")
    result = evaluate(args.pred, args.gt, out, frames=args.frames, mode=args.mode, core=args.core,
                      quantize=args.quantize, report=args.report)
    print(result.summary)
    return 0
