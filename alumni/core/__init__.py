"""Plumbing that knows nothing of alumni: pseudonyms (keyed hashes), jobs queued after
commit, shared counters, languages, timelines of counts."""
