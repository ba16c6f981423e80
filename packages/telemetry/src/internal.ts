/**
 * Building blocks for Bulwark's own packages (the server adapters' request metrics). Not part of
 * the public, semver-stable surface.
 */
export {
  CounterFamily,
  HistogramCell,
  HistogramFamily,
  type MetricSnapshot,
  type MetricValue,
} from './metric-family.js';
