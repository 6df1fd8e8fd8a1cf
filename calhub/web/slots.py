"""``GET /api/slots``: free times for an audience (issue 14), signed-in, JSON.

``?audience=10А&duration=90&from=2027-02-01&to=2027-02-14[&venue=…][&near=…][&limit=N]``
answers the slot finder's candidates, nearest to ``near`` first, each green or amber with
the soft clashes it would raise. Bad input is a 400 with the error in Russian and English
and a hint, in the API's one error shape (``api_error``).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from calhub.errors import UserError
from calhub.runtime.slots import find_slots, read_query, slot_json
from calhub.web.auth import api_user_error, login_required
from calhub.web.context import current_runtime

bp = Blueprint("slots", __name__, url_prefix="/api")


bp.register_error_handler(UserError, api_user_error)


@bp.get("/slots")
@login_required
def slots() -> ResponseReturnValue:
    runtime = current_runtime()
    args = request.args
    query = read_query(
        runtime,
        audience=args.get("audience"),
        duration=args.get("duration"),
        start=args.get("from"),
        end=args.get("to"),
        venue=args.get("venue"),
        near=args.get("near"),
        limit=args.get("limit"),
    )
    zone = runtime.parts.config.zone
    found = find_slots(runtime, query)
    return jsonify(
        {
            "audience": query.audience.label(),
            "duration_minutes": int(query.duration.total_seconds() // 60),
            "from": query.start.astimezone(zone).isoformat(),
            "to": query.end.astimezone(zone).isoformat(),
            "venue": query.venue,
            "slots": [slot_json(slot, zone) for slot in found],
        }
    )
