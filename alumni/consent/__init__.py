"""Consent per purpose: decisions with their evidence, what an answer does, and the
suppression list of addresses never to mail again."""
