"""Exports of a study's findings and report: the PDF report (`pdf_report`, with key images from
`key_images`), DICOM SEG, TID 1500 SR, Encapsulated PDF, and anonymised copies.

Submodules import pydicom/highdicom/reportlab at module level; import them where the export runs,
not at application start.
"""
