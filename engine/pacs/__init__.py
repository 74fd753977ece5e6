"""DICOM networking with a PACS node: C-ECHO, C-STORE, C-FIND and C-GET (pynetdicom).

Every operation takes a `PacsNode`, honours its timeouts and raises a `PacsError` subclass the
caller can branch on (unreachable, association rejected, refused store, cancelled...).
"""
