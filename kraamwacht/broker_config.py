"""``kraamwacht broker-config``: a mosquitto configuration for a secured deployment.

What it writes into the broker's folder (secrets with mode 600), all that mosquitto needs:

* ``mosquitto.conf``: one TLS listener (TLS 1.2+), no anonymous access, the password and ACL
  files, persistence saved every second;
* ``ca.crt`` and ``server.crt`` / ``server.key``: a private certificate authority for this
  deployment and the broker's certificate for the given host names (clients check both);
* ``passwd``: one account per gateway and a ``serve-SITE`` and ``board-SITE`` account per site,
  as mosquitto 2 PBKDF2-SHA512 hashes (``$7$``);

and into a separate secrets folder, meant to leave the broker host (the broker needs none of it):
``ca.key``, the authority's key that signs new certificates, and ``credentials/ACCOUNT``, each
account's password, to hand to the client that uses it. A broker host that is broken into then
gives away neither the passwords nor the power to issue certificates. With board host names, also
``board/board.crt`` / ``board.key`` (and ``ca.crt``): the board's HTTPS certificate from the same
authority, for ``kraamwacht dashboard --tls-cert --tls-key``.
* ``acl``: a gateway may only *write* under its own name: its observations (``.../obs/<gateway>``),
  its wearables' status and its own status, and read nothing; serve reads its site's observations,
  commands and statuses and writes its alerts; the board reads the alerts and statuses of its site
  and writes commands and typed-in readings (``.../entry``), never a wearable's topic. Nothing is
  shared between sites. Which wearables a gateway may report is serve's check against the
  pairings (``kraamwacht.pairings``), not the broker's: the ACL is written once, pairings change daily.

The ACL rules are pure functions of the account (:func:`acl_rules`), tested against a real
mosquitto in ``tests/integration/test_broker_security.py``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kraamwacht.contract import MAX_MESSAGE_BYTES, Topics
from kraamwacht.errors import InvalidValueError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

__all__ = [
    "Account",
    "accounts_for",
    "acl_rules",
    "mosquitto_password_hash",
    "secrets_dir_for",
    "write_broker_config",
]

Role = Literal["gateway", "serve", "board"]
PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default for $7$ hashes
MAX_PACKET_BYTES = MAX_MESSAGE_BYTES + 64 * 1024  # the contract's largest message, its topic and headers
MAX_QUEUED_MESSAGES = 1_000_000  # ≈ 14 h of a 20-wearable site without serve, ≈ 0.5 GB of broker memory
CERT_DAYS = 825  # the longest validity clients accept for a server certificate


@dataclass(frozen=True, slots=True)
class Account:
    role: Role
    site: str
    gateway: str | None = None

    @property
    def name(self) -> str:
        return f"gw-{self.site}-{self.gateway}" if self.role == "gateway" else f"{self.role}-{self.site}"


def accounts_for(sites: list[str], gateways: list[tuple[str, str]]) -> list[Account]:
    """serve and board accounts per site, and one per ``(site, gateway)``."""
    for site, _ in gateways:
        if site not in sites:
            raise InvalidValueError(f"gateway of site {site!r}: that site is not in --site")
    out = [Account(role, site) for site in sites for role in ("serve", "board")]  # type: ignore[arg-type]
    return out + [Account("gateway", site, gateway) for site, gateway in gateways]


def acl_rules(account: Account) -> list[str]:
    """The account's mosquitto ACL lines (``topic read|write PATTERN``)."""
    s, root = account.site, Topics.ROOT
    status = f"{root}/{s}/status/serve"
    if account.role == "gateway":
        assert account.gateway is not None
        return [  # its own branch only: serve then takes a wearable only from the gateway it is paired to
            f"topic write {Topics.gateway_observations_filter(s, account.gateway)}",
            f"topic write {Topics.device_status_filter(s, account.gateway)}",
            f"topic write {Topics.gateway_status(s, account.gateway)}",
        ]
    if account.role == "serve":
        return [
            *(f"topic read {topic}" for topic in Topics.observations_filters(s)),
            f"topic read {Topics.commands(s)}",
            f"topic read {Topics.gateway_status_filter(s)}",
            f"topic write {Topics.alert_state_filter(s)}",
            f"topic write {Topics.alert_events(s)}",
            f"topic write {Topics.baseline_filter(s)}",
            f"topic write {Topics.policy(s)}",
            f"topic write {Topics.command_results(s)}",
            f"topic write {Topics.dead_letter(s)}",
            f"topic readwrite {status}",
        ]
    return [  # the board; the doctor uses the board's account
        f"topic read {Topics.alert_state_filter(s)}",
        f"topic read {Topics.alert_events(s)}",
        f"topic read {Topics.baseline_filter(s)}",
        f"topic read {Topics.policy(s)}",
        f"topic read {Topics.command_results(s)}",
        f"topic read {Topics.device_status_filter(s)}",
        f"topic read {Topics.gateway_status_filter(s)}",
        f"topic read {status}",
        f"topic write {Topics.commands(s)}",
        f"topic write {Topics.entries_filter(s)}",  # readings typed in on the board: never a wearable's topic
        "topic read $SYS/broker/publish/messages/dropped",  # for the doctor: did the broker drop anything?
    ]


def mosquitto_password_hash(password: str, *, salt: bytes | None = None) -> str:
    """A mosquitto 2 password-file hash: ``$7$ITERATIONS$SALT$HASH`` (PBKDF2-HMAC-SHA512)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _write_secret(path: Path, data: bytes | str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def _certificates(out: Path, secrets_dir: Path, hostnames: list[str], board_hostnames: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(tz=UTC)
    pem = serialization.Encoding.PEM
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kraamwacht deployment CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .sign(ca_key, hashes.SHA256())
    )
    (out / "ca.crt").write_bytes(ca.public_bytes(pem))
    _write_secret(secrets_dir / "ca.key", ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))  # fmt: skip
    _issue(ca, ca_key, hostnames, out / "server.crt", out / "server.key")
    if board_hostnames:
        (secrets_dir / "board").mkdir(mode=0o700, exist_ok=True)
        (secrets_dir / "board" / "ca.crt").write_bytes(ca.public_bytes(pem))
        _issue(ca, ca_key, board_hostnames, secrets_dir / "board" / "board.crt", secrets_dir / "board" / "board.key")


def _issue(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, hostnames: list[str], cert_path: Path, key_path: Path
) -> None:
    """A server certificate for ``hostnames`` (DNS names or IP addresses), signed by the deployment's CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(tz=UTC)
    pem = serialization.Encoding.PEM
    ca_name = ca.subject
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(pem))
    _write_secret(key_path, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def secrets_dir_for(out: Path, secrets_dir: Path | None = None) -> Path:
    """Where the CA key and the passwords go: ``OUT-secrets`` beside the broker's folder by default."""
    chosen = secrets_dir if secrets_dir is not None else out.parent / f"{out.name}-secrets"
    if chosen.resolve().is_relative_to(out.resolve()):
        raise InvalidValueError(f"the secrets folder {chosen} must not lie inside the broker's folder {out}")
    return chosen


def write_broker_config(
    out: Path,
    *,
    sites: list[str],
    gateways: list[tuple[str, str]],
    hostnames: list[str],
    port: int = 8883,
    bind: str = "0.0.0.0",
    run_as: str | None = None,
    secrets_dir: Path | None = None,
    board_hostnames: list[str] | None = None,
) -> list[Account]:
    """Write the folders described in the module docstring; returns the accounts made.

    ``secrets_dir`` defaults to ``OUT-secrets`` beside ``out``; it may not lie inside ``out``.
    """
    accounts = accounts_for(sites, gateways)
    secrets_dir = secrets_dir_for(out, secrets_dir)
    out.mkdir(parents=True, exist_ok=True)
    secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (secrets_dir / "credentials").mkdir(mode=0o700, exist_ok=True)
    _certificates(out, secrets_dir, hostnames, board_hostnames or [])
    lines = []
    for account in accounts:
        password = secrets.token_urlsafe(24)
        _write_secret(secrets_dir / "credentials" / account.name, password + "\n")
        lines.append(f"{account.name}:{mosquitto_password_hash(password)}")
    _write_secret(out / "passwd", "\n".join(lines) + "\n")
    acl = ["# written by kraamwacht broker-config: each account sees its own site only", ""]
    for account in accounts:
        acl += [f"user {account.name}", *acl_rules(account), ""]
    (out / "acl").write_text("\n".join(acl))
    folder = out.resolve()
    conf = [
        "# written by kraamwacht broker-config",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {folder / 'passwd'}",
        f"acl_file {folder / 'acl'}",
        "persistence true",
        f"persistence_location {folder}/",
        "autosave_interval 1",
        # serve's persistent session: messages wait here while serve is away. mosquitto's default
        # (1000) silently drops the rest, and the gateway already has its PUBACK: measured, a
        # minute without serve lost 20,800 of 48,700 samples (tests/integration/test_faults.py)
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        # the contract refuses messages over 256 KiB: the broker refuses their packets at the door,
        # so a publisher learns it (MQTT 5 "Packet too large") and nothing that size waits anywhere
        f"max_packet_size {MAX_PACKET_BYTES}",
        f"listener {port} {bind}",
        f"cafile {folder / 'ca.crt'}",
        f"certfile {folder / 'server.crt'}",
        f"keyfile {folder / 'server.key'}",
        "tls_version tlsv1.2",
    ]
    if run_as:
        conf.insert(1, f"user {run_as}")
    (out / "mosquitto.conf").write_text("\n".join(conf) + "\n")
    return accounts
