"""Bounces and complaints that arrive after a message left: delivery status notifications,
the common non-standard bounces, ARF complaints, and the webhooks of mail providers.

Every way in (a mail pipe, a polled mailbox, a provider's webhook) turns what arrived into
``reports.Report`` values, and one processing path decides what each means for the person.
"""
