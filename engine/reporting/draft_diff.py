"""What changed between two versions of a draft, sentence by sentence, as JSON for the audit trail."""

from __future__ import annotations

from typing import Any

from engine.reporting.model import ReportDraft, sentence_to_dict

# Fields of a sentence whose change is worth recording (evidence changes show as their effects).
_TRACKED = ("text", "provenance", "person", "stale_reason", "level", "section")


def diff_drafts(old: ReportDraft | None, new: ReportDraft) -> dict[str, Any]:
    """{"added", "removed", "changed": [{"id", field: [old, new]...}], "order", "attribution": [old, new]}.

    Keys with nothing to say are left out, so an empty dict means "no change". `old` None records the
    whole draft as added.
    """
    before = {} if old is None else {s.sentence_id: sentence_to_dict(s) for s in old.sentences}
    after = {s.sentence_id: sentence_to_dict(s) for s in new.sentences}
    diff: dict[str, Any] = {}
    added = [
        {k: after[i][k] for k in ("id", "section", "text", "level", "provenance")}
        for i in after
        if i not in before
    ]
    removed = [{"id": i, "text": before[i]["text"]} for i in before if i not in after]
    changed = []
    for i in after:
        if i not in before:
            continue
        fields = {k: [before[i][k], after[i][k]] for k in _TRACKED if before[i][k] != after[i][k]}
        if before[i]["evidence"] != after[i]["evidence"]:
            fields["evidence"] = [before[i]["evidence"], after[i]["evidence"]]
        if fields:
            changed.append({"id": i, **fields})
    if added:
        diff["added"] = added
    if removed:
        diff["removed"] = removed
    if changed:
        diff["changed"] = changed
    if old is not None and not added and not removed:
        old_order = [s.sentence_id for s in old.sentences]
        new_order = [s.sentence_id for s in new.sentences]
        if old_order != new_order:
            diff["order"] = [old_order, new_order]
    if old is None or old.attribution != new.attribution:
        diff["attribution"] = [None if old is None else old.attribution, new.attribution]
    return diff
