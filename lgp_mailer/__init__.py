"""lgp-mailer: invitations, reminders and a crash-safe sent log for the
Legjobb Önkormányzati Gyakorlatok Programja conferences."""

__version__ = "0.1.0"
