"""Couriers: claim, send and record a batch of campaign emails, one per database."""
