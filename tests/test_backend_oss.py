"""OSS through ossfs against the local OSS-dialect server: URI mapping,
exclusive create with ``x-oss-forbid-overwrite``, racing writers, ``exists()``
and credentials (static keys, STS token). The behavioural suite runs on OSS
through ``storage_uri`` as well.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from metering_fsspec import (
    Config,
    MeteringConfig,
    MeteringData,
    MeteringFileExistsError,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    StorageError,
    ValidationError,
    open_storage,
)
from metering_fsspec.backends import spec
from metering_fsspec.backends.oss import MeteringOSSFileSystem
from metering_fsspec.storage import to_upath
from tests.servers.fixtures import OSS_KEY, OSS_REGION, OSS_SECRET
from tests.servers.oss import OSSServer

TS = 1755850380


def _data(self_id: str = "s1", value: int = 1) -> MeteringData:
    return MeteringData(
        TS, "tidb", self_id, "pool", [{"cpu": MeteringValue(value, "seconds")}]
    )


def _base(fs: Any) -> tuple[MeteringOSSFileSystem, str]:
    return fs.fs, fs.path


# -- mapping -------------------------------------------------------------------


def test_region_maps_to_public_endpoint() -> None:
    got = spec(MeteringConfig.from_uri("oss://b/p?region-id=oss-cn-hangzhou"))
    assert got.protocol == "meteringoss"
    assert got.root == "b/p"
    assert got.options["endpoint"] == "https://oss-cn-hangzhou.aliyuncs.com"
    bare = spec(MeteringConfig.from_uri("oss://b?region=cn-beijing"))
    assert bare.options["endpoint"] == "https://oss-cn-beijing.aliyuncs.com"


def test_endpoint_keys_token_and_role_map_to_options() -> None:
    got = spec(
        MeteringConfig.from_uri(
            "oss://b/p?region-id=oss-cn-hangzhou&endpoint=http://10.0.0.1:9000"
            "&access-key=AK&secret-access-key=SK&session-token=TOK"
            "&role-arn=acs:ram::1:role/R"
        )
    )
    assert got.options == {
        "endpoint": "http://10.0.0.1:9000",
        "key": "AK",
        "secret": "SK",
        "token": "TOK",
        "role_arn": "acs:ram::1:role/R",
    }
    assert "SK" not in repr(got) and "TOK" not in repr(got)


def test_config_file_section_maps_like_the_uri(tmp_path: Any) -> None:
    path = tmp_path / "oss.json"
    path.write_text(
        '{"type": "oss", "region": "oss-cn-hangzhou", "bucket": "b",'
        ' "prefix": "metering-data", "oss": {"access-key": "AK",'
        ' "secret-access-key": "SK"}}'
    )
    got = spec(MeteringConfig.load(path))
    assert got.root == "b/metering-data"
    assert got.options["key"] == "AK"


def test_region_or_endpoint_required() -> None:
    with pytest.raises(ValidationError, match="region-id"):
        spec(MeteringConfig.from_uri("oss://b/p?access-key=AK&secret-access-key=SK"))


# -- writing -------------------------------------------------------------------


def test_round_trip_and_no_overwrite(oss_uri: str, oss_server: OSSServer) -> None:
    writer = MeteringWriter(oss_uri)
    [path] = writer.write(_data())
    assert MeteringReader(oss_uri).read_file(path).data == [
        {"cpu": {"value": 1, "unit": "seconds"}}
    ]
    with pytest.raises(MeteringFileExistsError, match=path):
        writer.write(_data(value=2))
    assert MeteringReader(oss_uri).read_file(path).data[0]["cpu"]["value"] == 1
    puts = [r for r in oss_server.dialect.requests if r.method in ("PUT", "POST")]
    assert puts, "no write reached the server"
    # Never the append path (ossfs' open("wb")): no ?append, no ?position.
    assert not [r for r in puts if "append" in r.query or "position" in r.query]


def test_overwrite_replaces_with_one_put(oss_uri: str, oss_server: OSSServer) -> None:
    writer = MeteringWriter(oss_uri, Config(overwrite_existing=True))
    [path] = writer.write(_data(value=1))
    writer.write(_data(value=2))
    assert MeteringReader(oss_uri).read_file(path).data[0]["cpu"]["value"] == 2
    queries = [r.query for r in oss_server.dialect.requests]
    assert not [q for q in queries if "append" in q]


def test_create_mode_refuses_existing_object(oss_uri: str) -> None:
    fs, root = _base(open_storage(oss_uri))
    fs.pipe_file(f"{root}/x.bin", b"first", mode="create")
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{root}/x.bin", b"second", mode="create")
    assert fs.cat_file(f"{root}/x.bin") == b"first"
    fs.pipe_file(f"{root}/x.bin", b"third")  # overwrite mode
    assert fs.cat_file(f"{root}/x.bin") == b"third"


def test_racing_writers_exactly_one_wins(oss_uri: str) -> None:
    fs, root = _base(open_storage(oss_uri))
    path = f"{root}/race.bin"
    writers = 8
    barrier = threading.Barrier(writers, timeout=30)
    outcome: dict[int, str] = {}

    def attempt(index: int) -> None:
        barrier.wait()
        try:
            fs.pipe_file(path, f"writer-{index}".encode(), mode="create")
            outcome[index] = "won"
        except FileExistsError:
            outcome[index] = "refused"

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [i for i, result in outcome.items() if result == "won"]
    assert len(outcome) == writers
    assert len(winners) == 1
    assert fs.cat_file(path) == f"writer-{winners[0]}".encode()


def test_concurrent_metering_writers_one_succeeds(oss_uri: str) -> None:
    errors: list[BaseException] = []
    done: list[list[str]] = []
    barrier = threading.Barrier(4, timeout=30)

    def write(value: int) -> None:
        writer = MeteringWriter(oss_uri)
        barrier.wait()
        try:
            done.append(writer.write(_data(value=value)))
        except MeteringFileExistsError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(done) == 1 and len(errors) == 3


# -- exists --------------------------------------------------------------------


def test_exists_object_missing_object_and_folder(oss_uri: str) -> None:
    fs, root = _base(open_storage(oss_uri))
    fs.pipe_file(f"{root}/dir/a.bin", b"a", mode="create")
    assert fs.exists(f"{root}/dir/a.bin") is True
    assert fs.exists(f"{root}/dir/missing.bin") is False
    assert fs.exists(f"{root}/dir") is True
    assert fs.exists(root.split("/")[0]) is True


def test_exists_missing_bucket_is_an_error(oss_server: OSSServer, oss_uri: str) -> None:
    fs, _ = _base(open_storage(oss_uri))
    with pytest.raises(StorageError, match="no-such-bucket-x.*does not exist"):
        fs.exists("no-such-bucket-x/metering/file.json.gz")
    assert fs.exists("no-such-bucket-x") is False


def test_exists_when_bucket_info_is_denied(oss_server: OSSServer, oss_uri: str) -> None:
    fs, root = _base(open_storage(oss_uri))
    fs.pipe_file(f"{root}/a.bin", b"a", mode="create")
    oss_server.dialect.deny_bucket_info = True
    # Objects are checked without GetBucketInfo: right answers, not False.
    assert fs.exists(f"{root}/a.bin") is True
    assert fs.exists(f"{root}/b.bin") is False
    with pytest.raises(StorageError, match="access denied"):
        fs.exists(root.split("/")[0])


def test_exists_with_rejected_credentials_is_an_error(
    oss_server: OSSServer, oss_uri: str
) -> None:
    fs, root = _base(open_storage(oss_uri))
    oss_server.dialect.credentials = {"someone-else": ""}
    with pytest.raises(StorageError, match="InvalidAccessKeyId"):
        fs.exists(f"{root}/a.bin")


# -- credentials ---------------------------------------------------------------


def test_static_sts_token_is_sent(oss_server: OSSServer, oss_bucket: str) -> None:
    token = "static-sts-token-do-not-log"
    uri = (
        f"oss://{oss_bucket}/p?region-id={OSS_REGION}&endpoint={oss_server.endpoint}"
        f"&access-key={OSS_KEY}&secret-access-key={OSS_SECRET}&session-token={token}"
    )
    oss_server.dialect.credentials = {OSS_KEY: token}
    oss_server.dialect.requests.clear()  # the fixture's CreateBucket
    [path] = MeteringWriter(uri).write(_data())
    MeteringReader(uri).read_file(path)
    seen = oss_server.dialect.requests
    assert seen and {(r.access_key_id, r.security_token) for r in seen} == {
        (OSS_KEY, token)
    }


def test_wrong_token_is_refused(oss_server: OSSServer, oss_bucket: str) -> None:
    uri = (
        f"oss://{oss_bucket}/p?region-id={OSS_REGION}&endpoint={oss_server.endpoint}"
        f"&access-key={OSS_KEY}&secret-access-key={OSS_SECRET}&session-token=old"
    )
    oss_server.dialect.credentials = {OSS_KEY: "current"}
    with pytest.raises(OSError):
        MeteringWriter(uri).write(_data())


def test_anonymous_option(oss_server: OSSServer, oss_bucket: str) -> None:
    fs = MeteringOSSFileSystem(endpoint=oss_server.endpoint, anon=True)
    fs.exists(f"{oss_bucket}/x")
    assert oss_server.dialect.requests[-1].access_key_id == ""


def test_to_upath_uses_the_metering_filesystem(oss_uri: str) -> None:
    path = to_upath(oss_uri)
    assert isinstance(path.fs, MeteringOSSFileSystem)
    MeteringWriter(oss_uri).write(_data())
    assert any(p.name.endswith(".json.gz") for p in path.rglob("*"))


def test_no_secret_in_logs(
    oss_server: OSSServer, oss_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = "sts-token-never-logged"
    uri = (
        f"oss://{oss_bucket}/p?region-id={OSS_REGION}&endpoint={oss_server.endpoint}"
        f"&access-key={OSS_KEY}&secret-access-key={OSS_SECRET}&session-token={token}"
    )
    caplog.set_level(logging.DEBUG)
    config = Config(debug=True)
    writer = MeteringWriter(uri, config)
    [path] = writer.write(_data())
    with pytest.raises(MeteringFileExistsError) as info:
        writer.write(_data())
    MeteringReader(uri, config).read_file(path)
    text = caplog.text + str(info.value) + repr(MeteringConfig.from_uri(uri))
    assert caplog.records
    assert OSS_SECRET not in text and token not in text
