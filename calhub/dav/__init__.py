"""The CalDAV layer: the embedded Radicale, its plugins and the hub's write hooks.

- :mod:`calhub.dav.app`: Radicale's configuration and WSGI application, built from a
  :class:`calhub.runtime.Runtime`; :mod:`calhub.dav.plugins`: the thin Radicale adapters
  (auth, rights, sharing, storage);
- :mod:`calhub.dav.hooks`: what runs inside Radicale's storage lock on every write (the
  clash check, the index, the clash records), with :mod:`calhub.dav.indexing` (Radicale
  objects into index rows) and :mod:`calhub.dav.precheck` (a PUT body before Radicale
  reads it);
- :mod:`calhub.dav.refusal`: a refused write, carried to the WSGI layer in a context
  variable, and :mod:`calhub.dav.mapper`, the WSGI layer that answers it;
- the other WSGI layers in front of Radicale: :mod:`calhub.dav.login`,
  :mod:`calhub.dav.answers`, :mod:`calhub.dav.proppatch`, :mod:`calhub.dav.xmlcheck`,
  :mod:`calhub.dav.props`, :mod:`calhub.dav.request`, :mod:`calhub.dav.capture`;
- operations on Radicale's storage for the CLI and start-up: :mod:`calhub.dav.storage`,
  :mod:`calhub.dav.calendars`, :mod:`calhub.dav.maintenance`, :mod:`calhub.dav.importer`,
  :mod:`calhub.dav.backup`.
"""
