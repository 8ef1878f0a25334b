"""Presentation: read models and contract records in, the rows and words every surface (CLI, API, dashboard, report,
notebook) shows out — produced once here so that no two surfaces can disagree."""
