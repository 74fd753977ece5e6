"""VTK's Qt widget bound to PySide6. Import QVTKRenderWindowInteractor from here only: VTK must
be told which Qt binding to use before its Qt module is first imported."""

import vtkmodules.qt

vtkmodules.qt.PyQtImpl = "PySide6"

import vtkmodules.vtkInteractionStyle  # noqa: E402  (registers the interactor styles)
import vtkmodules.vtkRenderingFreeType  # noqa: E402  (text actors)
import vtkmodules.vtkRenderingOpenGL2  # noqa: E402  (the OpenGL render window)
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor  # noqa: E402

__all__ = ["QVTKRenderWindowInteractor"]
