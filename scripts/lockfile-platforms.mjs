// Restores the lockfile entries of optional platform packages (rollup's and turbo's native
// binaries for other systems) that `npm install` leaves out when the registry it talks to
// does not serve them. Without those entries `npm ci` refuses the lockfile as out of sync;
// with them it installs what this platform needs and skips the rest, as usual. Run it after
// any `npm install` that changed package-lock.json; it is a no-op when nothing is missing.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const file = resolve(import.meta.dirname, '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
const added = [];

for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    // Node's resolution: the dependent's own node_modules, then each ancestor's, then the root.
    let dir = path;
    let found = false;
    for (;;) {
      const candidate = (dir ? `${dir}/` : '') + `node_modules/${name}`;
      if (packages[candidate]) {
        found = true;
        break;
      }
      if (!dir) break;
      const cut = dir.lastIndexOf('/node_modules/');
      dir = cut === -1 ? '' : dir.slice(0, cut);
    }
    if (!found) {
      packages[`node_modules/${name}`] = { version, optional: true };
      added.push(`${name}@${version}`);
    }
  }
}

if (added.length > 0) {
  const [root, ...rest] = Object.keys(packages);
  const ordered = { [root]: packages[root] };
  for (const key of rest.sort((a, b) => a.localeCompare(b, 'en'))) ordered[key] = packages[key];
  lock.packages = ordered;
  writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
}
console.log(
  added.length
    ? `added ${added.length} optional entries: ${added.join(', ')}`
    : 'lockfile complete',
);
