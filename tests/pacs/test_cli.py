"""`lss pacs echo|find|get|send|save-node` against Orthanc, run in-process through engine.cli.main."""

from __future__ import annotations

import json

import pydicom
import pytest

from engine.cli import main as cli_main
from engine.cli.exit_codes import ExitCode


@pytest.fixture
def lss(monkeypatch, capsys):
    """Runs `lss ARGS` in-process; returns (exit code, stdout, stderr)."""
    # Only this branch's subcommand: the other COMMAND_MODULES land on main from other branches.
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("engine.cli.pacs",))

    def run(*args):
        code = cli_main.main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _node_args(orthanc):
    node = orthanc.node
    return ["--host", node.host, "--port", node.port, "--aet", node.ae_title, "--timeout", 5]


def test_echo_with_node_options_and_with_a_saved_node_file(lss, orthanc, tmp_path):
    code, out, _ = lss("pacs", "echo", *_node_args(orthanc))
    assert code == ExitCode.OK and "ORTHANC_TEST@127.0.0.1" in out and "answered C-ECHO" in out

    node_file = tmp_path / "node.json"
    assert lss("pacs", "save-node", node_file, *_node_args(orthanc))[0] == ExitCode.OK
    assert json.loads(node_file.read_text())["ae_title"] == "ORTHANC_TEST"
    code, out, _ = lss("pacs", "echo", "--node-file", node_file)
    assert code == ExitCode.OK and "answered C-ECHO" in out


def test_unreachable_node_exits_9_with_a_clear_message(lss, unused_port):
    code, _, err = lss(
        "pacs", "echo", "--host", "127.0.0.1", "--port", unused_port, "--aet", "X", "--timeout", 2
    )
    assert code == ExitCode.PACS_ERROR == 9
    assert f"lss pacs: cannot connect to 127.0.0.1:{unused_port}" in err


def test_rejected_association_exits_9(lss, orthanc):
    node = orthanc.node
    code, _, err = lss("pacs", "echo", "--host", node.host, "--port", node.port, "--aet", "WRONG_AET")
    assert code == ExitCode.PACS_ERROR
    assert "rejected the association" in err and "Called AE title not recognised" in err


def test_missing_or_bad_node_settings_are_input_errors(lss, tmp_path):
    code, _, err = lss("pacs", "echo", "--host", "localhost")
    assert code == ExitCode.USAGE and "--port, --aet" in err
    bad = tmp_path / "node.json"
    bad.write_text('{"ae_title": "A", "host": "h", "port": 70000}')
    code, _, err = lss("pacs", "echo", "--node-file", bad)
    assert code == ExitCode.INPUT_INVALID and str(bad) in err and "port: 70000" in err


def test_send_find_and_get_round_trip(lss, orthanc, study, tmp_path):
    code, out, _ = lss("pacs", "send", study.root, *_node_args(orthanc))
    assert code == ExitCode.OK and "stored 6 instance(s)" in out

    code, out, _ = lss("pacs", "find", "--patient-id", study.patient.patient_id, *_node_args(orthanc))
    assert code == ExitCode.OK and study.study_instance_uid in out
    code, out, _ = lss("pacs", "find", "--date", "20240315", "--json", *_node_args(orthanc))
    (match,) = json.loads(out)
    assert match["study_instance_uid"] == study.study_instance_uid and match["accession_number"] == "ACC-0815"
    code, out, _ = lss("pacs", "find", "--study-uid", study.study_instance_uid, *_node_args(orthanc))
    assert code == ExitCode.OK and all(s.series_instance_uid in out for s in study.series)

    out_dir = tmp_path / "retrieved"
    code, out, _ = lss("pacs", "get", study.study_instance_uid, "--out", out_dir, *_node_args(orthanc))
    assert code == ExitCode.OK and "retrieved 6 instance(s)" in out
    uids = {pydicom.dcmread(p).SOPInstanceUID for p in out_dir.iterdir()}
    assert uids == {image.sop_instance_uid for s in study.series for image in s.slices}


def test_find_without_any_key_is_an_input_error(lss, orthanc):
    code, _, err = lss("pacs", "find", *_node_args(orthanc))
    assert code == ExitCode.INPUT_INVALID and "needs a patient ID" in err


def test_send_of_a_missing_path_is_an_input_error(lss, orthanc, tmp_path):
    code, _, err = lss("pacs", "send", tmp_path / "nope", *_node_args(orthanc))
    assert code == ExitCode.INPUT_INVALID and "no such file or folder" in err
