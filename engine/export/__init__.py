"""Exports of a report: PDF (`pdf_report`, with key images from `key_images`) and DICOM objects."""
