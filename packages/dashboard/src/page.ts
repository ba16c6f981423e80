import { escapeHtml } from './names.js';
import type { History, Snapshot, TableView } from './view.js';

/** The data a page starts from: embedded in its HTML, and sent as the stream's first frame. */
export interface FullFrame {
  readonly snapshot: Snapshot;
  readonly history: History;
  /** How many points the charts keep. */
  readonly historyPoints: number;
}

/** The wall-clock time of a snapshot as the page prints it. */
export function timeText(at: number): string {
  return `${new Date(at).toISOString().slice(11, 19)} UTC`;
}

/**
 * The page, rendered on the server with the current snapshot: readable with JavaScript off. The
 * script then keeps it live; it renders the same tables from the same data.
 */
export function renderPage(base: string, frame: FullFrame): string {
  const { snapshot } = frame;
  const title = escapeHtml(snapshot.title);
  const assets = `${escapeHtml(base)}/assets`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} — Bulwark dashboard</title>
<link rel="stylesheet" href="${assets}/uPlot.min.css">
<link rel="stylesheet" href="${assets}/dashboard.css">
<noscript><meta http-equiv="refresh" content="5"></noscript>
</head>
<body data-base="${escapeHtml(base)}">
<header>
<h1>${title}</h1>
<p class="status"><span id="live" data-tone="idle">snapshot</span> at <time id="at">${timeText(snapshot.at)}</time>
<noscript>(JavaScript is off: this page reloads every 5 seconds.)</noscript></p>
</header>
<main>
${snapshot.tables.map(renderTable).join('\n')}
</main>
<script type="application/json" id="bulwark-data">${jsonForScript(frame)}</script>
<script src="${assets}/uPlot.iife.min.js" defer></script>
<script src="${assets}/dashboard.js" defer></script>
</body>
</html>
`;
}

function renderTable(table: TableView): string {
  const head = table.columns
    .map((c) => `<th scope="col" title="${escapeHtml(c.title)}">${escapeHtml(c.label)}</th>`)
    .join('');
  const rows = table.rows
    .map((row) => {
      const cells = table.columns
        .map((c) => {
          const cell = row.cells[c.key] ?? { text: '' };
          const tone = cell.tone === undefined ? '' : ` data-tone="${cell.tone}"`;
          const chart = c.chart === true ? ' class="chart"' : '';
          return `<td data-k="${escapeHtml(c.key)}"${tone}${chart}>${escapeHtml(cell.text)}</td>`;
        })
        .join('');
      return `<tr id="${escapeHtml(row.id)}">${cells}</tr>`;
    })
    .join('\n');
  const empty = table.rows.length === 0 ? '' : ' hidden';
  const note = table.note === undefined ? '' : escapeHtml(table.note);
  return `<section id="t-${escapeHtml(table.id)}">
<h2>${escapeHtml(table.title)}</h2>
<table${table.rows.length === 0 ? ' hidden' : ''}><thead><tr>${head}</tr></thead><tbody>
${rows}
</tbody></table>
<p class="empty"${empty}>${escapeHtml(table.empty)}</p>
<p class="note"${note === '' ? ' hidden' : ''}>${note}</p>
</section>`;
}

/**
 * JSON inside a script element: `<` escaped so no string can close the element, and the two
 * line separators JavaScript once treated as line ends.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
