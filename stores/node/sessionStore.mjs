// The gateway's session stores in Node.js, standard library only, as in
// docs/store-behaviour.md ("Before the fix", "The fix"; differences from the real store in
// "How this repository models it"):
// `wholefile` (before the fix) and `snapshot` (after it). The Python twins are in stores/*.py.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const TTL_ENV = "OPENCLAW_SESSION_CACHE_TTL_MS";
const MAX_BYTES_ENV = "OPENCLAW_SESSION_OBJECT_CACHE_MAX_BYTES";
const LOCK_TIMEOUT_MS = 10_000;
const LOCK_STALE_MS = 30_000;

export class StoreError extends Error {}

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
    if (lower !== key && !(lower in store)) {
      store[lower] = entry;
      delete store[key];
    }
  }
  return store;
}

const serialize = (store) => JSON.stringify(store, null, 2);
const sha256 = (text) => crypto.createHash("sha256").update(text, "utf8").digest("hex");

function writeAtomic(file, text) {
  const tmp = `${file}.${crypto.randomUUID()}.tmp`;
  try {
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      fs.writeSync(fd, text, null, "utf8");
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

function withLock(file, body) {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      const fd = fs.openSync(lock, "wx", 0o600);
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, createdAt: Date.now() }));
      fs.closeSync(fd);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    let holder = {};
    try {
      holder = JSON.parse(fs.readFileSync(lock, "utf8"));
    } catch {
      // a holder killed before it wrote its pid: judged by age below
    }
    let ageMs = 0;
    try {
      ageMs = Date.now() - fs.statSync(lock).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    if (ageMs > LOCK_STALE_MS || (Number.isInteger(holder.pid) && !pidAlive(holder.pid))) {
      fs.rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StoreError(`${lock}: lock still held by pid ${holder.pid ?? "?"} after 10 s`);
    }
    sleepMs(Math.min(1000, 50 * attempt));
  }
  try {
    for (const name of fs.readdirSync(path.dirname(file))) {
      if (name.startsWith(`${path.basename(file)}.`) && name.endsWith(".tmp")) {
        fs.rmSync(path.join(path.dirname(file), name), { force: true }); // a dead writer's
      }
    }
    return body();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Before the fix: deep copies in and out of an object cache, every update re-parses. */
export class WholeFileStore {
  constructor(file) {
    this.file = file;
    this.ttlMs = envInt(TTL_ENV, 45_000);
    this.cached = null;
    this.serializedText = null; // unbounded before the fix
  }

  cacheServes(stat) {
    return this.cached && stat && stat.mtimeMs === this.cached.mtimeMs &&
      stat.size === this.cached.size && Date.now() - this.cached.at < this.ttlMs;
  }

  remember(store, text, stat) {
    this.serializedText = text;
    if (this.ttlMs > 0) {
      this.cached = { store: structuredClone(store), mtimeMs: stat.mtimeMs, size: stat.size, at: Date.now() };
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
    if (this.cacheServes(this.cachedStat())) return structuredClone(this.cached.store);
    const { text, stat } = readFile(this.file);
    const store = parse(text, this.file);
    this.remember(store, text, stat);
    return structuredClone(store);
  }

  update(mutator) {
    return withLock(this.file, () => {
      const { text } = readFile(this.file);
      const store = parse(text, this.file);
      mutator(store);
      const next = serialize(store);
      if (next === text) return { wrote: false, reusedBase: false };
      writeAtomic(this.file, next);
      this.remember(store, next, fs.statSync(this.file));
      return { wrote: true, reusedBase: false };
    });
  }
}

const snapshotSources = new WeakMap(); // loaded store -> {file, size, sha256} of its bytes
const warnedPaths = new Set();

/** After the fix: size-gated object cache, and update reusing an unchanged loaded snapshot. */
export class SnapshotStore extends WholeFileStore {
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
      this.cached = null;
      this.serializedText = null;
      return;
    }
    super.remember(store, text, stat);
  }

  load() {
    let store;
    let text;
    if (this.cacheServes(this.cachedStat())) {
      store = structuredClone(this.cached.store);
      text = this.serializedText; // a cache hit reads nothing from disk
    } else {
      let stat;
      ({ text, stat } = readFile(this.file));
      store = parse(text, this.file);
      this.remember(store, text, stat);
    }
    snapshotSources.set(store, { file: this.file, length: text.length, sha256: sha256(text) });
    return store;
  }

  update(mutator, baseStore) {
    return withLock(this.file, () => {
      const { text } = readFile(this.file);
      const source = baseStore ? snapshotSources.get(baseStore) : undefined;
      const reused = Boolean(source && source.file === this.file &&
        source.length === text.length && source.sha256 === sha256(text));
      const store = reused ? baseStore : parse(text, this.file);
      mutator(store);
      const next = serialize(store);
      const wrote = next !== text;
      if (wrote) {
        writeAtomic(this.file, next);
        this.remember(store, next, fs.statSync(this.file));
      }
      if (reused) snapshotSources.set(baseStore, { file: this.file, length: next.length, sha256: sha256(next) });
      return { wrote, reusedBase: reused };
    });
  }
}

export const STORES = { wholefile: WholeFileStore, snapshot: SnapshotStore };
