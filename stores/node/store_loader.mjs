// How the Node worker and the Node stress writer get a store: a built-in by name, or a user's
// module exporting `createStore(path, env)` (docs/store-interface.md). Both arrive in the one
// adapter shape, an object with `load()` and `update(mutator, baseStore)`, so the worker has one
// path. `update` may return `{ wrote, reusedBase }`; a missing field means wrote = true,
// reusedBase = false. Either method, and `createStore`, may return a promise. Standard library
// only.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { LateFileStore } from "./latefile.mjs";
import { STORES, StoreError } from "./sessionStore.mjs";
import { createSqliteStore, sqliteModule } from "./sqlite.mjs";

export const BUILTINS = {
  ...Object.fromEntries(Object.entries(STORES).map(([name, Store]) => [name, (file) => new Store(file)])),
  latefile: (file) => new LateFileStore(file),
  sqlite: (file) => createSqliteStore(file), // needs node:sqlite: refused in one line without it
};
// What a built-in needs from the runtime, checked by the preflight before anything runs.
const BUILTIN_NEEDS = { sqlite: sqliteModule };
const REQUIRED_METHODS = ["load", "update"];
const INTERFACE_DOC = "docs/store-interface.md";

function oneLine(error) {
  const text = String(error?.message ?? error).split(/\s+/).join(" ").trim();
  return `${error?.name ?? "Error"}${text ? `: ${text}` : ""}`;
}

/** The function that makes the store `target` names: a built-in's, or a module's createStore. */
export async function storeFactory(target) {
  if (Object.hasOwn(BUILTINS, target)) {
    await BUILTIN_NEEDS[target]?.();
    return BUILTINS[target];
  }
  if (!path.isAbsolute(target)) {
    throw new StoreError(`unknown store ${JSON.stringify(target)} for node; built-in: ${Object.keys(BUILTINS).join(", ")}, or a module's absolute path`);
  }
  let imported;
  try {
    imported = await import(pathToFileURL(target).href);
  } catch (error) {
    // Node before 22.18 cannot run TypeScript by itself: say what makes it run
    const hint = error?.code === "ERR_UNKNOWN_FILE_EXTENSION" && /\.[cm]?ts$/.test(target)
      ? " (a TypeScript module needs a loader: npm install --save-dev tsx, then --node-arg=--import=tsx)"
      : "";
    throw new StoreError(`importing ${target} failed: ${oneLine(error)}${hint}`);
  }
  // A CommonJS module, or TypeScript a loader compiled as one, arrives as its `default` export.
  const create = imported.createStore ?? imported.default?.createStore;
  if (typeof create !== "function") {
    throw new StoreError(`${target} exports no createStore(path, env) function (see ${INTERFACE_DOC})`);
  }
  return create;
}

/** The store `target` names, over the file `file`, checked for the adapter's methods. */
export async function loadStore(target, file, env = process.env) {
  const store = await (await storeFactory(target))(file, env);
  const missing = REQUIRED_METHODS.filter((name) => typeof store?.[name] !== "function");
  if (missing.length > 0) {
    const what = store === null || typeof store !== "object" ? String(store) : "an object";
    throw new StoreError(`${target}: createStore(path, env) returned ${what} without ${missing.join(", ")} (the adapter needs ${REQUIRED_METHODS.join(", ")}; see ${INTERFACE_DOC})`);
  }
  return store;
}

const isThenable = (value) => typeof value?.then === "function";

/** The optional per-message methods (docs/store-interface.md) of a loaded store: its own
 * `get(key)` and `updateEntry(key, mutator)` where it has them, else the fallback over `load`
 * and `update` that a whole-file store must do anyway (load everything and pick the key;
 * update the whole store, touching that key). `paths` says which, as the run records it
 * (`get`, `update_entry`: "native" or "fallback"). Each may return a promise, as the store's
 * own methods may. */
export function entryApi(store) {
  const nativeGet = typeof store.get === "function";
  const nativeUpdate = typeof store.updateEntry === "function";
  const get = nativeGet ? (key) => store.get(key) : (key) => {
    const loaded = store.load();
    const pick = (all) => (Object.hasOwn(all, key) ? all[key] : null);
    return isThenable(loaded) ? loaded.then(pick) : pick(loaded);
  };
  const updateEntry = nativeUpdate ? (key, mutator) => store.updateEntry(key, mutator)
    : (key, mutator) => store.update(entryMutation(key, mutator));
  return { get, updateEntry, paths: { get: nativeGet ? "native" : "fallback",
                                      update_entry: nativeUpdate ? "native" : "fallback" } };
}

/** A whole-store mutator applying an entry mutator to `key`: the mutator gets the entry (or
 * null when the key is absent), changes it in place or returns a new one. */
export function entryMutation(key, mutator) {
  return (all) => {
    const entry = Object.hasOwn(all, key) ? all[key] : null;
    const returned = mutator(entry);
    // an entry changed in place is in the store already: assigning it again would tell a
    // store that tracks assignments (latefile) that the entry was replaced
    if (returned !== undefined && returned !== null && returned !== entry) all[key] = returned;
  };
}

/** What `update` returned, as the worker reports it. */
export function outcomeOf(returned) {
  return {
    wrote: returned?.wrote === undefined ? true : Boolean(returned.wrote),
    reusedBase: returned?.reusedBase === undefined ? false : Boolean(returned.reusedBase),
  };
}

/** An error a store threw as the one line of the worker's `error` message: a store's own error
 * and a failed system call as they are; anything else a user's module throws by its name. */
export function describeStoreError(error, file) {
  if (typeof error?.syscall === "string") return `${file}: ${error.message}`;
  if (error instanceof StoreError) return error.message;
  return `the store threw ${oneLine(error)} (stack trace in the worker's stderr)`;
}
