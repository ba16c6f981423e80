import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('./demo.mjs', import.meta.url));

/** Runs the demo with short phases, and gives back its exit code and what it printed. */
function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO], {
      env: { ...process.env, DEMO_PHASE_MS: '400' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The demo's table row `name`: its plain fetch and Bulwark cells. */
function row(stdout: string, name: string): [string, string] {
  const line = stdout.split('\n').find((l) => l.startsWith(name.padEnd(26)));
  if (line === undefined) throw new Error(`no "${name}" row in:\n${stdout}`);
  const cells = line
    .slice(26)
    .trim()
    .split(/\s{2,}/);
  return [cells[0]!, cells[1]!];
}

describe('npm run demo', () => {
  it('ends by itself with exit code 0, a line per phase and way, and the table side by side', async () => {
    const { code, stdout, stderr } = await runDemo();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const way of ['naive', 'bulwark']) {
      for (const phase of ['calm', 'tail', 'burst', 'dead', 'recovery']) {
        expect(stdout).toMatch(new RegExp(`^${way} +${phase} +\\d+ orders`, 'm'));
      }
    }
    for (const name of [
      'p50',
      'p99',
      'p99.9',
      'requests sent downstream',
      'retries',
      'hedges won',
      'ejections',
      'breaker opens',
      'stale answers served',
    ]) {
      expect(row(stdout, name)).toHaveLength(2);
    }
    expect(row(stdout, 'duplicate side effects')[1]).toBe('0');
    // With a replica dead for a whole phase, plain fetch loses about a third of that phase's
    // orders; the service client steps around it.
    const [naive, bulwark] = row(stdout, 'success rate').map((cell) => Number.parseFloat(cell));
    expect(bulwark).toBeGreaterThan(naive!);
    expect(stdout).toMatch(/^dead: replica c is down; .*\.$/m);
  }, 60_000);
});
