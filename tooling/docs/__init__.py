"""The docs sites: dbt's own docs plus a static lineage site built from the artifacts."""
