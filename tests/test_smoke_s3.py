from metering_fsspec import MeteringData, MeteringReader, MeteringValue, MeteringWriter


def test_roundtrip(storage_uri: str) -> None:
    data = MeteringData(
        timestamp=1755850380,
        category="tidb",
        self_id="s1",
        data=[{"v": MeteringValue(2**64 - 1, "bytes")}],
    )
    paths = MeteringWriter(storage_uri).write(data)
    got = MeteringReader(storage_uri).read_files(paths)
    assert got[0].data[0]["v"]["value"] == 2**64 - 1
