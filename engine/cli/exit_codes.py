"""Exit codes of `lss`, documented in the README so scripts can branch on them."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # unexpected error (a bug): the message says where to look
    USAGE = 2  # bad arguments (argparse uses 2 as well)
    NO_DICOM = 3  # the folder holds no readable DICOM image
    MISSING_SERIES = 4  # no sagittal T2 or no axial T2 where the command needs one
    LEVELS_NOT_FOUND = 5  # disc levels could not be found or labelled
    MODEL_PACK_INVALID = 6  # model pack missing, tampered, truncated or incompatible
    INPUT_INVALID = 7  # an input file or field is wrong; the message names it
    CANCELLED = 8
    PACS_ERROR = 9  # PACS node unreachable or refused the request
