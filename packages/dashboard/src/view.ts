/**
 * What the page shows, as data: the server renders it as the first HTML, and the browser's
 * script applies each tick's copy to the same elements. Every text is formatted here, once per
 * tick, so the two renderings cannot disagree; nothing here is a request's data.
 */

/** How a cell reads at a glance: its colour on the page. */
export type Tone = 'ok' | 'warn' | 'bad' | 'idle' | 'info';

export interface CellView {
  readonly text: string;
  readonly tone?: Tone;
}

export interface ColumnView {
  readonly key: string;
  readonly label: string;
  /** What the column counts, shown as its header's tooltip. */
  readonly title: string;
  /** A live chart of the row's `points`, drawn by the page's script. */
  readonly chart?: boolean;
}

export interface RowView {
  /** Stable for the life of the process, and made by the dashboard: never a name from an event. */
  readonly id: string;
  readonly cells: Readonly<Record<string, CellView>>;
  /** This tick's values of the row's chart (p50 and p99 latency, in ms; null for no call). */
  readonly points?: ReadonlyArray<number | null>;
}

export interface TableView {
  readonly id: string;
  readonly title: string;
  readonly columns: readonly ColumnView[];
  readonly rows: readonly RowView[];
  /** Shown instead of the table when it has no row. */
  readonly empty: string;
  /** A line under the table: what was left out to keep memory bounded. */
  readonly note?: string;
}

export interface Snapshot {
  /** Changes when the process restarts, so a page that reconnects knows its history is gone. */
  readonly boot: string;
  /** Tick number since the process started. */
  readonly tick: number;
  /** Wall-clock time of the tick, ms since the epoch. */
  readonly at: number;
  readonly intervalMs: number;
  readonly title: string;
  readonly tables: readonly TableView[];
}

/** The charts' history, sent once to a page that (re)connects: one array per row and series. */
export interface History {
  /** Wall-clock time of each point, seconds since the epoch (uPlot's x axis). */
  readonly at: readonly number[];
  /** By row id: one array per series, aligned with `at` (null where the row had no data). */
  readonly rows: Readonly<Record<string, ReadonlyArray<ReadonlyArray<number | null>>>>;
}
