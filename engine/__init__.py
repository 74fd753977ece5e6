"""LSS Desktop engine: DICOM study loading, level labelling, segmentation, grading, measurements
and report drafting for lumbar spinal stenosis on MRI.

Qt-, VTK- and torch-free at import time: inference runs on ONNX Runtime and numpy.
"""

import logging

__version__ = "0.1.0"

INTENDED_USE = (
    "Decision support for lumbar spinal stenosis on MRI. Research use only until cleared: "
    "every finding and report must be reviewed and signed by a radiologist."
)

logging.getLogger(__name__).addHandler(logging.NullHandler())
