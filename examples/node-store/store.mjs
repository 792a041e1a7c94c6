import fs from "node:fs";

// A whole-file JSON store: re-reads the file on every load and update, and writes through a
// temporary file and a rename, so a reader never sees half a file.
export function createStore(path, env) {
  const read = () => JSON.parse(fs.readFileSync(path, "utf8"));
  return {
    load: read,
    update(mutator) {
      const store = read();
      mutator(store);
      const temporary = `${path}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, JSON.stringify(store, null, 2));
      fs.renameSync(temporary, path);
      return { wrote: true, reusedBase: false };
    },
  };
}
