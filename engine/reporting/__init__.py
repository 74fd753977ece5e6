"""Report drafting for lumbar spinal stenosis: findings -> a draft of linked, attributed sentences.

- `model`: ReportDraft, Sentence, Evidence, SentenceProvenance (frozen; JSON via draft_to_dict).
- `template`: a site's phrases in a TOML file (`resources/report_templates/default.toml`).
- `drafting`: `draft_report(findings, study, template) -> ReportDraft`.
- `revision`: a person's edits, and `redraft_after_findings_change(draft, new_findings)`.
- `fact_check` and `polish`: optional language-model polishing, rejected on any changed fact.
- `text_metrics`: BLEU/METEOR/ROUGE-L/CIDEr/Jaccard against reference reports.
- `draft_diff`: sentence-level differences between two drafts (for the audit trail).
- `sign_off`: statuses and signatures shared by storage and exports.
"""
