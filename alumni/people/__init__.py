"""The graduates: import and validation, invitations and signed links, address changes,
their emails, the export of their data, the research export and retention."""
