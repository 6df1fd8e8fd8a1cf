"""JSON API: ``/api/conflicts`` and approving or reopening a clash."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from calhub.conflicts import build_filters, list_conflicts
from calhub.errors import UserError
from calhub.web import current_hub
from calhub.web.auth import api_error, coordinator_required, current_account, login_required

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.errorhandler(UserError)
def user_error(error: UserError) -> ResponseReturnValue:
    return api_error(400, error.message, error.hint)


@bp.get("/conflicts")
@login_required
def conflicts() -> ResponseReturnValue:
    hub = current_hub()
    account = current_account()
    assert account is not None
    args = request.args
    filters = build_filters(
        hub,
        status=args.get("status"),
        calendar=args.get("calendar"),
        start=args.get("from"),
        end=args.get("to"),
        severity=args.get("severity"),
    )
    visible = None if account.is_coordinator else account.login
    return jsonify(list_conflicts(hub, filters, visible))


@bp.get("/conflicts/<clash_id>")
@login_required
def conflict(clash_id: str) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    record = current_hub().tracker.records.get(clash_id)
    visible = record is not None and (
        account.is_coordinator or any(o["calendar"] == account.login for o in record["occurrences"])
    )
    if not visible:
        return api_error(404, f"There is no clash {clash_id!r}.")
    assert record is not None
    record["history"] = current_hub().tracker.records.history(clash_id)
    return jsonify(record)


def _comment() -> str:
    if not request.is_json:
        raise UserError(
            "Send the comment as JSON.", hint='Content-Type: application/json, {"comment": "..."}'
        )
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("comment", ""), str):
        raise UserError('The body must be {"comment": "..."}.')
    comment: str = data.get("comment", "")
    return comment


@bp.post("/conflicts/<clash_id>/approve")
@coordinator_required
def approve(clash_id: str) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    comment = _comment()
    try:
        record = current_hub().tracker.records.approve(clash_id, account.login, comment)
    except KeyError:
        return api_error(404, f"There is no clash {clash_id!r}.")
    return jsonify(record)


@bp.post("/conflicts/<clash_id>/reopen")
@coordinator_required
def reopen(clash_id: str) -> ResponseReturnValue:
    account = current_account()
    assert account is not None
    comment = _comment()
    try:
        record = current_hub().tracker.records.reopen(clash_id, account.login, comment)
    except KeyError:
        return api_error(404, f"There is no clash {clash_id!r}.")
    return jsonify(record)
