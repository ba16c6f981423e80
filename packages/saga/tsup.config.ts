import { packageConfig } from '../../tsup.config.base.js';

// bin.ts is the `bulwark-saga` command; it is not an export of the package.
export default packageConfig({ entry: ['src/index.ts', 'src/bin.ts'] });
