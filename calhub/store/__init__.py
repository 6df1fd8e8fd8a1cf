"""The hub's SQLite stores: the only package that holds SQL (docs/architecture.md).

- :mod:`calhub.store.index`: the occurrence index (``index.sqlite``), a cache rebuilt from
  Radicale's storage whenever it is missing, damaged or out of step;
- :mod:`calhub.store.records`: clash records, approvals and their history (``hub.sqlite``,
  hub data: backed up), read through :mod:`calhub.store.records_pages`;
- :mod:`calhub.store.refused`: CalDAV writes the hub refused, kept for the dashboard;
- :mod:`calhub.store.logins`: the sign-in limit's counters; :mod:`calhub.store.sessions`:
  which web sessions are still valid;
- :mod:`calhub.store.feedback`: feedback on events (anonymous: no address, no agent) and
  the partners' term surveys (``hub.sqlite``, backed up);
- :mod:`calhub.store.health`: the start-up check and the online copy of ``hub.sqlite``.

Readers get typed rows (dataclasses) and never a cursor. The store imports the engine (for
its data types) and ``calhub.errors``, nothing else of calhub.
"""
