"""Reports on the cooperation with partners (issue 20): per partner, per grade, school-wide.

- :mod:`calhub.reports.model`: the facts a report is made of and the rows it shows;
- :mod:`calhub.reports.compute`: the figures, from the facts alone (docs/reports.md defines
  each);
- :mod:`calhub.reports.collect`: the facts, read from the index, Radicale's storage and the
  clash records (:func:`~calhub.reports.collect.make_report` is what the faces call);
- :mod:`calhub.reports.ratings`: the feedback answers' source and the loyalty score;
- :mod:`calhub.reports.ranges`: the days a report covers and the presets.

Shown by ``calhub report``, the dashboard's ``/reports`` and the XLSX and PDF of
:mod:`calhub.exchange.report_xlsx` and :mod:`calhub.exchange.report_pdf`.
"""
