"""Radicale "sharing by map", computed from the hub: every login sees the other calendars.

CalDAV apps (Apple Calendar, DAVx5, Thunderbird) list the calendars in the user's
calendar-home-set, ``/dav/<login>/``, and nothing else; the hub's calendars live under
other principals (``/dav/kgtu/calendar/``, ``/dav/school/calendar/``). Radicale 3.7+ can
show a collection of one principal under another one ("map" shares). This plugin is that
sharing database, computed from ``calhub.toml`` and ``accounts.json`` on every call, so it
has no file of its own and is always in step with ``calhub partner add/remove``:

- a partner ``bfu`` sees ``/bfu/hub-<id>/`` for every other active hub calendar
  (``/bfu/hub-school/``, ``/bfu/hub-blackout/``, ``/bfu/hub-kgtu/`` …), read-only;
- a coordinator sees ``/coordinator/hub-<id>/`` for every active hub calendar, read-write.

Each share is owned by the user itself (``Owner`` = ``User``), so Radicale checks every
request on a shared path with the user's own rights on the real calendar
(``calhub.dav.plugins.rights``: "r" for a partner on others' calendars) intersected with the
share's permissions: a partner can never write through a share, even if the share said so.
Shares carry ``p``, so a PROPPATCH through a share (a colour or name change in an app) is
refused instead of being silently dropped; the names and colours shown come from the
hub's settings.

Nobody creates, changes or deletes shares over HTTP: the sharing API (POST /.sharing/…)
is refused for everyone, and token shares are not offered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from radicale import config, httputils, sharing, types
from radicale.sharing import common

from calhub.hub.policy import view_path

if TYPE_CHECKING:
    from calhub.runtime import Runtime


_REFUSED: dict[str, Any] = {"status": "permission-denied"}


def _login_of(user: str | None) -> str:
    """Radicale appends ``:group,...`` to a user when it has groups; the hub has none."""
    return (user or "").split(sharing.SHARING_SEPARATOR_GROUP, 1)[0]


class Sharing(sharing.BaseSharing):
    def __init__(self, configuration: config.Configuration, runtime: Runtime) -> None:
        # BaseSharing.__init__ calls database_init(), which needs the policy.
        self._policy = runtime.policy
        super().__init__(configuration)

    # -- the computed database ---------------------------------------------------------

    def shares_of(self, login: str) -> list[dict[str, Any]]:
        """Every share of ``login`` (empty for an unknown login or an anonymous user): the
        views ``calhub.hub.policy`` gives it, in its order."""
        views = self._policy.views_of(login)
        return [
            {
                "ShareType": "map",
                "PathOrToken": view_path(login, calendar.id),
                "PathMapped": calendar.path,
                "Conversion": "none",
                "Owner": login,
                "User": login,
                "Permissions": views.letters,
                "EnabledByOwner": True,
                "EnabledByUser": True,
                "HiddenByOwner": False,
                "HiddenByUser": False,
                "TimestampCreated": 0,
                "TimestampUpdated": 0,
                "Properties": {
                    "D:displayname": calendar.name,
                    "ICAL:calendar-color": calendar.color,
                    "ICAL:calendar-order": str(views.first_order + position),
                },
                "Actions": {},
            }
            for position, calendar in enumerate(views.calendars)
        ]

    def database_init(self) -> bool:
        return True

    def database_get_info(self) -> dict[str, Any] | None:
        return {"type": "calhub", "source": "calhub.toml and accounts.json, on every request"}

    def database_verify(self) -> bool:
        return True

    def database_list_sharing(
        self,
        OwnerOrUser: str | None = None,
        ShareType: str | None = None,
        PathOrToken: str | None = None,
        PathMapped: str | None = None,
        User: str | None = None,
        EnabledByOwner: bool | None = None,
        EnabledByUser: bool | None = None,
        HiddenByOwner: bool | None = None,
        HiddenByUser: bool | None = None,
        Conversion: str | None = None,
    ) -> list[dict[str, Any]]:
        """The shares of the user named by ``OwnerOrUser``/``User``, filtered like Radicale.

        Every share belongs to one user (Owner = User), so a listing names a user. A listing
        without one is Radicale's "is this collection shared" check before a DELETE
        (``app/delete.py``), which would answer 409 for every hub calendar; it gets no rows,
        so such a DELETE keeps the answer of the hub's rights (403: no "D").
        """
        logins = {_login_of(OwnerOrUser), _login_of(User)} - {""}
        rows = []
        for login in sorted(logins):
            for row in self.shares_of(login):
                match = common.database_common_check_row_match(
                    row=row,
                    OwnerOrUser=OwnerOrUser,
                    ShareType=ShareType,
                    PathOrToken=PathOrToken,
                    PathMapped=PathMapped,
                    User=User,
                    EnabledByOwner=EnabledByOwner,
                    EnabledByUser=EnabledByUser,
                    HiddenByOwner=HiddenByOwner,
                    HiddenByUser=HiddenByUser,
                    Conversion=Conversion,
                )
                if match is not None:
                    rows.append(match)
        return rows

    def database_get_sharing(
        self,
        ShareType: str,
        PathOrToken: str,
        OnlyEnabled: bool = True,
        User: str | None = None,
    ) -> dict[str, Any] | None:
        """The share at ``PathOrToken`` (``/bfu/hub-kgtu/``), as Radicale's resolver wants it."""
        if ShareType != "map":
            return None
        # A share lives under its user's principal, so without a user the path names it.
        login = _login_of(User) if User is not None else PathOrToken.strip("/").split("/")[0]
        for row in self.shares_of(login):
            if row["PathOrToken"] != PathOrToken:
                continue
            if OnlyEnabled and not (row["EnabledByOwner"] and row["EnabledByUser"]):
                return None
            return {
                "mapped": True,
                "ShareType": row["ShareType"],
                "PathOrToken": row["PathOrToken"],
                "PathMapped": row["PathMapped"],
                "Owner": row["Owner"],
                "User": row["User"],
                "Hidden": row["HiddenByOwner"] or row["HiddenByUser"],
                "EnabledByOwner": row["EnabledByOwner"],
                "EnabledByUser": row["EnabledByUser"],
                "Permissions": row["Permissions"],
                "Properties": dict(row["Properties"]),
                "Conversion": row["Conversion"],
                "Actions": dict(row["Actions"]),
            }
        return None

    # The hub's settings are the only source of shares: nothing is created or changed here.

    def database_create_sharing(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return dict(_REFUSED)

    def database_update_sharing(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return dict(_REFUSED)

    def database_delete_sharing(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return dict(_REFUSED)

    def post(
        self,
        environ: types.WSGIEnviron,
        base_prefix: str,
        path: str,
        user: str,
        user_groups: set[str],
        request_info: dict[str, Any],
    ) -> types.WSGIResponse:
        """Radicale's sharing API (POST /.sharing/v1/…): refused, 401 anonymous, else 403."""
        return httputils.NOT_ALLOWED
