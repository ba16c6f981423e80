/**
 * Building blocks for Bulwark's own packages (the server adapters' request metrics, the outbox's
 * relay and consumer metrics). Not part of the public, semver-stable surface.
 */
export {
  CounterFamily,
  GaugeFamily,
  HistogramCell,
  HistogramFamily,
  type MetricSnapshot,
  type MetricValue,
  type SeriesLimit,
} from './metric-family.js';
