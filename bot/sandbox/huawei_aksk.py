"""The simulator's check of Huawei "SDK-HMAC-SHA256" request signatures, done the way API
Gateway describes its own: from what arrived on the wire, recompute and compare.

Deliberately separate from the connector's signer (bot/connectors/huawei/signing.py): the
sandbox ships in the package and must not trust the code it is testing, nor import the
official SDK, which is a test dependency only. tests/test_huawei_signing.py has requests
signed by that SDK accepted here.

Readings where Huawei's guide leaves a choice (each pinned by a test):

* The query is read from the raw wire text and percent-decoded with ``+`` taken literally
  (RFC 3986), so a client that sends ``+`` for a space without having signed it so fails.
* Only ``x-sdk-date`` must be signed [SEEN "X-Sdk-Date must participate in signing, other
  headers optional"]; every header named in SignedHeaders must be present.
* ``X-Sdk-Content-Sha256``, when sent, stands in for the body's hash (the SDKs send
  ``UNSIGNED-PAYLOAD`` for bodies that are not JSON).
* X-Sdk-Date more than 15 minutes either side of the server's clock is refused [SEEN].
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

__all__ = ["MAX_SKEW", "SignatureRejected", "WireRequest", "check_signature", "signature_for"]

MAX_SKEW = timedelta(minutes=15)
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_AUTHORIZATION = re.compile(
    r"SDK-HMAC-SHA256\s+Access=(?P<access>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)"
    r"\s*,\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*"
)
_STAMP = "%Y%m%dT%H%M%SZ"


class SignatureRejected(Exception):
    """The request's signature does not hold; ``str`` is the gateway's ``error_msg``."""


@dataclass(frozen=True)
class WireRequest:
    """A request as the gateway sees it: raw path and query, headers by lower-case name."""

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes


def _escape(text: str) -> str:
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def _canonical(request: WireRequest, signed: list[str]) -> str:
    segments = [_escape(unquote(part)) for part in request.raw_path.split("/")]
    uri = "/".join(segments)
    if not uri.endswith("/"):
        uri += "/"
    pairs = []
    for item in request.raw_query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((unquote(name), unquote(value)))
    query = "&".join(_escape(n) + "=" + _escape(v) for n, v in sorted(pairs))
    header_block = "".join(name + ":" + request.headers[name].strip() + "\n" for name in signed)
    payload = request.headers.get("x-sdk-content-sha256")
    if not payload:
        payload = hashlib.sha256(request.body).hexdigest()
    return "\n".join([request.method.upper(), uri, query, header_block, ";".join(signed), payload])


def signature_for(secret_key: str, request: WireRequest, signed: list[str], stamp: str) -> str:
    """The hex signature ``request`` should carry for ``signed`` headers at ``stamp``."""
    canonical = _canonical(request, signed)
    to_sign = "\n".join(
        ["SDK-HMAC-SHA256", stamp, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), "sha256").hexdigest()


def access_key_of(request: WireRequest) -> str | None:
    found = _AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
    return found["access"] if found else None


def check_signature(request: WireRequest, secret_key: str, now: datetime) -> None:
    """Raise :class:`SignatureRejected` unless ``request`` is signed with ``secret_key``
    within 15 minutes of ``now``."""
    found = _AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
    if found is None:
        raise SignatureRejected(
            "Incorrect IAM authentication information: the Authorization header is not "
            "'SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…'"
        )
    signed = found["signed"].split(";")
    if signed != sorted(set(signed)) or any(name != name.lower() for name in signed):
        raise SignatureRejected(
            "Incorrect IAM authentication information: SignedHeaders must be lower-case "
            "header names, sorted, each once"
        )
    if "x-sdk-date" not in signed:
        raise SignatureRejected(
            "Incorrect IAM authentication information: x-sdk-date must be a signed header"
        )
    missing = [name for name in signed if name not in request.headers]
    if missing:
        raise SignatureRejected(
            "Incorrect IAM authentication information: verify aksk signature fail, signed "
            f"header {', '.join(missing)} is not in the request"
        )
    stamp = request.headers["x-sdk-date"].strip()
    try:
        when = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRejected(
            "Incorrect IAM authentication information: X-Sdk-Date is not in the "
            "yyyyMMddTHHmmssZ form (UTC)"
        ) from None
    if abs(now - when) > MAX_SKEW:
        raise SignatureRejected(
            f"Incorrect IAM authentication information: X-Sdk-Date {stamp} is more than "
            "15 minutes from the server's time; check the client's clock"
        )
    expected = signature_for(secret_key, request, signed, stamp)
    if not hmac.compare_digest(expected, found["signature"].lower()):
        raise SignatureRejected(
            "Incorrect IAM authentication information: verify aksk signature fail"
        )
