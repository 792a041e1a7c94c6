// A writer process for `harness stress`, in Node.js: the twin of harness/worker/stress_writer.py,
// with the same arguments, output and exit codes. Standard library only. Run as
// `node stores/node/stress_writer.mjs --store SPEC --path P --key K [--updates N] [--shared]
// [--reuse-loaded-store] [--start-at-ms T]`. SPEC is a built-in name or a module exporting
// `createStore(path, env)`, resolved as `harness conform`'s driver resolves it.
//
// Each update increments its own key's `count` and, with --shared, the shared entry's `count`
// too. --updates 0 means until killed; --start-at-ms waits until that epoch millisecond, so
// writers started one after another begin together. At exit it prints `{"completed": N}` on
// stdout: the updates whose `update` returned.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { resolveStore } from "./conform_driver.mjs";
import { LockTimeout, StoreError } from "./sessionStore.mjs";

// Exit codes from the one table in harness/errors.py.
const WRITER_STORE_ERROR = 12;
const WRITER_LOCK_TIMEOUT = 13;
const SHARED_KEY = "stress:shared";

const { values: args } = parseArgs({
  options: {
    store: { type: "string" }, path: { type: "string" }, key: { type: "string" },
    updates: { type: "string", default: "0" }, shared: { type: "boolean", default: false },
    "reuse-loaded-store": { type: "boolean", default: false },
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

async function run() {
  let store;
  try {
    store = (await resolveStore(args.store))(args.path, process.env);
  } catch (error) {
    process.stderr.write(`stress worker: ${error.message}\n`);
    return WRITER_STORE_ERROR;
  }
  const updates = Number(args.updates);
  waitUntil(Number(args["start-at-ms"]));
  try {
    while (updates === 0 || completed < updates) {
      const base = args["reuse-loaded-store"] ? store.load() : undefined;
      store.update(mutate, base);
      completed += 1;
    }
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    process.stderr.write(`stress worker: ${error.message}\n`);
    return error instanceof LockTimeout ? WRITER_LOCK_TIMEOUT : WRITER_STORE_ERROR;
  }
  return 0;
}

process.exit(await run());
