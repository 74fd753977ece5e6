"""Refusals Orthanc does not produce on demand, from small pynetdicom nodes on loopback:
a refused store, a refused query, an unsupported service, a node that never answers, and a
query stopped by C-CANCEL."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage
from pynetdicom import AE, evt
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from engine.pacs.echo import echo
from engine.pacs.errors import (
    AssociationAbortedError,
    InstancesNotStoredError,
    OperationFailedError,
    ServiceNotSupportedError,
)
from engine.pacs.node import PacsNode
from engine.pacs.query import StudyQuery, find_studies
from engine.pacs.store import store_files

TEST_AET = "FAKE_PACS"


@pytest.fixture
def fake_node(unused_port):
    """Starts a pynetdicom node with the given contexts and handlers; shuts it down after."""
    servers = []

    def start(contexts, handlers):
        ae = AE(ae_title=TEST_AET)
        for context in contexts:
            ae.add_supported_context(context)
        servers.append(ae.start_server(("127.0.0.1", unused_port), block=False, evt_handlers=handlers))
        return PacsNode(ae_title=TEST_AET, host="127.0.0.1", port=unused_port, timeout_s=3)

    yield start
    for server in servers:
        server.shutdown()


def test_a_refused_store_carries_the_status_code_and_its_meaning(fake_node, study):
    node = fake_node([MRImageStorage], [(evt.EVT_C_STORE, lambda event: 0xA700)])
    paths = [image.source_path for image in study.series[0].slices]

    with pytest.raises(InstancesNotStoredError) as caught:
        store_files(node, paths)

    report = caught.value.report
    assert [o.status for o in report.outcomes] == [0xA700] * 3  # every file was still attempted
    assert all(o.meaning == "Refused: Out of Resources" for o in report.failed)
    assert "3 of 3 instance(s) not stored" in str(caught.value)
    assert "status 0xA700, Refused: Out of Resources" in str(caught.value)


def test_a_refused_query_carries_the_status_meaning(fake_node):
    def refuse(event):
        yield 0xA700, None

    node = fake_node([StudyRootQueryRetrieveInformationModelFind], [(evt.EVT_C_FIND, refuse)])
    with pytest.raises(OperationFailedError) as caught:
        find_studies(node, StudyQuery(patient_id="X"))
    assert caught.value.status == 0xA700
    assert "Out of Resources" in caught.value.meaning


def test_a_node_without_the_service_is_told_apart(fake_node):
    node = fake_node([MRImageStorage], [])
    with pytest.raises(ServiceNotSupportedError, match="Verification"):
        echo(node)


def test_a_query_stops_with_c_cancel_at_max_results(fake_node):
    cancelled = threading.Event()

    def matches(event):
        for i in range(50):
            if event.is_cancelled:
                cancelled.set()
                yield 0xFE00, None
                return
            identifier = Dataset()
            identifier.QueryRetrieveLevel = "STUDY"
            identifier.StudyInstanceUID = f"1.2.3.{i}"
            identifier.PatientID = "X"
            time.sleep(0.02)
            yield 0xFF00, identifier

    node = fake_node([StudyRootQueryRetrieveInformationModelFind], [(evt.EVT_C_FIND, matches)])
    found = find_studies(node, StudyQuery(patient_id="X"), max_results=3)
    assert [m.study_instance_uid for m in found] == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]
    assert cancelled.wait(2)


def test_a_node_that_accepts_the_connection_but_never_answers_times_out(unused_port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", unused_port))
        listener.listen(1)
        node = PacsNode(ae_title="SILENT", host="127.0.0.1", port=unused_port, timeout_s=1)
        start = time.monotonic()
        with pytest.raises(AssociationAbortedError, match="did not complete the association within 1 s"):
            echo(node)
        assert time.monotonic() - start < 5
