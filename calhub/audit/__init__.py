"""The audit log read by people: filters from what they type, the words for each entry, and
the CSV and JSON exports, shared by ``calhub audit`` and the dashboard's "Журнал изменений"
page. The entries are written by the stores (decisions, in their own transactions) and the
DAV layer's write hooks (events, :mod:`calhub.dav.auditing`); they are kept in
:mod:`calhub.store.audit`."""
