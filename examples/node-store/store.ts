import fs from "node:fs";

type Sessions = Record<string, Record<string, unknown>>;
interface Outcome { wrote: boolean; reusedBase: boolean }

// store.mjs with types: run it with --node-arg=--import=tsx (see README.md).
export function createStore(path: string, env: NodeJS.ProcessEnv) {
  const read = (): Sessions => JSON.parse(fs.readFileSync(path, "utf8"));
  return {
    load: read,
    update(mutator: (store: Sessions) => void): Outcome {
      const store = read();
      mutator(store);
      const temporary = `${path}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, JSON.stringify(store, null, 2));
      fs.renameSync(temporary, path);
      return { wrote: true, reusedBase: false };
    },
  };
}
