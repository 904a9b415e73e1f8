// sluice dashboard: the message search page and the DLQ page. Both read GET /v1/messages with
// the same filters, a page at a time (keyset cursors); the DLQ page redrives or purges what its
// filter selects (/v1/queues/{name}/dlq/selection), after showing the count and asking.
// Uses dashboard.js's api, esc, num, age, banner, sleep, quietly, $.
"use strict";
(() => {
  const kind = document.body.dataset.page;
  if (kind !== "messages" && kind !== "dlq") return;
  const SIZE = 50;
  const UNITS = { s: 1, m: 60, h: 3600, d: 86400 };
  const LABELS = { older_than: "Older than", newer_than: "Newer than", id: "Id" };
  const queue = document.body.dataset.queue;
  const form = $("#filters");
  class FilterError extends Error {}

  // "90", "90s", "5m", "2h", "1d" as seconds; anything else is the user's to fix.
  function seconds(text, name) {
    const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(text.trim());
    if (!m) throw new FilterError(`${LABELS[name]}: write a number of seconds, or e.g. 90s, 5m, 2h, 1d`);
    return String(Number(m[1]) * UNITS[m[2] || "s"]);
  }

  // The filter the form asks for, as query parameters (a bad field: an Error naming it).
  function filter() {
    const params = new URLSearchParams();
    for (const field of form.elements) {
      const value = (field.value || "").trim();
      if (!field.name || !value) continue;
      if (field.name === "id") {
        for (const id of value.split(/[\s,]+/).filter(Boolean)) {
          if (!/^\d+$/.test(id)) throw new FilterError("Id: write message ids (numbers), separated by commas");
          params.append("id", id);
        }
      } else if (field.name === "older_than" || field.name === "newer_than") {
        params.set(field.name, seconds(value, field.name));
      } else params.set(field.name, value);
    }
    return params;
  }

  // The form starts from the page's own query string, so a search can be linked to.
  for (const [name, value] of new URLSearchParams(location.search)) {
    if (form.elements[name]) form.elements[name].value = form.elements[name].value ? `${form.elements[name].value}, ${value}` : value;
  }

  const scope = () => {
    const params = filter();
    if (kind === "dlq") { params.set("queue", queue); params.set("state", "dead"); }
    return params;
  };

  const row = kind === "dlq" ? (m) =>
    `<tr data-id="${m.id}"><td>#${m.id}</td><td>${esc(m.action)}</td><td class="num">${m.receive_count}</td>` +
    `<td>${esc(m.dead_reason)}</td><td class="error">${esc((m.last_error || "").slice(0, 200))}</td>` +
    `<td><pre class="body">${esc(m.body_error || JSON.stringify(m.body, null, 1))}</pre></td>` +
    `<td><button class="redrive" data-id="${m.id}">Redrive</button></td></tr>`
    : (m, now) =>
    `<tr data-id="${m.id}"><td>#${m.id}</td><td>${esc(m.queue)}</td><td>${esc(m.action)}</td>` +
    `<td><span class="state ${esc(m.state)}">${esc(m.state.replace("_", " "))}</span></td>` +
    `<td class="num">${m.receive_count}</td><td class="num">${age(now - m.enqueued_at)}</td>` +
    `<td>${m.run_id ? `<a href="/runs/${encodeURIComponent(m.run_id)}">${esc(m.run_id)}</a>` : "–"}</td>` +
    `<td class="error">${esc((m.last_error || "").slice(0, 200))}</td></tr>`;
  const table = kind === "dlq" ? "#dead" : "#found";
  const empty = kind === "dlq" ? "no dead letters" : "no messages match";
  const columns = kind === "dlq" ? 7 : 8;

  // Keyset pages: cursors[i] fetches page i; "Next" appends the cursor the server gave.
  let cursors = [null], at = 0;
  async function load() {
    const params = scope();
    params.set("limit", String(SIZE));
    if (cursors[at]) params.set("cursor", cursors[at]);
    const found = await api(`/v1/messages?${params}`);
    const now = Date.now() / 1000;
    $(`${table} tbody`).innerHTML = found.messages.map((m) => row(m, now)).join("") ||
      `<tr><td colspan="${columns}" class="muted">${empty}</td></tr>`;
    cursors = cursors.slice(0, at + 1);
    if (found.cursor) cursors.push(found.cursor);
    $("#page-next").disabled = !found.cursor;
    $("#page-first").disabled = at === 0;
    const first = at * SIZE + 1;
    $("#page-info").textContent = found.messages.length ?
      `page ${at + 1} · ${num(first)} to ${num(first + found.messages.length - 1)}` : "";
    if (kind === "dlq") await counted();
  }
  async function counted() {
    const n = await api(`/v1/queues/${encodeURIComponent(queue)}/dlq/selection?${filter()}`);
    $("#dlq-count").textContent = `${num(n.count)} selected`;
    return n.count;
  }
  // API errors are in the banner already (api() put them there); a bad filter field goes there too.
  const reload = async () => { try { await load(); } catch (error) { if (error instanceof FilterError) banner(error.message); } };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    try { history.replaceState(null, "", `?${filter()}`); } catch (error) { banner(error.message); return; }
    banner(""); cursors = [null]; at = 0; reload();
  });
  $("#page-next").addEventListener("click", () => { at += 1; reload(); });
  $("#page-first").addEventListener("click", () => { at = 0; reload(); });

  if (kind === "dlq") {
    $("#dlq-queue").textContent = queue;
    const base = `/v1/queues/${encodeURIComponent(queue)}/dlq`;
    const selection = (verb, done) => quietly(async () => {
      const count = await counted();
      if (!count) { banner("The filter selects no dead letters.", "info"); return; }
      const what = [...filter()].map(([k, v]) => `${k}=${v}`).join(", ") || "no filter: every dead letter";
      if (!confirm(`${verb} ${num(count)} dead letter${count === 1 ? "" : "s"} of ${queue} (${what})?`)) return;
      const answer = await api(`${base}/selection/${verb.toLowerCase()}?${filter()}`, { method: "POST" });
      banner(`${num(answer[done])} ${done}.`, "info");
      cursors = [null]; at = 0; await load();
    });
    $("#redrive-selection").addEventListener("click", selection("Redrive", "redriven"));
    $("#purge-selection").addEventListener("click", selection("Purge", "purged"));
    $("#dead").addEventListener("click", quietly(async (event) => {
      const button = event.target.closest("button.redrive");
      if (!button) return;
      await api(`${base}/selection/redrive?id=${Number(button.dataset.id)}`, { method: "POST" });
      banner(`Message #${button.dataset.id} redriven.`, "info");
      await load();
    }));
  }

  (async () => {
    if (kind === "dlq") {
      try { await api(`/v1/queues/${encodeURIComponent(queue)}`); } catch (error) {
        if (error.message === "404") { // an unknown queue: say so, and offer nothing to press
          $("#dlq-count").textContent = "no such queue";
          $("#dead tbody").innerHTML = `<tr><td colspan="7" class="muted">no queue named ${esc(queue)}</td></tr>`;
          for (const b of document.querySelectorAll("#redrive-selection, #purge-selection, #filters button")) b.disabled = true;
        }
        return;
      }
    }
    await reload();
    // The first page follows new arrivals; a later page stays still while it is read.
    for (;;) { await sleep(3000); if (at === 0 && !form.contains(document.activeElement)) await reload(); }
  })();
})();
