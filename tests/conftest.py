"""Suite-wide setup.

Mesa's llvmpipe (loaded once VTK or Qt opens an OpenGL context under Xvfb) and the LLVM bundled
with triton (imported by torch's ONNX exporter) clash: importing triton after an OpenGL context
exists segfaults, the other order works. GUI and torch tests share one process, so triton is
loaded first when it is installed. The product itself keeps torch out of the GUI process.
"""

import importlib.util

if importlib.util.find_spec("triton") is not None:
    import triton.runtime  # noqa: F401
