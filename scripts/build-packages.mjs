#!/usr/bin/env node
// Builds every package (turbo, cached) and says what it is doing: one line per package as it
// starts, the time at the end, and the whole log only when something fails. A cold build takes
// about a minute, which with turbo's errors-only output looked like a hang.
import { spawn } from 'node:child_process';

const started = Date.now();
const args = ['turbo', 'run', 'build', '--filter=./packages/*', '--output-logs=new-only'];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const log = [];
let built = 0;
let cached = 0;

function onLine(line) {
  log.push(line);
  const task = /^(@bulwark\/[\w-]+):build: cache (miss|hit)/.exec(line);
  if (task === null) return;
  if (task[2] === 'miss') {
    built++;
    console.log(`  building ${task[1]}`);
  } else {
    cached++;
  }
}

for (const stream of [child.stdout, child.stderr]) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    lines.forEach(onLine);
  });
  stream.on('end', () => rest && onLine(rest));
}

console.log('Building the packages...');
child.on('close', (code) => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (code !== 0) {
    // Only the failed packages' lines: a failure after fifteen good builds would bury them.
    const failed = new Set(
      log.flatMap((line) => [...line.matchAll(/(@bulwark\/[\w-]+)#build/g)].map((m) => m[1])),
    );
    const theirs = log.filter((line) => [...failed].some((name) => line.startsWith(`${name}:`)));
    console.error((theirs.length > 0 ? theirs : log).join('\n'));
    console.error(`\nThe build failed (exit ${code}) after ${seconds} s; its log is above.`);
    process.exit(code ?? 1);
  }
  console.log(`Built ${built} package(s), ${cached} unchanged, in ${seconds} s.`);
});
