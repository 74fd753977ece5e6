"""PacsNode validation and its JSON settings file."""

from __future__ import annotations

import pytest

from engine.pacs.errors import NodeSettingsError
from engine.pacs.node import PacsNode, load_node, save_node


def test_node_settings_round_trip_through_json(tmp_path):
    node = PacsNode(
        ae_title="PACS1", host="pacs.example.org", port=11112, calling_ae_title="READER3", timeout_s=12.5
    )
    path = save_node(node, tmp_path / "settings" / "node.json")
    assert load_node(path) == node
    assert str(node) == "PACS1@pacs.example.org:11112"
    assert [p.name for p in path.parent.iterdir()] == ["node.json"]  # no temporary left


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ae_title": ""}, "ae_title: an AE title"),
        ({"ae_title": "A" * 17}, "longer than 16"),
        ({"calling_ae_title": "BAD\\AET"}, "calling_ae_title"),
        ({"calling_ae_title": "ÄRZTE"}, "printable ASCII"),
        ({"host": "two words"}, "host:"),
        ({"port": 0}, "port: 0"),
        ({"port": "104"}, "port: '104'"),
        ({"timeout_s": 0}, "timeout_s"),
    ],
)
def test_invalid_settings_name_the_field(fields, message):
    base = {"ae_title": "PACS", "host": "localhost", "port": 104}
    with pytest.raises(NodeSettingsError, match=message):
        PacsNode(**{**base, **fields})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"ae_title": "A", "host": "h"}', "missing field\\(s\\) port"),
        ('{"ae_title": "A", "host": "h", "port": 1, "password": "x"}', "unknown field\\(s\\) password"),
        ('{"version": 2, "ae_title": "A", "host": "h", "port": 1}', "version 2"),
        ('{"ae_title": "A", "host": "h", "port": -1}', "port: -1"),
    ],
)
def test_a_bad_node_file_is_reported_with_its_path(tmp_path, text, message):
    path = tmp_path / "node.json"
    path.write_text(text)
    with pytest.raises(NodeSettingsError, match=message) as caught:
        load_node(path)
    assert str(path) in str(caught.value)


def test_a_missing_node_file_is_reported(tmp_path):
    with pytest.raises(NodeSettingsError, match="cannot read the node file"):
        load_node(tmp_path / "absent.json")
