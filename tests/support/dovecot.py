"""A real IMAP and POP3 server on loopback for the bounce-mailbox tests: Debian's Dovecot
(``apt-get install dovecot-imapd dovecot-pop3d``, as ``.ci/run`` does) with a throwaway
configuration in a temporary folder, on free ports, plain and TLS.

Its TLS certificate is made here, signed by a certificate authority made here too, so that
the tests trust exactly that authority (``BOUNCE_MAILBOX_CA_FILE``), as a school with its own
authority would. Dovecot runs as the current user; as root (CI) its login processes run as
Debian's ``dovenull`` and the mail as ``dovecot``, because Dovecot refuses root for both.
"""

from __future__ import annotations

import base64
import grp
import hashlib
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from urllib.parse import quote

# An address as user name, and a password with characters a URL must percent-encode.
USER = "bounces@school.test"
PASSWORD = "p@ss:w/rd 100%"
HOST = "127.0.0.1"
START_SECONDS = 20
PROTOCOLS = ("imap", "imaps", "pop3", "pop3s")


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def dovecot_available() -> tuple[bool, str]:
    if dovecot_binary() is None:
        return False, "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)"
    return True, ""


@dataclass
class Dovecot:
    folder: Path
    ports: dict[str, int]
    ca_file: Path

    def url(
        self,
        scheme: str = "imap",
        *,
        password: str = PASSWORD,
        port: int | None = None,
        path: str = "",
        query: str = "",
    ) -> str:
        """``BOUNCE_MAILBOX_URL`` for this server, the credentials percent-encoded."""
        credentials = f"{quote(USER, safe='')}:{quote(password, safe='')}"
        url = f"{scheme}://{credentials}@{HOST}:{port or self.ports[scheme]}{path}"
        return f"{url}?{query}" if query else url

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        client = imaplib.IMAP4(HOST, self.ports["imap"], timeout=10)
        try:
            client.login(USER, PASSWORD)
            yield client
        finally:
            client.logout()

    def deliver(self, *messages: bytes, folder: str = "INBOX") -> None:
        """Put messages into the mailbox, as the school's mail system would (IMAP APPEND)."""
        with self.client() as client:
            for message in messages:
                answer, _ = client.append(folder, None, None, message)
                assert answer == "OK", answer

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """What is in a folder now, oldest first; [] for a folder that does not exist."""
        with self.client() as client:
            if client.select(folder, readonly=True)[0] != "OK":
                return []
            _, data = client.uid("SEARCH", "ALL")
            found = []
            for uid in data[0].split():
                _, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                found.extend(part[1] for part in parts if isinstance(part, tuple))
            return found

    def empty(self) -> None:
        """Every folder deleted, INBOX emptied: each test starts with an empty mailbox."""
        with self.client() as client:
            _, listing = client.list()
            for line in listing:
                name = line.decode().rsplit(" ", 1)[-1].strip('"')
                if name != "INBOX":
                    client.delete(name)
            _, count = client.select("INBOX")
            if count[0] != b"0":
                client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                client.expunge()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """Dovecot started in a folder of its own, stopped and removed afterwards.

    The folder comes from ``tempfile`` rather than pytest, and is opened to other users
    (0755): as root, Dovecot's login processes run as ``dovenull`` and must reach its sockets.
    """
    folder = Path(tempfile.mkdtemp(prefix="alumni-dovecot-"))
    folder.chmod(0o755)
    ports = {protocol: free_port() for protocol in PROTOCOLS}
    ca_file = _certificates(folder)
    config = folder / "dovecot.conf"
    config.write_text(_config(folder, ports))
    (folder / "users").write_text(f"{USER}:{_password_hash(PASSWORD)}\n")
    with (folder / "dovecot.out").open("wb") as output:
        process = subprocess.Popen(
            [dovecot_binary(), "-F", "-c", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_answering(process, folder, ports["imap"])
        yield Dovecot(folder=folder, ports=ports, ca_file=ca_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_answering(process: subprocess.Popen, folder: Path, port: int) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = (folder / "dovecot.out").read_text(errors="replace")
            raise RuntimeError(f"dovecot exited: {output[-2000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as connection:
                if connection.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    log = folder / "dovecot.log"
    raise RuntimeError(f"dovecot did not answer: {log.read_text()[-2000:] if log.exists() else ''}")


def _config(folder: Path, ports: dict[str, int]) -> str:
    login_user, internal_user, mail_user = _users()
    mail = folder / "mail"
    mail.mkdir()
    if os.geteuid() == 0:
        os.chown(mail, mail_user.pw_uid, mail_user.pw_gid)
    return f"""
protocols = imap pop3
listen = {HOST}
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
ssl = yes
ssl_cert = <{folder}/server.pem
ssl_key = <{folder}/server-key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {login_user.pw_name}
default_internal_user = {internal_user.pw_name}
default_internal_group = {grp.getgrgid(internal_user.pw_gid).gr_name}
mail_location = maildir:{mail}/%n
first_valid_uid = {mail_user.pw_uid}
passdb {{
  driver = passwd-file
  args = username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={mail}/%n
}}
# No chroot: only root may chroot, and these folders are the test's anyway.
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {ports["imap"]}
  }}
  inet_listener imaps {{
    port = {ports["imaps"]}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {ports["pop3"]}
  }}
  inet_listener pop3s {{
    port = {ports["pop3s"]}
    ssl = yes
  }}
}}
"""


def _users() -> tuple[pwd.struct_passwd, pwd.struct_passwd, pwd.struct_passwd]:
    """Who runs the login processes, Dovecot's own, and the mail: the current user, or as root
    the users Debian's package made (Dovecot refuses root for logins and for mail)."""
    if os.geteuid() != 0:
        current = pwd.getpwuid(os.getuid())
        return current, current, current
    dovecot = pwd.getpwnam("dovecot")
    return pwd.getpwnam("dovenull"), dovecot, dovecot


def _password_hash(password: str) -> str:
    """``{SHA256}`` (base64): a passwd-file field may not hold the ``:`` of the password."""
    digest = hashlib.sha256(password.encode()).digest()
    return "{SHA256}" + base64.b64encode(digest).decode()


def _certificates(folder: Path) -> Path:
    """A certificate authority and a server certificate for 127.0.0.1 signed by it; returns
    the authority's certificate (PEM), the CA file a client trusts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Test school CA"))
        .issuer_name(name("Test school CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address(HOST))]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "server.pem").write_bytes(server.public_bytes(pem))
    key_file = folder / "server-key.pem"
    key_file.write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    return ca_file
