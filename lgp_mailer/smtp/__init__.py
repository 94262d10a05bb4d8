"""Bytes delivered and an outcome known: the SMTP transport, its settings, credentials, pacing and retries."""
