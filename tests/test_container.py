"""The Docker image, built and run for real with podman (no Docker engine needed).

The image is built from the project's Dockerfile on a local Debian base image (`BASE` build
argument), then run with its own entry point (`monitor run`) against the demo feeds and pages
served on loopback: documents must land in the database on the mounted /data volume, `monitor
health` (and the image's HEALTHCHECK) must pass inside the container, and SIGTERM must stop it
cleanly, with exit code 0, well within the grace period, and a database that passes
`PRAGMA integrity_check`. Then it is started again on the same volume and stopped once more.

A /data the image's user cannot write (a root-owned folder, a root-owned database file, a
read-only mount) ends `monitor run` with exit status 1 and one line naming the fix, and the fix it
names works.

Needs podman and a base image: `../shared/tools/container-base` installs the one and builds the
other (printing its name), and `.ci/run` runs it and passes the name in $MONITOR_TEST_BASE_IMAGE.
Without them those tests are skipped, saying why. The tests of docker-compose.yml (its build
argument and health check, kept equal to the Dockerfile's) and of the LICENSE need neither.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import yaml

from monitor import store
from monitor.config import WebSettings
from monitor.demo_run import demo_root, demo_settings, serve
from monitor.pipeline import poll
from tests.conftest import shipped_concepts
from tests.mail import free_port

ROOT = Path(__file__).parent.parent
BASE_ENV = "MONITOR_TEST_BASE_IMAGE"
IMAGE = "localhost/monitor:test"
UID = 10001  # the image's non-root user (Dockerfile: USER 10001:10001)
GRACE = 15  # seconds `podman stop` waits before SIGKILL, as docker-compose.yml's stop_grace_period
STOP_WITHIN = 11  # the service exits within 10 s of SIGTERM (podman's own overhead aside)
BUILD_TIMEOUT = 1800
FIRST_POLL_TIMEOUT = 150

# sha256 of the Apache License 2.0 as the ASF publishes it (LICENSE-2.0.txt)
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def _needs_podman() -> None:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed: run ../shared/tools/container-base (as .ci/run does)")
    if not os.environ.get(BASE_ENV):
        pytest.skip(
            f"${BASE_ENV} is not set: set it to the image that ../shared/tools/container-base "
            "prints on its last line (as .ci/run does)"
        )


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"podman {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-5000:]}\nstderr:\n{result.stderr[-5000:]}"
        )
    return result


def inspect(container: str, template: str) -> str:
    return podman("inspect", "--format", template, container).stdout.strip()


@dataclass
class Built:
    image: str
    size: int  # bytes, as `podman image inspect` reports it (all layers, the base included)
    base_size: int
    seconds: float


@pytest.fixture(scope="module")
def image() -> Iterator[Built]:
    """The project's Dockerfile built on the local base image; the tag is removed afterwards."""
    _needs_podman()
    base = os.environ[BASE_ENV]
    started = time.monotonic()
    build = ["build", "--format", "docker", "--build-arg", f"BASE={base}", "-t", IMAGE, str(ROOT)]
    result = podman(*build, timeout=BUILD_TIMEOUT, check=False)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        pytest.fail(
            f"podman build exited {result.returncode} after {seconds:.0f} s\n"
            f"{result.stdout[-20000:]}\n{result.stderr[-20000:]}"
        )
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    base_size = int(podman("image", "inspect", "--format", "{{.Size}}", base).stdout)
    try:
        yield Built(IMAGE, size, base_size, seconds)
    finally:
        podman("rmi", IMAGE, check=False)


def _config(base_url: str) -> str:
    """The demo's sources (served at `base_url`) with the shipped concepts, polled every minute."""
    sources = (demo_root() / "sources.toml").read_text(encoding="utf-8")
    return (
        "[fetch]\ndelay = 0\nretries = 1\nbackoff = 0.1\ntimeout = 20\n\n"
        '[schedule]\ntimezone = "Asia/Seoul"\ninterval_minutes = 1\n\n'
        "[service]\nheartbeat_seconds = 5\njitter_seconds = 0\n\n"
        "[extract]\nworkers = 1\n\n"
        + sources.replace("{base}", base_url)
        + "\n"
        + shipped_concepts()
    )


def _query(database: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the service's database from the host, read-only. (Run as root, SQLite gives any -wal
    and -shm file it creates the database file's owner, so the service can still use them.)"""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


# The documents by URL. Not by source or text: the demo's Washington Declaration is both a
# watched page and an item of the White House feed, and with polls running in parallel either
# source may store it first (as a page, with its metadata read, or as the feed's article).
STORED = "SELECT d.url FROM documents d ORDER BY d.url"


def _stored_on_the_host(base_url: str, database: Path) -> list[tuple[object, ...]]:
    """What one poll of the same sources, run here with the same pipeline, stores."""
    with store.open_db(database) as db:
        summary = poll(demo_settings(base_url, database), db)
        assert not summary.errors, summary.errors
    return _query(database, STORED)


def _logs(container: str) -> str:
    result = podman("logs", container, check=False)
    return (result.stdout + result.stderr)[-8000:]


def _wait_for_first_poll(container: str, database: Path, sources: int) -> tuple[int, int, int]:
    """Until every source's first poll job has finished (its articles extracted and stored, not
    only its feed read: `sources.last_success_at` is written when the feed answers); the counts
    of documents, versions and concept mentions then."""
    deadline = time.monotonic() + FIRST_POLL_TIMEOUT
    polled = -1
    while time.monotonic() < deadline:
        if inspect(container, "{{.State.Running}}") != "true":
            pytest.fail(f"the container exited during its first poll:\n{_logs(container)}")
        if database.exists():
            try:
                polled = int(
                    _query(
                        database,
                        "SELECT COUNT(*) FROM jobs WHERE name LIKE 'poll:%' "
                        "AND last_success_at IS NOT NULL",
                    )[0][0]  # type: ignore[call-overload]
                )
                if polled >= sources:
                    row = _query(
                        database,
                        "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM versions),"
                        " (SELECT COUNT(*) FROM mentions)",
                    )[0]
                    return int(row[0]), int(row[1]), int(row[2])  # type: ignore[call-overload]
            except sqlite3.OperationalError:
                pass  # not created or not migrated yet
        time.sleep(1)
    pytest.fail(
        f"{polled} of {sources} sources polled after {FIRST_POLL_TIMEOUT} s:\n{_logs(container)}"
    )


def _wait(what: str, condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {timeout} s for {what}")
        time.sleep(0.5)


def _wait_healthy(container: str, timeout: float = 60) -> None:
    """`monitor health` inside the container, until it passes (the heartbeat may lag the poll)."""
    deadline = time.monotonic() + timeout
    while True:
        result = podman("exec", container, "monitor", "health", check=False)
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(
                f"monitor health exited {result.returncode}: {result.stdout}{result.stderr}\n"
                f"{_logs(container)}"
            )
        time.sleep(2)


def _stop(container: str) -> float:
    """SIGTERM via `podman stop`; the seconds it took. Asserts a clean exit, not a kill."""
    started = time.monotonic()
    podman("stop", "-t", str(GRACE), container, timeout=GRACE + 60)
    seconds = time.monotonic() - started
    assert inspect(container, "{{.State.Running}}") == "false"
    exit_code = inspect(container, "{{.State.ExitCode}}")
    assert exit_code == "0", f"exit code {exit_code} after SIGTERM:\n{_logs(container)}"
    assert seconds < STOP_WITHIN, f"took {seconds:.1f} s to stop after SIGTERM"
    return seconds


def test_image_metadata(image: Built) -> None:
    inspected = json.loads(podman("image", "inspect", image.image).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == f"{UID}:{UID}"
    assert config["Entrypoint"] == ["monitor"] and config["Cmd"] == ["run"]
    assert config["StopSignal"] in ("SIGTERM", "15")
    assert "/data" in config["Volumes"]
    assert config["WorkingDir"] == "/data"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["MONITOR_DB"] == "/data/monitor.db"
    assert env["MONITOR_CONFIG"] == "/config/monitor.toml"
    assert env["MONITOR_IN_CONTAINER"] == "1"  # a /data it cannot write: the fix for here
    assert env["MONITOR_WEB_HOST"] == "0.0.0.0"  # the web view behind the published port
    assert set(config["ExposedPorts"]) == {"8470/tcp"}
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert not [name for name in env if any(s in name for s in ("PASSWORD", "TOKEN", "SECRET"))]
    assert inspected["Healthcheck"]["Test"] == ["CMD", "monitor", "health"]
    # the shipped example config is in place, valid, and readable by the service's user
    check = podman("run", "--rm", "--network=none", image.image, "check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    # the service runs from the virtual environment, as non-root, with no pip to change it
    who = podman(
        "run", "--rm", "--network=none", "--entrypoint", "sh", image.image,
        "-c", "id -u; command -v monitor; test ! -e /opt/venv/bin/pip && echo no-pip",
    ).stdout.split()  # fmt: skip
    assert who == [str(UID), "/opt/venv/bin/monitor", "no-pip"]


WEB_TOKEN = "container-test-token"


def test_service_in_container(
    image: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "monitor.toml"
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the service runs as uid 10001; rootful podman maps it to the same uid
    sources = (demo_root() / "sources.toml").read_text(encoding="utf-8").count("[[sources]]")
    container = f"monitor-test-{uuid.uuid4().hex[:10]}"
    database = data / "monitor.db"
    timings: dict[str, float] = {}

    web_port = free_port()  # the container shares the host's network: any free port of it
    with serve(demo_root()) as base_url:  # 127.0.0.1: the container shares the host's network
        expected = _stored_on_the_host(base_url, tmp_path / "host.db")
        web = f"\n[web]\nenabled = true\nport = {web_port}\n"
        config_file.write_text(_config(base_url) + web, encoding="utf-8")
        config_file.chmod(0o644)
        run = [
            "run", "-d", "--name", container, "--network=host",
            "-v", f"{config_file}:/config/monitor.toml:ro",
            "-v", f"{data}:/data",
            "-e", f"MONITOR_WEB_TOKEN={WEB_TOKEN}",
            image.image,
        ]  # fmt: skip
        podman(*run)
        try:
            started = time.monotonic()
            documents, versions, mentions = _wait_for_first_poll(container, database, sources)
            timings["first poll"] = time.monotonic() - started
            stored = _query(database, STORED)
            assert stored == expected, (
                f"the container stored {len(stored)} documents, the same poll on the host "
                f"{len(expected)}; missing: {sorted(set(expected) - set(stored))[:5]}\n"
                + _logs(container)
            )
            assert versions == documents and mentions > 0
            errors = _query(
                database, "SELECT name, last_error FROM sources WHERE last_error IS NOT NULL"
            )
            assert errors == [], errors
            _wait_healthy(container)
            # the image's own HEALTHCHECK (kept by --format docker) passes too
            check = podman("healthcheck", "run", container, check=False)
            assert check.returncode == 0, check.stdout + check.stderr + _logs(container)
            # the web view listens on 0.0.0.0 inside (the image's MONITOR_WEB_HOST): the token
            # is asked for, and with it the pages answer from the service's own database
            page = f"http://127.0.0.1:{web_port}/sources"
            assert httpx2.get(page, timeout=30).status_code == 401
            answered = httpx2.get(
                page, headers={"Authorization": f"Bearer {WEB_TOKEN}"}, timeout=30
            )
            assert answered.status_code == 200 and "whitehouse" in answered.text, _logs(container)
            # logs go to the container's output, one JSON object a line (not a terminal)
            lines = [line for line in _logs(container).splitlines() if line.startswith("{")]
            assert lines and all(isinstance(json.loads(line), dict) for line in lines[:20])

            timings["first stop"] = _stop(container)
            assert _query(database, "PRAGMA integrity_check") == [("ok",)]

            # started again on the same volume (migrations at start, catch-up), stopped again;
            # healthy once the new process has written its own heartbeat
            first_start = _query(database, "SELECT started_at FROM heartbeat")
            podman("start", container)
            _wait(
                "a new heartbeat",
                lambda: _query(database, "SELECT started_at FROM heartbeat") != first_start,
            )
            _wait_healthy(container)
            timings["second stop"] = _stop(container)
            assert _query(database, "PRAGMA integrity_check") == [("ok",)]
        finally:
            podman("rm", "--force", "--time", "0", container, check=False)
        # the restart found nothing new and stored nothing twice
        assert _query(database, STORED) == expected

    # everything on the volume belongs to the service's user, also the -wal and -shm files that
    # the host's read-only queries may have created
    owners = {path.name: path.stat().st_uid for path in data.iterdir()}
    assert owners and set(owners.values()) == {UID}, owners

    with capsys.disabled():
        print(
            f"\ncontainer: image {image.size / 1e6:.0f} MB ({image.base_size / 1e6:.0f} MB base "
            f"+ {(image.size - image.base_size) / 1e6:.0f} MB), built in {image.seconds:.0f} s; "
            f"{documents} documents, {versions} versions, {mentions} mentions; first poll "
            f"{timings['first poll']:.0f} s; SIGTERM to exit {timings['first stop']:.1f} s "
            f"and {timings['second stop']:.1f} s"
        )


def _database_file(folder: Path) -> None:
    """A real monitor database in `folder`, made here (root-owned when the tests run as root)."""
    with store.open_db(folder / "monitor.db"):
        pass


# How /data is made unwritable for uid 10001: the folder's mode, whether a database file is
# already there (mode 0o644), the volume's options; and what the one line must say.
UNWRITABLE = {
    "folder": (0o755, False, "", ("cannot write the folder /data", f"chown -R {UID} DIR", "--user")),
    "database file": (
        0o777, True, "", ("cannot write the database file /data/monitor.db", f"chown -R {UID} DIR", "--user")
    ),
    "read-only mount": (0o777, False, ":ro", ("/data is mounted read-only", "without `:ro`")),
}  # fmt: skip


def _run_once(image: str, data: Path, *args: str, options: str = "") -> tuple[int, str, str]:
    """The image run to its end with /data on `data`: its exit status, stdout and stderr (the
    container's own, from `podman logs`; podman's messages kept apart)."""
    container = f"monitor-test-{uuid.uuid4().hex[:10]}"
    podman(
        "run", "-d", "--name", container, "--network=none", "--no-healthcheck",
        "-v", f"{data}:/data{options}", *args,
    )  # fmt: skip
    try:
        code = int(podman("wait", container, timeout=120).stdout.strip())
        logs = podman("logs", container, check=False)
        return code, logs.stdout, logs.stderr
    finally:
        podman("rm", "--force", "--time", "0", container, check=False)


@pytest.mark.parametrize("case", list(UNWRITABLE))
def test_a_data_folder_the_user_cannot_write_says_the_fix(
    image: Built, tmp_path: Path, case: str
) -> None:
    mode, with_database, options, says = UNWRITABLE[case]
    data = tmp_path / "data"
    data.mkdir()
    if with_database:
        _database_file(data)
        (data / "monitor.db").chmod(0o644)
    data.chmod(mode)
    if os.geteuid() == 0:
        os.chown(data, 0, 0)
    # the image's own entry point and command: `monitor run`
    code, out, err = _run_once(image.image, data, image.image, options=options)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert code == 1, (code, out, err)
    assert "Traceback" not in out + err
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: /data/monitor.db: "), lines
    for text in says:
        assert text in lines[0], (text, lines[0])
    if options or os.geteuid() != 0:
        return  # (rootless podman maps uids: the host's owner is not the container's)
    # the fixes it names work: `--user` the folder's owner, then `chown -R 10001` the folder
    owner = data.stat()
    ready = _run_once(
        image.image, data, "--user", f"{owner.st_uid}:{owner.st_gid}", image.image, "init"
    )
    assert ready[0] == 0 and "database ready: /data/monitor.db" in ready[1], ready
    for path in [data, *data.iterdir()]:
        os.chown(path, UID, UID)
    ready = _run_once(image.image, data, image.image, "init")
    assert ready[0] == 0 and "database ready: /data/monitor.db" in ready[1], ready


def _healthcheck_of_the_dockerfile() -> tuple[dict[str, str], list[str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    found = re.search(r"^HEALTHCHECK (?P<options>(?:--\S+ )*)CMD (?P<command>\[.*\])$", text, re.M)
    assert found, "the Dockerfile declares no HEALTHCHECK in exec form"
    options = dict(o[2:].split("=", 1) for o in found["options"].split())
    return options, ["CMD", *json.loads(found["command"])]


def test_compose_passes_the_base_image_and_declares_the_health_check() -> None:
    """podman-compose ignores the image's HEALTHCHECK: compose declares the same one itself; and
    the base image is a build argument whose default is the Dockerfile's (the official one)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"]["monitor"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    default = re.search(r"^ARG BASE=(\S+)$", dockerfile, re.M)
    assert default and default[1] == "python:3.11-slim"
    assert service["build"]["args"]["BASE"] == f"${{MONITOR_BASE_IMAGE:-{default[1]}}}"
    options, command = _healthcheck_of_the_dockerfile()
    declared = service["healthcheck"]
    assert declared["test"] == command == ["CMD", "monitor", "health"]
    assert {
        key.replace("_", "-"): str(value) for key, value in declared.items() if key != "test"
    } == options
    # the web view's port, published on the host's loopback only, with its credentials passed
    exposed = re.search(r"^EXPOSE (\d+)$", dockerfile, re.M)
    assert exposed and exposed[1] == str(WebSettings().port)
    assert service["ports"] == [f"127.0.0.1:{exposed[1]}:{exposed[1]}"]
    names = {"MONITOR_WEB_TOKEN", "MONITOR_WEB_USER", "MONITOR_WEB_PASSWORD"}
    assert names <= set(service["environment"])


def test_the_license_pyproject_declares_is_there_in_full() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_0_SHA256, "not the standard text"
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in (ROOT / "Dockerfile").read_text(
        encoding="utf-8"
    )
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(project["urls"])
