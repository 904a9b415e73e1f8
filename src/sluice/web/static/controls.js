// sluice dashboard, the Controls page: pause / resume queues and schedules, disable / enable
// rules, override / reset action limits, and the audit log. Uses dashboard.js's api, esc, $.
"use strict";
(() => {
  if (document.body.dataset.page !== "controls") return;
  const JSON_HEADERS = { "Content-Type": "application/json" };
  const part = encodeURIComponent;
  const show = (v) => (v == null ? "–" : esc(typeof v === "object" ? JSON.stringify(v) : v));
  const button = (label, attrs, cls = "") =>
    `<button class="${cls}" ${Object.entries(attrs).map(([k, v]) => `data-${k}="${esc(v)}"`).join(" ")}>${label}</button>`;

  function queueRows(queues, paused) {
    return queues.map((q) => {
      const on = paused.has(q.queue);
      return `<tr data-queue="${esc(q.queue)}"><td>${esc(q.queue)}</td>` +
        `<td><span class="status ${on ? "failed" : "succeeded"}">${on ? "paused" : "active"}</span></td>` +
        `<td class="num">${num(q.depth)}</td><td class="num">${num(q.in_flight)}</td>` +
        `<td>${button(on ? "Resume" : "Pause", { post: `/v1/queues/${part(q.queue)}/${on ? "resume" : "pause"}` })}</td></tr>`;
    }).join("") || `<tr><td colspan="5" class="muted">no queues</td></tr>`;
  }

  function limitRows(limits) {
    return limits.map((l) => {
      const declared = `${l.concurrency ?? "–"} · ${l.rate == null ? "–" : l.rate + "/s"}`;
      return `<tr data-action="${esc(l.action)}"><td>${esc(l.action)}</td><td>${esc(declared)}</td>` +
        `<td><input class="concurrency" inputmode="numeric" size="5" value="${esc(l.override_concurrency ?? "")}" placeholder="${esc(l.concurrency ?? "")}"></td>` +
        `<td><input class="rate" size="7" value="${esc(l.override_rate == null ? "" : l.override_rate + "/s")}" placeholder="e.g. 5/s"></td>` +
        `<td class="num">${l.effective == null ? "–" : l.effective.toFixed(1)}</td>` +
        `<td>${button("Set", { set: l.action })} ${l.overridden ? button("Reset", { reset: l.action }) : ""}</td></tr>`;
    }).join("") || `<tr><td colspan="6" class="muted">no actions</td></tr>`;
  }

  // Details from GET /v1/schedules and /v1/rules (the same views as the CLI's listings).
  const when = (at) => (at == null ? "–" : new Date(at * 1000).toISOString().replace("T", " ").slice(0, 16));
  function switchRows(state, schedules, rules) {
    const paused = new Set(state.paused_schedules), disabled = new Set(state.disabled_rules);
    const timed = new Map(schedules.map((s) => [s.name, s])), routed = new Map(rules.map((r) => [r.name, r]));
    const rows = state.schedules.map((name) => {
      const s = timed.get(name);
      const detail = s ? `${s.cron} → ${s.action} · next ${when(s.next_at)} · last ${when(s.last_tick)} · ${s.misfire}` : "";
      return ["schedule", name, paused.has(name) ? "paused" : "active",
        `/v1/schedules/${part(name)}/${paused.has(name) ? "resume" : "pause"}`, paused.has(name) ? "Resume" : "Pause", detail];
    });
    for (const name of state.rules) {
      const r = routed.get(name);
      const detail = r && r.action ? `→ ${r.action} · ${JSON.stringify(r.pattern)}` : "";
      rows.push(["rule", name, disabled.has(name) ? "disabled" : "enabled",
        `/v1/rules/${part(name)}/${disabled.has(name) ? "enable" : "disable"}`, disabled.has(name) ? "Enable" : "Disable", detail]);
    }
    return rows.map(([kind, name, st, post, label, detail]) =>
      `<tr data-${kind}="${esc(name)}"><td>${kind}</td><td>${esc(name)}<div class="muted detail">${esc(detail)}</div></td>` +
      `<td><span class="status ${st === "paused" || st === "disabled" ? "failed" : "succeeded"}">${st}</span></td>` +
      `<td>${button(label, { post })}</td></tr>`).join("") ||
      `<tr><td colspan="4" class="muted">no schedules or rules</td></tr>`;
  }

  function auditRows(entries) {
    return entries.map((e) =>
      `<tr><td>${esc(new Date(e.at * 1000).toISOString().replace("T", " ").slice(0, 19))}</td>` +
      `<td>${esc(e.who)}</td><td>${esc(e.what)}</td><td>${esc(e.target)}</td>` +
      `<td>${show(e.old)}</td><td>${show(e.new)}</td></tr>`).join("") ||
      `<tr><td colspan="6" class="muted">no operator actions yet</td></tr>`;
  }

  async function load() {
    const [queues, state, limits, audit, schedules, rules] = await Promise.all([
      api("/v1/queues"), api("/v1/controls"), api("/v1/limits"), api("/v1/audit?limit=50"),
      api("/v1/schedules"), api("/v1/rules")]);
    $("#control-queues tbody").innerHTML = queueRows(queues.queues, new Set(state.paused_queues));
    const editing = document.activeElement && document.activeElement.closest("#control-limits");
    if (!editing) $("#control-limits tbody").innerHTML = limitRows(limits.limits);
    $("#control-switches tbody").innerHTML = switchRows(state, schedules.schedules, rules.rules);
    $("#control-audit tbody").innerHTML = auditRows(audit.entries);
  }

  async function act(path, options, done) {
    try { await api(path, options); banner(done, "info"); } catch (error) { /* banner says why */ }
    await load().catch(() => {});
  }

  document.querySelector("main").addEventListener("click", async (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    const { post, set, reset } = target.dataset;
    if (post) await act(post, { method: "POST" }, `Done: ${post.split("/").slice(-2).join(" ")}.`);
    else if (reset) await act(`/v1/actions/${part(reset)}/limits`, { method: "DELETE" }, `Limits of ${reset} reset.`);
    else if (set) {
      const row = target.closest("tr");
      const body = {};
      const c = row.querySelector("input.concurrency").value.trim();
      const r = row.querySelector("input.rate").value.trim();
      if (c) body.concurrency = /^\d+$/.test(c) ? Number(c) : c;  // the server says what is wrong
      if (r) body.rate = r;
      await act(`/v1/actions/${part(set)}/limits`, { method: "PUT", headers: JSON_HEADERS,
        body: JSON.stringify(body) }, `Limits of ${set} set.`);
    }
  });

  (async () => {
    try { await load(); } catch (error) { /* banner */ }
    for (;;) { await sleep(3000); try { await load(); } catch (error) { /* banner */ } }
  })();
})();
