// `sqlite` in Node.js: one SQLite database per store, a row per session, with the runtime's own
// `node:sqlite` module (Node >= 22.5; no native npm build). The Python twin, with the reasons,
// is stores/sqlite.py; both use the same database, `<path>.db` beside the store's JSON file,
// the same table and the same rules (docs/store-designs.md). On a Node without `node:sqlite`
// creating the store fails with one line saying so, which the harness's preflight reports.
//
// The first open imports the JSON file when the database does not exist. Node's import is not
// streamed (it parses the file whole): `harness import-store` is the streamed path.
import crypto from "node:crypto";
import fs from "node:fs";
import { LockTimeout, StoreError, decode, parse } from "./sessionStore.mjs";

export const NEEDS = "the Node sqlite store needs node:sqlite, Node >= 22.5";
const BUSY_TIMEOUT_MS = 10_000;
const SCHEMA = "CREATE TABLE sessions (key TEXT PRIMARY KEY, entry TEXT NOT NULL, updated_at INTEGER)";

/** `node:sqlite`'s DatabaseSync, or a StoreError naming the Node it is missing from. */
export async function sqliteModule() {
  try {
    return await import("node:sqlite");
  } catch {
    throw new StoreError(`${NEEDS}; this is ${process.version}`);
  }
}

// Rows hold compact JSON, ASCII only, as Python's json.dumps(ensure_ascii=True) writes it.
const entryJson = (entry) => JSON.stringify(entry).replace(/[\u0080-\uffff]/g,
  (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

// SQLite text is UTF-8: a key holding a lone UTF-16 surrogate cannot be a row's key.
function sqliteText(key, file) {
  if (!key.isWellFormed()) {
    throw new StoreError(`${file}: session key ${JSON.stringify(key)} holds a lone UTF-16 surrogate, which SQLite text cannot hold`);
  }
  return key;
}

function updatedAt(entry) {
  const value = entry?.updatedAt;
  return typeof value === "number" && Number.isFinite(value) ? Math.trunc(value) : null;
}

function importJson(DatabaseSync, source, database) {
  let text;
  try {
    text = decode(fs.readFileSync(source), source);
  } catch (error) {
    if (error.code === "ENOENT") throw new StoreError(`${source}: store file does not exist`);
    throw error;
  }
  const store = parse(text, source); // migrated keys, entries checked
  const tmp = `${database}.${crypto.randomUUID()}.tmp`;
  fs.closeSync(fs.openSync(tmp, "wx", 0o600));
  try {
    const db = new DatabaseSync(tmp);
    try {
      db.exec("PRAGMA journal_mode=OFF");
      db.exec(SCHEMA);
      db.exec("PRAGMA user_version=1");
      db.exec("BEGIN");
      const insert = db.prepare("INSERT INTO sessions VALUES (?, ?, ?)");
      for (const [key, entry] of Object.entries(store)) insert.run(sqliteText(key, source), entryJson(entry), updatedAt(entry));
      db.exec("COMMIT");
      db.exec("PRAGMA journal_mode=WAL");
    } finally {
      db.close();
    }
    const fd = fs.openSync(tmp, "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    try {
      fs.linkSync(tmp, database); // never replaces a database made meanwhile
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export class SqliteStore {
  constructor(DatabaseSync, file) {
    this.file = file;
    this.database = `${file}.db`;
    if (!fs.existsSync(this.database)) importJson(DatabaseSync, file, this.database);
    this.db = new DatabaseSync(this.database);
    this.db.exec(`PRAGMA busy_timeout=${BUSY_TIMEOUT_MS}`);
    this.db.exec("PRAGMA journal_mode=WAL");
    this.db.exec("PRAGMA synchronous=FULL");
    this.selectAll = this.db.prepare("SELECT key, entry FROM sessions ORDER BY rowid");
    this.selectOne = this.db.prepare("SELECT entry FROM sessions WHERE key = ?");
    this.insert = this.db.prepare("INSERT INTO sessions VALUES (?, ?, ?)");
    this.change = this.db.prepare("UPDATE sessions SET entry = ?, updated_at = ? WHERE key = ?");
    this.remove = this.db.prepare("DELETE FROM sessions WHERE key = ?");
  }

  rows() {
    return this.selectAll.all().map(({ key, entry }) => [key, entry]);
  }

  // Rows as the JSON stores load them: migrated, integer-like keys first (JavaScript's order).
  storeOf(rows) {
    const store = {};
    for (const [key, entry] of rows) {
      Object.defineProperty(store, key, { value: JSON.parse(entry), writable: true, enumerable: true, configurable: true });
    }
    return parse(JSON.stringify(store), this.database);
  }

  load() {
    return this.storeOf(this.rows());
  }

  get(key) {
    const row = this.selectOne.get(key);
    return row === undefined ? null : JSON.parse(row.entry);
  }

  transaction(body) {
    try {
      this.db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw new LockTimeout(`${this.database}: database still locked by another writer after 10 s (${error.message})`);
    }
    try {
      const result = body();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  update(mutator) {
    return this.transaction(() => {
      const old = this.rows();
      const store = this.storeOf(old);
      mutator(store);
      return { wrote: this.apply(old, store) > 0, reusedBase: false };
    });
  }

  updateEntry(key, mutator) {
    return this.transaction(() => {
      const row = this.selectOne.get(sqliteText(key, this.file));
      let entry = row === undefined ? null : JSON.parse(row.entry);
      const returned = mutator(entry);
      entry = returned ?? entry;
      if (entry === null || entry === undefined) return { wrote: false, reusedBase: false };
      const text = entryJson(entry);
      if (row !== undefined && row.entry === text) return { wrote: false, reusedBase: false };
      if (row === undefined) this.insert.run(key, text, updatedAt(entry));
      else this.change.run(text, updatedAt(entry), key);
      return { wrote: true, reusedBase: false };
    });
  }

  save(store) {
    this.transaction(() => this.apply(this.rows(), store));
  }

  // Only rows that differ are written; a reordered store has its rows written again in order.
  apply(oldRows, store) {
    let old = new Map(oldRows);
    const next = new Map(Object.keys(store).map((key) => [sqliteText(key, this.file), entryJson(store[key])]));
    const kept = [...old.keys()].filter((key) => next.has(key));
    const order = [...next.keys()];
    let changed = 0;
    if (kept.some((key, i) => order[i] !== key)) {
      changed += Number(this.db.prepare("DELETE FROM sessions").run().changes);
      old = new Map();
    }
    for (const key of old.keys()) {
      if (!next.has(key)) changed += Number(this.remove.run(key).changes);
    }
    for (const [key, text] of next) {
      if (!old.has(key)) changed += Number(this.insert.run(key, text, updatedAt(store[key])).changes);
      else if (old.get(key) !== text) changed += Number(this.change.run(text, updatedAt(store[key]), key).changes);
    }
    return changed;
  }
}

/** The store over `file`, once `node:sqlite` is known to be there. */
export async function createSqliteStore(file) {
  const { DatabaseSync } = await sqliteModule();
  return new SqliteStore(DatabaseSync, file);
}
