// A writer process for `harness stress`, in Node.js: the twin of harness/worker/stress_writer.py,
// with the same arguments, output and exit codes. Standard library only. Run as
// `node [--node-arg ...] stores/node/stress_writer.mjs --store NAME|/abs/module --path P --key K
// [--updates N] [--shared] [--reuse-loaded-store] [--start-at-ms T]`: a built-in store or a
// user's module, loaded as the measured worker loads it (store_loader.mjs).
//
// Each update increments its own key's `count` and, with --shared, the shared entry's `count`
// too. --updates 0 means until killed; --start-at-ms waits until that epoch millisecond, so
// writers started one after another begin together. At exit it prints `{"completed": N}` on
// stdout: the updates whose `update` returned. With --entry each update is made through
// updateEntry (the store's own, or the fallback over update): its own key, then the shared one.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { LockTimeout, StoreError } from "./sessionStore.mjs";
import { describeStoreError, entryApi, loadStore } from "./store_loader.mjs";

// Exit codes from the one table in harness/errors.py.
const WRITER_STORE_ERROR = 12;
const WRITER_LOCK_TIMEOUT = 13;
const SHARED_KEY = "stress:shared";

const { values: args } = parseArgs({
  options: {
    store: { type: "string" }, path: { type: "string" }, key: { type: "string" },
    updates: { type: "string", default: "0" }, shared: { type: "boolean", default: false },
    "reuse-loaded-store": { type: "boolean", default: false },
    entry: { type: "boolean", default: false },
    "start-at-ms": { type: "string", default: "0" },
  },
});

let completed = 0;
// Whatever ends the writer (but SIGKILL): what it completed is what the file must hold.
process.on("exit", () => fs.writeSync(1, `${JSON.stringify({ completed })}\n`));

const bump = (key) => ({ sessionId: key, updatedAt: 0, count: 0 });

function increment(store, key) {
  if (!Object.hasOwn(store, key)) store[key] = bump(key);
  store[key].count += 1;
}

function mutate(store) {
  increment(store, args.key);
  if (args.shared) increment(store, SHARED_KEY);
}

function waitUntil(epochMs) {
  const delayMs = epochMs - Date.now();
  if (delayMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
}

function entryBump(key) {
  return (entry) => {
    const bumped = entry ?? bump(key);
    bumped.count += 1;
    return bumped;
  };
}

const isThenable = (value) => typeof value?.then === "function";

async function run() {
  const updates = Number(args.updates);
  try {
    const store = await loadStore(args.store, args.path);
    const api = args.entry ? entryApi(store) : null;
    waitUntil(Number(args["start-at-ms"]));
    while (updates === 0 || completed < updates) {
      if (api !== null) {
        await api.updateEntry(args.key, entryBump(args.key));
        if (args.shared) await api.updateEntry(SHARED_KEY, entryBump(SHARED_KEY));
        completed += 1;
        continue;
      }
      let base = args["reuse-loaded-store"] ? store.load() : undefined;
      if (isThenable(base)) base = await base;
      const returned = store.update(mutate, base);
      if (isThenable(returned)) await returned;
      completed += 1;
    }
  } catch (error) {
    if (!(error instanceof StoreError) && typeof error?.syscall !== "string") {
      process.stderr.write(`${error?.stack ?? error}\n`); // a user's store: its own error
    }
    process.stderr.write(`stress worker: ${describeStoreError(error, args.path)}\n`);
    return error instanceof LockTimeout ? WRITER_LOCK_TIMEOUT : WRITER_STORE_ERROR;
  }
  return 0;
}

process.exit(await run());
