"""Azure Blob Storage through adlfs against Azurite: URI mapping, account key
and SAS token, exclusive create and racing writers. The behavioural suite runs
on Azure through ``storage_uri`` as well.
"""

from __future__ import annotations

import datetime
import logging
import threading
import urllib.parse
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
    ValidationError,
    open_storage,
)
from metering_fsspec.backends import spec
from tests.servers.azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteServer

TS = 1755850380


def _data(value: int = 1, self_id: str = "s1") -> MeteringData:
    return MeteringData(
        TS, "tidb", self_id, "pool", [{"cpu": MeteringValue(value, "seconds")}]
    )


def test_uri_maps_to_adlfs_options() -> None:
    got = spec(
        MeteringConfig.from_uri(
            "azure://ctr/prefix?account-name=acct&account-key=S2V5"
            "&endpoint=https://acct.blob.core.windows.net"
        )
    )
    assert (got.protocol, got.root) == ("abfs", "ctr/prefix")
    assert got.options["connection_string"] == (
        "BlobEndpoint=https://acct.blob.core.windows.net;AccountName=acct;"
        "AccountKey=S2V5;"
    )
    plain = spec(MeteringConfig.from_uri("azblob://ctr?account-name=a&sas-token=sv=1"))
    assert plain.options["account_name"] == "a"
    assert plain.options["sas_token"] == "sv=1"
    assert "S2V5" not in repr(got)


def test_account_name_required() -> None:
    with pytest.raises(ValidationError, match="account-name"):
        spec(MeteringConfig.from_uri("azure://ctr/p?account-key=k"))


def test_round_trip_and_no_overwrite(azure_uri: str) -> None:
    writer = MeteringWriter(azure_uri)
    [path] = writer.write(_data(1))
    with pytest.raises(MeteringFileExistsError, match=path):
        writer.write(_data(2))
    assert MeteringReader(azure_uri).read_file(path).data[0]["cpu"]["value"] == 1
    MeteringWriter(azure_uri, Config(overwrite_existing=True)).write(_data(3))
    assert MeteringReader(azure_uri).read_file(path).data[0]["cpu"]["value"] == 3


def test_racing_writers_exactly_one_wins(azure_uri: str) -> None:
    fs = open_storage(azure_uri)
    writers = 8
    barrier = threading.Barrier(writers, timeout=30)
    outcome: dict[int, str] = {}

    def attempt(index: int) -> None:
        barrier.wait()
        try:
            fs.pipe_file("race.bin", f"writer-{index}".encode(), mode="create")
            outcome[index] = "won"
        except FileExistsError:
            outcome[index] = "refused"

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [i for i, result in outcome.items() if result == "won"]
    assert len(outcome) == writers and len(winners) == 1
    assert fs.cat_file("race.bin") == f"writer-{winners[0]}".encode()


def _sas_token() -> str:
    from azure.storage.blob import (
        AccountSasPermissions,
        ResourceTypes,
        generate_account_sas,
    )

    return str(
        generate_account_sas(
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            resource_types=ResourceTypes(service=True, container=True, object=True),
            permission=AccountSasPermissions(
                read=True, write=True, delete=True, list=True, create=True
            ),
            expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
        )
    )


def test_sas_token(
    azurite: AzuriteServer, azure_container: str, caplog: pytest.LogCaptureFixture
) -> None:
    sas = _sas_token()
    uri = (
        f"azblob://{azure_container}/p?account-name={ACCOUNT_NAME}"
        f"&sas-token={urllib.parse.quote(sas, safe='')}&endpoint={azurite.endpoint}"
    )
    caplog.set_level(logging.DEBUG, logger="metering_fsspec")
    config = Config(debug=True)
    [path] = MeteringWriter(uri, config).write(_data(4))
    assert MeteringReader(uri, config).read_file(path).data[0]["cpu"]["value"] == 4
    signature = urllib.parse.parse_qs(sas)["sig"][0]
    assert caplog.records and signature not in caplog.text
    assert signature not in repr(MeteringConfig.from_uri(uri))


def test_wrong_key_is_refused(azurite: AzuriteServer, azure_container: str) -> None:
    bad = urllib.parse.quote("d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=", safe="")
    uri = (
        f"azure://{azure_container}/p?account-name={ACCOUNT_NAME}"
        f"&account-key={bad}&endpoint={azurite.endpoint}"
    )
    with pytest.raises(Exception):  # noqa: B017 - adlfs wraps the 403 variously
        MeteringWriter(uri).write(_data())


def test_no_account_key_in_logs(
    azure_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = Config(debug=True)
    writer = MeteringWriter(azure_uri, config)
    [path] = writer.write(_data())
    with pytest.raises(MeteringFileExistsError) as info:
        writer.write(_data())
    MeteringReader(azure_uri, config).read_file(path)
    text: Any = caplog.text + str(info.value)
    assert caplog.records and ACCOUNT_KEY not in text
