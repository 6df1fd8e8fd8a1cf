"""Serving the hub: the one WSGI stack (:mod:`calhub.server.stack`, /dav to Radicale and /
to Flask) and the HTTP server that runs it (:mod:`calhub.server.http`, waitress)."""
