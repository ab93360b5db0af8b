// The stats dashboard: polls the JSON view of the same app and draws SVG charts.
// No library and no request to any other origin.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477"];
const body = document.body;
const summaryUrl = body.dataset.summaryUrl;
const refreshMs = Number(body.dataset.refreshSeconds) * 1000;
const history = [];  // [{time, total}] for the rate chart

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function clear(svg) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
}

function ms(seconds) {
  return seconds === null || seconds === undefined ? "–" : (seconds * 1000).toFixed(1);
}

function drawRate(svg) {
  clear(svg);
  const width = 600, height = 160, left = 40, bottom = 20;
  const rates = history.slice(1).map((point, i) => ({
    time: point.time,
    rate: (point.total - history[i].total) / ((point.time - history[i].time) / 1000),
  }));
  const top = Math.max(1, ...rates.map((r) => r.rate));
  for (const fraction of [0, 0.5, 1]) {
    const y = height - bottom - fraction * (height - bottom - 10);
    svg.append(el("line", { x1: left, x2: width, y1: y, y2: y, class: "grid" }));
    svg.append(el("text", { x: 2, y: y + 4 }, (top * fraction).toFixed(1)));
  }
  if (rates.length < 2) {
    svg.append(el("text", { x: left + 10, y: 40 }, "Collecting… the rate appears after two refreshes."));
    return;
  }
  const step = (width - left) / Math.max(1, rates.length - 1);
  const points = rates.map((r, i) => {
    const y = height - bottom - (r.rate / top) * (height - bottom - 10);
    return `${left + i * step},${y}`;
  });
  svg.append(el("polyline", { points: points.join(" "), fill: "none", stroke: COLORS[0], "stroke-width": 2 }));
}

function frame(svg, rows, rowHeight, legend, colorOf) {
  const width = 600;
  clear(svg);
  svg.setAttribute("viewBox", `0 0 ${width} ${Math.max(40, rows.length * rowHeight + 34)}`);
  rows.forEach((row, i) => {
    svg.append(el("text", { x: 2, y: 10 + i * rowHeight + rowHeight * 0.6 }, row.label.slice(0, 22)));
  });
  legend.forEach((name, j) => {
    const x = 140 + j * 70, y = rows.length * rowHeight + 18;
    svg.append(el("rect", { x, y, width: 10, height: 10, fill: colorOf(name, j) }));
    svg.append(el("text", { x: x + 14, y: y + 9, class: "legend" }, name));
  });
}

// Grouped bars (p50, p95, p99) per endpoint, with one label per endpoint.
function drawLatency(svg, rows) {
  const left = 140, room = 600 - left - 150, rowHeight = 24, names = ["p50", "p95", "p99"];
  frame(svg, rows, rowHeight, names, (name, j) => COLORS[j]);
  const top = Math.max(1e-9, ...rows.flatMap((row) => names.map((n) => row.values[n] || 0)));
  rows.forEach((row, i) => {
    const y = 10 + i * rowHeight, barHeight = (rowHeight - 6) / names.length;
    names.forEach((name, j) => {
      const w = (room * (row.values[name] || 0)) / top;
      svg.append(el("rect", { x: left, y: y + j * barHeight, width: w, height: barHeight - 1, fill: COLORS[j] }));
    });
    const longest = (room * Math.max(...names.map((n) => row.values[n] || 0))) / top;
    const label = names.map((n) => (row.values[n] || 0).toFixed(1)).join(" / ") + " ms";
    svg.append(el("text", { x: left + longest + 4, y: y + rowHeight * 0.55 }, label));
  });
}

// One bar per endpoint, split by status code, with the total at its end.
function drawStatuses(svg, rows, statuses) {
  const left = 140, room = 600 - left - 60, rowHeight = 20;
  const colorOf = (status) => {
    const shades = { "2": ["#109618", "#4cae4c", "#7bc47b"], "3": ["#3366cc", "#6f8fd6"], "4": ["#ff9900", "#ffb84d", "#cc7a00"], "5": ["#dc3912", "#a12a0d"] };
    const family = shades[status[0]] || ["#999"];
    const sameClass = statuses.filter((s) => s[0] === status[0]);
    return family[sameClass.indexOf(status) % family.length];
  };
  frame(svg, rows, rowHeight, statuses, colorOf);
  const top = Math.max(1, ...rows.map((row) => Object.values(row.values).reduce((a, b) => a + b, 0)));
  rows.forEach((row, i) => {
    const y = 10 + i * rowHeight;
    let x = left;
    for (const status of statuses) {
      const w = (room * (row.values[status] || 0)) / top;
      if (w > 0) svg.append(el("rect", { x, y, width: w, height: rowHeight - 6, fill: colorOf(status) }));
      x += w;
    }
    const total = Object.values(row.values).reduce((a, b) => a + b, 0);
    svg.append(el("text", { x: x + 4, y: y + rowHeight * 0.55 }, String(total)));
  });
}

function render(data) {
  const endpoints = Object.entries(data.endpoints);
  const total = endpoints.reduce((sum, [, e]) => sum + e.count, 0);
  history.push({ time: Date.now(), total });
  if (history.length > 61) history.shift();
  drawRate(document.getElementById("rate-chart"));
  drawLatency(
    document.getElementById("latency-chart"),
    endpoints.map(([name, e]) => ({ label: name, values: { p50: e.p50 * 1000, p95: e.p95 * 1000, p99: e.p99 * 1000 } })),
  );
  const statuses = [...new Set(endpoints.flatMap(([, e]) => Object.keys(e.statuses)))].sort();
  drawStatuses(
    document.getElementById("status-chart"),
    endpoints.map(([name, e]) => ({ label: name, values: e.statuses })),
    statuses,
  );
  const rows = document.getElementById("endpoints");
  rows.replaceChildren(...endpoints.map(([name, e]) => {
    const tr = document.createElement("tr");
    const collectors = Object.entries(e.collectors).map(([k, v]) => `${k}: ${v}`).join(", ");
    for (const value of [name, e.count, (e.error_rate * 100).toFixed(1) + "%", ms(e.mean), ms(e.p50), ms(e.p95), ms(e.p99), collectors]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  }));
  document.getElementById("status").textContent =
    `${total} requests, ${data.in_flight} in flight; updated ${new Date().toLocaleTimeString()}`;
}

async function refresh() {
  try {
    const response = await fetch(summaryUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    document.getElementById("status").textContent = `Could not load the stats (${error.message}); retrying.`;
  }
}

refresh();
setInterval(refresh, refreshMs);
