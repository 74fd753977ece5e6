"""Suite-wide setup.

Mesa's llvmpipe (loaded once VTK or Qt opens an OpenGL context under Xvfb) and the LLVM bundled
with triton (imported by torch's ONNX exporter) clash: importing triton after an OpenGL context
exists segfaults, the other order works. GUI and torch tests share one process, so triton is
loaded first when it is installed. The product itself keeps torch out of the GUI process.

Also the `modal` fixture the GUI tests use to answer dialogs that block in exec().
"""

import importlib.util

import pytest

if importlib.util.find_spec("triton") is not None:
    import triton.runtime  # noqa: F401


def answer_modal(qtbot, trigger, handle, dialog_type=None):
    """Call `trigger()` (which opens a modal dialog and blocks in its exec) while `handle(dialog)`
    fills in and closes the dialog once it is shown. Returns what `trigger` returned. A check that
    fails inside `handle` closes the dialog and is raised here, so a failing test never hangs."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    seen = []
    done = []
    failures: list[BaseException] = []

    def poll():
        if done:
            return
        dialog = QApplication.activeModalWidget()
        if (
            dialog is not None
            and (dialog_type is None or isinstance(dialog, dialog_type))
            and dialog.isVisible()
        ):
            seen.append(dialog)
            try:
                handle(dialog)
            except BaseException as error:  # a failed check must not leave the dialog blocking exec()
                failures.append(error)
                dialog.done(0) if hasattr(dialog, "done") else dialog.close()
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    try:
        result = trigger()
    finally:
        done.append(True)
    if failures:
        raise failures[0]
    assert seen, "no modal dialog was shown"
    return result


@pytest.fixture
def modal(qtbot):
    return lambda trigger, handle, dialog_type=None: answer_modal(qtbot, trigger, handle, dialog_type)
