"""Model packs and ONNX Runtime inference (no torch): find and verify packs, run the segmenter."""
