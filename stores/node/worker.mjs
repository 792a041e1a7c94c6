// The measured worker in Node.js: the same protocol as harness/worker.py
// (docs/worker-protocol.md). Standard library only. Run by the harness as
// `node --expose-gc stores/node/worker.mjs --store NAME --path P --cycles N ...`.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { STORES, StoreError } from "./sessionStore.mjs";

const { values: args } = parseArgs({
  options: {
    store: { type: "string" }, path: { type: "string" }, cycles: { type: "string" },
    "sample-every": { type: "string" }, "touch-keys": { type: "string", default: "400" },
    "reuse-loaded-store": { type: "boolean", default: false },
    "warmup-cycles": { type: "string", default: "0" }, trim: { type: "boolean", default: false },
    heap: { type: "string", default: "v8" },
    "msg-fd": { type: "string", default: "3" }, "ack-fd": { type: "string", default: "4" },
  },
});
const msgFd = Number(args["msg-fd"]);
const ackFd = Number(args["ack-fd"]);
// Exit codes from the one table in harness/errors.py.
const WORKER_STORE_ERROR = 10;
const WORKER_RUNNER_GONE = 11;
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

const Store = STORES[args.store];
const cycles = Number(args.cycles);
const sampleEvery = Number(args["sample-every"]);
send({ type: "hello", protocol: 1, pid: process.pid, runtime: `node ${process.version}`, heap_measure: "v8" });
if (!Store) {
  send({ type: "error", message: `unknown store ${JSON.stringify(args.store)} for node; known: ${Object.keys(STORES).join(", ")}` });
  process.exit(WORKER_STORE_ERROR);
}

const store = new Store(args.path);
let keys = [];
let count = 0;
let elapsedMs = 0;

function cycle() {
  count += 1;
  const started = performance.now();
  let loaded = store.load();
  const loadedAt = performance.now();
  if (keys.length === 0) {
    keys = Object.keys(loaded).slice(0, Number(args["touch-keys"]));
    if (keys.length === 0) throw new StoreError(`${args.path}: store has no entries to update`);
  }
  const key = keys[(count - 1) % keys.length];
  const n = count;
  const outcome = store.update((s) => {
    const entry = (s[key] ??= { sessionId: `harness-${n}` });
    entry.updatedAt = Date.now();
    entry.lastTo = `harness:${n}`;
    entry.label = `cycle ${n}`;
  }, args["reuse-loaded-store"] ? loaded : undefined);
  loaded = null; // the caller drops its snapshot at the end of each cycle
  const finished = performance.now();
  return { loadMs: loadedAt - started, updateMs: finished - loadedAt, outcome };
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
  for (let i = 0; i < Number(args["warmup-cycles"]); i++) {
    exitIfRunnerGone();
    cycle();
  }
  sample(0);
  for (let n = 1; n <= cycles; n++) {
    exitIfRunnerGone(); // outside the timed cycle: not in elapsed_ms
    const { loadMs, updateMs, outcome } = cycle();
    elapsedMs += loadMs + updateMs;
    send({ type: "cycle", cycle: n, load_ms: loadMs, update_ms: updateMs,
           wrote: outcome.wrote, reused_base: outcome.reusedBase });
    if (n % sampleEvery === 0 || n === cycles) sample(n);
  }
} catch (error) {
  // a system call's failure (a full disk under the store, say) is a fact, not a stack trace
  const systemError = typeof error.syscall === "string";
  if (!(error instanceof StoreError) && !systemError) throw error;
  send({ type: "error", message: systemError ? `${args.path}: ${error.message}` : error.message });
  process.exit(WORKER_STORE_ERROR);
}
send({ type: "done", cycles });
