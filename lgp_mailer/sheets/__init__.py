"""Spreadsheets in, validated records out: readers, header matching, cell cleaning, recipients and registrations."""
