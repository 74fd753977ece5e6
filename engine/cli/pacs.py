"""`lss pacs`: talk to a PACS node (C-ECHO, C-FIND, C-GET, C-STORE) and save its settings.

The node comes from `--node-file` (written by `lss pacs save-node`) and/or `--host`, `--port`,
`--aet`, `--calling-aet`, `--timeout` (these override the file). Failures to reach or use the
node exit with ExitCode.PACS_ERROR (9); bad settings with ExitCode.INPUT_INVALID (7).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path

from engine.cli.exit_codes import ExitCode
from engine.cli.main import CommandError
from engine.pacs.node import PacsNode
from engine.pacs.progress import TransferProgress


def node_options_parser() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("PACS node")
    group.add_argument("--node-file", type=Path, help="JSON node settings (from `lss pacs save-node`)")
    group.add_argument("--host", help="host name or IP address of the PACS")
    group.add_argument("--port", type=int, help="DICOM port of the PACS")
    group.add_argument("--aet", help="AE title of the PACS (called AE title)")
    group.add_argument("--calling-aet", help="our AE title (default LSS_DESKTOP)")
    group.add_argument(
        "--timeout", type=float, help="seconds to wait for connection and answers (default 30)"
    )
    return parent


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pacs",
        help="query, retrieve from and send to a PACS (C-ECHO, C-FIND, C-GET, C-STORE)",
        description="Talk to a PACS node. Exit code 9 when the node is unreachable or refuses.",
    )
    actions = parser.add_subparsers(dest="pacs_action", required=True, metavar="ACTION")
    node = node_options_parser()

    actions.add_parser("echo", parents=[node], help="check that the node answers (C-ECHO)")

    find = actions.add_parser("find", parents=[node], help="find studies (or the series of one study)")
    find.add_argument("--patient-id", default="", help="patient ID")
    find.add_argument("--patient-name", default="", help="patient name, DICOM PN with * wildcards")
    find.add_argument("--date", default="", help="study date YYYYMMDD or range YYYYMMDD-YYYYMMDD")
    find.add_argument("--accession", default="", help="accession number")
    find.add_argument("--modality", default="", help="modality in study, e.g. MR")
    find.add_argument("--study-uid", help="list the series of this study instead of finding studies")
    find.add_argument("--json", action="store_true", help="print matches as JSON")

    get = actions.add_parser("get", parents=[node], help="retrieve a study into a folder (C-GET)")
    get.add_argument("study_uid", help="Study Instance UID")
    get.add_argument("--out", type=Path, required=True, help="folder to write the instances to")
    get.add_argument("--series", nargs="*", default=[], help="only these Series Instance UIDs")

    send = actions.add_parser("send", parents=[node], help="store DICOM files on the node (C-STORE)")
    send.add_argument("paths", nargs="+", type=Path, help="DICOM files or folders (searched recursively)")

    save = actions.add_parser("save-node", parents=[node], help="check and save node settings to a file")
    save.add_argument("path", type=Path, help="JSON file to write")
    parser.set_defaults(func=run)


def resolve_node(args: argparse.Namespace) -> PacsNode:
    from engine.pacs.node import load_node

    base = load_node(args.node_file) if args.node_file else None
    given = {
        "host": args.host,
        "port": args.port,
        "ae_title": args.aet,
        "calling_ae_title": args.calling_aet,
        "timeout_s": args.timeout,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    if base is not None:
        return replace(base, **overrides)
    missing = [
        f"--{o}" for o, k in (("host", "host"), ("port", "port"), ("aet", "ae_title")) if k not in overrides
    ]
    if missing:
        raise CommandError(f"no PACS node: give --node-file or {', '.join(missing)}", ExitCode.USAGE)
    return PacsNode(**overrides)


def _print_progress(label: str) -> Callable[[TransferProgress], None]:
    def report(progress: TransferProgress) -> None:
        total = "?" if progress.total is None else str(progress.total)
        print(f"\r{label}: {progress.completed}/{total} ({progress.failed} failed)", end="", file=sys.stderr)

    return report


def _dicom_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"{path}: no such file or folder", ExitCode.INPUT_INVALID)
    if not files:
        raise CommandError("no files to send", ExitCode.INPUT_INVALID)
    return files


@contextmanager
def pacs_errors_as_exit_codes() -> Iterator[None]:
    from engine.pacs.errors import NodeSettingsError, OperationCancelledError, PacsError

    try:
        yield
    except NodeSettingsError as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc
    except OperationCancelledError as exc:
        raise CommandError(str(exc), ExitCode.CANCELLED) from exc
    except PacsError as exc:
        raise CommandError(str(exc), ExitCode.PACS_ERROR) from exc
    except ValueError as exc:
        raise CommandError(str(exc), ExitCode.INPUT_INVALID) from exc


def run(args: argparse.Namespace) -> int:
    with pacs_errors_as_exit_codes():
        node = resolve_node(args)
        return _ACTIONS[args.pacs_action](node, args)


def _echo(node: PacsNode, args: argparse.Namespace) -> int:
    from engine.pacs.echo import echo

    milliseconds = echo(node)
    print(f"{node} answered C-ECHO in {milliseconds:.1f} ms")
    return int(ExitCode.OK)


def _find(node: PacsNode, args: argparse.Namespace) -> int:
    from engine.pacs.query import StudyQuery, find_series, find_studies

    if args.study_uid:
        series = find_series(node, args.study_uid)
        if args.json:
            print(json.dumps([asdict(one) for one in series], indent=2))
            return int(ExitCode.OK)
        for s in series:
            number = "-" if s.series_number is None else str(s.series_number)
            count = "?" if s.instance_count is None else str(s.instance_count)
            print(
                f"{number:>5}  {s.modality:<4} {count:>5} images  {s.series_description}  {s.series_instance_uid}"
            )
        return int(ExitCode.OK)
    query = StudyQuery(
        patient_id=args.patient_id,
        study_date=args.date,
        accession_number=args.accession,
        patient_name=args.patient_name,
        modality=args.modality,
    )
    studies = find_studies(node, query)
    if args.json:
        print(json.dumps([asdict(study) for study in studies], indent=2))
        return int(ExitCode.OK)
    if not studies:
        print("no study matches")
    for study in studies:
        print(
            f"{study.study_date}  {study.patient_id}  {study.patient_name}  "
            f"acc {study.accession_number or '-'}  {'/'.join(study.modalities) or '-'}  "
            f"{study.study_description}  {study.study_instance_uid}"
        )
    return int(ExitCode.OK)


def _get(node: PacsNode, args: argparse.Namespace) -> int:
    from engine.pacs.retrieve import retrieve_study

    report = retrieve_study(
        node,
        args.study_uid,
        args.out,
        series_instance_uids=args.series,
        progress=_print_progress("retrieved"),
    )
    print(file=sys.stderr)
    print(f"retrieved {len(report.files)} instance(s) into {report.destination}")
    return int(ExitCode.OK)


def send_files(node: PacsNode, args: argparse.Namespace) -> int:
    from engine.pacs.errors import InstancesNotStoredError
    from engine.pacs.store import store_files

    files = _dicom_files(args.paths)
    try:
        report = store_files(node, files, progress=_print_progress("stored"))
    except InstancesNotStoredError as exc:
        print(file=sys.stderr)
        for outcome in exc.report.failed:
            code = "" if outcome.status is None else f"0x{outcome.status:04X} "
            print(f"not stored: {outcome.path}: {code}{outcome.meaning}", file=sys.stderr)
        raise
    print(file=sys.stderr)
    print(f"stored {len(report.stored)} instance(s) on {node}")
    return int(ExitCode.OK)


def _save_node(node: PacsNode, args: argparse.Namespace) -> int:
    from engine.pacs.node import save_node

    save_node(node, args.path)
    print(f"saved {node} to {args.path}")
    return int(ExitCode.OK)


_ACTIONS: dict[str, Callable[[PacsNode, argparse.Namespace], int]] = {
    "echo": _echo,
    "find": _find,
    "get": _get,
    "send": send_files,
    "save-node": _save_node,
}
