"""Train the prompt tokenizer (byte-level-free BPE, lower-cased) offline on the clinical corpus.

    python -m training.text.tokenizer_training --notes NOTES.csv --out tokenizer.json [--vocab-size 2048]

The special tokens come first, so their ids are fixed: [PAD]=0, [UNK]=1, [BOS]=2, [EOS]=3.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from training.text.clinical_corpus import clinical_corpus

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")
PAD_TOKEN = "[PAD]"


def train_prompt_tokenizer(
    out_file: Path, notes_csv: Path | None = None, vocab_size: int = 2048, min_frequency: int = 1
) -> Path:
    """Train a BPE tokenizer on the corpus and write tokenizer.json; returns its path."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]", end_of_word_suffix="</w>"))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    tokenizer.decoder = decoders.BPEDecoder(suffix="</w>")
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        end_of_word_suffix="</w>",
    )
    tokenizer.train_from_iterator(clinical_corpus(notes_csv), trainer=trainer)
    bos, eos = tokenizer.token_to_id("[BOS]"), tokenizer.token_to_id("[EOS]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]",
        pair="[BOS] $A [EOS] $B:1 [EOS]:1",
        special_tokens=[("[BOS]", bos), ("[EOS]", eos)],
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out_file))
    return out_file


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the prompt tokenizer on the clinical corpus.")
    parser.add_argument("--notes", type=Path, help="CSV of radiologist notes (column 'clinicians_notes')")
    parser.add_argument("--out", type=Path, required=True, help="tokenizer.json to write")
    parser.add_argument("--vocab-size", type=int, default=2048)
    args = parser.parse_args(argv)
    path = train_prompt_tokenizer(args.out, args.notes, args.vocab_size)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
