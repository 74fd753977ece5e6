"""What to tell the user when an analysis (or a relabelling) did not give findings: a title, a
message saying what happened and what to do, and the exit code `lss-desktop --analyze` ends with.
Qt-free; the kinds are the worker's (engine.worker.messages.ERROR_KINDS)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.cli.exit_codes import ExitCode

KEPT = "The study, your mask edits and the report draft are unchanged."


@dataclass(frozen=True)
class AnalysisFailure:
    kind: str  # a worker error kind, or "crashed"
    title: str
    message: str
    exit_code: ExitCode

    @property
    def cancelled(self) -> bool:
        return self.kind == "cancelled"


_BY_KIND: dict[str, tuple[str, str, ExitCode]] = {
    "no_dicom": (
        "No DICOM images",
        "The analysis found no readable DICOM images:\n{detail}",
        ExitCode.NO_DICOM,
    ),
    "missing_series": (
        "Series missing",
        "The analysis needs a sagittal T2 and an axial T2 series:\n{detail}",
        ExitCode.MISSING_SERIES,
    ),
    "levels_not_found": (
        "Disc levels not found",
        "The disc levels could not be found or labelled on the sagittal series:\n{detail}\n\n"
        "The images can still be read and reported without the analysis.",
        ExitCode.LEVELS_NOT_FOUND,
    ),
    "model_pack_invalid": (
        "Model pack missing or damaged",
        "The analysis model cannot be used:\n{detail}\n\nChoose an installed model pack in File > Settings.",
        ExitCode.MODEL_PACK_INVALID,
    ),
    "device_unavailable": (
        "Device not available",
        "{detail}\n\nChoose Automatic or CPU as the device in File > Settings.",
        ExitCode.USAGE,
    ),
    "cancelled": ("Analysis cancelled", "The analysis was cancelled.", ExitCode.CANCELLED),
    "failure": ("Analysis failed", "The analysis failed:\n{detail}", ExitCode.FAILURE),
}


def describe_analysis_failure(error: BaseException, what: str = "analysis") -> AnalysisFailure:
    """The failure to show for `error` from an AnalysisJob; `what` names the job ("relabelling")."""
    from engine.worker import WorkerCrashedError, WorkerFailedError  # brings the analysis (OpenCV)

    detail = str(error) or type(error).__name__
    if isinstance(error, WorkerCrashedError):
        code = error.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        return AnalysisFailure(
            "crashed",
            f"The {what} stopped unexpectedly",
            f"The {what} process {how} before it finished.\n\n{KEPT} "
            f"Run the {what} again; if it stops again, the model or the device may lack memory.",
            ExitCode.FAILURE,
        )
    kind = error.kind if isinstance(error, WorkerFailedError) else "failure"
    title, template, code = _BY_KIND.get(kind, _BY_KIND["failure"])
    message = template.format(detail=detail)
    if kind != "cancelled":
        message += f"\n\n{KEPT}"
    if what != "analysis":
        title = title.replace("Analysis", what.capitalize())
    return AnalysisFailure(kind, title, message, code)
