"""Export an untrained lss-vit-tiny model as a model pack: `python export_tiny_pack.py OUT_DIR`.

Run in its own process by the tests, so torch is never imported into the process that renders
(torch's LLVM and Mesa's clash; the product keeps torch out of the GUI process too). Prints the
pack's folder."""

from __future__ import annotations

import sys
from pathlib import Path


def export_tiny_pack(root: Path) -> Path:
    import torch

    from training.export import export_model_pack
    from training.models import create_model
    from training.text.tokenizer_training import train_prompt_tokenizer
    from training.trainer.checkpoints import save_model_folder

    root.mkdir(parents=True, exist_ok=True)
    tokenizer = train_prompt_tokenizer(root / "tokenizer.json", vocab_size=512)
    torch.manual_seed(0)
    model, _ = create_model("lss-vit-tiny")
    metadata = {
        "model_config": model.config.to_dict(),
        "tokenizer_file": "tokenizer.json",
        "validation": {},
        "train_config": {"data": {"spider_root": "x"}, "loss": "pid_tversky", "seed": 0},
    }
    save_model_folder(root / "best", model.state_dict(), metadata, {"tokenizer.json": tokenizer})
    return Path(export_model_pack(root / "best", root / "lss-tiny", "lss-tiny", "0.0.1"))


if __name__ == "__main__":
    print(export_tiny_pack(Path(sys.argv[1])))
