"""External calendars mirrored in: a partner's ICS or CalDAV calendar, or another hub's feed.

A source (``calhub source add``, the dashboard's sources page) is fetched on its interval by
the scheduler of ``calhub serve`` (:mod:`calhub.sources.scheduler`), cleaned
(:mod:`calhub.sources.clean`) and mirrored one way into the partner's hub calendar through
the CalDAV write path (:mod:`calhub.sources.sync`): the same hooks, index and clash records
as a phone's write, always in ``record`` mode. Mirrored events carry ``X-CALHUB-SOURCE``;
nobody but the mirror changes them (:mod:`calhub.dav.mirror`). docs/federation.md tells how
hubs are linked this way.
"""
