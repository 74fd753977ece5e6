"""Training samples from a site-data folder (format: FORMAT.md in this folder; checking, report
parsing and pseudo-masks live torch-free in engine.site_data)."""

from training.site_data.samples import SiteDataError, site_samples

__all__ = ["SiteDataError", "site_samples"]
