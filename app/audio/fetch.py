"""Download audio from a user's URL without letting it reach private networks.

Every address a host name resolves to must be public; the connection goes to the checked address (so a second
DNS answer cannot swap it); redirects are followed by hand and checked again; the size cap is enforced while
streaming; the whole download has one deadline.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from app.config import FetchSettings
from app.errors import ServiceError

REDIRECTS = {301, 302, 303, 307, 308}


def _refuse(reason: str) -> ServiceError:
    return ServiceError("url_not_allowed", f"The URL is not allowed: {reason}.")


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_addresses(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address and every IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64): a gateway
    may deliver to any of them, so each must be public."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        packed = int(ip)
        if ip.ipv4_mapped:
            found.append(ip.ipv4_mapped)
        if ip.sixtofour:
            found.append(ip.sixtofour)
        if ip in NAT64 or packed >> 32 == 0:  # NAT64, or IPv4-compatible (::a.b.c.d)
            found.append(ipaddress.IPv4Address(packed & 0xFFFFFFFF))
    return found


def _public_address(host: str, port: int, allowed: set[str]) -> str:
    """The first address of `host` after checking that all of them are public (or the host is allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ServiceError("download_failed", f"The host {host!r} could not be resolved.") from None
    addresses = [str(info[4][0]) for info in infos]
    if host not in allowed:
        for address in addresses:
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
            if address not in allowed and not all(
                candidate.is_global and not candidate.is_multicast for candidate in _embedded_addresses(ip)
            ):
                raise _refuse(f"{host!r} resolves to a non-public address")
    return addresses[0]


def checked_request(
    url: str,
    settings: FetchSettings,
    *,
    method: str = "GET",
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Request:
    """A request for `url` aimed at a checked public address of its host (or refuse it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise _refuse("only http and https URLs are accepted")
    if not parts.hostname:
        raise _refuse("the URL has no host")
    if parts.username or parts.password:
        raise _refuse("credentials in URLs are not accepted")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _refuse("the port is invalid") from None
    host = parts.hostname
    address = _public_address(host, port, set(settings.allow_private_hosts))
    literal = f"[{address}]" if ":" in address else address
    target = parts._replace(netloc=f"{literal}:{port}").geturl()
    # Connect to the checked address, but speak to the host by name (Host header, TLS SNI and certificate).
    return httpx.Request(
        method,
        target,
        content=content,
        headers={**(headers or {}), "Host": parts.netloc, "User-Agent": "whisperx-service"},
        extensions={"sni_hostname": host},
    )


def _open(client: httpx.Client, url: str, settings: FetchSettings) -> httpx.Response:
    """The streamed `200` answer for `url`, following redirects and checking every hop; the caller closes it."""
    current = url
    for _ in range(settings.max_redirects + 1):
        request = checked_request(current, settings)
        try:
            response = client.send(request, stream=True)
        except httpx.HTTPError as error:
            if isinstance(error, httpx.RemoteProtocolError) and "location header" in str(error):
                # A redirect to a target httpx cannot parse (e.g. an octal IP such as 0177.0.0.1).
                raise _refuse("the redirect target is not a valid URL") from None
            raise ServiceError("download_failed", f"The download failed ({type(error).__name__}).") from None
        if response.status_code in REDIRECTS and "location" in response.headers:
            response.close()
            current = urljoin(current, response.headers["location"])
            continue
        if response.status_code != 200:
            response.close()
            raise ServiceError("download_failed", f"The server answered HTTP {response.status_code}.")
        return response
    raise ServiceError("download_failed", "Too many redirects.")


def _client(settings: FetchSettings) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(min(30.0, settings.timeout_s)), follow_redirects=False)


def probe_url(url: str, settings: FetchSettings) -> None:
    """Refuse a URL that `fetch_url` would refuse, or whose server does not answer it with a file (read no
    further than its headers)."""
    with _client(settings) as client:
        _open(client, url, settings).close()


def fetch_url(url: str, destination: Path, *, settings: FetchSettings, max_bytes: int) -> Path:
    """Stream `url` into `destination`; raise a ServiceError for refused, failed or oversized downloads."""
    deadline = time.monotonic() + settings.timeout_s
    with _client(settings) as client:
        response = _open(client, url, settings)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(max_bytes)
            written = 0
            with destination.open("wb") as out:
                for chunk in response.iter_bytes(64 * 1024):
                    written += len(chunk)
                    if written > max_bytes:
                        raise _too_large(max_bytes)
                    if time.monotonic() > deadline:
                        raise ServiceError("download_failed", "The download took too long.")
                    out.write(chunk)
            return destination
        except httpx.HTTPError as error:
            raise ServiceError("download_failed", f"The download failed ({type(error).__name__}).") from None
        finally:
            response.close()


def _too_large(max_bytes: int) -> ServiceError:
    return ServiceError("too_large", f"The file is larger than the limit of {max_bytes // 2**20} MiB.")
