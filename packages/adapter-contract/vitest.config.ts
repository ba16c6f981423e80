import { defineProject } from 'vitest/config';
import { sharedTest } from '../../vitest.shared.js';

// The suite has no tests of its own: each adapter's package runs it, from its contract.test.ts.
export default defineProject({
  test: { ...sharedTest, name: '@bulwark/adapter-contract', passWithNoTests: true },
});
