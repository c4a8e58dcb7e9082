"""The web adapters: one blueprint per actor (alumni pages, staff pages, the JSON API,
operations, the dev outbox, error pages) and what every response shares."""
