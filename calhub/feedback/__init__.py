"""Feedback on events and the partners' term surveys (issue 20, docs/feedback.md).

- :mod:`calhub.feedback.links`: the signed links to an event's form, the device cookie and
  the per-occurrence device key that makes "one answer per device" without personal data;
- :mod:`calhub.feedback.window`: which occurrence a link rates, and whether it is open
  (not before the event starts, not after ``[feedback] window_days``);
- :mod:`calhub.feedback.answers`: reading and checking a submitted form;
- :mod:`calhub.feedback.spam`: the honeypot, the minimum time on the form, links in
  comments, and the per-address limit (in memory: an address is never stored);
- :mod:`calhub.feedback.scores`: ratings and the loyalty score;
- :mod:`calhub.feedback.survey`: the partners' term survey, its links and e-mails.

The answers live in :mod:`calhub.store.feedback` (``runtime.feedback``); who sees what is
:class:`calhub.hub.policy.Policy`'s. The web form is :mod:`calhub.web.feedback`, the
commands ``calhub feedback`` and ``calhub survey``.
"""
