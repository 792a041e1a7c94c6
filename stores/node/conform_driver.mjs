// A driver process for `harness conform`, in Node.js: the twin of
// harness/worker/conform_driver.py, with the same arguments, requests, answers and exit codes.
// Node built-ins only (the store under test brings its own imports). Run as
// `node [NODE_ARGS] stores/node/conform_driver.mjs --store SPEC --path FILE --in-fd N --out-fd M`.
//
// SPEC is a built-in name (stores/node/sessionStore.mjs, wrapped into the adapter shape) or a
// module path exporting the adapter `createStore(path, env)` -> `{load(), update(mutator,
// baseStore)}`, and optionally `save(store)`. Requests arrive one JSON object a line on the
// --in-fd pipe and answers leave on --out-fd, so whatever the store prints cannot corrupt the
// exchange; the operations are documented in docs/conformance.md ("The driver protocol").
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { entryApi, loadStore } from "./store_loader.mjs";

// Exit codes from the one table in harness/errors.py.
const DRIVER_BAD_STORE = 14;
const SCRIBBLE_KEY = "conform:scribbled";
const SCRIBBLE_FIELD = "conformScribble";

function mutation(request) {
  return (store) => {
    for (const [key, fields] of Object.entries(request.set ?? {})) {
      if (!Object.hasOwn(store, key)) store[key] = {};
      Object.assign(store[key], fields);
    }
    for (const key of request.delete ?? []) delete store[key];
  };
}

// The entry mutator an update_entry request describes: merge `set` into the entry.
function entryMutation(request) {
  return (entry) => Object.assign(entry ?? {}, request.set ?? {});
}

// What a careless caller does to a loaded store: it owns it, so it may.
function scribble(store) {
  const keys = Object.keys(store);
  if (keys.length > 0) {
    const first = store[keys[0]];
    first[SCRIBBLE_FIELD] = true;
    const nested = Object.values(first).find((v) => v !== null && typeof v === "object" && !Array.isArray(v));
    if (nested !== undefined) nested[SCRIBBLE_FIELD] = true;
    delete store[keys[keys.length - 1]];
  }
  store[SCRIBBLE_KEY] = { sessionId: SCRIBBLE_KEY };
}

// Any store method may return a promise (store_loader.mjs); the worker awaits them, so do we.
async function handle(store, api, kept, request) {
  switch (request.op) {
    case "load": {
      const loaded = await store.load();
      if (request.keep) kept.set(request.keep, loaded);
      return request.reply ? { store: loaded } : {};
    }
    case "scribble":
      scribble(kept.get(request.handle));
      return {};
    case "update": {
      const base = request.base ? kept.get(request.base) : undefined;
      return { outcome: (await store.update(mutation(request), base)) ?? null };
    }
    case "get": {
      const entry = await api.get(request.key);
      return { entry: entry ?? null };
    }
    case "update_entry":
      return { outcome: (await api.updateEntry(request.key, entryMutation(request))) ?? null };
    case "save":
      if (typeof store.save !== "function") throw new Error("the store has no save(store)");
      await store.save(request.store);
      return {};
    default:
      throw new Error(`unknown op ${JSON.stringify(request.op)}`);
  }
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Requests, one line at a time, read synchronously: the stores under test are synchronous.
function* lines(fd) {
  const chunk = Buffer.alloc(1 << 16);
  let pending = "";
  for (;;) {
    let count;
    try {
      count = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
      sleepMs(1);
      continue;
    }
    if (count === 0) return;
    pending += chunk.toString("utf8", 0, count);
    let end;
    while ((end = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, end);
      pending = pending.slice(end + 1);
    }
  }
}

// A pipe may take a long answer in parts: loop until all of it is written.
function writeAll(fd, text) {
  const data = Buffer.from(text, "utf8");
  for (let offset = 0; offset < data.length;) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
      sleepMs(1);
    }
  }
}

function describe(error) {
  return `${error?.constructor?.name ?? "Error"}: ${error?.message ?? String(error)}`;
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      store: { type: "string" }, path: { type: "string" },
      "in-fd": { type: "string" }, "out-fd": { type: "string" },
    },
  });
  const out = Number(args["out-fd"]);
  const send = (answer) => writeAll(out, `${JSON.stringify(answer)}\n`);
  let store;
  try {
    store = await loadStore(args.store, args.path, process.env);
  } catch (error) {
    send({ ok: false, error: describe(error) });
    return DRIVER_BAD_STORE;
  }
  const api = entryApi(store);
  send({ ok: true, hello: { store: args.store, pid: process.pid, runtime: `node ${process.version}`,
                            save: typeof store.save === "function", entry_api: api.paths } });
  const kept = new Map();
  for (const line of lines(Number(args["in-fd"]))) {
    const request = JSON.parse(line);
    if (request.op === "exit") break;
    let answer;
    try {
      answer = JSON.stringify({ ok: true, ...(await handle(store, api, kept, request)) });
    } catch (error) { // the store's failure is the harness's evidence
      answer = JSON.stringify({ ok: false, error: describe(error) });
    }
    writeAll(out, `${answer}\n`);
  }
  return 0;
}

// Only run as a program does it drive a store (importing it does nothing).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(await main());
}
