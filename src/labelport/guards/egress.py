"""Where ``labelport serve`` may connect on a client's behalf.

A client of the service chooses a CUSTOM_WEBHOOK url, and the service PUTs
to it. Without a rule, any authenticated client could make the service talk
to loopback, the private network or a cloud metadata address and learn what
answers. So the service connects only to public addresses, plus the hosts
its operator allows (``labelport serve --allow-webhook-host HOST``,
repeatable, and ``LABELPORT_ALLOW_WEBHOOK_HOSTS=host,10.0.0.0/8``): a host
name, an IP address or a network.

The rule is applied twice. When the request arrives, the url's host is
resolved and checked, so the client gets a GraphQL error at once. When the
job connects, :class:`GuardedBackend` resolves the name again, checks every
address it resolved to, and connects to the address it checked: a name that
resolved to a public address first and to a private one later (DNS
rebinding) is refused there. Redirects are never followed. A refusal is a
:class:`HostRefused` whose message names no address, and no answer of the
refused host ever reaches the client.

The command line (``labelport export --method CUSTOM_WEBHOOK``) applies no
rule: it runs as its user, who can reach those hosts anyway.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import urlsplit

import httpcore  # httpx's transport (a core dependency); loaded with the notices and the service, not by `import labelport`

from ..errors import UsageError

if TYPE_CHECKING:
    import httpx

ENV_ALLOW = "LABELPORT_ALLOW_WEBHOOK_HOSTS"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostRefused(Exception):
    """A connection the policy does not allow (never retried)."""


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` is a globally reachable unicast address, looking
    through the IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4,
    Teredo) to the address they carry."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None,
                    ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None]
        if any(v4 is not None and not is_public(v4) for v4 in embedded):
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def literal_ip(host: str) -> IPAddress | None:
    """The address a host spelled as an IP stands for, in every spelling the
    system resolver accepts (``2130706433``, ``0177.0.0.1``, ``0x7f.1``,
    ``[::ffff:127.0.0.1]``); None for a name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """Public addresses, plus the operator's allowed host names and networks."""

    allowed: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, hosts: Iterable[str] = (), env: str | None = None) -> "EgressPolicy":

        env = os.environ.get(ENV_ALLOW, "") if env is None else env
        allowed = []
        for host in [*hosts, *env.split(",")]:
            host = host.strip().lower().strip("[]")
            if not host:
                continue
            if "/" in host:
                try:
                    ipaddress.ip_network(host, strict=False)
                except ValueError:
                    raise UsageError(f"--allow-webhook-host {host!r}: not a host name, address or network") from None
            allowed.append(host)
        return cls(tuple(dict.fromkeys(allowed)))

    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        networks = []
        for host in self.allowed:
            ip = literal_ip(host) if "/" not in host else None
            if "/" in host or ip is not None:
                networks.append(ipaddress.ip_network(ip if ip is not None else host, strict=False))
        return networks

    def host_allowed(self, host: str) -> bool:
        return host.lower().strip("[]").rstrip(".") in self.allowed

    def address_allowed(self, ip: IPAddress) -> bool:
        if is_public(ip):
            return True
        candidates = [ip, ip.ipv4_mapped] if isinstance(ip, ipaddress.IPv6Address) else [ip]
        return any(c is not None and c.version == n.version and c in n for c in candidates for n in self._networks())

    def check_addresses(self, host: str, addresses: Iterable[IPAddress]) -> None:
        """HostRefused unless the host is allowed by name or every address is."""
        if self.host_allowed(host):
            return
        if not all(self.address_allowed(ip) for ip in addresses):
            raise HostRefused(REFUSED)

    def check_url(self, url: str) -> None:
        """At request time: the url is http(s) with a host that resolves only
        to addresses the service may connect to (names that do not resolve
        now are left to the connection-time check)."""

        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise UsageError("url: a CUSTOM_WEBHOOK url must be http:// or https:// with a host")
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            raise UsageError("url: the port is not a number from 0 to 65535") from None
        host = parts.hostname
        try:
            self.check_addresses(host, resolve(host, port))
        except socket.gaierror:
            return
        except HostRefused:
            raise UsageError(f"url: {REFUSED}") from None


REFUSED = ("the service does not connect to loopback, private, link-local or other non-public "
           "addresses (its operator can allow a host with --allow-webhook-host)")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` stands for now (an IP spelling without DNS)."""
    literal = literal_ip(host)
    if literal is not None:
        return [literal]
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found))


def guarded_client(policy: EgressPolicy, timeout: float) -> "httpx.Client":
    """An httpx client whose every connection goes through the policy;
    redirects are not followed and HTTP(S)_PROXY is not used (a proxy would
    resolve the host itself). SSL_CERT_FILE and SSL_CERT_DIR still apply."""
    import httpx  # (start-up: ~80 ms; the service imports this module at start, only a webhook sends)

    transport = httpx.HTTPTransport(retries=0)
    transport._pool._network_backend = GuardedBackend(policy)  # httpcore's one hook for how it connects
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses it checked.
    TLS is started by the connection with the URL's host as server name, so
    SNI and certificate checks are those of the name, not of the address."""

    def __init__(self, policy: EgressPolicy):
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> Any:
        try:
            addresses = resolve(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve the host ({exc.strerror})") from None
        self.policy.check_addresses(host, addresses)
        last: BaseException | None = None
        for ip in addresses:
            try:
                return super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except Exception as exc:  # the next address, as socket.create_connection does
                last = exc
        assert last is not None
        raise last
