// The gateway's session stores in Node.js, standard library only, as in
// docs/store-behaviour.md ("Before the fix", "The fix", "What the real store does per cycle";
// differences from the real store in "How this repository models it"):
// `wholefile` (before the fix), `snapshot` (after it) and `snapshot-lean` (a leaner fix, this
// repository's earlier model of it). The Python twins are in stores/*.py.
// For the same store both languages write byte-identical files (JSON.stringify is the reference;
// tests/integration/test_store_parity.py) and take a stale lock over the same way.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const TTL_ENV = "OPENCLAW_SESSION_CACHE_TTL_MS";
const MAX_BYTES_ENV = "OPENCLAW_SESSION_OBJECT_CACHE_MAX_BYTES";
const LOCK_TIMEOUT_MS = 10_000;
const LOCK_STALE_MS = 30_000;
const NO_PID_GRACE_MS = 1_000;

export class StoreError extends Error {}
// The lock stayed held past the timeout: under heavy contention the lock's design, not a fault.
export class LockTimeout extends StoreError {}

function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return fallback;
  return Number(raw.trim());
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readFile(file) {
  try {
    const fd = fs.openSync(file, "r");
    try {
      const stat = fs.fstatSync(fd);
      if (stat.isDirectory()) throw new StoreError(`${file}: is a directory, not a store file`);
      return { text: decode(fs.readFileSync(fd), file), stat };
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    if (error.code === "ENOENT") throw new StoreError(`${file}: store file does not exist`);
    if (error.code === "EISDIR") throw new StoreError(`${file}: is a directory, not a store file`);
    if (error.code === "EACCES") throw new StoreError(`${file}: no permission to read the store file`);
    throw error;
  }
}

// The gateway reads the file as one string (readFileSync(path, "utf8")), parses that string
// and caches that same string: decoded once here, then parsed, compared and cached as text.
function decode(bytes, file) {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new StoreError(`${file}: starts with a UTF-8 byte order mark, which JSON forbids`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new StoreError(`${file}: not valid UTF-8`);
  }
}

function parse(text, file) {
  let store;
  try {
    store = JSON.parse(text);
  } catch (error) {
    throw new StoreError(`${file}: invalid JSON (${error.message})`);
  }
  if (store === null || typeof store !== "object" || Array.isArray(store)) {
    throw new StoreError(`${file}: root is not a JSON object`);
  }
  for (const key of Object.keys(store)) {
    const entry = store[key];
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw new StoreError(`${file}: entry ${JSON.stringify(key)} is not a JSON object`);
    }
    const lower = key.toLowerCase(); // the gateway's migration: keys are lowercase
    // Own properties only: `in` and plain assignment would see Object.prototype, leaving
    // `Constructor` as it is and turning `__PROTO__` into the store's prototype.
    if (lower !== key && !Object.hasOwn(store, lower)) {
      Object.defineProperty(store, lower, { value: entry, writable: true, enumerable: true,
                                            configurable: true });
      delete store[key];
    }
  }
  return store;
}

// JSON.parse reads any depth, but JSON.stringify and structuredClone recurse and throw a
// RangeError at some thousands of levels (the stack decides): a StoreError naming the file, as
// in the Python stores (which refuse earlier, at their recursion limit). The other RangeError
// they throw is a string over V8's length limit.
function withinStack(file, work) {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const what = /call stack/i.test(error.message) ? "nested too deeply" : "too large to copy or write";
    throw new StoreError(`${file}: ${what} (${error.message})`);
  }
}

const serialize = (store, file) => withinStack(file, () => JSON.stringify(store, null, 2));
const deepCopy = (store, file) => withinStack(file, () => structuredClone(store));
const sha256 = (text) => crypto.createHash("sha256").update(text, "utf8").digest("hex");

// fs.writeSync may write only part of the data (a full disk wrote 65536 of 100000 bytes
// without an error): loop until all is written, so a short file never replaces the store.
function writeAll(fd, data) {
  let offset = 0;
  while (offset < data.length) {
    const written = fs.writeSync(fd, data, offset, data.length - offset);
    if (written <= 0) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    offset += written;
  }
}

function writeAtomic(file, text) {
  const tmp = `${file}.${crypto.randomUUID()}.tmp`;
  try {
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      writeAll(fd, Buffer.from(text, "utf8"));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  const dir = fs.openSync(path.dirname(file), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

// Creates `file` exclusively holding {pid, createdAt}: false if it exists.
function createExclusive(file) {
  let fd;
  try {
    fd = fs.openSync(file, "wx", 0o600);
  } catch (error) {
    if (error.code === "EEXIST") return false;
    if (error.code === "ENOENT") throw new StoreError(`${path.dirname(file)}: store folder does not exist`);
    if (error.code === "EACCES") throw new StoreError(`${file}: no permission to create the lock file`);
    throw error;
  }
  try {
    fs.writeSync(fd, JSON.stringify({ pid: process.pid, createdAt: Date.now() }));
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function readHolder(file) {
  try {
    const holder = JSON.parse(fs.readFileSync(file, "utf8"));
    return holder !== null && typeof holder === "object" ? holder : {};
  } catch {
    return {}; // gone, or a holder killed before it wrote its pid
  }
}

// A lock (or claim) whose holder is dead, or older than 30 s; one without a pid yet after 1 s,
// as in stores/lock.py (a holder killed between create and write leaves it empty).
function isStale(file) {
  let ageMs;
  try {
    ageMs = Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return false; // released meanwhile
  }
  const { pid } = readHolder(file);
  if (!Number.isInteger(pid)) return ageMs > NO_PID_GRACE_MS;
  return ageMs > LOCK_STALE_MS || !pidAlive(pid);
}

function removeIfStale(file) {
  if (isStale(file)) fs.rmSync(file, { force: true });
}

// Judging a lock stale and removing it must be one step. Otherwise two waiters judge the same
// dead lock stale, one removes it, a third writer creates a fresh lock, and the other waiter
// removes that live lock: two writers then hold "the" lock and one sweeps the other's temp file
// (ENOENT on rename). Node has no flock, so the one step is the claim file, created
// exclusively by the single waiter allowed to judge and remove; the Python stores take the same
// claim (stores/lock.py). True if the stale lock was removed.
function takeOverIfStale(lock) {
  const claim = `${lock}.takeover`;
  if (!createExclusive(claim)) {
    removeIfStale(claim); // left by a waiter killed while it judged
    return false;
  }
  try {
    if (!isStale(lock)) return false; // judged again: the lock may have changed hands
    fs.rmSync(lock, { force: true });
    return true;
  } finally {
    fs.rmSync(claim, { force: true });
  }
}

function sweepLeftovers(file) {
  const dir = path.dirname(file);
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(`${path.basename(file)}.`) && name.endsWith(".tmp")) {
      fs.rmSync(path.join(dir, name), { force: true }); // only the holder writes temp files
    }
  }
  removeIfStale(`${file}.lock.takeover`); // a claim is held for microseconds: a dead waiter's
}

function withLock(file, body) {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (let attempt = 1; !createExclusive(lock); attempt++) {
    if (isStale(lock) && takeOverIfStale(lock)) continue;
    if (Date.now() >= deadline) {
      throw new LockTimeout(`${lock}: lock still held by pid ${readHolder(lock).pid ?? "?"} after 10 s`);
    }
    sleepMs(Math.min(1000, 50 * attempt));
  }
  try {
    sweepLeftovers(file);
    return body();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

// The whole-store operations a store counts in `ops`, in the order reports show them: a few
// increments per cycle against operations of milliseconds, so counting is always on.
export const OPS = ["read", "parse", "clone", "stringify", "digest", "write"];

// The gateway's delivery-field normalization on load and save, in place: an entry whose
// `deliveryContext.to` no longer matches its `lastTo` gets `to` following `lastTo` and a null
// `threadId` dropped; consistent entries are left alone, so an update changes only the entries
// whose `lastTo` changed (as stores/jsonfile.py `normalize_delivery`).
function normalizeDelivery(store) {
  for (const entry of Object.values(store)) {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) continue;
    const context = entry.deliveryContext;
    const lastTo = entry.lastTo;
    if (context === null || typeof context !== "object" || Array.isArray(context)) continue;
    if (typeof lastTo !== "string" || context.to === lastTo) continue;
    context.to = lastTo;
    if (Object.hasOwn(context, "threadId") && context.threadId === null) delete context.threadId;
  }
}

/** Before the fix: 3 clones and 1 parse per cycle; every update re-parses under the lock. */
export class WholeFileStore {
  constructor(file) {
    this.file = file;
    this.ttlMs = envInt(TTL_ENV, 45_000);
    this.cached = null;
    this.serializedText = null; // unbounded before the fix
    this.ops = Object.fromEntries(OPS.map((name) => [name, 0]));
  }

  // ---- the whole-store operations, each counted once ----
  read() {
    this.ops.read++;
    return readFile(this.file);
  }

  parse(text) {
    this.ops.parse++;
    const store = parse(text, this.file);
    if (this.normalizes) normalizeDelivery(store);
    return store;
  }

  clone(store) {
    this.ops.clone++;
    return deepCopy(store, this.file);
  }

  stringify(store) {
    this.ops.stringify++;
    return serialize(store, this.file);
  }

  digest(text) {
    this.ops.digest++;
    return sha256(text);
  }

  write(text) {
    this.ops.write++;
    writeAtomic(this.file, text);
  }

  get normalizes() {
    return true;
  }

  cacheServes() {
    const stat = this.cachedStat();
    return this.cached && stat && stat.mtimeMs === this.cached.mtimeMs &&
      stat.size === this.cached.size && Date.now() - this.cached.at < this.ttlMs;
  }

  remember(store, text, stat) {
    this.serializedText = text;
    if (this.ttlMs > 0) {
      let copy;
      try {
        copy = this.clone(store);
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        this.cached = null; // too deep to copy, maybe after a write: serve it from disk
        return;
      }
      this.cached = { store: copy, mtimeMs: stat.mtimeMs, size: stat.size, at: Date.now() };
    }
  }

  cachedStat() {
    try {
      return fs.statSync(this.file);
    } catch {
      return null; // reported by the read that follows
    }
  }

  load() {
    if (this.cacheServes()) return this.clone(this.cached.store);
    const { text, stat } = this.read();
    const store = this.parse(text);
    this.remember(store, text, stat);
    return this.clone(store);
  }

  update(mutator) {
    return withLock(this.file, () => {
      const { text } = this.read();
      this.serializedText = text; // the text under the lock is what a write is compared with
      const store = this.clone(this.parse(text)); // the real read clones even with no cache
      mutator(store);
      const wrote = this.persist(store, text) !== null;
      return { wrote, reusedBase: false };
    });
  }

  // Write the store unless the file already holds exactly it; the text written, or null.
  persist(store, onDisk) {
    if (this.normalizes) normalizeDelivery(store);
    const next = this.stringify(store);
    if (next === onDisk) return null;
    this.write(next);
    this.remember(store, next, fs.statSync(this.file));
    return next;
  }
}

const warnedPaths = new Set();

/** `wholefile` whose object and text caches hold only stores up to the size limit. */
class GatedCacheStore extends WholeFileStore {
  constructor(file) {
    super(file);
    this.maxCacheBytes = envInt(MAX_BYTES_ENV, 1_000_000);
  }

  cacheable(size) {
    if (this.maxCacheBytes === 0 || this.ttlMs <= 0) return false;
    if (size <= this.maxCacheBytes) return true;
    if (!warnedPaths.has(this.file)) {
      warnedPaths.add(this.file);
      process.stderr.write(`[session-store] ${this.file} is ${size} bytes, over the object cache limit of ${this.maxCacheBytes} bytes: not caching it (set ${MAX_BYTES_ENV} to change the limit, 0 disables the cache)\n`);
    }
    return false;
  }

  remember(store, text, stat) {
    if (!this.cacheable(stat.size)) {
      this.cached = null; // nothing of an oversized store is kept: its snapshot has a digest
      this.serializedText = null;
      return;
    }
    super.remember(store, text, stat);
  }
}

// loaded store -> {file, text} (a store small enough to cache) or {file, digest} (a larger one)
const snapshotSources = new WeakMap();

/** After the fix, as the real store does it: every load clones; an update with the caller's
 * snapshot stringifies and hashes it (unchanged by the caller?), re-reads and hashes the file
 * (unchanged by others?), works on a clone, and clones every entry back into the snapshot. */
export class SnapshotStore extends GatedCacheStore {
  load() {
    let store;
    let source;
    if (this.cacheServes()) {
      store = this.clone(this.cached.store);
      source = { file: this.file, text: this.serializedText }; // a cache hit reads nothing
    } else {
      const { text, stat } = this.read();
      const parsed = this.parse(text);
      this.remember(parsed, text, stat);
      store = this.clone(parsed);
      source = this.serializedText !== null ? { file: this.file, text }
        : { file: this.file, digest: this.digest(text) };
    }
    snapshotSources.set(store, source);
    return store;
  }

  update(mutator, baseStore) {
    return withLock(this.file, () => {
      const source = baseStore ? snapshotSources.get(baseStore) : undefined;
      const reused = Boolean(source) && this.unchanged(baseStore, source);
      const work = reused ? this.clone(baseStore) : this.readFresh();
      mutator(work);
      const written = this.persist(work, this.diskText());
      if (reused && written !== null) this.cloneBack(baseStore, work, written);
      return { wrote: written !== null, reusedBase: reused };
    });
  }

  // Whether neither the caller nor another writer changed `base` since it was loaded.
  unchanged(base, source) {
    if (source.file !== this.file || !this.matches(source, this.stringify(base))) {
      return false; // the caller changed its snapshot: it is left as it is
    }
    const { text } = this.read();
    if (!this.matches(source, text)) return false;
    // the text of a small store is cached; a large store's is dropped here and read again for
    // the save's comparison, as the real store does
    this.serializedText = source.text !== undefined ? text : null;
    return true;
  }

  matches(source, text) {
    if (source.text !== undefined) return text === source.text;
    return this.digest(text) === source.digest;
  }

  // The real store's load with the cache skipped: read, parse, and the returned clone.
  readFresh() {
    const { text } = this.read();
    this.serializedText = this.cacheable(Buffer.byteLength(text, "utf8")) ? text : null;
    return this.clone(this.parse(text));
  }

  // What the file holds under the lock, to skip writing an unchanged store.
  diskText() {
    if (this.serializedText !== null) return this.serializedText;
    return fs.existsSync(this.file) ? this.read().text : null;
  }

  // Make the caller's snapshot the store just written, each entry a clone of its own.
  cloneBack(base, work, written) {
    this.ops.clone++; // entry by entry, a whole store's worth
    const fresh = withinStack(this.file, () => Object.entries(work).map(
      ([key, entry]) => [key, structuredClone(entry)]));
    for (const key of Object.keys(base)) delete base[key];
    for (const [key, entry] of fresh) {
      // own properties, as JSON.parse makes them: plain assignment would turn `__proto__`
      // into the snapshot's prototype
      Object.defineProperty(base, key, { value: entry, writable: true, enumerable: true,
                                         configurable: true });
    }
    snapshotSources.set(base, this.serializedText !== null ? { file: this.file, text: written }
      : { file: this.file, digest: this.digest(written) });
  }
}

const leanSources = new WeakMap(); // loaded store -> {file, length, sha256} of its bytes

/** A leaner fix than the real one (`snapshot-lean`): load returns the parsed store itself and
 * update runs the mutator on the caller's snapshot in place when the file still hashes to the
 * bytes it was parsed from; no clone, no check of the caller's changes, no normalization. */
export class SnapshotLeanStore extends GatedCacheStore {
  get normalizes() {
    return false;
  }

  load() {
    let store;
    let text;
    if (this.cacheServes()) {
      store = this.clone(this.cached.store);
      text = this.serializedText; // a cache hit reads nothing from disk
    } else {
      let stat;
      ({ text, stat } = this.read());
      store = this.parse(text);
      this.remember(store, text, stat);
    }
    leanSources.set(store, { file: this.file, length: text.length, sha256: this.digest(text) });
    return store;
  }

  update(mutator, baseStore) {
    return withLock(this.file, () => {
      const { text } = this.read();
      const source = baseStore ? leanSources.get(baseStore) : undefined;
      const reused = Boolean(source && source.file === this.file &&
        source.length === text.length && source.sha256 === this.digest(text));
      const store = reused ? baseStore : this.parse(text);
      mutator(store);
      const written = this.persist(store, text);
      if (reused && written !== null) {
        leanSources.set(baseStore, { file: this.file, length: written.length, sha256: this.digest(written) });
      }
      return { wrote: written !== null, reusedBase: reused };
    });
  }
}

export const STORES = { wholefile: WholeFileStore, snapshot: SnapshotStore,
                        "snapshot-lean": SnapshotLeanStore };

// Shared with the later designs (latefile.mjs, sqlite.mjs): one reader, parser, lock and writer.
export { decode, envInt, parse, withLock, writeAtomic };
