"""The chapters: their setup, tables, figures, findings, provenance, execution and nbval references."""
