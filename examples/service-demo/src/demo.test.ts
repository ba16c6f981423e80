import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('./demo.mjs', import.meta.url));

/**
 * Runs the demo with short phases, and gives back its exit code and what it printed; `watch` sees
 * what it printed so far, as it prints it.
 */
function runDemo(
  watch: (stdout: string) => void = () => undefined,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO], {
      env: { ...process.env, DEMO_PHASE_MS: '400', DEMO_HOLD: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      watch(stdout);
    });
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

/** Asks for the dashboard's page until it shows `text`; resolves with whether it did. */
async function pageShows(url: string, text: string, running: () => boolean): Promise<boolean> {
  while (running()) {
    try {
      const response = await fetch(url);
      if (response.status === 200 && (await response.text()).includes(text)) return true;
    } catch {
      // The front is not up, or has just closed.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('npm run demo', () => {
  it('prints the dashboard’s address and serves the live page while it runs', async () => {
    let page: Promise<boolean> | undefined;
    let running = true;
    const { code, stdout } = await runDemo((printed) => {
      const url = /^dashboard (http:\/\/127\.0\.0\.1:\d+\/bulwark) /m.exec(printed)?.[1];
      if (url !== undefined && page === undefined) {
        // The service client's operations, once the Bulwark way's calls have reached a tick.
        page = pageShows(url, '<td data-k="name">inventory.getItem</td>', () => running);
      }
    });
    running = false;
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^dashboard http:\/\/127\.0\.0\.1:\d+\/bulwark \(live while the demo runs\)$/m,
    );
    expect(await page).toBe(true);
  }, 60_000);

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
