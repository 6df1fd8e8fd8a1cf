"""An Apple configuration profile (``.mobileconfig``) that adds the hub as a CalDAV account.

It carries the server, port, TLS flag, login and principal URL, never the password: iOS
asks for it while installing the profile. The UUIDs are derived from the server and the
login, so downloading the profile again replaces the account instead of adding another.
"""

from __future__ import annotations

import plistlib
import uuid
from dataclasses import dataclass

PROFILE_NAMESPACE = uuid.UUID("6f1d3c7e-5a0b-4c55-9a57-2b3e1d0c4a11")


@dataclass(frozen=True, slots=True)
class CalDAVServer:
    host: str
    port: int
    use_ssl: bool


def profile_uuids(server: CalDAVServer, login: str) -> tuple[str, str]:
    """(profile UUID, payload UUID), stable for one server and login."""
    base = f"{server.host}:{server.port}:{login}"
    profile = uuid.uuid5(PROFILE_NAMESPACE, base + ":profile")
    payload = uuid.uuid5(PROFILE_NAMESPACE, base + ":caldav")
    return str(profile).upper(), str(payload).upper()


def identifier_host(host: str) -> str:
    """Reverse-DNS-safe form of the host for PayloadIdentifier."""
    return ".".join(reversed([part for part in host.replace(":", ".").split(".") if part]))


def build_profile(
    server: CalDAVServer, login: str, display_name: str, organisation: str, description: str
) -> bytes:
    profile_uuid, payload_uuid = profile_uuids(server, login)
    identifier = f"{identifier_host(server.host)}.calhub.{login}"
    caldav = {
        "PayloadType": "com.apple.caldav.account",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier}.caldav",
        "PayloadUUID": payload_uuid,
        "PayloadDisplayName": display_name,
        "PayloadDescription": description,
        "CalDAVAccountDescription": display_name,
        "CalDAVHostName": server.host,
        "CalDAVPort": server.port,
        "CalDAVUseSSL": server.use_ssl,
        "CalDAVUsername": login,
        "CalDAVPrincipalURL": f"/dav/{login}/",
    }
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": profile_uuid,
        "PayloadDisplayName": display_name,
        "PayloadDescription": description,
        "PayloadOrganization": organisation,
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [caldav],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)
