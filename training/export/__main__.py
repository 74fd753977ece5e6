"""python -m training.export --model-dir OUTPUT/best --out PACK_DIR --name NAME --version X.Y.Z [--without-weights]"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.export import export_model_pack


def main() -> int:
    parser = argparse.ArgumentParser(description="Export a trained model folder as an ONNX model pack.")
    parser.add_argument("--model-dir", type=Path, required=True, help="the trainer's best/ folder")
    parser.add_argument("--out", type=Path, required=True, help="pack folder to write")
    parser.add_argument("--name", default="lss-default")
    parser.add_argument("--version", default="0.1.0")
    parser.add_argument("--opset", type=int, default=18)
    parser.add_argument(
        "--without-weights",
        action="store_true",
        help="leave the torch weights out (a smaller pack that cannot be fine-tuned)",
    )
    args = parser.parse_args()
    print(
        export_model_pack(
            args.model_dir,
            args.out,
            args.name,
            args.version,
            args.opset,
            include_weights=not args.without_weights,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
