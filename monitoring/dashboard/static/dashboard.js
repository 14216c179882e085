// The analysts' dashboard: reads the monitoring JSON routes and draws them with plotly.js.
"use strict";

const BASE = document.querySelector('meta[name="monitoring-base"]').content;
const $ = (id) => document.getElementById(id);
const state = { model: null, summary: null };

async function api(path, options = {}) {
  const response = await fetch(BASE + path, { credentials: "same-origin", ...options });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(`${response.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  }
  return response.json();
}

function range() {
  const until = state.summary && state.summary.latest_day && state.summary.latest_day !== "unknown"
    ? new Date(state.summary.latest_day + "T00:00:00Z") : new Date();
  const since = new Date(until.getTime() - (Number($("range").value) - 1) * 86400000);
  const day = (d) => d.toISOString().slice(0, 10);
  return `since=${day(since)}&until=${day(until)}`;
}

function query(extra = "") {
  const parts = [`model=${encodeURIComponent(state.model)}`, range()];
  if ($("window").value) parts.push(`window=${encodeURIComponent($("window").value)}`);
  if (extra) parts.push(extra);
  return parts.join("&");
}

function status(text) { $("status").textContent = text; }

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

async function act(alert, action, input) {
  const note = input.value.trim();
  if (action === "resolve" && !note) { input.focus(); status("a resolution needs a note"); return; }
  const body = action === "acknowledge" ? { note: note || null } : { note };
  try {
    await api(`/alerts/${alert.id}/${action}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    status(`alert ${alert.id} ${action === "acknowledge" ? "acknowledged" : "resolved"}`);
  } catch (error) { status(String(error.message)); }
  await loadAlerts();
}

async function loadAlerts() {
  const states = $("alert-state").value.split(",").filter(Boolean);
  const params = states.map((s) => `state=${s}`).join("&");
  const { alerts } = await api(`/alerts?limit=200${params ? "&" + params : ""}`);
  const body = $("alerts").querySelector("tbody");
  body.replaceChildren();
  $("alerts-empty").hidden = alerts.length > 0;
  for (const alert of alerts) {
    const row = document.createElement("tr");
    row.dataset.alertId = alert.id;
    row.append(cell(alert.id), cell(alert.severity, `severity-${alert.severity}`),
      cell(alert.state, `state state-${alert.state}`));
    const what = cell(alert.title);
    const summary = document.createElement("div");
    summary.className = "summary";
    summary.textContent = alert.summary;
    what.append(summary);
    row.append(what, cell(alert.occurrences), cell(alert.last_seen.replace("T", " ").slice(0, 19)),
      cell(alert.assignee || ""));
    const actions = cell("", "actions");
    if (alert.state !== "resolved") {
      const input = document.createElement("input");
      input.placeholder = "note";
      input.setAttribute("aria-label", `note for alert ${alert.id}`);
      actions.append(input);
      if (alert.state === "open") {
        const ack = document.createElement("button");
        ack.textContent = "Acknowledge";
        ack.className = "acknowledge";
        ack.onclick = () => act(alert, "acknowledge", input);
        actions.append(ack);
      }
      const resolve = document.createElement("button");
      resolve.textContent = "Resolve";
      resolve.className = "resolve";
      resolve.onclick = () => act(alert, "resolve", input);
      actions.append(resolve);
    }
    row.append(actions);
    body.append(row);
  }
}

async function loadDrift() {
  const { rows } = await api(`/drift/daily?${query()}`);
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const columns = state.summary.columns.map((c) => c.name).filter((c) => rows.some((r) => r.column === c));
  const z = columns.map(() => days.map(() => null));
  const text = columns.map(() => days.map(() => ""));
  const flagged = [];
  for (const r of rows) {
    const i = columns.indexOf(r.column), j = days.indexOf(r.day);
    if (i < 0 || j < 0) continue;
    if (z[i][j] === null || r.max_js > z[i][j]) z[i][j] = r.max_js;
    text[i][j] += `${r.window}: ${r.drifted_windows}/${r.windows} windows drifted, max PSI ${r.max_psi.toFixed(3)}<br>`;
    if (r.drifted_windows > 0) flagged.push({ x: r.day, y: r.column });
  }
  Plotly.react("drift-heatmap", [
    { type: "heatmap", x: days, y: columns, z, text, hovertemplate: "%{y} %{x}<br>JS %{z:.3f}<br>%{text}<extra></extra>",
      colorscale: "YlOrRd", reversescale: true, zmin: 0, colorbar: { title: "JS" } },
    { type: "scatter", mode: "markers", x: flagged.map((f) => f.x), y: flagged.map((f) => f.y), name: "drift",
      marker: { symbol: "square-open", size: 12, color: "#1d2330", line: { width: 2 } }, hoverinfo: "skip" },
  ], { margin: { l: 210, r: 20, t: 10, b: 60 }, showlegend: false, yaxis: { automargin: true } },
  { responsive: true, displaylogo: false });
  const select = $("column");
  if (!select.options.length) {
    for (const c of state.summary.columns) select.append(new Option(`${c.name} (${c.group})`, c.name));
    const moved = rows.filter((r) => r.drifted_windows > 0).sort((a, b) => b.max_js - a.max_js)[0];
    if (moved) select.value = moved.column;
  }
  await loadColumn();
}

async function loadColumn() {
  const column = $("column").value;
  if (!column) return;
  const { rows } = await api(`/drift/windows?${query(`column=${encodeURIComponent(column)}&limit=2000`)}`);
  const series = {};
  for (const r of rows) (series[r.window] = series[r.window] || []).push(r);
  const traces = [];
  for (const [window, items] of Object.entries(series)) {
    const x = items.map((r) => r.end_time);
    traces.push({ x, y: items.map((r) => r.js_distance), name: `JS ${window}`, mode: "lines+markers", type: "scatter",
      marker: { color: items.map((r) => (r.drifted ? "#b00020" : "#4063b8")), size: 6 } });
    traces.push({ x, y: items.map((r) => r.psi), name: `PSI ${window}`, mode: "lines", type: "scatter",
      line: { dash: "dot" }, yaxis: "y2" });
  }
  const bands = (state.summary.psi_bands || [0.1, 0.25]).map((v, i) => ({
    type: "line", xref: "paper", x0: 0, x1: 1, yref: "y2", y0: v, y1: v,
    line: { color: i ? "#b00020" : "#a15c00", dash: "dash", width: 1 } }));
  Plotly.react("drift-column", traces, {
    margin: { l: 50, r: 50, t: 10, b: 40 }, shapes: bands, legend: { orientation: "h" },
    yaxis: { title: "Jensen-Shannon", rangemode: "tozero" },
    yaxis2: { title: "PSI (bands 0.1 / 0.25)", overlaying: "y", side: "right", rangemode: "tozero" },
  }, { responsive: true, displaylogo: false });
}

async function loadScores() {
  let data;
  try { data = await api(`/scores?${query()}`); } catch (error) { status(error.message); return; }
  const x = data.bins.map((_, i) => i);
  Plotly.react("scores", [
    { type: "bar", x, y: data.reference, name: "reference", marker: { color: "#9aa5b8" }, text: data.bins,
      hovertemplate: "%{text}<br>%{y:.2%}<extra>reference</extra>" },
    { type: "bar", x, y: data.current, name: `${data.since} .. ${data.until}`, marker: { color: "#4063b8" },
      text: data.bins, hovertemplate: "%{text}<br>%{y:.2%}<extra>current</extra>" },
  ], { barmode: "group", bargap: 0.05, margin: { l: 50, r: 10, t: 10, b: 40 }, legend: { orientation: "h" },
    xaxis: { title: "score bin (reference quantiles)" }, yaxis: { title: "share", tickformat: ".1%" } },
  { responsive: true, displaylogo: false });
}

async function loadPerformance() {
  const data = await api(`/performance?${query()}`);
  const x = data.days.map((d) => d.day);
  const colours = { auc_roc: "#4063b8", average_precision: "#1b7a3a", card_precision_at_100: "#a15c00" };
  const traces = [];
  for (const [metric, colour] of Object.entries(colours)) {
    traces.push({ x, y: data.days.map((d) => d.realised[metric]), name: `${metric} realised`, mode: "lines+markers",
      line: { color: colour }, marker: { symbol: data.days.map((d) => (d.mature ? "circle" : "circle-open")) } });
    traces.push({ x, y: data.days.map((d) => d.estimated[metric]), name: `${metric} estimated`, mode: "lines",
      line: { color: colour, dash: "dash" } });
  }
  const shapes = Object.entries(data.gate_minimum).filter(([m]) => m in colours).map(([m, v]) => ({
    type: "line", xref: "paper", x0: 0, x1: 1, y0: v, y1: v, line: { color: colours[m], width: 1, dash: "dot" } }));
  Plotly.react("performance", traces, { margin: { l: 50, r: 10, t: 10, b: 40 }, shapes, legend: { orientation: "h" },
    yaxis: { range: [0, 1], title: "metric (dotted: the gate's minimum)" } }, { responsive: true, displaylogo: false });
}

async function loadAll() {
  status("loading");
  try {
    state.summary = await api(`/summary${state.model ? "?model=" + encodeURIComponent(state.model) : ""}`);
    state.model = state.summary.model;
    const models = $("model");
    if (!models.options.length) {
      for (const m of state.summary.models) models.append(new Option(m.slice(0, 16), m));
      models.value = state.model;
    }
    await Promise.all([loadAlerts(), loadDrift(), loadScores(), loadPerformance()]);
    document.body.dataset.loaded = "true";
    status(`model ${state.model.slice(0, 16)}, latest day ${state.summary.latest_day || "-"}`);
  } catch (error) {
    status(String(error.message));
  }
}

async function loadWindows() {
  const { rows } = await api(`/drift/daily?${query()}`);
  const select = $("window");
  for (const w of [...new Set(rows.map((r) => r.window))].sort()) select.append(new Option(w, w));
}

$("model").onchange = () => { state.model = $("model").value; $("column").replaceChildren(); loadAll(); };
$("range").onchange = () => loadAll();
$("window").onchange = () => loadAll();
$("column").onchange = () => loadColumn();
$("alert-state").onchange = () => loadAlerts();
loadAll().then(() => (state.model ? loadWindows() : null)).catch((e) => status(String(e.message)));
