"""Benchmarks that need torch or the training data: the analysis against its eager-torch baseline."""
