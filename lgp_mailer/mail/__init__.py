"""One recipient in, finished bytes out: Jinja2 rendering, MIME, the calendar entry, DKIM and lint."""
