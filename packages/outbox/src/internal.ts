/**
 * Building blocks for Bulwark's own packages built on the outbox's PostgreSQL store
 * (@bulwark/saga): the same database adapters, table-name rules and migration lock. Not part of
 * the public, semver-stable surface.
 */
export { checkDatabase, quoteIdentifier } from './database.js';
export { applySchema, checkTableName } from './schema.js';
export { sqlClientOf } from './sql-client.js';
export { uuidv7 } from './uuidv7.js';
