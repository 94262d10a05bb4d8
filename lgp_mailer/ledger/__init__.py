"""The sent log: the only owner of SQL. Messages, suppression, run locks, status and export."""
