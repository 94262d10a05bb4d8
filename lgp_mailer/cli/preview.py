"""`lgp-mailer preview` (being written)."""
