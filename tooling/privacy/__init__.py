"""Data-subject requests (GDPR Art. 15 access, Art. 17 erasure), driven by lineage.

A subject is named ``key=value`` (``customer_id=42``); the sources YAML says
which raw entities hold the key or link to it (``subjects:``). From there:

- the raw layer: each entity's table, quarantine table (the original record,
  parsed per format) and deleted-keys table;
- every dbt relation (models, snapshots, seeds) with a column that column-level
  lineage derives, unmasked, from a subject column of a raw table, or that is
  named like the subject key (a fallback where lineage is unknown);
- any other table of the warehouse, the monitoring store and the CI warehouse
  with a column named like the key, and the CI diff samples;
- the landing files that still contain the subject (not ours to change: listed).

Never prints; the command layer formats what these functions return.
"""

from __future__ import annotations

from tooling.privacy.find import Findings, Hit, Subject, find

__all__ = ["Findings", "Hit", "Subject", "find"]
