"""Shared fixtures. Generic S3 server fixtures live here; their logic is in tests/servers.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clouddrive.drive import Drive
from clouddrive.embedded.launch import ServerInfo
from tests.authkit import AuthServer, run_auth_seaweedfs
from tests.drivekit import Shared
from tests.servers import (
    BACKENDS,
    Backend,
    HasEndpoint,
    MotoServer,
    create_bucket,
    isolate_aws_env,
    run_moto,
    run_seaweedfs,
)


@pytest.fixture(scope="session", autouse=True)
def _isolated_aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fake AWS keys and no user AWS config for the whole session (restored afterwards)."""
    with pytest.MonkeyPatch.context() as mp:
        isolate_aws_env(mp, tmp_path_factory.mktemp("aws"))
        yield


@pytest.fixture(scope="session")
def seaweedfs(
    _isolated_aws_env: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerInfo]:
    """One SeaweedFS server (`weed mini`) for the session; `.endpoint_url`."""
    yield from run_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    """One key-checking SeaweedFS for the session (`tests/authkit.py`)."""
    yield from run_auth_seaweedfs(tmp_path_factory.mktemp("auth-weed"))


@pytest.fixture(scope="session")
def moto_server(_isolated_aws_env: None) -> Iterator[MotoServer]:
    """One moto server for the session; `.endpoint_url`."""
    yield from run_moto()


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def s3_backend(request: pytest.FixtureRequest) -> Backend:
    """Each S3 implementation in turn; only the server a test actually runs on is started."""
    name: str = request.param
    server = request.getfixturevalue("moto_server" if name == "moto" else name)
    return Backend(name, server.endpoint_url)


@pytest.fixture
def make_bucket() -> Callable[..., str]:
    """Factory: `make_bucket(backend_or_endpoint, versioning=True)` -> a fresh bucket's name."""

    def make(target: HasEndpoint | str, versioning: bool = True) -> str:
        return create_bucket(target, versioning=versioning)

    return make


@pytest.fixture
def bucket(seaweedfs: ServerInfo) -> str:
    """A fresh versioned bucket on the session's SeaweedFS."""
    return create_bucket(seaweedfs)


@pytest.fixture
def shared(seaweedfs: ServerInfo, bucket: str) -> Shared:
    """The prefix 'team' of a fresh versioned bucket on SeaweedFS, for drives to share."""
    return Shared(seaweedfs.endpoint_url, bucket)


@pytest.fixture
def two(shared: Shared, tmp_path: Path) -> Iterator[tuple[Drive, Drive]]:
    """ann's and bob's drives (own roots, own state) on the shared prefix."""
    a = shared.drive(tmp_path / "ann", "ann")
    b = shared.drive(tmp_path / "bob", "bob")
    yield a, b
    a.close()
    b.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden transcripts of tests/test_scenarios.py from this run",
    )


#: a test that needs one of these fixtures talks to a real server (SeaweedFS, with or without
#: key checks, or moto), or compares screenshots (about 2 s each): slow by nature
SLOW_FIXTURES = frozenset({"seaweedfs", "moto_server", "s3_backend", "auth_server", "snap_compare"})
#: single slow tests in otherwise quick files (whole slow files say `pytestmark` at the top)
SLOW_TESTS = ("tests/test_cli.py::TestEmbeddedDemo",)  # starts the embedded server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `slow` what the quick loop (`-m "not slow"`) leaves out: every test that needs a
    real S3 server (wherever the need comes from: a fixture of a fixture counts), every
    screenshot comparison, and the tests named in `SLOW_TESTS`."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.nodeid.startswith(
            SLOW_TESTS
        ):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Captured output may hold names that are not UTF-8 (surrogate escapes, on purpose in
    the tests of such names); pytest-xdist sends reports between processes as UTF-8, so
    they are written as backslash escapes there."""
    outcome: Any = yield
    report = outcome.get_result()
    report.sections = [
        (title, text.encode("utf-8", "backslashreplace").decode("utf-8"))
        for title, text in report.sections
    ]
