"""Text side of training: the clinical corpus and the offline BPE tokenizer trained on it."""
