// `latefile`, the last JSON-file design, in Node.js (the Python twin, with the reasons, is
// stores/latefile.py; docs/store-designs.md has its files and settings). Standard library only.
// - The writer reuses its own cached object while the file's inode, mtime, size and bytes still
//   match what it last read or wrote.
// - The serialized cache (one text per entry, per store) is bounded:
//   OPENCLAW_SESSION_SERIALIZED_CACHE_MAX_ENTRIES (64) stores and _MAX_BYTES (64 MiB).
// - An update serializes only the entries its mutator reached (a Proxy copies an entry when first
//   reached) and splices them into the cached text: the bytes JSON.stringify(store, null, 2) of
//   the file's object would write.
// - A skills prompt of 1,024 characters or more lives in skills-prompts/sha256/<2 hex>/<hex>.txt
//   beside the store; the entry holds {"blob": "sha256:<hex>"}; loading resolves it.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { StoreError, decode, envInt, parse, withLock, writeAtomic } from "./sessionStore.mjs";

const MAX_ENTRIES_ENV = "OPENCLAW_SESSION_SERIALIZED_CACHE_MAX_ENTRIES";
const MAX_BYTES_ENV = "OPENCLAW_SESSION_SERIALIZED_CACHE_MAX_BYTES";
export const BLOB_FOLDER = "skills-prompts";
const BLOB_MIN_CHARS = 1024;
const REFERENCE = /^sha256:([0-9a-f]{64})$/;
const MAX_REMEMBERED = 4096;

const sha256 = (text) => crypto.createHash("sha256").update(text, "utf8").digest("hex");
const blobPath = (folder, digest) => path.join(folder, "sha256", digest.slice(0, 2), `${digest}.txt`);
// A lone surrogate cannot be written as UTF-8 and read back: such a prompt stays inline.
const encodable = (text) => text.isWellFormed ? text.isWellFormed() : !/[\ud800-\udfff]/.test(text);

function referenceDigest(value) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== "blob" || typeof value.blob !== "string") return null;
  return REFERENCE.exec(value.blob)?.[1] ?? null;
}

/** The prompt blobs beside one store; one per folder in a process, shared by every instance. */
class Blobs {
  constructor(folder) {
    this.folder = folder;
    this.texts = new Map(); // digest -> text: entries resolved to one prompt share one string
    this.digests = new Map(); // text -> digest: a prompt is hashed once
    this.pending = new Map(); // blobs handed out as references, not yet known to be on disk
    this.onDisk = new Set();
  }

  remember(digest, text) {
    if (this.texts.size >= MAX_REMEMBERED) {
      this.texts.clear();
      this.digests.clear();
    }
    this.texts.set(digest, text);
    this.digests.set(text, digest);
  }

  reference(prompt) {
    let digest = this.digests.get(prompt);
    if (digest === undefined) {
      digest = sha256(prompt);
      this.remember(digest, prompt);
    }
    if (!this.onDisk.has(digest)) this.pending.set(digest, prompt);
    return { blob: `sha256:${digest}` };
  }

  // Written just before the file that refers to them: an update that changes nothing writes none.
  flush() {
    for (const [digest, text] of this.pending) {
      const target = blobPath(this.folder, digest);
      if (!fs.existsSync(target)) writeBlob(target, text);
      this.onDisk.add(digest);
    }
    this.pending.clear();
  }

  text(digest, file) {
    const known = this.texts.get(digest);
    if (known !== undefined && this.onDisk.has(digest)) return known;
    const target = blobPath(this.folder, digest);
    let bytes;
    try {
      bytes = fs.readFileSync(target);
    } catch (error) {
      throw new StoreError(`${file}: skills prompt blob ${target} cannot be read (${error.code ?? error.message})`);
    }
    if (crypto.createHash("sha256").update(bytes).digest("hex") !== digest) {
      throw new StoreError(`${file}: skills prompt blob ${target} does not match its digest`);
    }
    const text = decode(bytes, target);
    this.remember(digest, text);
    this.onDisk.add(digest);
    return text;
  }
}

const blobsByFolder = new Map();
function blobsFor(folder) {
  const key = path.resolve(folder);
  if (!blobsByFolder.has(key)) blobsByFolder.set(key, new Blobs(folder));
  return blobsByFolder.get(key);
}

function writeBlob(target, text) {
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    const tmp = `${target}.${crypto.randomUUID()}.tmp`;
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      fs.writeFileSync(fd, text, "utf8");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (error) {
    if (error.code === "EACCES") throw new StoreError(`${path.dirname(target)}: no permission to write the skills prompt blobs`);
    throw error;
  }
}

function externalized(entry, blobs) {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return entry;
  const snapshot = entry.skillsSnapshot;
  if (snapshot === null || typeof snapshot !== "object" || Array.isArray(snapshot)) return entry;
  const prompt = snapshot.prompt;
  if (typeof prompt !== "string" || prompt.length < BLOB_MIN_CHARS || !encodable(prompt)) return entry;
  return { ...entry, skillsSnapshot: { ...snapshot, prompt: blobs.reference(prompt) } };
}

function resolve(store, blobs, file) {
  for (const entry of Object.values(store)) {
    const snapshot = entry?.skillsSnapshot;
    if (snapshot === null || typeof snapshot !== "object") continue;
    const digest = referenceDigest(snapshot.prompt);
    if (digest !== null) snapshot.prompt = blobs.text(digest, file);
  }
  return store;
}

// One entry's text inside the store (indented 2): JSON strings hold no raw newline, so every
// newline of the entry's own text is one of its layout.
const memberText = (value) => JSON.stringify(value, null, 2)?.replaceAll("\n", "\n  ");
const joinMembers = (pieces) => pieces.length === 0 ? "{}"
  : `{\n  ${pieces.map(([key, text]) => `${JSON.stringify(key)}: ${text}`).join(",\n  ")}\n}`;

/** Stores' texts by path, least recently used out past the entry or byte limit. */
const serializedCache = new Map(); // path -> { version, pieces: [[key, text]], size }
function keepSerialized(file, item) {
  serializedCache.delete(file);
  const maxEntries = envInt(MAX_ENTRIES_ENV, 64);
  const maxBytes = envInt(MAX_BYTES_ENV, 64 * 1024 * 1024);
  if (maxEntries === 0 || item.size > maxBytes) return; // too large: written whole each time
  serializedCache.set(file, item);
  let total = [...serializedCache.values()].reduce((sum, i) => sum + i.size, 0);
  for (const [oldest, old] of serializedCache) {
    if (serializedCache.size <= maxEntries && total <= maxBytes) break;
    serializedCache.delete(oldest);
    total -= old.size;
  }
}
export const serializedPaths = () => [...serializedCache.keys()];

function versionOf(stat) {
  return `${stat.ino}:${stat.mtimeNs}:${stat.size}`;
}

function readVersioned(file) {
  let fd;
  try {
    fd = fs.openSync(file, "r");
  } catch (error) {
    if (error.code === "ENOENT") throw new StoreError(`${file}: store file does not exist`);
    if (error.code === "EACCES") throw new StoreError(`${file}: no permission to read the store file`);
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd, { bigint: true });
    if (stat.isDirectory()) throw new StoreError(`${file}: is a directory, not a store file`);
    return { text: decode(fs.readFileSync(fd), file), version: versionOf(stat) };
  } finally {
    fs.closeSync(fd);
  }
}

// The mutator's view: entries shared with the writer's cache until reached, then copied.
function tracking(entries) {
  const target = { ...entries };
  const touched = new Set();
  const assigned = new Set(); // values the mutator put in: copied when it is done
  const proxy = new Proxy(target, {
    get(object, key, receiver) {
      if (typeof key === "string" && Object.hasOwn(object, key) && !touched.has(key)) {
        touched.add(key);
        object[key] = structuredClone(object[key]);
      }
      return Reflect.get(object, key, receiver);
    },
    set(object, key, value, receiver) {
      touched.add(key);
      assigned.add(key);
      return Reflect.set(object, key, value, receiver);
    },
    defineProperty(object, key, descriptor) {
      touched.add(key);
      assigned.add(key);
      return Reflect.defineProperty(object, key, descriptor);
    },
  });
  // The caller may keep what it put in and change it later: the cache keeps its own copy.
  const settle = () => {
    for (const key of assigned) {
      if (Object.hasOwn(target, key)) setOwn(target, key, structuredClone(target[key]));
    }
  };
  return { proxy, target, touched, settle };
}

function setOwn(store, key, value) {
  Object.defineProperty(store, key, { value, writable: true, enumerable: true, configurable: true });
}

export class LateFileStore {
  constructor(file) {
    this.file = file;
    this.blobs = blobsFor(path.join(path.dirname(file), BLOB_FOLDER));
    this.store = null; // the writer's own object, never handed out
    this.version = null;
  }

  load() {
    const { text } = readVersioned(this.file);
    return resolve(parse(text, this.file), this.blobs, this.file);
  }

  get(key) {
    const current = this.objectFor(this.statVersion());
    let store = current;
    if (store === null) {
      const { text, version } = readVersioned(this.file);
      store = resolve(parse(text, this.file), this.blobs, this.file);
      this.store = store;
      this.version = version;
    }
    return Object.hasOwn(store, key) ? structuredClone(store[key]) : null;
  }

  update(mutator) {
    return withLock(this.file, () => {
      const current = this.current();
      const { proxy, target, touched, settle } = tracking(current.store);
      mutator(proxy);
      settle();
      return this.write(current, target, touched);
    });
  }

  updateEntry(key, mutator) {
    return withLock(this.file, () => {
      const current = this.current();
      let entry = Object.hasOwn(current.store, key) ? structuredClone(current.store[key]) : null;
      const returned = mutator(entry);
      entry = returned === null || returned === undefined ? entry : structuredClone(returned);
      if (entry === null || entry === undefined) return { wrote: false, reusedBase: false };
      const store = { ...current.store };
      setOwn(store, key, entry);
      return this.write(current, store, new Set([key]));
    });
  }

  save(store) {
    return withLock(this.file, () => {
      const own = structuredClone(store); // the caller keeps what it saved
      this.commit(own, this.piecesOf(own, null, new Map()));
    });
  }

  statVersion() {
    try {
      return versionOf(fs.statSync(this.file, { bigint: true }));
    } catch {
      return null;
    }
  }

  objectFor(version) {
    return this.store !== null && version !== null && version === this.version ? this.store : null;
  }

  // Under the lock: our object and text while the file is the one they describe, else a fresh read.
  current() {
    const { text, version } = readVersioned(this.file);
    let store = this.objectFor(version);
    let pieces = null;
    if (store !== null) {
      const cached = serializedCache.get(this.file);
      if (cached && cached.version === version && joinMembers(cached.pieces) === text) {
        serializedCache.delete(this.file); // most recently used
        serializedCache.set(this.file, cached);
        return { store, pieces: new Map(cached.pieces) };
      }
      pieces = this.piecesOf(store, null, new Map());
      if (joinMembers([...pieces]) !== text) store = null;
    }
    if (store === null) {
      store = resolve(parse(text, this.file), this.blobs, this.file);
      pieces = this.piecesOf(store, null, new Map());
    }
    this.store = store;
    this.version = version;
    keepSerialized(this.file, { version, pieces: [...pieces], size: Buffer.byteLength(text) });
    return { store, pieces };
  }

  // Each entry's text in the store's order: again if touched (null: all) or new, else reused.
  piecesOf(store, touched, old) {
    const pieces = new Map();
    for (const key of Object.keys(store)) {
      const reuse = touched !== null && !touched.has(key) && old.has(key);
      const text = reuse ? old.get(key) : memberText(externalized(store[key], this.blobs));
      if (text !== undefined) pieces.set(key, text); // JSON.stringify leaves out undefined
    }
    return pieces;
  }

  write(current, store, touched) {
    const pieces = this.piecesOf(store, touched, current.pieces);
    const before = [...current.pieces];
    const after = [...pieces];
    const same = before.length === after.length &&
      after.every(([key, text], i) => before[i][0] === key && before[i][1] === text);
    if (same) return { wrote: false, reusedBase: false };
    this.commit(store, pieces);
    return { wrote: true, reusedBase: false };
  }

  commit(store, pieces) {
    this.store = null;
    this.version = null;
    this.blobs.flush(); // before the file that refers to them
    const text = joinMembers([...pieces]);
    writeAtomic(this.file, text);
    const version = versionOf(fs.statSync(this.file, { bigint: true }));
    this.store = store;
    this.version = version;
    keepSerialized(this.file, { version, pieces: [...pieces], size: Buffer.byteLength(text) });
  }
}
