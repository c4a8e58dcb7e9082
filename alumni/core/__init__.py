"""Plumbing that knows nothing of alumni: keyed hashes, jobs queued after commit,
shared counters, languages, timelines of counts, look-ups of many values."""
