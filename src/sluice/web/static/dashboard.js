// sluice dashboard: reads the JSON API, follows runs over their progress stream.
"use strict";
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const $ = (sel) => document.querySelector(sel);
const token = () => localStorage.getItem("sluice-token") || "";
const headers = () => (token() ? { Authorization: "Bearer " + token() } : {});
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) =>
  ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const num = (n) => (n ?? 0).toLocaleString("en-US");
const age = (s) => s == null ? "–" : s < 60 ? `${s.toFixed(0)}s` : s < 3600 ?
  `${(s / 60).toFixed(0)}m` : s < 86400 ? `${(s / 3600).toFixed(1)}h` : `${(s / 86400).toFixed(1)}d`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function banner(text, kind) {
  const el = $("#banner");
  if (!text) { el.hidden = true; return; }
  el.textContent = text; el.className = kind || ""; el.hidden = false;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
  if (response.status === 401) {
    banner(token() ? "This token was refused: paste a valid one above." : "This server needs an API token: paste one above.");
    throw new Error("401");
  }
  if (response.status === 403) { banner("Your token may only read: this needs an admin token."); throw new Error("403"); }
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) { banner(data && data.detail ? data.detail : `HTTP ${response.status}`); throw new Error(String(response.status)); }
  return data;
}

// A cancelled run (or stage) shows what succeeded before it was cancelled, never "done":
// its cancelled messages were dead-lettered, so they count in dead, not as finished work.
function bar(state) {
  const cancelled = state.status === "cancelled";
  const done = cancelled ? state.succeeded : state.done;
  const pct = state.total ? Math.floor((100 * done) / state.total) : (FINISHED.has(state.status) && !cancelled ? 100 : 0);
  const cls = state.status === "succeeded" ? "done" : state.status === "failed" ? "failed" : cancelled ? "cancelled" : "";
  const label = cancelled ? `cancelled · ${num(done)} / ${num(state.total)} succeeded`
    : `${num(state.done)} / ${num(state.total)} · ${pct}%`;
  return { pct, cls, html: `<div class="bar"><div class="fill ${cls}" data-pct="${pct}"></div>` +
    `<span class="label">${label}</span></div>` };
}
// Widths are set from script, not style attributes, so the CSP can refuse inline styles.
function paintBars(root) {
  for (const fill of root.querySelectorAll(".fill[data-pct]")) fill.style.width = `${fill.dataset.pct}%`;
}
const rate = (s) => (s.rate == null ? "–" : `${num(Math.round(s.rate))}/s`);
const eta = (s) => (s.eta == null ? "–" : age(s.eta));

// A run's progress stream (server-sent events read through fetch, so the token can be sent);
// reconnects until the run has finished.
async function follow(runId, onState) {
  let last = null;
  for (;;) {
    try {
      const response = await fetch(`/v1/runs/${encodeURIComponent(runId)}/stream`,
        { headers: { ...headers(), ...(last ? { "Last-Event-ID": last } : {}) } });
      if (!response.ok) { await sleep(2000); continue; }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          let data = "";
          for (const line of frame.split("\n")) {
            if (line.startsWith("data:")) data += line.slice(5).trim();
            else if (line.startsWith("id:")) last = line.slice(3).trim();
          }
          if (!data) continue;
          const state = JSON.parse(data);
          onState(state);
          if (FINISHED.has(state.status)) return;
        }
      }
    } catch (error) { /* network hiccup: reconnect below */ }
    await sleep(1000);
  }
}

// -- overview ---------------------------------------------------------------------------------
const following = new Set();
const runRows = new Map();
const lastCounts = new Map();

function runRow(s) {
  const b = bar(s);
  return `<td><a href="/runs/${encodeURIComponent(s.id)}">${esc(s.name)}</a> <code class="muted">${esc(s.id)}</code></td>` +
    `<td><span class="status ${esc(s.status)}">${esc(s.status)}</span></td><td>${b.html}</td>` +
    `<td class="num">${rate(s)}</td><td class="num">${eta(s)}</td><td class="num">${num(s.failed)}</td>` +
    `<td class="num ${s.dead ? "bad" : ""}">${num(s.dead)}</td>` +
    `<td>${esc((s.stages[s.stage] || {}).action || "–")} <span class="muted">${s.stage + 1}/${s.stages.length}</span></td>`;
}

async function overview() {
  for (;;) {
    try {
      const [runs, queues, actions] = await Promise.all([
        api("/v1/runs?limit=20"), api("/v1/queues"), api("/v1/actions")]);
      banner("");
      const body = $("#runs tbody");
      if (!runs.runs.length) body.innerHTML = `<tr><td colspan="8" class="muted">no runs yet</td></tr>`;
      else {
        body.innerHTML = runs.runs.map((s) => `<tr data-run="${esc(s.id)}">${runRow(s)}</tr>`).join("");
        paintBars(body);
        for (const s of runs.runs) {
          runRows.set(s.id, s);
          if (!FINISHED.has(s.status) && !following.has(s.id)) {
            following.add(s.id);
            follow(s.id, (state) => {
              runRows.set(state.id, state);
              const row = document.querySelector(`tr[data-run="${CSS.escape(state.id)}"]`);
              if (row) { row.innerHTML = runRow(state); paintBars(row); }
            }).finally(() => following.delete(s.id));
          }
        }
      }
      const now = Date.now() / 1000;
      $("#queues tbody").innerHTML = queues.queues.map((q) => {
        const moving = q.depth + q.in_flight + q.delayed;
        const before = lastCounts.get(q.queue);
        lastCounts.set(q.queue, { moving, at: now });
        const speed = before && now > before.at ? Math.max(0, (before.moving - moving) / (now - before.at)) : null;
        return `<tr><td><b>${esc(q.queue)}</b></td><td>${q.fifo ? "fifo" : "standard"}</td>` +
          `<td class="num">${num(q.depth)}</td><td class="num">${num(q.in_flight)}</td>` +
          `<td class="num">${num(q.delayed)}</td><td class="num">${q.depth ? age(q.oldest_age) : "–"}</td>` +
          `<td class="num">${q.dlq_depth ? `<a class="bad" href="/queues/${encodeURIComponent(q.queue)}/dlq">${num(q.dlq_depth)}</a>` :
            `<a href="/queues/${encodeURIComponent(q.queue)}/dlq">0</a>`}</td>` +
          `<td class="num">${speed == null ? "–" : `${num(Math.round(speed))}/s`}</td></tr>`;
      }).join("") || `<tr><td colspan="8" class="muted">no queues</td></tr>`;
      $("#actions tbody").innerHTML = actions.actions.map((a) =>
        `<tr><td><b>${esc(a.name)}</b></td><td>${esc(a.queue)}</td><td class="num">${a.batch_size}</td>` +
        `<td class="num">${a.concurrency ?? "–"}</td>` +
        `<td class="num">${a.effective_concurrency == null ? (a.concurrency ?? "–") : a.effective_concurrency.toFixed(1)}</td>` +
        `<td class="num">${a.rate == null ? "–" : `${num(a.rate)}/s`}</td><td class="num">${age(a.timeout)}</td></tr>`
      ).join("") || `<tr><td colspan="7" class="muted">no actions</td></tr>`;
    } catch (error) { /* shown in the banner */ }
    await sleep(2000);
  }
}

// -- a run ------------------------------------------------------------------------------------
async function runPage(runId) {
  $("#run-id").textContent = runId;
  const show = (s) => {
    const b = bar(s);
    $("#run-name").textContent = s.name;
    const status = $("#run-status");
    status.textContent = s.status; status.className = `status ${s.status}`;
    const fill = $("#run-bar");
    fill.style.width = `${b.pct}%`; fill.className = `fill ${b.cls}`;
    const cancelled = s.status === "cancelled";
    $("#run-percent").textContent = cancelled ? `${b.pct}% · cancelled` : `${b.pct}%`;
    $("#run-done").textContent = cancelled ? `cancelled: ${num(s.succeeded)} of ${num(s.total)} succeeded`
      : `${num(s.done)} / ${num(s.total)}`;
    $("#run-succeeded").textContent = num(s.succeeded);
    $("#run-failed").textContent = num(s.failed);
    $("#run-dead").textContent = num(s.dead);
    $("#run-rows").textContent = s.units ? num(s.units) : "–";
    $("#run-rate").textContent = rate(s);
    $("#run-eta").textContent = eta(s);
    $("#run-cancel").hidden = FINISHED.has(s.status);
    $("#stages tbody").innerHTML = s.stages.map((st) => {
      const status = cancelled ? "cancelled" : st.finished ? (st.dead ? "failed" : "succeeded") : "running";
      const sb = bar({ ...st, done: st.succeeded + st.dead, status });
      const where = st.finished ? "done" : st.sealed ? (st.total ? "running" : "waiting") : "open";
      return `<tr><td>${st.index + 1}/${s.stages.length}</td><td>${esc(st.action || "(any)")}</td><td>${sb.html}</td>` +
        `<td class="num">${num(st.succeeded)}</td><td class="num">${num(st.failed)}</td>` +
        `<td class="num ${st.dead ? "bad" : ""}">${num(st.dead)}</td>` +
        `<td class="num">${st.units ? num(st.units) : "–"}</td><td>${where}</td></tr>`;
    }).join("");
    paintBars($("#stages tbody"));
    if (s.dead || s.failed) failures(runId, FINISHED.has(s.status)).catch(() => {});
    runRate(s);  // charts.js
  };
  $("#run-cancel").addEventListener("click", async () => {
    if (!confirm("Cancel this run? Its remaining messages move to their DLQs.")) return;
    await api(`/v1/runs/${encodeURIComponent(runId)}/cancel`, { method: "POST" });
  });
  try { show(await api(`/v1/runs/${encodeURIComponent(runId)}`)); } catch (error) { return; }
  follow(runId, show);
}

// The run's messages that failed at least once: retried (waiting or delayed again) or dead.
// Those that failed and later succeeded are gone (an ack deletes): counted, not listed.
let failuresAt = 0;
async function failures(runId, now) {
  if (!now && Date.now() - failuresAt < 2000) return;
  failuresAt = Date.now();
  const query = new URLSearchParams({ run: runId, errored: "true" });
  $("#failures-all").href = `/messages?${query}`;
  query.set("limit", "20");
  const found = await api(`/v1/messages?${query}`);
  $("#failures tbody").innerHTML = found.messages.map((m) => {
    const home = m.dead ? m.source_queue || m.queue.replace(/\.dlq$/, "") : null;
    const link = home ? `/queues/${encodeURIComponent(home)}/dlq` : `/messages?id=${m.id}`;
    return `<tr><td><a href="${link}">#${m.id}</a></td><td>${esc(m.action)}</td>` +
      `<td><span class="state ${esc(m.state)}">${esc(m.state.replace("_", " "))}</span>` +
      `${m.dead_reason ? ` <span class="muted">${esc(m.dead_reason)}</span>` : ""}</td>` +
      `<td class="num">${m.receive_count}</td><td class="error">${esc((m.last_error || "").slice(0, 160))}</td></tr>`;
  }).join("") || `<tr><td colspan="5" class="muted">none stored: a message that failed and then succeeded is counted above, not kept</td></tr>`;
}

// A click handler whose API errors are shown in the banner (by api()), never thrown at the page.
const quietly = (fn) => async (event) => { try { await fn(event); } catch (error) { /* banner */ } };

// -- start ------------------------------------------------------------------------------------
$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem("sluice-token", $("#token").value.trim());
  location.reload();
});
const page = document.body.dataset.page;
if (page === "overview") overview();
else if (page === "run") runPage(document.body.dataset.run);
