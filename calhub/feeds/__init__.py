"""Read-only iCalendar feeds for people without an account: students, parents, teachers.

A feed is one iCalendar document at ``/feeds/<token>.ics`` (and ``webcal://``), for one
*scope* (:mod:`calhub.feeds.scopes`): the merged plan, one calendar, one audience (a grade,
class or named group), busy-only times of an audience, or the coordinator's open conflicts.

- :mod:`calhub.feeds.scopes`: what a feed shows, parsed from ``all``, ``calendar:ID``,
  ``audience:SPEC``, ``busy:SPEC``, ``conflicts``;
- :mod:`calhub.feeds.tokens`: creating, finding and revoking feeds (the secret tokens are
  kept hashed by :mod:`calhub.store.feeds`) and their addresses;
- :mod:`calhub.feeds.build`: the iCalendar document of a scope, from Radicale's storage (the
  events whole: recurrences, exceptions and overrides intact) and the clash records (an
  event in an open hard clash is marked tentative), and its version for ETags;
- :mod:`calhub.feeds.cache`: built documents kept per version, so a poll costs a lookup;
- :mod:`calhub.feeds.qr`: a QR code (SVG) of a feed's address.

The web serves them (:mod:`calhub.web.feeds`) and the CLI manages them (``calhub feed``).
"""
