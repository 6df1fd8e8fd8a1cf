"""Telling the people involved: clash notices turned into e-mail, sent by a background worker.

The facts are written by the stores, in the clash records' own transactions
(:mod:`calhub.store.outbox`); this package decides who hears about them and how
(:mod:`calhub.notify.recipients`), writes the messages (:mod:`calhub.notify.compose`),
and sends them outside every lock of a CalDAV write, retrying with backoff
(:mod:`calhub.notify.worker`, :mod:`calhub.notify.smtp`, :mod:`calhub.notify.webhook`).
See docs/notifications.md.

A bulk write (an import, a source sync) gets one digest per recipient by writing through
the stores as usual inside ``runtime.outbox.bulk_write("what it is")``
(:meth:`calhub.store.outbox.Outbox.bulk_write`): the notices its transactions write wait
until the block ends, then the sender makes one message per recipient of all of them.
Writes whose notices come less than ``[notify] batch_seconds`` apart travel together without
it (a sync client's PUTs in a row, one import under one lock).
"""
