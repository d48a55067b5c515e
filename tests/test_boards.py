"""The board database: every shipped file is valid, every defect is refused."""

import dataclasses
import json
import re

import pytest

from hlsgen.platform.boards import (
    BOARDS_DIR,
    Board,
    format_boards_table,
    list_boards,
    load_board,
    load_board_file,
)
from hlsgen.errors import HlsgenError

EXPECTED = [
    "alveo-u250",
    "aup-zu3",
    "kv260",
    "pynq-z1",
    "pynq-z2",
    "rfsoc4x2",
    "ultra96-v2",
    "zcu102",
    "zcu104",
]


def _good() -> dict:
    return json.loads((BOARDS_DIR / "pynq-z2.json").read_text())


def _write(tmp_path, data, stem="pynq-z2"):
    path = tmp_path / f"{stem}.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _refused(path) -> str:
    with pytest.raises(HlsgenError) as info:
        load_board_file(path)
    message = str(info.value)
    assert "\n" not in message
    assert path.name in message
    return message


# --- the shipped database -------------------------------------------------


def test_exactly_the_expected_board_files():
    assert sorted(p.stem for p in BOARDS_DIR.glob("*.json")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_every_board_file_loads_and_name_is_stem(name):
    board = load_board_file(BOARDS_DIR / f"{name}.json")
    assert isinstance(board, Board)
    assert board.name == name
    assert load_board(name) == board


@pytest.mark.parametrize("name", EXPECTED)
def test_resource_counts_are_consistent(name):
    b = load_board(name)
    # 7-series and UltraScale+ CLBs hold two flip-flops per LUT.
    assert b.ff == 2 * b.lut
    assert b.bram18 % 2 == 0
    # Zynq-7000 and the EG parts (ZU3EG, ZU9EG) have no UltraRAM; the rest do.
    assert (b.uram == 0) == (name in {"pynq-z1", "pynq-z2", "ultra96-v2", "aup-zu3", "zcu102"})


def test_known_values():
    z2 = load_board("pynq-z2")
    assert (z2.part, z2.lut, z2.dsp, z2.bram18, z2.uram) == ("xc7z020clg400-1", 53200, 220, 280, 0)
    assert z2.board_part == "tul.com.tw:pynq-z2:part0:1.0"
    assert z2.clock_mhz == 100.0 and isinstance(z2.clock_mhz, float)
    u250 = load_board("alveo-u250")
    assert (u250.dsp, u250.bram18, u250.uram, u250.ps_family) == (12288, 5376, 1280, "alveo")


def test_list_boards_sorted_and_complete():
    assert [b.name for b in list_boards()] == EXPECTED


def test_table_lists_all_boards():
    table = format_boards_table(list_boards())
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["board", "part", "PS"]
    assert set(lines[1]) <= {"-", " "}
    assert [line.split()[0] for line in lines[2:]] == EXPECTED
    z2 = next(line for line in lines if line.startswith("pynq-z2 "))
    assert z2.split() == [
        "pynq-z2", "xc7z020clg400-1", "zynq-7000", "53200", "106400", "220",
        "280", "0", "100", "2.1", "3.0.1",
    ]
    # Columns are aligned: the rule's dash runs delimit every cell of every row.
    spans = [m.span() for m in re.finditer(r"-+", lines[1])]
    assert len(spans) == 11
    for line in lines[2:]:
        cells = [line[a:b].strip() for a, b in spans]
        assert cells == line.split()
    # Numbers are right-aligned: the LUT cell's last character is a digit.
    lut_end = spans[3][1]
    assert all(line[lut_end - 1].isdigit() for line in lines[2:])


def test_board_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_board("kv260").lut = 1


# --- lookup by name or path -----------------------------------------------


def test_unknown_board_lists_known_boards():
    with pytest.raises(HlsgenError) as info:
        load_board("foo")
    message = str(info.value)
    assert message.startswith("unknown board 'foo'; known boards: ")
    for name in EXPECTED:
        assert name in message
    assert "hlsgen boards" in message


def test_lookup_is_case_insensitive():
    assert load_board("PYNQ-Z2").name == "pynq-z2"


def test_load_by_path(tmp_path):
    assert load_board(str(_write(tmp_path, _good()))).name == "pynq-z2"
    assert load_board(BOARDS_DIR / "zcu104.json").name == "zcu104"


def test_missing_path(tmp_path):
    with pytest.raises(HlsgenError, match="not found"):
        load_board(tmp_path / "nope.json")


# --- corrupted copies are refused -----------------------------------------


def test_good_copy_loads(tmp_path):
    assert load_board_file(_write(tmp_path, _good())) == load_board("pynq-z2")


def test_board_part_may_be_null(tmp_path):
    data = _good()
    data["board_part"] = None
    assert load_board_file(_write(tmp_path, data)).board_part is None


@pytest.mark.parametrize("field", ["lut", "part", "ps_family", "board_part", "source"])
def test_missing_field(tmp_path, field):
    data = _good()
    del data[field]
    message = _refused(_write(tmp_path, data))
    assert f"missing field {field!r}" in message


def test_extra_field(tmp_path):
    data = _good()
    data["luts"] = 1
    assert "unknown field 'luts'" in _refused(_write(tmp_path, data))


def test_malformed_json(tmp_path):
    text = json.dumps(_good()).replace('"lut": 53200,', '"lut": 53200,,')
    message = _refused(_write(tmp_path, text))
    assert "malformed JSON at line 1" in message


def test_not_an_object(tmp_path):
    assert "one JSON object" in _refused(_write(tmp_path, "[1, 2]"))


def test_duplicate_key(tmp_path):
    text = json.dumps(_good())[:-1] + ', "lut": 1}'
    assert "duplicate field 'lut'" in _refused(_write(tmp_path, text))


@pytest.mark.parametrize(
    "field, value",
    [
        ("lut", "abc"),
        ("lut", 0),
        ("ff", -5),
        ("ff", 1.5),
        ("dsp", True),  # bool is not an int here
        ("bram18", 281),  # odd: not 2 x BRAM36
        ("uram", -1),
        ("uram", False),
        ("clock_mhz", 0),
        ("clock_mhz", "100"),
        ("ddr_bandwidth_gbps", True),
        ("description", ""),
        ("source", 7),
        ("pynq_image", "latest"),
        ("board_part", 3),
    ],
)
def test_bad_value(tmp_path, field, value):
    data = _good()
    data[field] = value
    message = _refused(_write(tmp_path, data))
    assert f"field {field!r} must be" in message
    assert repr(value) in message


def test_message_format(tmp_path):
    data = _good()
    data["lut"] = "abc"
    message = _refused(_write(tmp_path, data))
    assert message.endswith("field 'lut' must be a positive integer, got 'abc'")
    assert message.startswith("board file ")


def test_uram_zero_is_allowed(tmp_path):
    data = _good()
    data["uram"] = 0
    assert load_board_file(_write(tmp_path, data)).uram == 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", 'pynq"z2'),
        ("name", "pynq;z2"),
        ("name", "pynq z2"),
        ("name", "-pynq"),
        ("part", "xc7z020clg400-1; exit"),
        ("part", "xc7z020[exec]"),
        ("board_part", 'tul.com.tw:pynq-z2:part0:1.0"'),
    ],
)
def test_unsafe_identifiers(tmp_path, field, value):
    data = _good()
    data[field] = value
    message = _refused(_write(tmp_path, data))
    assert f"field {field!r} must be letters, digits" in message


def test_name_must_match_file_stem(tmp_path):
    data = _good()
    data["name"] = "pynq-z1"
    message = _refused(_write(tmp_path, data))
    assert "field 'name' must be the file name without '.json' ('pynq-z2')" in message


def test_unknown_ps_family(tmp_path):
    data = _good()
    data["ps_family"] = "versal"
    message = _refused(_write(tmp_path, data))
    assert "field 'ps_family' must be one of 'alveo', 'zynq-7000', 'zynq-ultrascale+'" in message
    assert "'versal'" in message


def test_unreadable_file(tmp_path):
    assert "cannot be read" in _refused(tmp_path / "pynq-z2.json")
