"""Telling the people involved: clash notices turned into e-mail, sent by a background worker.

The facts are written by the stores, in the clash records' own transactions
(:mod:`calhub.store.outbox`); this package decides who hears about them and how
(:mod:`calhub.notify.recipients`), writes the messages (:mod:`calhub.notify.compose`),
and sends them outside every lock of a CalDAV write, retrying with backoff
(:mod:`calhub.notify.worker`, :mod:`calhub.notify.smtp`). See docs/notifications.md.
"""
