/**
 * A real headless Chromium for tests that load a page: Debian's `chromium` package, found or
 * installed by the test run's global setup (scripts/test-services.mjs), driven by playwright-core.
 * Never a browser downloaded by Playwright: its installer fetches builds from outside the package
 * registries.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

/** Where Debian installs it; `CHROMIUM` overrides, as in scripts/test-services.mjs. */
export const CHROMIUM_PATH = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Flags for a browser that runs as root in a container and talks to loopback only: no sandbox
 * (it needs user namespaces), no GPU, and none of the background traffic to Google's services.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Starts Chromium with a fresh profile (its own `--user-data-dir`, removed on close). */
export async function startChromium(
  options: { executablePath?: string } = {},
): Promise<TestBrowser> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  try {
    accessSync(executablePath, constants.X_OK);
  } catch {
    throw new Error(
      `cannot start ${executablePath}: not found. Run the tests from the repository root ` +
        '(npm test), or run node scripts/test-services.mjs, which installs it',
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'bulwark-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1400, height: 900 },
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
