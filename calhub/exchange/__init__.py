"""Moving a spreadsheet plan into the hub (and, see the export modules, the plan out).

The import reads a CSV or XLSX file (:mod:`calhub.exchange.sheets`), recognises its
columns (:mod:`calhub.exchange.columns`), reads the dates, times and durations the way
people type them (:mod:`calhub.exchange.values`), finds each row's calendar
(:mod:`calhub.exchange.partners`) and plans, reports and carries out the import
(:mod:`calhub.exchange.importing`) through the CalDAV write path
(:func:`calhub.dav.bulk.write_batch`): the same hooks, clash check and index as a phone's PUT.
"""
