"""The actions that drive the pipeline (sheets -> mail -> smtp -> ledger); what the CLI calls."""
