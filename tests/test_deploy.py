"""`hlsgen deploy` end to end against a real OpenSSH server on 127.0.0.1,
started here with its own host key, user key and config; the "board" side
runs the generated driver on the board emulator. A wrong host key, a refused
login and an unreachable host each give one error line and exit code 2."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from test_board_driver import make_project
from test_errors import assert_user_error

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hlsgen-test", "-f",
                    str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """(port, user key, host public key line) of an sshd on 127.0.0.1."""
    if not Path(SSHD).is_file():
        pytest.skip("OpenSSH server (sshd) is not installed; CI installs Debian's openssh-server "
                    "in .ci/run")
    if os.geteuid() != 0:
        pytest.skip("the test sshd runs as root")
    d = tmp_path_factory.mktemp("sshd")
    host_key, user_key = keygen(d / "host_key"), keygen(d / "user_key")
    (d / "authorized_keys").write_text((d / "user_key.pub").read_text())
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {d}/sshd.pid\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nPubkeyAuthentication yes\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nSubsystem sftp internal-sftp\n"
        "LogLevel ERROR\n")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege-separation folder
    log = open(d / "sshd.log", "w")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        if proc.poll() is not None:
            pytest.fail(f"sshd exited: {(d / 'sshd.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("sshd did not start listening")
            time.sleep(0.05)
    yield port, user_key, (d / "host_key.pub").read_text().split()[:2]
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def project(tf, tmp_path_factory):
    return make_project(tf, tmp_path_factory.mktemp("deploy"), "mlp_logits_simd4")


def deploy_cli(project, port, *extra, stdin=subprocess.DEVNULL):
    from hlsgen.sim.emulator import PYNQ_PATH
    board_python = f"env PYTHONPATH={PYNQ_PATH} {sys.executable}"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "hlsgen.cli", "deploy", str(project), "--host", "127.0.0.1",
         "--port", str(port), "--user", getpass.getuser(), "--python", board_python,
         "--benchmark", "200", "--timeout", "5", *map(str, extra)],
        text=True, capture_output=True, env=env, stdin=stdin, timeout=300)


def test_deploy_runs_the_selftest_and_benchmark_on_the_board(sshd, project, tmp_path):
    port, key, (key_type, key_b64) = sshd
    known = tmp_path / "known_hosts"
    known.write_text("# the user's own line, unterminated")
    remote = tmp_path / "board" / "hlsgen" / project.name
    args = ("--key", key, "--known-hosts", known, "--remote-dir", remote)
    proc = deploy_cli(project, port, *args, "--accept-new-host-key")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gold = np.load(project / "tb" / "golden.npy")
    assert f"board: selftest: PASS: {gold.size}/{gold.size} output codes" in proc.stdout
    assert "board: benchmark: batch of 200:" in proc.stdout
    assert "board: benchmark: single frame:" in proc.stdout
    assert "exited with status 0 (passed)" in proc.stdout
    # The host key was appended in OpenSSH's format, and the files arrived.
    assert known.read_text() == ("# the user's own line, unterminated\n"
                                 f"[127.0.0.1]:{port} {key_type} {key_b64}\n")
    for f in (f"{project.name}.bit", f"{project.name}.hwh", f"{project.name}_driver.py",
              f"{project.name}_inputs.npy", f"{project.name}_golden.npy"):
        assert (remote / f).is_file(), f
    # Known now: no flag needed the second time.
    again = deploy_cli(project, port, *args)
    assert again.returncode == 0, again.stderr
    assert "added the host key" not in again.stdout


def test_deploy_a_tiled_project(sshd, tf, tmp_path):
    """The tiled engine's overlay: its DDR images travel with the driver."""
    from test_tiled_board import make_tiled_project
    project = make_tiled_project(tf, tmp_path, "digits_small_tiles")
    port, key, (key_type, key_b64) = sshd
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {key_type} {key_b64}\n")
    remote = tmp_path / "board"
    proc = deploy_cli(project, port, "--key", key, "--known-hosts", known, "--remote-dir", remote)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gold = np.load(project / "tb" / "golden.npy")
    assert f"board: selftest: PASS: {gold.size}/{gold.size} output codes" in proc.stdout
    assert (remote / f"{project.name}_ddr.npz").is_file()


def test_deploy_reports_a_failing_selftest(sshd, project, tmp_path):
    port, key, (key_type, key_b64) = sshd
    broken = tmp_path / project.name
    shutil.copytree(project, broken)
    gold = np.load(broken / "tb" / "golden.npy")
    gold[3, 0] += 1
    np.save(broken / "tb" / "golden.npy", gold)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {key_type} {key_b64}\n")
    proc = deploy_cli(broken, port, "--key", key, "--known-hosts", known,
                      "--remote-dir", tmp_path / "board")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "board: selftest: FAIL" in proc.stdout
    assert "board: selftest: first difference in frame 3" in proc.stdout
    assert "exited with status 1 (failed)" in proc.stdout


def test_wrong_host_key_is_refused(sshd, project, tmp_path):
    port, key, _ = sshd
    other = keygen(tmp_path / "impostor")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} " + " ".join(
        (tmp_path / "impostor.pub").read_text().split()[:2]) + "\n")
    before = known.read_text()
    proc = deploy_cli(project, port, "--key", key, "--known-hosts", known,
                      "--remote-dir", tmp_path / "board", "--accept-new-host-key")
    assert_user_error(proc, f"[127.0.0.1]:{port}", "does not match", "ssh-keygen -R")
    assert known.read_text() == before and other.exists()
    assert not (tmp_path / "board").exists()


def test_unknown_host_key_needs_the_flag(sshd, project, tmp_path):
    port, key, _ = sshd
    known = tmp_path / "known_hosts"
    proc = deploy_cli(project, port, "--key", key, "--known-hosts", known,
                      "--remote-dir", tmp_path / "board")
    assert_user_error(proc, "is not in", "--accept-new-host-key", "SHA256:")
    assert not known.exists() and not (tmp_path / "board").exists()


def test_refused_login(sshd, project, tmp_path):
    port, _, (key_type, key_b64) = sshd
    stranger = keygen(tmp_path / "stranger")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {key_type} {key_b64}\n")
    proc = deploy_cli(project, port, "--key", stranger, "--known-hosts", known,
                      "--remote-dir", tmp_path / "board")
    assert_user_error(proc, "refused the login", str(stranger))
    assert not (tmp_path / "board").exists()


def test_password_without_a_terminal_is_an_error(sshd, project, tmp_path):
    port, _, _ = sshd
    proc = deploy_cli(project, port, "--known-hosts", tmp_path / "known_hosts")
    assert_user_error(proc, "no terminal", "--key")


def test_unreachable_host(project, tmp_path):
    port = free_port()  # nothing listens there
    key = keygen(tmp_path / "key")
    proc = deploy_cli(project, port, "--key", key, "--known-hosts", tmp_path / "known_hosts")
    assert_user_error(proc, f"cannot reach 127.0.0.1:{port}")


def test_project_without_a_bitstream_is_refused(tf, tmp_path):
    from conftest import qdense_mlp
    from hlsgen.flow import generate
    qdense_mlp(tf, [8, 8, 4]).save(tmp_path / "m.h5")
    bare = generate(str(tmp_path / "m.h5"), tmp_path / "bare", n_vectors=5).out
    key = keygen(tmp_path / "key")
    proc = deploy_cli(bare, 22, "--key", key, "--known-hosts", tmp_path / "known_hosts")
    assert_user_error(proc, "deploy/bare.bit", "--stage bitstream")


@pytest.mark.parametrize("host", ["board\n[127.0.0.1]:22 ssh-ed25519 AAAA", "-oProxyCommand=x", ""])
def test_host_that_is_not_an_address_is_refused(project, tmp_path, host):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "hlsgen.cli", "deploy", str(project),
                           f"--host={host}",
                           "--known-hosts", str(tmp_path / "known_hosts")],
                          text=True, capture_output=True, env=env, stdin=subprocess.DEVNULL)
    assert_user_error(proc, "--host", "is not a host name or address")
    assert not (tmp_path / "known_hosts").exists()
