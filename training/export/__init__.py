"""ONNX export of trained models as model packs for the engine."""

from training.export.pack_writer import ExportError, export_model_pack, load_trained_model

__all__ = ["ExportError", "export_model_pack", "load_trained_model"]
