import { packageProject } from '../../vitest.shared.js';
export default packageProject('@bulwark/example-service-client');
