"""Python and Node stores write byte-identical files for the same store.

The reference is the gateway's own `JSON.stringify(store, null, 2)`: numbers as
`Number.prototype.toString` writes them, array-index keys first in ascending order, lone
surrogates as `\\udxxx` escapes, and the load migration lowercasing keys that are also names on
`Object.prototype` (`Constructor`, `__PROTO__`).
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from session_store_harness.stores import STORES
from session_store_harness.stores.jsonfile import js_number, serialize_bytes

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

STORE_MODULE = (Path(__file__).resolve().parents[2] / "stores" / "node" / "sessionStore.mjs")

# The store as a file: compact, so that any store's first write rewrites all of it.
SOURCE = r"""{"agent:main:main": {"sessionId": "m", "updatedAt": 1700000000000,
"floats": [1.0, 1e-7, 1e16, 0.1, -0.0, 123456789012345680000, 1e21, 2.5e-8, 5e-324,
1.7976931348623157e308, 0.000001, 100.0, -1.5, 1E2, 0.30000000000000004],
"big": 123456789012345678901, "10": "ten", "2": "two", "b": 1, "1.5": "not an index",
"01": "not an index", "4294967295": "not an index", "4294967294": "the last index"},
"10": {"sessionId": "ten"}, "2": {"sessionId": "two"},
"Constructor": {"sessionId": "c"}, "__PROTO__": {"sessionId": "p"},
"Agent:Main:Mixed": {"sessionId": "x"}, "agent:main:mixed2": {"sessionId": "y"},
"AGENT:MAIN:MIXED2": {"sessionId": "twin kept"},
"agent:main:text": {"sessionId": "t",
"text": "\ud800 \udfff \ud83d\ude00 \u00e9 \u2028 \u0000 \u001f \u007f \" \\ / \t"}}"""

# The same update in both languages: a new array-index key, a new float, a field changed.
NODE_UPDATE = """(s) => {
  s["1"] = { sessionId: "one" };
  s["agent:main:main"].ratio = 0.1 + 0.2;
  s["agent:main:main"]["7"] = 7e-7;
  s["agent:main:main"].label = "updated";
}"""


def python_update(store: dict) -> None:
    store["1"] = {"sessionId": "one"}
    store["agent:main:main"]["ratio"] = 0.1 + 0.2
    store["agent:main:main"]["7"] = 7e-7
    store["agent:main:main"]["label"] = "updated"


def node(script: str, *args: str, stdin: str = "") -> str:
    """Run an ES module script; its arguments are process.argv[1:]."""
    result = subprocess.run(["node", "--input-type=module", "-e", script, "--", *args],
                            input=stdin, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def node_update(store: str, path: Path) -> None:
    node(f"""import {{ STORES }} from {json.dumps(STORE_MODULE.as_uri())};
const outcome = new STORES[process.argv[1]](process.argv[2]).update({NODE_UPDATE});
if (!outcome.wrote) throw new Error("nothing written");""", store, str(path))


def store_file(folder: Path) -> Path:
    folder.mkdir()
    path = folder / "sessions.json"
    path.write_text(SOURCE, encoding="utf-8")
    return path


@pytest.mark.parametrize("store", ["wholefile", "snapshot", "snapshot-lean"])
def test_both_runtimes_write_byte_identical_files(tmp_path: Path, store: str) -> None:
    # GIVEN the same store file for a Python and a Node store of the same kind
    python_file, node_file = store_file(tmp_path / "python"), store_file(tmp_path / "node")
    # WHEN each applies the same update
    python_store = STORES[store](python_file)
    assert python_store.update(python_update, base_store=python_store.load()).wrote
    node_update(store, node_file)
    # THEN the files are byte-identical
    written = python_file.read_bytes()
    assert written == node_file.read_bytes()
    # AND they are what JSON.stringify writes: JavaScript numbers, index keys first, the
    # migration lowercasing `Constructor` and `__PROTO__` too, lone surrogates escaped
    text = written.decode("utf-8")
    assert list(json.loads(text)) == [
        "1", "2", "10", "agent:main:main", "agent:main:mixed2", "AGENT:MAIN:MIXED2",
        "agent:main:text", "constructor", "__proto__", "agent:main:mixed"]
    assert ('"floats": [\n      1,\n      1e-7,\n      10000000000000000,\n      0.1,\n'
            '      0,\n      123456789012345680000,\n      1e+21,\n      2.5e-8,\n'
            '      5e-324,\n      1.7976931348623157e+308,\n      0.000001,\n      100,\n'
            '      -1.5,\n      100,\n      0.30000000000000004\n    ],\n'
            '    "big": 123456789012345680000,\n') in text
    assert '"ratio": 0.30000000000000004' in text
    assert ('"agent:main:main": {\n    "2": "two",\n    "7": 7e-7,\n    "10": "ten",\n'
            '    "4294967294": "the last index",\n    "sessionId": "m"') in text
    assert '"\\ud800 \\udfff \U0001f600 \u00e9 \u2028 \\u0000 \\u001f \x7f \\" \\\\ / \\t"' in text


@pytest.mark.parametrize("store", ["wholefile", "snapshot", "snapshot-lean"])
def test_save_writes_what_the_node_store_writes(tmp_path: Path, store: str) -> None:
    # GIVEN a Python store saved whole and a Node store updated with the same change
    python_file, node_file = store_file(tmp_path / "python"), store_file(tmp_path / "node")
    loaded = STORES[store](python_file).load()
    python_update(loaded)
    STORES[store](python_file).save(dict(loaded))
    node_update(store, node_file)
    # THEN the files are byte-identical, and a Node no-op update leaves the Python file alone
    assert python_file.read_bytes() == node_file.read_bytes()
    before = python_file.read_bytes()
    node(f"""import {{ STORES }} from {json.dumps(STORE_MODULE.as_uri())};
const outcome = new STORES[process.argv[1]](process.argv[2]).update(() => {{}});
if (outcome.wrote) throw new Error("rewrote an unchanged store");""", store, str(python_file))
    assert python_file.read_bytes() == before


DELIVERY = ('{"agent:main:a": {"sessionId": "a", "lastTo": "peer-1", "deliveryContext": '
            '{"channel": "c", "to": "peer-1", "accountId": "default", "threadId": null}}, '
            '"agent:main:b": {"sessionId": "b", "lastTo": "peer-2", "deliveryContext": '
            '{"channel": "c", "to": "peer-2", "threadId": null}}}')


@pytest.mark.parametrize("store", ["wholefile", "snapshot", "snapshot-lean"])
def test_both_runtimes_normalize_delivery_fields_alike(tmp_path: Path, store: str) -> None:
    # GIVEN an update that moves one entry's lastTo
    files = []
    for runtime in ("python", "node"):
        (tmp_path / runtime).mkdir()
        files.append(tmp_path / runtime / "sessions.json")
        files[-1].write_text(DELIVERY, encoding="utf-8")
    python_file, node_file = files
    STORES[store](python_file).update(lambda s: s["agent:main:a"].update(lastTo="peer-9"))
    node(f"""import {{ STORES }} from {json.dumps(STORE_MODULE.as_uri())};
new STORES[process.argv[1]](process.argv[2])
  .update((s) => {{ s["agent:main:a"].lastTo = "peer-9"; }});""",
         store, str(node_file))
    # THEN both write the same bytes: `to` follows lastTo and the null threadId is gone in the
    # entry whose lastTo moved (not in the lean fix, which does not normalize), the other alone
    assert python_file.read_bytes() == node_file.read_bytes()
    written = json.loads(python_file.read_text())
    normalized = {"channel": "c", "to": "peer-9", "accountId": "default"}
    lean = store == "snapshot-lean"
    assert (written["agent:main:a"]["deliveryContext"] == normalized) is not lean
    assert written["agent:main:b"] == json.loads(DELIVERY)["agent:main:b"]


def random_doubles(count: int, seed: int) -> list[float]:
    """Doubles from random bit patterns (every exponent) and decimals of a few digits."""
    rng = random.Random(seed)
    values = []
    while len(values) < count:
        value = struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0]
        if value == value and abs(value) != float("inf"):
            values.append(value)
        values.append(round(rng.uniform(-1e7, 1e7), rng.randint(0, 9)))
        values.append(rng.randint(1, 999) * 10.0 ** rng.randint(-30, 30))
    return values


def test_every_number_is_written_as_javascript_writes_it() -> None:
    edges = [1.0, 1e-7, 1e-6, 1e16, 1e21, 1e20, 0.1, -0.0, 0.0, 5e-324, 2.2250738585072014e-308,
             1.7976931348623157e308, 2.0 ** 53, 2.0 ** 53 + 2, 123456789012345680000.0,
             0.000001234, 1.5e-7, 9.999999999999999e20, 999999999999999900000.0]
    doubles = edges + random_doubles(3000, seed=7)
    written = node("""let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((hex) => String(Buffer.from(hex, "hex").readDoubleBE()));
  process.stdout.write(JSON.stringify(out));
});""", stdin=json.dumps([struct.pack(">d", value).hex() for value in doubles]))
    assert [js_number(value) for value in doubles] == json.loads(written)
    # integers too, which Python keeps exact and JavaScript rounds to a double on parse
    rng = random.Random(3)
    integers = [2 ** 53 - 1, 2 ** 53 + 1, -(2 ** 53) - 1, 10 ** 21, 10 ** 21 + 1, 10 ** 308,
                123456789012345678901, *(rng.getrandbits(bits) for bits in range(54, 1000, 7))]
    written = node("""let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map((s) => String(Number(s)))));
});""", stdin=json.dumps([str(n) for n in integers]))
    assert [js_number(n) for n in integers] == json.loads(written)


def test_every_utf16_code_unit_is_escaped_as_json_stringify_escapes_it(tmp_path: Path) -> None:
    # One string of all 65,536 code units: controls, quotes, lone surrogates, and the one pair
    # that \udbff followed by \udc00 makes
    text = "".join(map(chr, range(0x10000))) + "\U0001f600"
    out = tmp_path / "node.json"
    node("""import fs from "node:fs";
let text = "";
for (let unit = 0; unit < 0x10000; unit++) text += String.fromCharCode(unit);
text += "\\u{1f600}";
fs.writeFileSync(process.argv[1], JSON.stringify({ k: { s: text } }, null, 2), "utf8");""",
         str(out))
    assert serialize_bytes({"k": {"s": text}}) == out.read_bytes()
