import { packageConfig } from '../../tsup.config.base.js';

// vitest is the test runner the suite runs inside, not a part of it: bundled, it would be a
// second runner that no test file has started.
export default packageConfig({ external: ['vitest'] });
