/**
 * Building blocks for Bulwark's own packages built on the outbox's PostgreSQL store
 * (@bulwark/saga): the same database adapters, table-name rules, migration lock and command-line
 * skeleton. Not part of
 * the public, semver-stable surface.
 */
export {
  type CliIo,
  CliUsageError,
  type CliValues,
  type DatabaseCli,
  runDatabaseCli,
} from './cli-runner.js';
export { checkDatabase, quoteIdentifier } from './database.js';
export { type RegistryLike, registerFamilies, sharedMetrics } from './metrics.js';
export { applySchema, checkTableName } from './schema.js';
export { sqlClientOf } from './sql-client.js';
export { uuidv7 } from './uuidv7.js';
