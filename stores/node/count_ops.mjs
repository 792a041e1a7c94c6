// Counts a built-in Node store's whole-store operations per cycle, for
// harness/measuring/store_ops.py: `node count_ops.mjs STORE FILE WARMUP CYCLES REUSE` runs
// WARMUP cycles, then CYCLES more, and prints the counts of those CYCLES as one JSON object.
// A cycle is the worker's: load, then update one of the first keys (updatedAt, lastTo, label),
// passing the loaded store as the base when REUSE is "1". Standard library only.
import { STORES } from "./sessionStore.mjs";

const [name, file, warmup, cycles, reuse] = process.argv.slice(2);
const store = new STORES[name](file);

function cycle(index) {
  const loaded = store.load();
  const keys = Object.keys(loaded);
  const key = keys[index % Math.min(keys.length, 400)];
  store.update((current) => {
    Object.assign(current[key], { updatedAt: 1_767_225_600_000 + index, lastTo: `harness:${index}`,
                                  label: `cycle ${index}` });
  }, reuse === "1" ? loaded : undefined);
}

for (let index = 0; index < Number(warmup); index++) cycle(index);
const before = { ...store.ops };
for (let index = Number(warmup); index < Number(warmup) + Number(cycles); index++) cycle(index);
process.stdout.write(JSON.stringify(Object.fromEntries(
  Object.entries(store.ops).map(([op, count]) => [op, count - before[op]]))));
