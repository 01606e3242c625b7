// fanout live view. Plain JS, no build step, no dependencies.
// Events arrive over the websocket in batches (see crates/live/src/event.rs);
// they are queued and applied once per animation frame, so 10,000 hosts
// never freeze the page. Every name and output is set as text, never HTML.
"use strict";

const STATUSES = ["ok", "failed", "timeout", "cancelled"];
const PER_FRAME = 500; // events applied per animation frame
const COLORS = {
  ok: "#2e9e5b", failed: "#d64545", timeout: "#e8912d", cancelled: "#8a8f98",
  connect: "#4c8fd6", auth: "#9469d9", command: "#30b3a3", other: "#c9ced6",
};
const TOKEN = new URLSearchParams(location.search).get("token");
const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function fmtMs(ms) {
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(2) + " s";
  const m = Math.floor(ms / 60000);
  return m + " m " + Math.round((ms % 60000) / 1000) + " s";
}

function summaryLine(s) {
  return `${s.hosts} host${s.hosts === 1 ? "" : "s"}: ${s.ok} ok, ${s.failed} failed, ` +
    `${s.timeout} timeout, ${s.cancelled} cancelled in ${s.wall_s.toFixed(2)} s ` +
    `(${s.executor}, concurrency ${s.concurrency})`;
}

// ---- state ---------------------------------------------------------------

let S;            // everything received from this server connection
let pending = []; // events not applied yet
let scheduled = false;

function reset() {
  S = {
    title: "", offset: 0, runs: [], hosts: [], done: false, lingerUntil: 0, closed: false,
    counts: { ok: 0, failed: 0, timeout: 0, cancelled: 0 }, kinds: new Map(),
    listDirty: false, newHosts: [], selected: null,
  };
  $("#runs").replaceChildren();
  $("#list").replaceChildren();
  for (const o of [...$("#kind-filter").options].slice(1)) o.remove();
  for (const o of [...$("#run-filter").options].slice(1)) o.remove();
  document.body.classList.remove("multi");
  $("#run-filter").hidden = true;
  $("#banner").hidden = true;
  closeDetail();
}

function serverNow() { return Date.now() + S.offset; }

function apply(ev) {
  switch (ev.type) {
    case "hello":
      S.title = ev.title;
      S.offset = ev.server_now_ms - Date.now();
      $("#title").textContent = ev.title;
      document.title = "fanout live · " + ev.title;
      break;
    case "run_start": addRun(ev); break;
    case "host": addHost(ev); break;
    case "run_end": {
      const run = S.runs[ev.run];
      if (!run) break;
      run.ended = true;
      run.summary = ev.summary;
      run.dirty = true;
      run.timelineDirty = true;
      break;
    }
    case "done":
      S.done = true;
      S.lingerUntil = Date.now() + ev.linger_ms;
      for (const run of S.runs) { run.ended = true; run.dirty = true; run.timelineDirty = true; }
      break;
  }
}

function addRun(ev) {
  const run = {
    id: ev.run, info: ev, hosts: [], progress: null, summary: null, ended: false,
    slowest: [], kinds: new Map(), dirty: true, timelineDirty: true, lastDraw: 0, sorted: null,
    // The executor's clock (timings_ms.queued) starts a little after run_start
    // (set-up): the smallest gap between an outcome's arrival and its end.
    lag: Infinity,
  };
  run.card = runCard(run);
  for (const other of S.runs) {
    if (other && other.ended) other.card.fold.open = false;
  }
  S.runs[ev.run] = run;
  $("#runs").append(run.card.root);
  const opt = el("option", null, ev.label || ev.executor);
  opt.value = String(ev.run);
  $("#run-filter").append(opt);
  if (S.runs.length > 1) {
    document.body.classList.add("multi");
    $("#run-filter").hidden = false;
  }
}

function addHost(ev) {
  const run = S.runs[ev.run];
  if (!run) return;
  const o = ev.outcome;
  const kind = o.status === "ok" ? "" : (o.error_kind || o.status);
  const h = {
    run, i: ev.i, o, cut: ev.cut, kind, row: null, k: S.hosts.length,
    total: o.timings_ms.total, start: o.timings_ms.queued,
    text: [o.host, o.status, kind, o.message || "", o.worker, run.info.label].join(" ").toLowerCase(),
  };
  S.hosts.push(h);
  S.newHosts.push(h);
  run.hosts.push(h);
  run.progress = ev.progress;
  run.lag = Math.min(run.lag, ev.progress.elapsed_ms - (h.start + h.total));
  run.dirty = true;
  run.timelineDirty = true;
  run.sorted = null;
  S.counts[o.status]++;
  if (kind) {
    run.kinds.set(kind, (run.kinds.get(kind) || 0) + 1);
    if (!S.kinds.has(kind)) {
      S.kinds.set(kind, 0);
      const opt = el("option", null, kind);
      opt.value = kind;
      $("#kind-filter").append(opt);
    }
    S.kinds.set(kind, S.kinds.get(kind) + 1);
  }
  // Top 10 by total time, kept sorted.
  const top = run.slowest;
  if (top.length < 10 || h.total > top[top.length - 1].total) {
    let at = top.findIndex((x) => h.total > x.total);
    if (at < 0) at = top.length;
    top.splice(at, 0, h);
    if (top.length > 10) top.pop();
  }
}

// ---- rendering -------------------------------------------------------------

function schedule() {
  if (scheduled) return;
  scheduled = true;
  // rAF pauses in background tabs: the timer makes sure we still catch up.
  requestAnimationFrame(flush);
  setTimeout(flush, 250);
}

function flush() {
  if (!scheduled) return;
  scheduled = false;
  // A bounded slice per frame keeps the page responsive while a big
  // replay (10,000 hosts at once) streams in; the rest comes next frame.
  const events = pending.length > PER_FRAME ? pending.splice(0, PER_FRAME) : pending;
  if (events === pending) pending = [];
  for (const ev of events) apply(ev);
  renderRows();
  for (const run of S.runs) if (run && run.dirty) renderRun(run);
  drawTimelines(false);
  renderCounts();
  renderState();
  if (pending.length) schedule();
}

function filterState() {
  const words = $("#filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  const status = $("#status-filter .on").dataset.status;
  const kind = $("#kind-filter").value;
  const run = $("#run-filter").value;
  return (h) =>
    (!status || h.o.status === status) && (!kind || h.kind === kind) &&
    (!run || String(h.run.id) === run) && words.every((w) => h.text.includes(w));
}

function makeRow(h) {
  const o = h.o;
  const row = el("div", "row row-grid s-" + o.status);
  row.setAttribute("role", "listitem");
  row.dataset.k = h.k;
  const st = el("span");
  st.append(el("span", "badge s-" + o.status, o.status));
  row.append(st, el("span", "name", o.host), el("span", "run-l col-run", h.run.info.label),
    el("span", "num", fmtMs(h.total)));
  const msg = el("span", "msg");
  if (h.kind && o.status !== "cancelled") {
    msg.append(el("span", "k", h.kind), document.createTextNode(o.message || ""));
  } else if (o.status === "cancelled") {
    msg.append(el("span", "k", "cancelled"));
  } else {
    msg.textContent = o.worker + (o.attempts > 1 ? ` · ${o.attempts} attempts` : "");
  }
  msg.title = o.message || "";
  row.append(msg);
  h.row = row;
  return row;
}

function order() {
  const sort = $("#sort").value;
  const hosts = S.hosts.slice();
  if (sort === "latest") hosts.reverse();
  else if (sort === "name") {
    hosts.sort((a, b) => a.o.host.localeCompare(b.o.host, undefined, { numeric: true }) || a.run.id - b.run.id);
  } else hosts.sort((a, b) => b.total - a.total);
  return hosts;
}

let lastResort = 0;
function renderRows() {
  const list = $("#list");
  const match = filterState();
  const fresh = S.newHosts;
  S.newHosts = [];
  if (fresh.length) {
    for (const h of fresh) {
      makeRow(h);
      h.row.hidden = !match(h);
    }
    if ($("#sort").value === "latest") {
      const frag = document.createDocumentFragment();
      for (let n = fresh.length - 1; n >= 0; n--) frag.append(fresh[n].row);
      list.prepend(frag);
    } else {
      S.listDirty = true;
    }
  }
  if (S.listDirty && (Date.now() - lastResort > 400 || S.done)) {
    lastResort = Date.now();
    S.listDirty = false;
    const frag = document.createDocumentFragment();
    for (const h of order()) frag.append(h.row);
    list.replaceChildren(frag);
  } else if (S.listDirty) {
    schedule();
  }
  $("#empty").hidden = S.hosts.length > 0;
}

function refilter() {
  const match = filterState();
  for (const h of S.hosts) if (h.row) h.row.hidden = !match(h);
  renderCounts();
}

function renderCounts() {
  let shown = 0;
  for (const h of S.hosts) if (h.row && !h.row.hidden) shown++;
  $("#shown").textContent = `showing ${shown} of ${S.hosts.length}`;
  $('[data-count="all"]').textContent = S.hosts.length;
  for (const s of STATUSES) $(`[data-count="${s}"]`).textContent = S.counts[s];
}

function runCard(run) {
  const info = run.info;
  const root = el("article", "card run");
  root.dataset.run = info.run;
  const head = el("div", "run-head");
  const meta = el("span", "meta");
  meta.append(`${info.executor} · -c ${info.concurrency} · ${info.hosts} hosts · `, el("code", null, info.task));
  const state = el("span", "state", "running");
  head.append(el("h2", null, info.label || info.executor), meta, state);
  const bar = el("div", "bar");
  const segs = {};
  for (const s of STATUSES) { segs[s] = el("span", "b-" + s); bar.append(segs[s]); }
  const stats = el("div", "stats");
  const v = {};
  const stat = (cls, key, label) => {
    const d = el("div", "stat " + cls);
    v[key] = el("b", "v-" + key, "0");
    d.append(v[key], label);
    stats.append(d);
  };
  stat("", "done", "");
  v.hostsOf = el("span", "v-hosts", `/ ${info.hosts} done`);
  stats.lastChild.append(v.hostsOf);
  for (const s of STATUSES) stat(s, s, s);
  stat("", "rate", "hosts/s");
  stat("", "elapsed", "elapsed");
  const kinds = el("div", "kinds");
  const summary = el("div", "summary");
  const body = el("div", "run-body");
  const wrap = el("div", "timeline-wrap");
  const canvas = el("canvas", "timeline");
  wrap.append(timelineHead(), canvas);
  const slow = el("div", "slowest");
  const tbody = el("tbody");
  const table = el("table");
  table.append(tbody);
  slow.append(el("h3", null, "Slowest hosts"), table);
  body.append(wrap, slow);
  // Compare: earlier runs fold away when the next one starts (click to open).
  const fold = el("details", "run-fold");
  fold.open = true;
  fold.append(el("summary", null, "timeline and slowest hosts"), body);
  root.append(head, bar, stats, kinds, summary, fold);
  canvas.addEventListener("mousemove", (e) => hoverTimeline(run, e));
  canvas.addEventListener("mouseleave", () => { $("#tip").hidden = true; });
  canvas.addEventListener("click", (e) => { const h = hostAt(run, e); if (h) showDetail(h); });
  kinds.addEventListener("click", (e) => {
    const k = e.target.closest(".kind");
    if (!k) return;
    $("#kind-filter").value = k.dataset.kind;
    refilter();
  });
  tbody.addEventListener("click", (e) => {
    const tr = e.target.closest("tr");
    if (tr) showDetail(S.hosts[Number(tr.dataset.k)]);
  });
  fold.addEventListener("toggle", () => { if (fold.open) drawTimeline(run); });
  return { root, state, segs, v, kinds, summary, canvas, tbody, fold };
}

// The timeline's title with its legend.
function timelineHead() {
  const h = el("h3", "tl-head", "Timeline");
  const legend = el("span", "tl-legend");
  for (const [cls, label] of [["p-connect", "connect"], ["p-auth", "auth"], ["p-command", "command / task"],
    ["p-other", "other"], ["s-failed", "failed"], ["s-timeout", "timeout"], ["s-cancelled", "cancelled"]]) {
    const item = el("span", "lg");
    item.append(el("i", "sw " + cls), label);
    legend.append(item);
  }
  h.append(legend);
  return h;
}

// Milliseconds on the executor's clock (that of the timeline).
function runElapsed(run) {
  if (run.summary) return run.summary.wall_s * 1000;
  const lag = Number.isFinite(run.lag) ? run.lag : 0;
  if (run.ended) return run.progress ? Math.max(0, run.progress.elapsed_ms - lag) : 0;
  return Math.max(0, serverNow() - run.info.started_ms - lag);
}

function renderRun(run) {
  run.dirty = false;
  const c = run.card;
  const p = run.progress || { done: 0, hosts: run.info.hosts, ok: 0, failed: 0, timeout: 0, cancelled: 0 };
  const total = Math.max(p.hosts, p.done, 1);
  c.v.done.textContent = p.done;
  c.v.hostsOf.textContent = `/ ${p.hosts} done`;
  for (const s of STATUSES) {
    c.v[s].textContent = p[s];
    c.segs[s].style.width = (100 * p[s] / total) + "%";
  }
  renderClock(run);
  c.state.textContent = run.summary ? "finished" : run.ended ? "ended without a summary" : "running";
  run.card.root.classList.toggle("ended", run.ended);
  const chips = [...run.kinds.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => {
    const chip = el("span", "kind k-" + k, `${k} ${n}`);
    chip.dataset.kind = k;
    chip.title = "show only " + k;
    return chip;
  });
  c.kinds.replaceChildren(...chips);
  c.summary.textContent = run.summary ? summaryLine(run.summary) : "";
  const rows = run.slowest.map((h) => {
    const tr = el("tr");
    tr.dataset.k = h.k;
    const st = el("td");
    st.append(el("span", "badge s-" + h.o.status, h.o.status));
    tr.append(el("td", "h", h.o.host), st, el("td", "num", fmtMs(h.total)));
    tr.title = h.o.message || h.o.host;
    return tr;
  });
  c.tbody.replaceChildren(...rows);
}

function renderClock(run) {
  const ms = runElapsed(run);
  const done = run.summary ? run.summary.hosts : run.progress ? run.progress.done : 0;
  run.card.v.elapsed.textContent = fmtMs(ms);
  run.card.v.rate.textContent = ms > 0 ? (done / (ms / 1000)).toFixed(done / (ms / 1000) < 10 ? 1 : 0) : "0";
}

function renderState() {
  const b = document.body;
  const banner = $("#banner");
  if (S.closed) {
    b.dataset.state = "closed";
    $("#conn-text").textContent = "finished · server stopped";
    banner.className = "banner stopped";
    banner.textContent = "The run is over and fanout has stopped serving: this page is final. " +
      "Outputs already opened stay readable; use --serve-linger DUR to keep the server up longer.";
    banner.hidden = false;
  } else if (S.done) {
    b.dataset.state = "done";
    $("#conn-text").textContent = "finished";
    const left = Math.max(0, Math.round((S.lingerUntil - Date.now()) / 1000));
    banner.className = "banner";
    banner.textContent = "The run is over: these are the final results." +
      (left > 0 ? ` This page stays served for ${left} s more.` : "");
    banner.hidden = false;
  }
}

// ---- timeline ----------------------------------------------------------------

function niceStep(span, ticks) {
  const raw = span / ticks;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

function layout(run) {
  if (!run.sorted) run.sorted = run.hosts.slice().sort((a, b) => a.start - b.start || a.i - b.i);
  const cv = run.card.canvas;
  const w = cv.clientWidth, h = cv.clientHeight;
  const axis = 20, pad = 6;
  let span = 0;
  for (const x of run.hosts) span = Math.max(span, x.start + x.total);
  if (!run.ended) span = Math.max(span, runElapsed(run));
  span = Math.max(span, 1);
  return { w, h, axis, pad, span, plotH: h - axis - pad, n: Math.max(run.sorted.length, 1) };
}

function drawTimelines(force) {
  const now = Date.now();
  for (const run of S.runs) {
    if (!run) continue;
    if (!force && !(run.timelineDirty || !run.ended)) continue;
    // Running: at most 5 redraws a second (the 500 ms clock catches up).
    if (!force && now - run.lastDraw < 200 && !run.ended) continue;
    run.lastDraw = now;
    run.timelineDirty = false;
    drawTimeline(run);
  }
}

function drawTimeline(run) {
  const cv = run.card.canvas;
  const L = layout(run);
  if (L.w === 0) return;
  const dpr = window.devicePixelRatio || 1;
  cv.width = Math.round(L.w * dpr);
  cv.height = Math.round(L.h * dpr);
  const g = cv.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, L.w, L.h);
  const x = (ms) => L.pad + (ms / L.span) * (L.w - 2 * L.pad);
  const rowH = L.plotH / L.n;
  const barH = rowH >= 3 ? Math.min(rowH - 1, 10) : Math.max(rowH, 1);
  // Grid and axis.
  const step = niceStep(L.span, 6);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#6b7280";
  g.strokeStyle = "#eceef2";
  g.lineWidth = 1;
  for (let t = 0; t <= L.span + 1e-9; t += step) {
    const px = Math.round(x(t)) + 0.5;
    g.beginPath(); g.moveTo(px, L.pad); g.lineTo(px, L.pad + L.plotH); g.stroke();
    const label = t === 0 ? "0" : fmtMs(t);
    const tw = g.measureText(label).width;
    g.fillText(label, Math.min(Math.max(px - tw / 2, 0), L.w - tw), L.h - 6);
  }
  const bad = [];
  run.sorted.forEach((hst, idx) => {
    const t = hst.o.timings_ms;
    const y = L.pad + idx * rowH;
    if (hst.o.status !== "ok") { bad.push([hst, y]); return; }
    const seg = (from, len, color) => {
      if (len <= 0) return;
      g.fillStyle = color;
      g.fillRect(x(from), y, Math.max(x(from + len) - x(from), 1), barH);
    };
    let at = hst.start;
    seg(at, t.connect, COLORS.connect); at += t.connect;
    seg(at, t.auth, COLORS.auth); at += t.auth;
    seg(at, t.command, COLORS.command); at += t.command;
    seg(at, hst.start + hst.total - at, COLORS.other);
    if (hst.total <= 0) seg(hst.start, 0.001, COLORS.command);
  });
  // Hosts that did not end ok go on top, at least 3 px wide and 2 px high,
  // so a few failures among thousands of hosts stay visible.
  for (const [hst, y] of bad) {
    const x0 = x(hst.start);
    g.fillStyle = COLORS[hst.o.status];
    g.fillRect(x0, y, Math.max(x(hst.start + hst.total) - x0, 3), Math.max(barH, 2));
  }
  if (!run.ended) {
    const px = Math.round(x(runElapsed(run))) + 0.5;
    g.strokeStyle = "#2f6fde";
    g.setLineDash([4, 3]);
    g.beginPath(); g.moveTo(px, L.pad); g.lineTo(px, L.pad + L.plotH); g.stroke();
    g.setLineDash([]);
  }
  run.layout = L;
}

function hostAt(run, e) {
  const L = run.layout;
  if (!L || !run.sorted || !run.sorted.length) return null;
  const r = run.card.canvas.getBoundingClientRect();
  const idx = Math.floor((e.clientY - r.top - L.pad) / (L.plotH / L.n));
  return run.sorted[Math.min(Math.max(idx, 0), run.sorted.length - 1)] || null;
}

function hoverTimeline(run, e) {
  const h = hostAt(run, e);
  const tip = $("#tip");
  if (!h) { tip.hidden = true; return; }
  const t = h.o.timings_ms;
  tip.textContent = `${h.o.host} · ${h.o.status} · start ${fmtMs(h.start)} · total ${fmtMs(h.total)}` +
    (t.connect || t.auth ? ` (connect ${fmtMs(t.connect)}, auth ${fmtMs(t.auth)}, command ${fmtMs(t.command)})` : "");
  tip.style.left = Math.min(e.clientX + 12, window.innerWidth - 420) + "px";
  tip.style.top = (e.clientY + 14) + "px";
  tip.hidden = false;
}

// ---- host details --------------------------------------------------------------

function closeDetail() {
  $("#detail").hidden = true;
  if (S && S.selected && S.selected.row) S.selected.row.classList.remove("sel");
  if (S) S.selected = null;
}

function renderOutputs(box, outcome, note) {
  box.replaceChildren();
  if (note) box.append(el("p", "note", note));
  if (!outcome.outputs.length) box.append(el("p", "note", "No output."));
  for (const out of outcome.outputs) {
    const sec = el("div", "out");
    const title = out.command + (out.exit_status !== undefined ? `  (exit ${out.exit_status})` : "");
    sec.append(el("h4", null, title), el("pre", null, out.stdout || "(no output)"));
    if (out.stderr) sec.append(el("h4", null, "stderr"), el("pre", "err", out.stderr));
    box.append(sec);
  }
}

function showDetail(h) {
  if (!h) return;
  if (S.selected && S.selected.row) S.selected.row.classList.remove("sel");
  S.selected = h;
  if (h.row) h.row.classList.add("sel");
  const o = h.o, t = o.timings_ms;
  const body = $("#detail-body");
  const title = el("h2");
  title.append(el("span", "badge s-" + o.status, o.status), " ", o.host);
  const dl = el("dl");
  const add = (k, v) => { if (v !== undefined && v !== null && v !== "") dl.append(el("dt", null, k), el("dd", null, v)); };
  add("run", h.run.info.label);
  add("error kind", o.error_kind);
  add("phase", o.phase);
  add("message", o.message);
  add("attempts", o.attempts);
  add("worker", o.worker);
  add("started", "+" + fmtMs(t.queued) + " after the run began");
  add("timings", `connect ${fmtMs(t.connect)} · auth ${fmtMs(t.auth)} · command ${fmtMs(t.command)} · total ${fmtMs(t.total)}`);
  const phases = el("div", "phases");
  const tot = Math.max(t.total, 1e-9);
  for (const [k, v] of [["connect", t.connect], ["auth", t.auth], ["command", t.command],
    ["other", Math.max(t.total - t.connect - t.auth - t.command, 0)]]) {
    const s = el("span", "p-" + k);
    s.style.width = (100 * v / tot) + "%";
    s.title = `${k} ${fmtMs(v)}`;
    phases.append(s);
  }
  const outs = el("div");
  body.replaceChildren(title, dl, phases, outs);
  $("#detail").hidden = false;
  if (!h.cut) { renderOutputs(outs, o); return; }
  if (h.full) { renderOutputs(outs, h.full); return; }
  renderOutputs(outs, o, "Showing the first part of the output; loading all of it…");
  const q = new URLSearchParams({ run: h.run.id, i: h.i });
  if (TOKEN) q.set("token", TOKEN);
  fetch("api/output?" + q)
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
    .then((full) => { h.full = full; if (S.selected === h) renderOutputs(outs, full); })
    .catch((err) => {
      if (S.selected === h) {
        renderOutputs(outs, o, `Only the first part of the output is available (${err.message}: ` +
          "fanout has probably stopped serving; --serve-linger DUR keeps it up).");
      }
    });
}

// ---- connection -----------------------------------------------------------------

let retry = 0;
function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = TOKEN ? "?token=" + encodeURIComponent(TOKEN) : "";
  const ws = new WebSocket(`${proto}//${location.host}/ws${q}`);
  let first = true;
  ws.onmessage = (m) => {
    const batch = JSON.parse(m.data);
    if (first) {
      first = false;
      // A new connection replays everything from the start.
      pending = [];
      reset();
      document.body.dataset.state = "live";
      $("#conn-text").textContent = "live";
      retry = 0;
    }
    for (const ev of batch) pending.push(ev);
    schedule();
  };
  ws.onclose = () => {
    if (S && S.done) {
      S.closed = true;
      schedule();
      return;
    }
    document.body.dataset.state = "retrying";
    $("#conn-text").textContent = "disconnected · retrying";
    retry = Math.min(retry + 1, 5);
    setTimeout(connect, retry * 1000);
  };
}

function init() {
  reset();
  $("#filter").addEventListener("input", refilter);
  $("#kind-filter").addEventListener("change", refilter);
  $("#run-filter").addEventListener("change", refilter);
  $("#sort").addEventListener("change", () => { S.listDirty = true; lastResort = 0; schedule(); });
  $("#status-filter").addEventListener("click", (e) => {
    const b = e.target.closest(".chip");
    if (!b) return;
    for (const c of document.querySelectorAll("#status-filter .chip")) c.classList.toggle("on", c === b);
    refilter();
  });
  $("#list").addEventListener("click", (e) => {
    const row = e.target.closest(".row");
    if (row) showDetail(S.hosts[Number(row.dataset.k)]);
  });
  $("#detail-close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDetail(); });
  window.addEventListener("resize", () => drawTimelines(true));
  // Clocks and the "now" line move even when no host finishes.
  setInterval(() => {
    for (const run of S.runs) if (run && !run.ended) renderClock(run);
    drawTimelines(false);
    renderState();
  }, 500);
  connect();
}

init();
