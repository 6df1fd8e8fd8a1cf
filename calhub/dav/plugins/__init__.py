"""Thin Radicale adapters for calhub.

Each module is one Radicale extension point (``auth``, ``rights``, ``storage``) and only
translates between Radicale's plugin API and calhub's core. They receive the hub through
``calhub.dav.app.build_radicale_app``, which hands Radicale factories instead of module names,
so no plugin reads global state.
"""
