"""Feedback coding: the machine codes loss reasons, annotators validate them, agreement and prevalence.

Public functions (the CLI and the dashboard call these):
- `coding.codebook.resolve_codebook(workspace, path)` -> `Codebook` (`.frame()`, `.version_key`);
- `coding.coder.code_feedback(store, labeler, codebook, CodingConfig)` -> `CodingSummary`;
- `coding.sampling.create_validation_sample(store, codebook, annotators, ...)`;
- `coding.annotations.AnnotationQueue(store, codebook)`: `next_item`, `save`, `accept_machine`,
  `progress`, `disagreements`, `adjudicate`, `human_labels`, `export_csv`, `import_csv`;
- `coding.agreement.agreement_report(store, codebook)` -> `AgreementReport` (DataFrames);
- `coding.prevalence.prevalence_table(store, codebook, by=...)` -> DataFrame;
- `coding.persist.codes_frame / machine_items_frame(store, version_key, ...)` for the codes themselves.
"""
