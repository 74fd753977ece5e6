"""`lss bench load DIR [--repeat N] [--workers N]`: study loading speed, measured in one run.

Three timings on the same files, after one untimed pass that brings them into the page cache:
- naive: a sequential loop of `pydicom.dcmread(f)` + `.pixel_array`, keeping every array;
- full load: `load_study(DIR)` + `decode_series` of every series (all pixels, float32, rescaled);
- first slice: `load_study(DIR)` + the middle slice of the first series (what the viewer shows).
Each is repeated N times; the median is reported (and the minimum). Prints numbers, asserts none.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from engine.cli.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench", help="speed benchmarks")
    commands = bench.add_subparsers(dest="bench_command", required=True, metavar="SUBCOMMAND")
    load = commands.add_parser(
        "load",
        help="our study load vs a naive pydicom loop, and time to the first displayable slice",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    load.add_argument("path", metavar="DIR", help="DICOM folder")
    load.add_argument(
        "--repeat", type=int, default=5, help="timed repetitions of each measurement (default 5)"
    )
    load.add_argument("--workers", type=int, default=None, help="threads for our loader (default: automatic)")
    load.set_defaults(func=run)
    from engine.cli.bench_analyze import register_analyze

    register_analyze(commands)


def _timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def run(args: argparse.Namespace) -> int:
    import warnings

    import numpy as np
    import pydicom

    from engine.cli.main import CommandError
    from engine.study import NoDicomFoundError, decode_series, load_study
    from engine.study.discovery import find_candidate_files

    if args.repeat < 1:
        raise CommandError("--repeat must be at least 1", ExitCode.USAGE)
    warnings.filterwarnings("ignore", module=r"pydicom\..*")
    root = Path(args.path)
    if not root.exists():
        raise CommandError(f"{root} does not exist", ExitCode.NO_DICOM)
    files = find_candidate_files(root).files

    def naive() -> list[np.ndarray]:
        arrays = []
        for f in files:
            try:
                arrays.append(pydicom.dcmread(f).pixel_array)
            except Exception:  # a naive loop that survives bad files, like ours
                continue
        return arrays

    def full_load() -> list[np.ndarray]:
        study = load_study(root, max_workers=args.workers)
        return [decode_series(s, args.workers) for s in study.series]

    def first_slice() -> np.ndarray:
        study = load_study(root, max_workers=args.workers)
        first = study.series[0]
        return first.slice_pixels(len(first.slices) // 2)

    try:
        study = load_study(root, max_workers=args.workers)
    except NoDicomFoundError as exc:
        raise CommandError(str(exc), ExitCode.NO_DICOM) from exc
    if not study.series:
        raise CommandError(f"no MR series in {root}", ExitCode.NO_DICOM)
    naive_pixels = sum(a.size for a in naive())  # also the untimed warm-up pass
    our_pixels = sum(v.size for v in full_load())
    size_mb = sum(f.stat().st_size for f in files) / 1e6

    naive_times, full_times, first_times = [], [], []
    for _ in range(args.repeat):  # interleaved, so background load hits all three alike
        naive_times += _timed(naive, 1)
        full_times += _timed(full_load, 1)
        first_times += _timed(first_slice, 1)
    naive_s, full_s, first_s = (statistics.median(t) for t in (naive_times, full_times, first_times))
    print(f"folder: {root}")
    print(
        f"{len(files)} files, {size_mb:.1f} MB, {len(study.series)} MR series, "
        f"{os.cpu_count()} CPU cores, pydicom {pydicom.__version__}"
    )
    print(f"pixels decoded: naive {naive_pixels}, ours {our_pixels}")
    print(f"median of {args.repeat} runs (min in brackets), page cache warm:")
    print(f"  naive dcmread + pixel_array loop : {naive_s * 1000:8.1f} ms  ({min(naive_times) * 1000:.1f})")
    print(f"  our full load (headers + pixels) : {full_s * 1000:8.1f} ms  ({min(full_times) * 1000:.1f})")
    print(f"  our first displayable slice      : {first_s * 1000:8.1f} ms  ({min(first_times) * 1000:.1f})")
    print(f"  speed-up, full load vs naive     : {naive_s / full_s:8.2f}x")
    print(f"  speed-up, first slice vs naive   : {naive_s / first_s:8.2f}x")
    return int(ExitCode.OK)
