"""Exports of a study's findings: DICOM SEG, TID 1500 SR, Encapsulated PDF, and anonymised copies.

Submodules import pydicom/highdicom at module level; import them where the export runs, not at
application start.
"""
