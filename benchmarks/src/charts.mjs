// The charts of benchmarks/RESULTS.md, drawn from the tables they sit under. The result JSON the
// benchmarks write (benchmarks/results/*.json) is not committed, and RESULTS.md's tables are
// the figures the team reviewed and kept: so the tables are the data. A table to chart has a
// `<!-- chart: NAME -->` line just above it; this script reads that table, writes
// benchmarks/charts/NAME.svg, and RESULTS.md shows the picture under the table. A chart can then
// never disagree with its table: `--check` (CI) fails when a table changed and its chart was not
// drawn again, or when a picture is missing under its table.
//
//   npm run bench:charts -w @bulwark/benchmarks          draw every chart
//   node benchmarks/src/charts.mjs --check               fail if any chart is out of date
//
// A small SVG writer, no dependency: horizontal bars, one group per row, one bar per series.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'RESULTS.md');
const CHARTS_DIR = join(ROOT, 'charts');

/**
 * What each chart shows: which column of its table (the n-th of that name, for tables that repeat
 * one), its unit, and a goal line where the table has a goal.
 */
export const CHARTS = [
  {
    name: 'policies-bytes',
    title: 'Heap bytes per call: four policies composed (lower is better)',
    series: [{ column: 'bytes/op', label: 'bytes per call' }],
    unit: ' B',
    goal: { value: 1024, label: 'goal: under 1 KB (pipeline with a deadline)' },
  },
  {
    name: 'http-client-latency',
    title: 'HTTP clients: latency at c=1, µs (lower is better)',
    series: [
      { column: 'p50 c=1 (µs)', label: 'p50' },
      { column: 'p99 c=1 (µs)', label: 'p99' },
    ],
    unit: ' µs',
  },
  {
    name: 'http-client-throughput',
    title: 'HTTP clients: req/s as a share of raw undici’s (higher is better)',
    series: [
      { column: 'vs raw', occurrence: 0, label: 'c=64' },
      { column: 'vs raw', occurrence: 1, label: 'c=1' },
    ],
    unit: '%',
    goal: { value: 90, label: 'goal: ≥ 90% (bulwark)' },
  },
  {
    name: 'http-client-bytes',
    title: 'HTTP clients: heap bytes per call, stub dispatcher (lower is better)',
    series: [{ column: 'bytes/call', label: 'bytes per call' }],
    unit: ' B',
  },
  {
    name: 'server-stack',
    title: 'Server stack, Node 20: req/s against bare Express or Fastify (higher is better)',
    series: [{ column: 'vs baseline', label: 'throughput ratio' }],
    unit: '×',
    goal: { value: 0.9, label: 'goal: ≥ 0.90× (stack)' },
    // The GET variants, whose baseline is bare Express or Fastify (the replay rows have another).
    rows: /-(bare|hook|als|peer|stack)$/,
  },
];

/** The cells of a markdown table's lines: a header, a separator, the rows. */
function parseTable(lines) {
  const cells = (line) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
  const [head, , ...rows] = lines;
  return { header: cells(head), rows: rows.map(cells) };
}

/** The table under each `<!-- chart: NAME -->` marker, and whether its picture follows it. */
export function tablesOf(markdown) {
  const lines = markdown.split('\n');
  const found = new Map();
  lines.forEach((line, i) => {
    const marker = /^<!-- chart: ([a-z0-9-]+) -->$/.exec(line.trim());
    if (marker === null) return;
    // Two charts may draw one table: their markers stand one above the other.
    let start = i + 1;
    while (lines[start]?.trim() === '' || lines[start]?.trim().startsWith('<!-- chart:')) start++;
    let end = start;
    while (lines[end]?.trim().startsWith('|')) end++;
    if (end - start < 3) throw new Error(`chart ${marker[1]}: no table under its marker`);
    const pictures = [];
    for (let after = end; after < lines.length; after++) {
      const text = lines[after].trim();
      if (text.startsWith('![')) pictures.push(text);
      else if (text !== '') break;
    }
    found.set(marker[1], { table: parseTable(lines.slice(start, end)), pictures });
  });
  return found;
}

/** A figure as the table prints it ("1,234", "95%", "0.88x", "1.00×") as a number. */
function numberOf(text) {
  const value = Number(text.replace(/[,%×x\s]/g, ''));
  if (!Number.isFinite(value)) throw new Error(`not a number: ${JSON.stringify(text)}`);
  return value;
}

/** The rows and series values a chart draws, read from its table. */
export function dataOf(spec, table) {
  const columns = spec.series.map((s) => {
    const indexes = table.header.flatMap((h, i) => (h === s.column ? [i] : []));
    const index = indexes[s.occurrence ?? 0];
    if (index === undefined) throw new Error(`chart ${spec.name}: no column "${s.column}"`);
    return index;
  });
  return table.rows
    .filter((row) => spec.rows === undefined || spec.rows.test(row[0]))
    .map((row) => ({
      label: row[0],
      values: columns.map((i) => numberOf(row[i])),
      texts: columns.map((i) => row[i]),
    }));
}

const COLOURS = ['#2f6fb3', '#c2410c', '#1a7f37'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';

function escapeXml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A round step for about five grid lines up to `max`. */
function niceStep(max) {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

function formatValue(value, unit) {
  const text = Number.isInteger(value) ? value.toLocaleString('en-US') : String(value);
  return `${text}${unit}`;
}

/** A bar's figure as its table prints it, with the unit where the table leaves it to the header. */
function figure(text, unit) {
  return /[%x×]$/.test(text) ? text : `${text}${unit}`;
}

/** The SVG of one chart: the same data always gives the same bytes. */
export function renderChart(spec, rows) {
  const barHeight = 14;
  const groupGap = 10;
  const labelWidth = Math.min(480, 24 + Math.max(...rows.map((r) => r.label.length)) * 7);
  const width = 960;
  const plotLeft = labelWidth + 10;
  const plotWidth = width - plotLeft - 90;
  const top = 56;
  const groupHeight = spec.series.length * barHeight + groupGap;
  const height = top + rows.length * groupHeight + 34;
  const max = Math.max(...rows.flatMap((r) => r.values), spec.goal?.value ?? 0);
  const step = niceStep(max);
  const scaleMax = Math.ceil((max * 1.02) / step) * step;
  const x = (value) => plotLeft + (value / scaleMax) * plotWidth;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(spec.title)}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" ${FONT} font-size="15" font-weight="600" fill="#1f2328">${escapeXml(spec.title)}</text>`,
  );
  // Legend.
  spec.series.forEach((s, i) => {
    const lx = 12 + i * 140;
    out.push(
      `<rect x="${lx}" y="32" width="12" height="12" fill="${COLOURS[i]}"/>`,
      `<text x="${lx + 18}" y="42" ${FONT} font-size="12" fill="#57606a">${escapeXml(s.label)}</text>`,
    );
  });
  // Grid.
  for (let v = 0; v <= scaleMax + step / 2; v += step) {
    const gx = x(v).toFixed(1);
    const rounded = Number(v.toPrecision(6));
    out.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height - 28}" stroke="#d0d7de" stroke-width="1"/>`,
      `<text x="${gx}" y="${height - 12}" ${FONT} font-size="11" fill="#57606a" text-anchor="middle">${escapeXml(formatValue(rounded, spec.unit))}</text>`,
    );
  }
  // Bars.
  rows.forEach((row, r) => {
    const gy = top + r * groupHeight;
    const bold = /^bulwark|-stack$/i.test(row.label) ? ' font-weight="600"' : '';
    out.push(
      `<text x="${labelWidth}" y="${gy + (spec.series.length * barHeight) / 2 + 4}" ${FONT} font-size="12" fill="#1f2328" text-anchor="end"${bold}>${escapeXml(row.label)}</text>`,
    );
    row.values.forEach((value, i) => {
      const by = gy + i * barHeight;
      const w = Math.max(1, x(value) - plotLeft);
      out.push(
        `<rect x="${plotLeft}" y="${by}" width="${w.toFixed(1)}" height="${barHeight - 2}" fill="${COLOURS[i]}"/>`,
        `<text x="${(plotLeft + w + 4).toFixed(1)}" y="${by + barHeight - 4}" ${FONT} font-size="11" fill="#1f2328">${escapeXml(figure(row.texts[i], spec.unit))}</text>`,
      );
    });
  });
  if (spec.goal !== undefined) {
    const gx = x(spec.goal.value).toFixed(1);
    out.push(
      `<line x1="${gx}" y1="${top - 8}" x2="${gx}" y2="${height - 28}" stroke="#b42318" stroke-width="1.5" stroke-dasharray="5 4"/>`,
      `<text x="${gx}" y="${top - 12}" ${FONT} font-size="11" fill="#b42318" text-anchor="middle">${escapeXml(spec.goal.label)}</text>`,
    );
  }
  out.push('</svg>', '');
  return out.join('\n');
}

/** Every chart's SVG, from RESULTS.md as it is now. */
export async function drawAll() {
  const tables = tablesOf(await readFile(RESULTS, 'utf8'));
  return CHARTS.map((spec) => {
    const found = tables.get(spec.name);
    if (found === undefined)
      throw new Error(`RESULTS.md has no <!-- chart: ${spec.name} --> table`);
    const picture = `![${spec.title}](charts/${spec.name}.svg)`;
    return {
      spec,
      file: join(CHARTS_DIR, `${spec.name}.svg`),
      svg: renderChart(spec, dataOf(spec, found.table)),
      pictured: found.pictures.includes(picture),
      picture,
    };
  });
}

async function main() {
  const check = process.argv.includes('--check');
  const charts = await drawAll();
  const problems = [];
  await mkdir(CHARTS_DIR, { recursive: true });
  for (const chart of charts) {
    if (!chart.pictured) {
      problems.push(`RESULTS.md: put ${chart.picture} right under the ${chart.spec.name} table`);
    }
    if (check) {
      const current = await readFile(chart.file, 'utf8').catch(() => '');
      if (current !== chart.svg) problems.push(`${chart.spec.name}.svg does not match its table`);
    } else {
      await writeFile(chart.file, chart.svg);
      console.log(`wrote benchmarks/charts/${chart.spec.name}.svg`);
    }
  }
  if (problems.length > 0) {
    console.error(
      [...problems, check ? 'Run: npm run bench:charts -w @bulwark/benchmarks' : ''].join('\n'),
    );
    process.exit(1);
  }
  if (check) console.log(`benchmark charts: ${charts.length} up to date with RESULTS.md`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
