// sluice dashboard: charts drawn as inline SVG (no library, no CDN). The Charts page reads
// GET /v1/charts (the store's minute samples); a run page charts its own rate over time.
// Uses dashboard.js's api, esc, num, age, sleep, $.
"use strict";

const CHART_W = 300, CHART_H = 80, CHART_PAD = 3;
const fmt = (v, unit) => v == null ? "–" : unit === "s" ? (v < 1 ? `${Math.round(v * 1000)} ms` : `${v.toFixed(2)} s`)
  : v >= 100 ? num(Math.round(v)) : String(Math.round(v * 10) / 10);

// One chart: lines of `series` ([{key, name}]) over `points` ([{at, key: value}]); a null value
// breaks its line. The caption says the latest value of each and the scale's top.
function chart(points, series, title, unit = "") {
  const at = points.map((p) => p.at);
  const x0 = Math.min(...at), x1 = Math.max(...at);
  const values = points.flatMap((p) => series.map((s) => p[s.key])).filter((v) => v != null);
  const top = Math.max(...values, 0) || 1;
  const x = (t) => CHART_PAD + (x1 > x0 ? (t - x0) / (x1 - x0) : 1) * (CHART_W - 2 * CHART_PAD);
  const y = (v) => CHART_H - CHART_PAD - (v / top) * (CHART_H - 2 * CHART_PAD);
  const paths = series.map((s, i) => {
    let d = "", pen = "M";
    for (const p of points) {
      if (p[s.key] == null) { pen = "M"; continue; }
      d += `${pen}${x(p.at).toFixed(1)},${y(p[s.key]).toFixed(1)} `; pen = "L";
    }
    return `<path class="line s${i}" d="${d.trim()}"></path>`;
  }).join("");
  const last = points.length ? points[points.length - 1] : {};
  const legend = series.map((s, i) => `<span class="key s${i}">${esc(s.name)} ${fmt(last[s.key], unit)}</span>`).join(" ");
  const span = points.length > 1 ? `over ${age(x1 - x0)}` : "";
  return `<figure class="chart"><figcaption><b>${esc(title)}</b> ${legend}` +
    `<span class="muted"> · top ${fmt(top, unit)} ${span}</span></figcaption>` +
    `<svg class="chart" viewBox="0 0 ${CHART_W} ${CHART_H}" role="img" aria-label="${esc(title)}">` +
    `<line class="axis" x1="0" y1="${CHART_H - CHART_PAD}" x2="${CHART_W}" y2="${CHART_H - CHART_PAD}"></line>` +
    `${points.length ? paths : `<text x="8" y="44" class="muted">no samples yet</text>`}</svg></figure>`;
}

// -- a run's rate over time, from the states its page is streamed (1 s apart at least) -------
const runSeen = [];
function runRate(state) {
  const now = Date.now() / 1000;
  const last = runSeen[runSeen.length - 1];
  if (!last || now - last.t >= 1 || FINISHED.has(state.status)) runSeen.push({ t: now, done: state.done, units: state.units });
  const points = runSeen.slice(1).map((p, i) => {
    const before = runSeen[i], took = p.t - before.t;
    return { at: p.t, rate: took > 0 ? (p.done - before.done) / took : null,
      rows: took > 0 && state.units ? (p.units - before.units) / took : null };
  });
  const series = [{ key: "rate", name: "messages/s" }, ...(state.units ? [{ key: "rows", name: "rows/s" }] : [])];
  const box = document.querySelector("#run-chart");
  if (points.length) box.innerHTML = chart(points, series, "Rate over time");
  else if (FINISHED.has(state.status)) box.innerHTML = stageRates(state);
}

// A run that finished before its page opened: each stage's average rate, as steps.
function stageRates(state) {
  const points = [];
  for (const st of state.stages) {
    if (st.started_at == null || st.finished_at == null) continue;
    const took = Math.max(st.finished_at - st.started_at, 0.001);
    const rate = (st.succeeded + st.dead) / took;
    points.push({ at: st.started_at, rate }, { at: st.finished_at, rate });
  }
  return points.length ? chart(points, [{ key: "rate", name: "messages/s" }], "Average rate by stage") : "";
}

// -- the Charts page --------------------------------------------------------------------------
(() => {
  if (document.body.dataset.page !== "charts") return;
  let range = new URLSearchParams(location.search).get("window") || "hour";
  const QUEUE = [
    [[{ key: "depth", name: "depth" }, { key: "in_flight", name: "in flight" }], "Depth"],
    [[{ key: "throughput", name: "done/s" }], "Throughput"],
    [[{ key: "dead", name: "dead letters" }], "Dead letters"]];
  const ACTION = [
    [[{ key: "throughput", name: "done/s" }], "Throughput", ""],
    [[{ key: "failures", name: "failures" }], "Failures per step", ""],
    [[{ key: "p50", name: "p50" }, { key: "p99", name: "p99" }], "Handler time", "s"]];
  const rows = (named, kinds, attr) => Object.entries(named).map(([name, points]) =>
    `<div class="chart-row" data-${attr}="${esc(name)}"><h3>${esc(name)}</h3>` +
    kinds.map(([series, title, unit]) => chart(points, series, title, unit)).join("") + "</div>").join("") ||
    `<p class="muted">no samples yet: each worker's housekeeping takes one a minute</p>`;
  async function load() {
    const data = await api(`/v1/charts?window=${encodeURIComponent(range)}`);
    $("#chart-queues").innerHTML = rows(data.queues, QUEUE, "queue");
    $("#chart-actions").innerHTML = rows(data.actions, ACTION, "action");
    for (const b of document.querySelectorAll("button[data-window]")) b.classList.toggle("on", b.dataset.window === range);
  }
  document.querySelector("main").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-window]");
    if (!button) return;
    range = button.dataset.window;
    history.replaceState(null, "", `?window=${range}`);
    load().catch(() => {});
  });
  (async () => {
    for (;;) { try { await load(); } catch (error) { /* banner */ } await sleep(30000); }
  })();
})();
