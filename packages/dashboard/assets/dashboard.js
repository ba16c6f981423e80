// The live part of Bulwark's dashboard. The server renders the page with the current snapshot;
// this script keeps it current from the event stream (one snapshot per tick, the same for every
// viewer) and draws the latency charts with uPlot. It renders the same tables from the same data
// as the server: every text is formatted there, so the two cannot disagree.
(function () {
  'use strict';

  const base = document.body.dataset.base;
  const embedded = JSON.parse(document.getElementById('bulwark-data').textContent);
  const live = document.getElementById('live');
  const at = document.getElementById('at');
  /** Chart data: times (seconds) and, per row id, one array per series. */
  let history = embedded.history;
  let maxPoints = embedded.historyPoints;
  let boot = embedded.snapshot.boot;
  let lastTick = embedded.snapshot.tick;
  const charts = new Map();

  function timeText(ms) {
    return new Date(ms).toISOString().slice(11, 19) + ' UTC';
  }

  function setCell(td, cell) {
    const text = cell ? cell.text : '';
    if (td.textContent !== text && !td.classList.contains('chart')) td.textContent = text;
    const tone = cell && cell.tone ? cell.tone : '';
    if ((td.dataset.tone || '') !== tone) {
      if (tone) td.dataset.tone = tone;
      else delete td.dataset.tone;
    }
  }

  function makeRow(table, row) {
    const tr = document.createElement('tr');
    tr.id = row.id;
    for (const column of table.columns) {
      const td = document.createElement('td');
      td.dataset.k = column.key;
      if (column.chart) td.className = 'chart';
      tr.appendChild(td);
    }
    return tr;
  }

  /** Brings one table's section in line with its view: rows added, updated, reordered, removed. */
  function applyTable(table) {
    const section = document.getElementById('t-' + table.id);
    if (!section) return;
    const element = section.querySelector('table');
    const tbody = element.tBodies[0];
    const keep = new Set();
    for (const row of table.rows) {
      let tr = document.getElementById(row.id);
      if (!tr || tr.parentElement !== tbody) tr = makeRow(table, row);
      keep.add(tr);
      for (const td of tr.children) setCell(td, row.cells[td.dataset.k]);
      tbody.appendChild(tr);
    }
    for (const tr of Array.from(tbody.rows)) {
      if (!keep.has(tr)) {
        dropChart(tr.id);
        tr.remove();
      }
    }
    element.hidden = table.rows.length === 0;
    section.querySelector('.empty').hidden = table.rows.length !== 0;
    const note = section.querySelector('.note');
    note.textContent = table.note || '';
    note.hidden = !table.note;
  }

  function dropChart(id) {
    const chart = charts.get(id);
    if (chart) {
      chart.destroy();
      charts.delete(id);
    }
  }

  /** Appends a tick's points to the history, keeping at most maxPoints. */
  function appendPoints(snapshot) {
    history.at.push(Math.floor(snapshot.at / 1000));
    const length = history.at.length;
    for (const table of snapshot.tables) {
      for (const row of table.rows) {
        if (!row.points) continue;
        let series = history.rows[row.id];
        if (!series) {
          series = row.points.map(() => new Array(length - 1).fill(null));
          history.rows[row.id] = series;
        }
        row.points.forEach((value, i) => series[i].push(value));
      }
    }
    if (length > maxPoints) {
      const cut = length - maxPoints;
      history.at.splice(0, cut);
      for (const id of Object.keys(history.rows)) {
        for (const series of history.rows[id]) series.splice(0, cut);
      }
    }
  }

  function drawCharts() {
    if (typeof uPlot !== 'function') return;
    for (const td of document.querySelectorAll('td.chart')) {
      const id = td.parentElement.id;
      const series = history.rows[id];
      if (!series) continue;
      const data = [history.at].concat(series);
      let chart = charts.get(id);
      if (!chart || chart.root.parentElement !== td) {
        dropChart(id);
        chart = new uPlot(
          {
            width: 160,
            height: 34,
            legend: { show: false },
            cursor: { show: false },
            select: { show: false },
            axes: [{ show: false }, { show: false }],
            scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max : 1] } },
            series: [
              {},
              { label: 'p50', stroke: '#2f6fb3', width: 1.5 },
              { label: 'p99', stroke: '#c2410c', width: 1.5 },
            ],
          },
          data,
          td,
        );
        charts.set(id, chart);
      } else {
        chart.setData(data);
      }
    }
  }

  function apply(snapshot) {
    for (const table of snapshot.tables) applyTable(table);
    at.textContent = timeText(snapshot.at);
    document.title = snapshot.title + ' — Bulwark dashboard';
    drawCharts();
  }

  function setLive(text, tone) {
    live.textContent = text;
    live.dataset.tone = tone;
  }

  drawCharts();

  if (typeof EventSource !== 'function') return;
  const stream = new EventSource(base + '/events');
  stream.onopen = function () {
    setLive('live', 'ok');
  };
  stream.onerror = function () {
    setLive('reconnecting…', 'warn');
  };
  // The first frame of every connection: the whole state, history included. After a restart it
  // comes from a new process, whose history starts again.
  stream.addEventListener('full', function (event) {
    const frame = JSON.parse(event.data);
    for (const id of Array.from(charts.keys())) dropChart(id);
    history = frame.history;
    maxPoints = frame.historyPoints;
    boot = frame.snapshot.boot;
    lastTick = frame.snapshot.tick;
    apply(frame.snapshot);
    setLive('live', 'ok');
  });
  stream.onmessage = function (event) {
    const snapshot = JSON.parse(event.data);
    if (snapshot.boot !== boot || snapshot.tick <= lastTick) return;
    lastTick = snapshot.tick;
    appendPoints(snapshot);
    apply(snapshot);
  };
})();
