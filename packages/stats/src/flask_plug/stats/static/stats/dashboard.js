// The stats dashboard: polls the JSON view of the same app and draws SVG charts.
// No library and no request to any other origin.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477"];
const body = document.body;
const summaryUrl = body.dataset.summaryUrl;
const refreshMs = Number(body.dataset.refreshSeconds) * 1000;

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

function number(value) {
  return value.toFixed(value >= 100 || value === 0 ? 0 : value >= 10 ? 1 : 2);
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString();
}

// Lines over the server's history, one point per interval; a gap where a value is null
// (no request in that interval has no percentile).
function drawLines(svg, points, interval, floor, series) {
  clear(svg);
  const width = 600, height = 180, left = 44, right = 8, top = 10, bottom = 40;
  const values = points.flatMap((p) => series.map((s) => s.value(p))).filter((v) => v !== null);
  const high = Math.max(floor, ...values);
  const y = (v) => height - bottom - (v / high) * (height - bottom - top);
  for (const fraction of [0, 0.5, 1]) {
    svg.append(el("line", { x1: left, x2: width - right, y1: y(high * fraction), y2: y(high * fraction), class: "grid" }));
    svg.append(el("text", { x: 2, y: y(high * fraction) + 4 }, number(high * fraction)));
  }
  if (points.length === 0) {
    svg.append(el("text", { x: left + 10, y: 40 }, `Collecting… a point is added as each ${interval} s interval ends.`));
    return;
  }
  const step = (width - left - right) / Math.max(1, points.length - 1);
  const x = (i) => (points.length === 1 ? width - right : left + i * step);
  series.forEach((s) => {
    let d = "", drawing = false;
    points.forEach((p, i) => {
      const v = s.value(p);
      if (v === null) { drawing = false; return; }
      d += `${drawing ? "L" : "M"}${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
      // A lone point is drawn as a dot: a zero-length line with round caps.
      if (!drawing && (i + 1 === points.length || s.value(points[i + 1]) === null)) d += "l0 0 ";
      drawing = true;
    });
    svg.append(el("path", { d, class: `series ${s.name}`, stroke: s.color, fill: "none", "stroke-width": 2, "stroke-linecap": "round" }));
  });
  const first = points[0].start, last = points[points.length - 1].start + interval;
  svg.append(el("text", { x: left, y: height - bottom + 14 }, clock(first)));
  svg.append(el("text", { x: width - right, y: height - bottom + 14, "text-anchor": "end" }, clock(last)));
  series.forEach((s, j) => {
    const lx = left + 130 + j * 110, ly = height - 12;
    svg.append(el("rect", { x: lx, y: ly - 9, width: 10, height: 10, fill: s.color }));
    svg.append(el("text", { x: lx + 14, y: ly, class: "legend" }, s.label));
  });
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

function share(part, whole) {
  return whole ? ((100 * part) / whole).toFixed(1) + "%" : "–";
}

function render(data) {
  const endpoints = Object.entries(data.endpoints);
  const total = endpoints.reduce((sum, [, e]) => sum + e.count, 0);
  const { interval, points } = data.history;
  drawLines(document.getElementById("rate-chart"), points, interval, 1, [
    { name: "requests", label: "requests/s", color: COLORS[0], value: (p) => p.requests / interval },
    { name: "errors", label: "5xx/s", color: COLORS[1], value: (p) => p.errors / interval },
  ]);
  const inMs = (name) => (p) => (p[name] === null ? null : p[name] * 1000);
  drawLines(document.getElementById("latency-history-chart"), points, interval, 1, [
    { name: "p50", label: "p50", color: COLORS[0], value: inMs("p50") },
    { name: "p95", label: "p95", color: COLORS[1], value: inMs("p95") },
    { name: "p99", label: "p99", color: COLORS[2], value: inMs("p99") },
  ]);
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
    const clientErrors = Object.entries(e.statuses).filter(([s]) => s[0] === "4").reduce((a, [, n]) => a + n, 0);
    const cells = [name, e.count, share(e.errors, e.count), share(clientErrors, e.count), ms(e.mean), ms(e.p50), ms(e.p95), ms(e.p99), collectors];
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  }));
  const latest = points[points.length - 1];
  const rates = latest
    ? `; ${number(latest.requests / interval)} requests/s, ${number(latest.errors / interval)} 5xx/s over the last ${interval} s`
    : "";
  document.getElementById("status").textContent =
    `${total} requests, ${data.in_flight} in flight${rates}; updated ${new Date().toLocaleTimeString()}`;
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
