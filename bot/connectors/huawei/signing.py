"""Huawei's access-key request signing, "SDK-HMAC-SHA256", as an httpx auth flow.

Written from the published algorithm (API Gateway's "AK/SK signing" guide and what the
official SDKs put on the wire), not from any SDK's code; tests/test_huawei_signing.py checks
every signature against the official Python SDK's signer.

    canonical request = METHOD \\n canonical URI \\n canonical query \\n
                        canonical headers \\n signed header names \\n hex(SHA-256(body))
    string to sign    = "SDK-HMAC-SHA256" \\n X-Sdk-Date \\n hex(SHA-256(canonical request))
    signature         = hex(HMAC-SHA256(secret key, string to sign))
    Authorization     = SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b;c>, Signature=<hex>

* **URI**: each path segment percent-encoded (UTF-8, every byte but RFC 3986's unreserved
  ``A-Z a-z 0-9 - _ . ~``), always ending in ``/``.
* **Query**: the decoded (name, value) pairs sorted by name, then value (a repeated name
  keeps every value), each side encoded like a path segment, joined with ``&``. The request
  is sent with exactly this query, so what reaches Huawei is what was signed, and the
  ``+``-for-space form httpx writes never has to be read by a gateway that may take ``+``
  literally.
* **Headers**: names lower-cased and sorted, values trimmed, ``name:value`` each followed by
  a new line. The gateway insists only on ``x-sdk-date``; ``host`` ties the signature to the
  endpoint, ``content-type``, ``x-project-id`` and ``x-security-token`` are signed when
  present. Headers a proxy may rewrite (``accept-encoding``, ``connection``) are not.
* **X-Sdk-Date** is UTC ``yyyyMMddTHHmmssZ``; Huawei refuses one more than 15 minutes from
  its own clock, so it is stamped as the request leaves: this flow runs inside
  ``client.send``, after any rate-limit wait, and again for every retry.
* **Temporary credentials** (from federation, SSO or an agency) add ``X-Security-Token``.

The secret key and the security token are held as :class:`~pydantic.SecretStr`, so neither a
repr nor a traceback's locals show them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import UTC
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from bot.clock import Clock

__all__ = [
    "ALGORITHM",
    "DATE_FORMAT",
    "AkSkSigner",
    "authorization",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
]

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
SIGNED_WHEN_PRESENT = frozenset(
    {"content-type", "host", "x-project-id", "x-sdk-date", "x-security-token"}
)


def _encode(text: str) -> str:
    # quote() keeps letters, digits and "_.-" always; "~" is the last unreserved character.
    return quote(text, safe="~")


def canonical_uri(path: str) -> str:
    """``path`` (decoded) with each segment encoded, ending in ``/``."""
    encoded = "/".join(_encode(segment) for segment in path.split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in sorted(pairs))


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed: Sequence[str],
    body: bytes,
) -> str:
    """The text whose hash is signed; ``headers`` maps lower-case names to values."""
    lines = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    return "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            lines,
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        )
    )


def authorization(
    access_key: str, secret_key: str, stamp: str, canonical: str, signed: Sequence[str]
) -> str:
    """The ``Authorization`` value for ``canonical`` stamped ``stamp`` (an X-Sdk-Date)."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    to_sign = f"{ALGORITHM}\n{stamp}\n{digest}"
    signature = hmac.new(
        secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    names = ";".join(signed)
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={names}, Signature={signature}"


class AkSkSigner(httpx.Auth):
    """Signs each request with an access key and secret key (and, for temporary
    credentials, a security token), stamped with ``clock``'s time: the machine's own in
    production, as the gateway compares it with real time."""

    requires_request_body = True

    def __init__(
        self,
        *,
        access_key: str,
        secret_key: SecretStr,
        clock: Clock,
        project_id: str | None = None,
        security_token: SecretStr | None = None,
    ) -> None:
        self.access_key = access_key
        self._secret_key = secret_key
        self._security_token = security_token
        self._project_id = project_id
        # Public so a test can sign at the instant its simulator's gateway clock shows.
        self.clock = clock

    def __repr__(self) -> str:
        temporary = ", temporary" if self._security_token is not None else ""
        return f"AkSkSigner(access_key={self.access_key[:4]}…{temporary})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request

    def sign(self, request: httpx.Request) -> None:
        """Add X-Sdk-Date, the project and token headers and Authorization to ``request``,
        and put its query in the canonical form that was signed."""
        headers = request.headers
        headers[DATE_HEADER] = self.clock().astimezone(UTC).strftime(DATE_FORMAT)
        if self._project_id:
            headers["X-Project-Id"] = self._project_id
        if self._security_token is not None:
            headers["X-Security-Token"] = self._security_token.get_secret_value()
        # A stale signature from an earlier attempt of the same request must not be signed.
        headers.pop("Authorization", None)
        query = request.url.params.multi_items()
        if query:
            request.url = request.url.copy_with(query=canonical_query(query).encode("ascii"))
        present = {name.lower(): value for name, value in headers.items()}
        signed = sorted(name for name in present if name in SIGNED_WHEN_PRESENT)
        canonical = canonical_request(
            request.method, request.url.path, query, present, signed, request.content
        )
        headers["Authorization"] = authorization(
            self.access_key,
            self._secret_key.get_secret_value(),
            headers[DATE_HEADER],
            canonical,
            signed,
        )
