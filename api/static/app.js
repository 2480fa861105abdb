// The edgeperf dashboard: calls the service's own JSON endpoints and draws them with Plotly.
"use strict";

const METRICS = [
  ["latency_ms", "latency (ms)", "chart-latency"],
  ["energy_mj", "energy (mJ)", "chart-energy"],
  ["memory_kb", "memory (KiB)", "chart-memory"],
];
const LAYOUT = { margin: { l: 60, r: 10, t: 40, b: 110 }, font: { size: 11 } };
let lastResult = null;

function setStatus(text, state) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.dataset.state = state;
}

async function getJSON(url, options) {
  const r = await fetch(url, options);
  const body = await r.json();
  if (!r.ok) throw new Error(`${r.status}: ${typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)}`);
  return body;
}

function fmt(v) { return v === null || v === undefined ? "–" : Number(v).toPrecision(4); }

function drawTargets(result) {
  for (const [key, title, id] of METRICS) {
    const rows = result.predictions.filter((p) => p[key] !== null);
    Plotly.react(id, [{ type: "bar", x: rows.map((p) => p.target), y: rows.map((p) => p[key]) }],
      { ...LAYOUT, title: { text: title }, yaxis: { type: "log" } }, { displayModeBar: false });
  }
  const nulls = result.predictions.filter((p) => p.note);
  document.getElementById("nulls").innerHTML = nulls
    .map((p) => `<div><b>${p.target}</b>: ${p.note}</div>`).join("");
}

function drawLayers() {
  if (!lastResult || !lastResult.layers) return;
  const accel = document.getElementById("layer-accel").value;
  const layers = lastResult.layers;
  const x = layers.map((l) => `${l.index} ${l.op}`);
  Plotly.react("chart-layers", [
    { type: "bar", name: "latency (ms)", x, y: layers.map((l) => l.cost[accel].latency_ms), offsetgroup: 1 },
    { type: "bar", name: "energy (mJ)", x, y: layers.map((l) => l.cost[accel].energy_mj), yaxis: "y2", offsetgroup: 2 },
  ], {
    ...LAYOUT, title: { text: `per layer on ${accel}` }, barmode: "group",
    yaxis: { title: { text: "ms" } }, yaxis2: { title: { text: "mJ" }, overlaying: "y", side: "right" },
  }, { displayModeBar: false });
}

function drawNpu(result) {
  const npu = result.predictions.filter((p) => p.target.startsWith("npu-") && p.latency_ms !== null);
  Plotly.react("chart-npu", [
    { type: "bar", name: "latency (ms)", x: npu.map((p) => p.target), y: npu.map((p) => p.latency_ms), offsetgroup: 1 },
    { type: "bar", name: "energy (mJ)", x: npu.map((p) => p.target), y: npu.map((p) => p.energy_mj), yaxis: "y2", offsetgroup: 2 },
  ], {
    ...LAYOUT, title: { text: "this model on the npu-* accelerators" }, barmode: "group",
    yaxis2: { overlaying: "y", side: "right" },
  }, { displayModeBar: false });
}

async function drawFormats() {
  const body = await getJSON("/hardware/formats");
  const f = body.formats;
  Plotly.react("chart-format-area", [{ type: "bar", x: f.map((r) => r.format), y: f.map((r) => r.area_um2) }],
    { ...LAYOUT, title: { text: `MAC area (µm², ${body.node})` } }, { displayModeBar: false });
  Plotly.react("chart-format-energy", [{ type: "bar", x: f.map((r) => r.format), y: f.map((r) => r.energy_pj) }],
    { ...LAYOUT, title: { text: `energy per MAC (pJ, ${body.node})` } }, { displayModeBar: false });
}

async function drawHistory() {
  const page = await getJSON("/predictions?limit=50");
  const tbody = document.querySelector("#history tbody");
  tbody.innerHTML = "";
  for (const item of page.items) {
    const tr = document.createElement("tr");
    const o = item.output;
    for (const v of [item.created_at.slice(0, 19), item.filename || item.model_sha256.slice(0, 12), item.target,
      fmt(o.latency_ms), fmt(o.energy_mj), fmt(o.memory_kb), o.source || "–"]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
}

function cell(tr, text) {
  const td = document.createElement("td");
  td.textContent = text;
  tr.appendChild(td);
}

function drawTargetsTable(body) {
  const tbody = document.querySelector("#targets tbody");
  tbody.innerHTML = "";
  for (const t of body.targets) {
    const acc = t.accuracy.latency_ms || {};
    const tr = document.createElement("tr");
    for (const v of [t.name, t.labels, t.description, acc.n ?? "–", acc.mape === undefined ? "–" : acc.mape.toFixed(1),
      acc.within10 === undefined ? "–" : acc.within10.toFixed(0), acc.kendall_tau === undefined ? "–" : acc.kendall_tau.toFixed(2)]) {
      cell(tr, v);
    }
    tbody.appendChild(tr);
  }
}

async function drawAccuracy() {
  const body = await getJSON("/targets");
  drawTargetsTable(body);
  const measured = body.targets.filter((t) => t.measurements > 0);
  const box = document.getElementById("accuracy");
  box.innerHTML = "";
  document.getElementById("accuracy-empty").hidden = measured.length > 0;
  for (const t of measured) {
    const acc = await getJSON(`/targets/${encodeURIComponent(t.name)}/accuracy`);
    const pts = acc.points.filter((p) => p.predicted_ms !== null);
    const all = pts.flatMap((p) => [p.measured_ms, p.predicted_ms]);
    const lo = Math.min(...all), hi = Math.max(...all);
    const div = document.createElement("div");
    div.className = "chart";
    div.id = `accuracy-${t.name}`;
    box.appendChild(div);
    const mape = acc.mape === null ? "–" : acc.mape.toFixed(1);
    Plotly.react(div, [
      { type: "scatter", mode: "markers", name: "models", x: pts.map((p) => p.measured_ms), y: pts.map((p) => p.predicted_ms) },
      { type: "scatter", mode: "lines", name: "y = x", x: [lo, hi], y: [lo, hi], line: { dash: "dot" } },
    ], {
      ...LAYOUT, title: { text: `${t.name}: MAPE ${mape}% (n=${acc.n})` },
      xaxis: { title: { text: "measured ms" }, type: "log" }, yaxis: { title: { text: "predicted ms" }, type: "log" },
    }, { displayModeBar: false });
  }
}

async function predict(event) {
  event.preventDefault();
  const file = document.getElementById("file").files[0];
  if (!file) { setStatus("choose a .tflite file first", "error"); return; }
  setStatus("predicting…", "busy");
  const form = new FormData();
  form.append("file", file);
  try {
    const result = await getJSON("/predict?layers=true", { method: "POST", body: form });
    lastResult = result;
    const m = result.model;
    document.getElementById("summary").textContent =
      `${file.name}: ${m.precision}, ${m.num_ops} ops, ${m.macs.toLocaleString()} MACs, ` +
      `${m.params.toLocaleString()} params, sha256 ${m.sha256.slice(0, 12)}…, checkpoint ${result.checkpoint}` +
      (result.cached ? " (from the store)" : "");
    drawTargets(result);
    const select = document.getElementById("layer-accel");
    const accels = Object.keys(result.layers[0] ? result.layers[0].cost : {});
    select.innerHTML = accels.map((a) => `<option>${a}</option>`).join("");
    drawLayers();
    drawNpu(result);
    await drawHistory();
    setStatus("done", "done");
  } catch (err) {
    setStatus(err.message, "error");
  }
}

document.getElementById("predict-form").addEventListener("submit", predict);
document.getElementById("layer-accel").addEventListener("change", drawLayers);
Promise.all([drawFormats(), drawHistory(), drawAccuracy()])
  .then(() => { document.body.dataset.ready = "true"; })
  .catch((err) => setStatus(err.message, "error"));
