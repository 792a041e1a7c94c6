// The measured worker in Node.js: the same protocol as harness/worker/cycles.py
// (docs/worker-protocol.md). Standard library only. Run by the harness as
// `node --expose-gc [--node-arg ...] stores/node/worker.mjs --store NAME|/abs/module --path P
// --cycles N ...`: a built-in store by name, or a user's module exporting createStore(path, env)
// (store_loader.mjs). With --preflight it only imports the module and checks its export.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { StoreError } from "./sessionStore.mjs";
import { describeStoreError, entryApi, loadStore, outcomeOf, storeFactory } from "./store_loader.mjs";

const { values: args } = parseArgs({
  options: {
    store: { type: "string" }, path: { type: "string" }, cycles: { type: "string" },
    "sample-every": { type: "string" }, "touch-keys": { type: "string", default: "400" },
    "touch-fields": { type: "string", default: "updatedAt,lastTo,label" },
    "reuse-loaded-store": { type: "boolean", default: false },
    workload: { type: "string", default: "full" },
    "warmup-cycles": { type: "string", default: "0" }, trim: { type: "boolean", default: false },
    heap: { type: "string", default: "v8" },
    "msg-fd": { type: "string", default: "3" }, "ack-fd": { type: "string", default: "4" },
    preflight: { type: "boolean", default: false },
  },
});
// Exit codes from the one table in harness/errors.py.
const WORKER_STORE_ERROR = 10;
const WORKER_RUNNER_GONE = 11;

if (args.preflight) {
  try {
    await storeFactory(args.store);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(WORKER_STORE_ERROR);
  }
  process.exit(0);
}

const msgFd = Number(args["msg-fd"]);
const ackFd = Number(args["ack-fd"]);
const AWAITS_ACK = new Set(["pretrim", "sample", "done"]);
// The runner started this worker in a session of its own, so nothing stops it when the
// runner is killed: before each cycle (warm-up too) it checks that its parent is still the
// one that started it. Node has no prctl(PR_SET_PDEATHSIG), and a timer would never fire
// while synchronous cycles run.
const RUNNER_PID = process.ppid;

function exitIfRunnerGone() {
  if (process.ppid !== RUNNER_PID) process.exit(WORKER_RUNNER_GONE);
}

function send(message) {
  try {
    fs.writeSync(msgFd, `${JSON.stringify(message)}\n`);
  } catch (error) {
    if (error.code === "EPIPE") process.exit(WORKER_RUNNER_GONE); // nobody reads any more
    throw error;
  }
  if (!AWAITS_ACK.has(message.type)) return;
  const byte = Buffer.alloc(1);
  for (;;) {
    try {
      if (fs.readSync(ackFd, byte, 0, 1, null) === 1) return;
      process.exit(WORKER_RUNNER_GONE); // nobody is measuring: stop
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}

const cycles = Number(args.cycles);
const sampleEvery = Number(args["sample-every"]);
// The fields each cycle sets, and their values as in harness/worker/protocol.py touch_value().
const touchFields = args["touch-fields"].split(",").map((field) => field.trim());
send({ type: "hello", protocol: 1, pid: process.pid, runtime: `node ${process.version}`, heap_measure: "v8" });

let store;
let api = null; // the entry workload's get and updateEntry (store_loader.mjs entryApi)
let keys = [];
let count = 0;
let elapsedMs = 0;

function touchValue(field, n, nowMs) {
  if (field === "updatedAt") return nowMs;
  return field === "label" ? `cycle ${n}` : `harness:${n}`;
}

// A store's load and update may return promises; a plain value is used as it is, with no await,
// so a synchronous store's cycle stays synchronous (no microtask turn inside its timing).
const isThenable = (value) => typeof value?.then === "function";

// The entry workload's mutation: the same fields as the full one's, on the one entry
// updateEntry hands over (created when the key is gone), returned.
function touchEntry(n) {
  return (entry) => {
    const touched = entry ?? { sessionId: `harness-${n}` };
    const nowMs = Date.now();
    for (const field of touchFields) touched[field] = touchValue(field, n, nowMs);
    return touched;
  };
}

// The entry workload's keys, by the full one's rule (the first --touch-keys of a load): one
// load before warm-up and sample 0, in no timing, collected before the first sample.
async function learnKeys() {
  let loaded = store.load();
  if (isThenable(loaded)) loaded = await loaded;
  keys = Object.keys(loaded).slice(0, Number(args["touch-keys"]));
  loaded = null;
  if (keys.length === 0) throw new StoreError(`${args.path}: store has no entries to update`);
  if (globalThis.gc) globalThis.gc();
}

async function entryCycle() {
  const key = keys[(count - 1) % keys.length];
  const started = performance.now();
  let entry = api.get(key);
  if (isThenable(entry)) entry = await entry;
  const gotAt = performance.now();
  let returned = api.updateEntry(key, touchEntry(count));
  if (isThenable(returned)) returned = await returned;
  const finished = performance.now();
  entry = null; // the caller drops what it read at the end of each cycle
  return { loadMs: gotAt - started, updateMs: finished - gotAt, outcome: outcomeOf(returned) };
}

async function cycle() {
  count += 1;
  if (api !== null) return entryCycle();
  const started = performance.now();
  let loaded = store.load();
  if (isThenable(loaded)) loaded = await loaded;
  const loadedAt = performance.now();
  // counted before update can add a key, and outside both timings (Object.keys is O(n))
  const entries = Object.keys(loaded).length;
  if (keys.length === 0) {
    keys = Object.keys(loaded).slice(0, Number(args["touch-keys"]));
    if (keys.length === 0) throw new StoreError(`${args.path}: store has no entries to update`);
  }
  const key = keys[(count - 1) % keys.length];
  const n = count;
  const updateStarted = performance.now();
  let returned = store.update((s) => {
    const entry = (s[key] ??= { sessionId: `harness-${n}` });
    const nowMs = Date.now();
    for (const field of touchFields) entry[field] = touchValue(field, n, nowMs);
  }, args["reuse-loaded-store"] ? loaded : undefined);
  if (isThenable(returned)) returned = await returned;
  loaded = null; // the caller drops its snapshot at the end of each cycle
  const finished = performance.now();
  return { loadMs: loadedAt - started, updateMs: finished - updateStarted, outcome: outcomeOf(returned), entries };
}

function sample(n) {
  if (args.trim) {
    send({ type: "pretrim", cycle: n });
    if (globalThis.gc) globalThis.gc();
  }
  const usage = process.memoryUsage();
  // No heap peak: V8 keeps none of the used heap. v8.getHeapStatistics() has current figures
  // and peak_malloced_memory, the peak of V8's own malloc (compiler zones, not JS objects),
  // which cannot be reset; v8.GCProfiler would give the used heap before every GC, but it
  // keeps a record per GC inside this process until stopped: not a cheap reading.
  send({ type: "sample", cycle: n, elapsed_ms: elapsedMs, heap_bytes: usage.heapUsed,
         external_bytes: usage.external, store_bytes: fs.statSync(args.path).size,
         heap_peak_bytes: null });
}

try {
  store = await loadStore(args.store, args.path);
  if (args.workload === "entry") {
    api = entryApi(store);
    send({ type: "entry_api", ...api.paths });
    await learnKeys();
  } else if (args.workload !== "full") {
    throw new StoreError(`--workload must be full or entry, got ${JSON.stringify(args.workload)}`);
  }
  for (let i = 0; i < Number(args["warmup-cycles"]); i++) {
    exitIfRunnerGone();
    await cycle();
  }
  sample(0);
  for (let n = 1; n <= cycles; n++) {
    exitIfRunnerGone(); // outside the timed cycle: not in elapsed_ms
    const { loadMs, updateMs, outcome, entries } = await cycle();
    elapsedMs += loadMs + updateMs;
    // entries: how many the cycle's load returned; the entry workload loads nothing whole
    send({ type: "cycle", cycle: n, load_ms: loadMs, update_ms: updateMs,
           wrote: outcome.wrote, reused_base: outcome.reusedBase,
           ...(entries === undefined ? {} : { entries }) });
    if (n % sampleEvery === 0 || n === cycles) sample(n);
  }
} catch (error) {
  // a store's own error or a system call's failure (a full disk under the store, say) is a fact
  // for one line; anything else a user's store throws is reported too, its stack on stderr
  const known = error instanceof StoreError || typeof error?.syscall === "string";
  if (!known) process.stderr.write(`${error?.stack ?? error}\n`);
  send({ type: "error", message: describeStoreError(error, args.path) });
  process.exit(WORKER_STORE_ERROR);
}
send({ type: "done", cycles });
