"""`hlsgen deploy`: copies a project's overlay, driver and test vectors to a
PYNQ board over SSH/SFTP, runs the driver's self-test and benchmark there,
prints their output and returns their exit status.

Host keys are checked against known_hosts; an unknown host is accepted only
with --accept-new-host-key (and then appended to known_hosts), a changed
key never. A password lives only in memory, for the one login."""

from __future__ import annotations

import base64
import getpass
import hashlib
import re
import shlex
import socket
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hlsgen.platform.board_files import deploy_files, has_block_design
from hlsgen.errors import HlsgenError
from hlsgen.arch.registry import of_project
from hlsgen.project.manifest import load_project

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
# Host names and IPv4/IPv6 addresses; the host ends up in known_hosts lines.
_HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_%-]*$")
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass
class Target:
    host: str
    port: int = 22
    user: str = "xilinx"
    key: str | None = None
    known_hosts: Path = DEFAULT_KNOWN_HOSTS
    accept_new_host_key: bool = False
    timeout: float = 10.0

    def __post_init__(self):
        if not _HOST_RE.match(self.host):
            raise HlsgenError(f"--host {self.host!r} is not a host name or address; give e.g. "
                              "192.168.2.99 or pynq.local")
        if not _USER_RE.match(self.user):
            raise HlsgenError(f"--user {self.user!r} is not a login name; give e.g. xilinx")
        if not 0 < self.port < 65536:
            raise HlsgenError(f"--port {self.port} is not a TCP port; give 1 to 65535")

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def host_key_name(self) -> str:
        # OpenSSH's known_hosts spelling of a host on a non-default port.
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


def upload_list(project: Path, name: str) -> list[tuple[Path, str]]:
    """(local file, path relative to the remote folder): everything in deploy/,
    with the driver and test vectors taken fresh from the project."""
    project = Path(project)
    needed = deploy_files(project, name, of_project(load_project(project)).deploy_files(project, name))
    for src, _ in needed[:2]:
        if not src.is_file():
            raise HlsgenError(f"'{src}' not found; build the bitstream first with `hlsgen build "
                              f"{project} --stage bitstream` (needs Vivado)")
    files = {p.relative_to(project / "deploy").as_posix(): p
             for p in sorted((project / "deploy").rglob("*")) if p.is_file()}
    files.update({dst: src for src, dst in needed})
    return [(src, dst) for dst, src in files.items()]


def _fingerprint(key) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return f"{key.get_name()} SHA256:{base64.b64encode(digest).decode().rstrip('=')}"


def _host_key_policy(target: Target, known_hosts: Path):
    import paramiko

    class Policy(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client, hostname, key):
            if not target.accept_new_host_key:
                raise HlsgenError(
                    f"the host key of {target.host_key_name} ({_fingerprint(key)}) is not in "
                    f"{known_hosts}; check it on the board (ssh-keygen -lf "
                    f"/etc/ssh/ssh_host_{key.get_name().split('-')[-1]}_key.pub) and rerun with "
                    "--accept-new-host-key")
            # Appended, like OpenSSH's accept-new: the user's other lines stay as they are.
            known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            line = f"{target.host_key_name} {key.get_name()} {key.get_base64()}\n"
            with open(known_hosts, "a+b") as f:
                f.seek(0, 2)
                if f.tell():  # never glue the new line onto an unterminated last one
                    f.seek(-1, 2)
                    if f.read(1) != b"\n":
                        line = "\n" + line
                f.write(line.encode())
            client.get_host_keys().add(target.host_key_name, key.get_name(), key)
            print(f"added the host key of {target.host_key_name} ({_fingerprint(key)}) to "
                  f"{known_hosts}")
    return Policy()


def _password(target: Target) -> str:
    if not sys.stdin.isatty():
        raise HlsgenError(f"logging in to {target.where} needs a password or a key, and there is "
                          "no terminal to ask for the password; give --key FILE")
    try:
        return getpass.getpass(f"{target.user}@{target.host}'s password: ")
    except (EOFError, KeyboardInterrupt):
        raise HlsgenError("no password given; give --key FILE or type the password") from None


def _load_key(path: Path):
    import paramiko
    if not path.is_file():
        raise HlsgenError(f"key file '{path}' not found; give an SSH private key file")
    try:
        try:
            return paramiko.PKey.from_path(str(path))
        except paramiko.PasswordRequiredException:
            if not sys.stdin.isatty():
                raise HlsgenError(f"key file '{path}' is encrypted and there is no terminal to "
                                  "ask for its passphrase; use an unencrypted key or run in a "
                                  "terminal") from None
            return paramiko.PKey.from_path(str(path), getpass.getpass(f"passphrase for {path}: "))
    except (OSError, ValueError, paramiko.SSHException) as e:
        raise HlsgenError(f"key file '{path}' is not a usable SSH private key ({e})") from None


def connect(target: Target):
    """An authenticated paramiko SSHClient, or one HlsgenError line."""
    import paramiko
    known_hosts = target.known_hosts.expanduser()
    client = paramiko.SSHClient()
    if known_hosts.is_file():
        try:
            client.load_host_keys(str(known_hosts))
        except (OSError, paramiko.SSHException) as e:
            raise HlsgenError(f"known_hosts file {known_hosts} cannot be read ({e}); fix or "
                              "move it") from None
    client.set_missing_host_key_policy(_host_key_policy(target, known_hosts))
    auth: dict = {"allow_agent": False, "look_for_keys": False}
    if target.key:
        auth["pkey"] = _load_key(Path(target.key).expanduser())
    else:
        auth["password"] = _password(target)
    try:
        client.connect(target.host, port=target.port, username=target.user,
                       timeout=target.timeout, banner_timeout=target.timeout,
                       auth_timeout=target.timeout, **auth)
    except Exception as e:
        client.close()
        raise _connect_error(e, target, known_hosts) from None
    return client


def _connect_error(e: Exception, target: Target, known_hosts: Path) -> Exception:
    """The one-line error for what went wrong while connecting."""
    import paramiko
    if isinstance(e, HlsgenError):
        return e
    if isinstance(e, paramiko.BadHostKeyException):
        return HlsgenError(
            f"the host key of {target.host_key_name} ({_fingerprint(e.key)}) does not match the "
            f"one in {known_hosts} ({_fingerprint(e.expected_key)}); if the board was "
            f"reinstalled, remove the old key with ssh-keygen -R '{target.host_key_name}' -f "
            f"{known_hosts}, else someone may be intercepting the connection")
    if isinstance(e, paramiko.AuthenticationException):
        how = f"key {target.key}" if target.key else "password"
        return HlsgenError(f"{target.where} refused the login with the {how} ({e}); check --user "
                           "and the key or password")
    if isinstance(e, socket.gaierror):
        return HlsgenError(f"cannot resolve host '{target.host}' ({e.strerror}); check --host")
    if isinstance(e, (OSError, paramiko.SSHException, EOFError)):
        return HlsgenError(f"cannot reach {target.host}:{target.port} ({str(e) or type(e).__name__}"
                           "); check the address and that the board is on and runs sshd")
    return e


def _remote_dir(remote_dir: str | None, name: str) -> str:
    d = remote_dir or f"hlsgen/{name}"
    # SFTP and a quoted shell path are relative to the login's home; "~/" means the same.
    if d.startswith("~/"):
        d = d[2:]
    if not d.strip("/") or "\n" in d or "\0" in d:
        raise HlsgenError(f"--remote-dir '{remote_dir}' is not a usable folder; give e.g. "
                          f"hlsgen/{name}")
    return d


def _sftp_makedirs(sftp, path: str) -> None:
    p = PurePosixPath(path)
    parts = [p] + list(p.parents)
    for d in reversed(parts):
        if str(d) in ("", ".", "/"):
            continue
        try:
            sftp.stat(str(d))
        except FileNotFoundError:
            sftp.mkdir(str(d))


def upload(client, files: list[tuple[Path, str]], remote_dir: str) -> int:
    sftp = client.open_sftp()
    try:
        total = 0
        for src, dst in files:
            target = str(PurePosixPath(remote_dir) / dst)
            _sftp_makedirs(sftp, str(PurePosixPath(target).parent))
            sftp.put(str(src), target)
            sftp.chmod(target, src.stat().st_mode & 0o777)
            total += src.stat().st_size
        return total
    except OSError as e:
        raise HlsgenError(f"copying to {remote_dir} on the board failed ({e}); check "
                          "--remote-dir and the free space there") from None
    finally:
        sftp.close()


def run_remote(client, command: str, out=sys.stdout) -> int:
    """Runs a shell command on the board, streaming its output; its exit status."""
    channel = client.get_transport().open_session()
    channel.set_combine_stderr(True)
    channel.exec_command(command)
    pending = b""
    while True:
        chunk = channel.recv(4096)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            print(f"board: {line.decode(errors='replace')}", file=out, flush=True)
    if pending:
        print(f"board: {pending.decode(errors='replace')}", file=out, flush=True)
    return channel.recv_exit_status()


def deploy(project: str | Path, target: Target, remote_dir: str | None = None,
           python: str = "python3", benchmark: int = 1000) -> int:
    """Copies, runs the self-test and benchmark on the board; their exit status."""
    from hlsgen.platform.boards import load_board
    from hlsgen.sim.emulator import is_emulated
    project = Path(project)
    meta = load_project(project)
    name = meta["name"]
    board = load_board(meta["board"])
    if not has_block_design(board):
        raise HlsgenError(f"{board.name} is an Alveo card, not a PYNQ board reached over SSH; "
                          "deploy the IP with Vitis instead")
    files = upload_list(project, name)
    if is_emulated(project / "deploy" / f"{name}.bit"):
        print(f"note: deploy/{name}.bit is the board emulator's stand-in, not a bitstream")
    folder = _remote_dir(remote_dir, name)
    try:
        words = shlex.split(python)
    except ValueError as e:
        raise HlsgenError(f"--python '{python}' cannot be split into words ({e})") from None
    if not words:
        raise HlsgenError("--python is empty; give the board's Python, e.g. python3")
    if benchmark < 1:
        raise HlsgenError(f"--benchmark {benchmark}: give a number of frames >= 1")

    client = connect(target)
    try:
        size = upload(client, files, folder)
        print(f"copied {len(files)} files ({size / 1e6:.1f} MB) to {target.user}@{target.host}:"
              f"{folder}")
        command = (f"cd {shlex.quote(folder)} && {' '.join(map(shlex.quote, words))} "
                   f"{shlex.quote(name + '_driver.py')} --selftest --benchmark {int(benchmark)}")
        status = run_remote(client, command)
    finally:
        client.close()
    if status == 127:
        raise HlsgenError(f"the board has no '{words[0]}'; give its Python with --python")
    print(f"deploy: the board's self-test and benchmark exited with status {status}"
          f"{' (passed)' if status == 0 else ' (failed)'}")
    return status
