"""A user's project outside this repository, and the installed `harness` run from inside it.

Stores as users write them: Python classes (a file, a package, an installed distribution with
an entry point), Node modules, a TypeScript module, and a protocol speaker in plain Python.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

HARNESS = Path(sys.executable).parent / "harness"
REPO = Path(__file__).resolve().parents[2]
SPEAKER = REPO / "tests" / "workers" / "speaker.py"
NODE_WORKER = REPO / "stores" / "node" / "worker.mjs"
# small and quick: a 30 KB store of the fix's shape, 4 cycles, 1 repeat (gates: inconclusive)
RUN_ARGS = ("--profile", "pr", "--target-kb", "30", "--cycles", "4", "--sample-every", "2",
            "--repeat", "1", "--no-progress")
BROKEN = "raise ImportError('the user project package was imported')\n"

PLAIN_STORE = '''"""Re-reads the file on every load and update; writes atomically under a lock."""
import fcntl
import json
import os
from pathlib import Path


class PlainStore:
    def __init__(self, path, env=None):
        self.path = Path(path)
        self.lock = self.path.parent / ".plain-store-lock"

    def load(self):
        return json.loads(self.path.read_text())

    def update(self, mutator, base_store=None):
        with self.lock.open("a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            store = self.load()
            mutator(store)
            self.save_unlocked(store)
        return {"wrote": True, "reused_base": False}

    def save(self, store):
        with self.lock.open("a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            self.save_unlocked(store)

    def save_unlocked(self, store):
        temporary = self.path.with_name(self.path.name + ".plain")
        temporary.write_text(json.dumps(store, indent=2))
        os.replace(temporary, self.path)
'''

CACHED_STORE = '''"""PlainStore keeping every load it ever made: a leak to find."""
from plain_store import PlainStore


class CachedStore(PlainStore):
    kept = []

    def load(self):
        store = super().load()
        self.kept.append(store)
        return store
'''

# Not examples/node-store/store.mjs: that one writes a temporary file per process, which a
# writer killed by `harness stress` leaves behind; this one reuses one name, so the next writer
# clears it, and the stress test can ask for no leftovers.
NODE_STORE = '''import fs from "node:fs";

// Re-reads the file on every load and update.
export function createStore(path, env) {
  const read = () => JSON.parse(fs.readFileSync(path, "utf8"));
  return {
    load: read,
    update(mutator) {
      const store = read();
      mutator(store);
      fs.writeFileSync(`${path}.node`, JSON.stringify(store, null, 2));
      fs.renameSync(`${path}.node`, path);
      return { wrote: true };
    },
  };
}
'''

NODE_LEAKY_STORE = '''import fs from "node:fs";

// Keeps every store it ever read: a leak to find.
const kept = [];

export function createStore(path, env) {
  const read = () => {
    const store = JSON.parse(fs.readFileSync(path, "utf8"));
    kept.push(store);
    return store;
  };
  return {
    load: read,
    async update(mutator) {
      const store = read();
      mutator(store);
      await fs.promises.writeFile(`${path}.node`, JSON.stringify(store, null, 2));
      await fs.promises.rename(`${path}.node`, path);
    },
  };
}
'''

def make_project(root: Path) -> Path:
    """The user's folder: their stores, and packages named like ours that must never win."""
    root.mkdir(parents=True)
    (root / "plain_store.py").write_text(PLAIN_STORE)
    (root / "myapp").mkdir()
    (root / "myapp" / "__init__.py").write_text("")
    (root / "myapp" / "cached.py").write_text(CACHED_STORE)
    (root / "store.mjs").write_text(NODE_STORE)
    (root / "leaky.mjs").write_text(NODE_LEAKY_STORE)
    shutil.copy(SPEAKER, root / "speaker.py")
    for name in ("harness", "stores", "session_store_harness"):
        (root / name).mkdir()
        (root / name / "__init__.py").write_text(BROKEN)
    return root


def install_distribution(site: Path, entry: str = "teamstore") -> Path:
    """A distribution installed into `site` as pip leaves one: its module and a .dist-info
    whose entry_points.txt registers `entry` in the harness's group."""
    site.mkdir(parents=True)
    (site / "teamstore_pkg.py").write_text(PLAIN_STORE.replace("PlainStore", "TeamStore"))
    info = site / "teamstore_pkg-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: teamstore-pkg\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(
        f"[session_store_harness.stores]\n{entry} = teamstore_pkg:TeamStore\n")
    (info / "RECORD").write_text("")
    return site


def harness(cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The installed `harness`, run from the user's folder."""
    return subprocess.run([str(HARNESS), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text())
