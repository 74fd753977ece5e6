"""Template files are validated on load; errors name the file and the key."""

from __future__ import annotations

import pytest

from engine.findings import SchizasGrade
from engine.reporting.template import (
    DEFAULT_TEMPLATE_PATH,
    SizeCategory,
    TemplateError,
    load_report_template,
    parse_report_template,
)

DEFAULT = DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8")


def test_default_template_loads_and_documents_every_placeholder():
    t = load_report_template(DEFAULT_TEMPLATE_PATH)
    assert t.name == "default" and t.sha256 and t.source == str(DEFAULT_TEMPLATE_PATH)
    for placeholder in ("{level}", "{grade}", "{severity}", "{dsca}", "{ap}", "{measurements}"):
        assert placeholder in DEFAULT
    assert t.canal_phrase(SchizasGrade.B, SizeCategory.NORMAL) == t.canal["B"]["default"]
    assert t.impression_phrase(SchizasGrade.A, SizeCategory.NORMAL) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[canal.C]", "[canal.X]"), r"\[canal\.C\] is missing"),
        (
            ('{measurements})."\n\n[canal.D]', '{volume})."\n\n[canal.D]'),
            r"canal\.C\.default uses unknown placeholder",
        ),
        (('level_style = "hyphen"', 'level_style = "dots"'), "level_style must be one of"),
        (("dsca_relative_below_mm2 = 100.0", 'dsca_relative_below_mm2 = "a lot"'), "must be numbers"),
        (("[attribution]", "[credits]"), "key .attribution is missing"),
        (('A = "no or minimal"', "A = no or minimal"), "not valid TOML"),
    ],
)
def test_broken_templates_are_refused_with_the_key_named(change, message):
    old, new = change
    assert old in DEFAULT
    with pytest.raises(TemplateError, match=message) as info:
        parse_report_template(DEFAULT.replace(old, new, 1), source="site.toml")
    assert str(info.value).startswith("site.toml:")


def test_a_grade_table_needs_a_default_or_every_size():
    text = DEFAULT.replace("[canal.B]\ndefault = ", "[canal.B]\nrelative = ")
    with pytest.raises(TemplateError, match=r"\[canal\.B\] needs a 'default' phrase"):
        parse_report_template(text, source="site.toml")


def test_missing_template_file_is_named(tmp_path):
    with pytest.raises(TemplateError, match=r"nope\.toml: cannot read"):
        load_report_template(tmp_path / "nope.toml")


def test_size_categories_take_the_worse_measurement():
    t = load_report_template()
    assert t.thresholds.categorise(120.0, 13.0) is SizeCategory.NORMAL
    assert t.thresholds.categorise(120.0, 11.0) is SizeCategory.RELATIVE
    assert t.thresholds.categorise(74.9, 13.0) is SizeCategory.ABSOLUTE
    assert t.thresholds.categorise(100.0, None) is SizeCategory.NORMAL
    assert t.thresholds.categorise(None, None) is SizeCategory.UNKNOWN
