"""Site data for fine-tuning (torch-free, so the app's fine-tuning wizard can check a folder):
the folder format (training/site_data/FORMAT.md), its validator (`lss data check`), free-text report
parsing (levels and central canal severity), and report-conditioned pseudo-masks of the dural sac.
"""

from engine.site_data.level_geometry import AxialSliceChoice, DiscPlane, choose_axial_slice, read_disc_planes
from engine.site_data.problems import ProblemCode, ProblemSeverity, SiteProblem
from engine.site_data.pseudo_masks import (
    PseudoMaskConfig,
    PseudoMaskResult,
    RejectionReason,
    dural_sac_pseudo_mask,
)
from engine.site_data.report_parser import ParsedLevel, ParsedReport, parse_report
from engine.site_data.severity import Severity, expected_dural_sac_area, grade_for_severity
from engine.site_data.validation import LabelledLevel, SiteDataReport, SiteStudy, validate_site_folder

__all__ = [
    "AxialSliceChoice",
    "DiscPlane",
    "LabelledLevel",
    "ParsedLevel",
    "ParsedReport",
    "ProblemCode",
    "ProblemSeverity",
    "PseudoMaskConfig",
    "PseudoMaskResult",
    "RejectionReason",
    "Severity",
    "SiteDataReport",
    "SiteProblem",
    "SiteStudy",
    "choose_axial_slice",
    "dural_sac_pseudo_mask",
    "expected_dural_sac_area",
    "grade_for_severity",
    "parse_report",
    "read_disc_planes",
    "validate_site_folder",
]
