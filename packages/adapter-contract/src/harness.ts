import { type RequestWatch, watchRequests } from '@bulwark/testing';
import { afterEach, expect } from 'vitest';
import type { AdapterUnderTest, ContractOptions, RunningApp, StartSettings } from './adapter.js';

/** A proper UUIDv7: what Bulwark generates when no valid correlation ID came in. */
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A running app, and what its server has seen arrive. */
export interface App extends RunningApp {
  /** Resolves once the server has seen `count` requests, after the app's own handling of each. */
  readonly arrived: RequestWatch['arrived'];
}

/**
 * What every group of the contract shares: the adapter, and the apps and clean-ups of the test
 * that is running, closed after it whatever its outcome.
 */
export class Harness {
  private readonly apps: RunningApp[] = [];
  /** Run in order after each test, after its apps have closed. */
  readonly closers: Array<() => unknown> = [];

  constructor(readonly adapter: AdapterUnderTest) {
    afterEach(async () => {
      await Promise.all(this.apps.splice(0).map((app) => app.close()));
      for (const close of this.closers.splice(0)) await close();
    });
  }

  /** Starts an app behind the adapter; closed after the test. */
  async start(options: ContractOptions = {}, settings: StartSettings = {}): Promise<App> {
    const app = await this.adapter.start(options, settings);
    this.apps.push(app);
    const watch = watchRequests(app.server);
    return Object.assign(app, { arrived: (count: number) => watch.arrived(count) });
  }

  /** Closes the apps started so far in this test, as a restart would. */
  async closeApps(): Promise<void> {
    await Promise.all(this.apps.splice(0).map((app) => app.close()));
    for (const close of this.closers.splice(0)) await close();
  }
}

/** Checks an answer is a bare problem: content type, four members, its status in the body. */
export async function problem(res: Response): Promise<Record<string, unknown>> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['detail', 'status', 'title', 'type']);
  expect(body.status).toBe(res.status);
  return body;
}
