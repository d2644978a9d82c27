// pixelzoo serve: the page. Plain JavaScript, no build step, nothing loaded from elsewhere.
//
// The image lives in the model's grid (e.g. 36x36) and is shown enlarged; the mask is one byte
// per grid pixel (1 = hole). The server prepares images and masks, fills, and streams watch mode
// as server-sent events; everything else (painting, undo, downloads) happens here.
"use strict";

const $ = (id) => document.getElementById(id);
const S = {                      // the page's state (window.pixelzoo, for tests and curious users)
  models: [], limits: {}, key: null, model: null,
  h: 0, w: 0, imageUrl: null, image: null, source: null, from: null,
  mask: null, undo: [], tool: "brush", size: 2, zoom: 12,
  busy: { fill: false, watch: false }, results: null, watch: null,
};
window.pixelzoo = S;
const UNDO_LIMIT = 100;
const HOLE = "rgba(255, 0, 255, 0.78)";

// ------------------------------------------------------------------ helpers
async function api(path, options = {}) {
  const res = await fetch(path, options);
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) throw new Error((body && body.error) || `the server answered ${res.status}`);
  return body;
}
function postJSON(path, payload) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" },
                     body: JSON.stringify(payload) });
}
function say(text, kind = "") {
  const el = $("status");
  el.textContent = text;
  el.className = "status " + kind;
}
function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" }[c]));
}
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "html") node.innerHTML = v;           // only ever given escaped text
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}
function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the browser could not show the image"));
    img.src = url;
  });
}
function holeCount() { return S.mask ? S.mask.reduce((a, b) => a + b, 0) : 0; }
function maskString() { return Array.from(S.mask, (v) => (v ? "1" : "0")).join(""); }
function download(url, name) {
  const a = el("a", { href: url, download: name });
  document.body.append(a); a.click(); a.remove();
}

// ------------------------------------------------------------------ model card (tiny, safe markdown)
function inline(text) {            // text is already escaped
  return text.replace(/`([^`]+)`/g, "<code>$1</code>").replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>");
}
function markdown(src) {
  const out = [];
  let list = false, table = null, code = null, para = [];
  const flushPara = () => { if (para.length) out.push(`<p>${inline(para.join(" "))}</p>`); para = []; };
  const flushList = () => { if (list) out.push("</ul>"); list = false; };
  const flushTable = () => {
    if (!table) return;
    out.push("<table>" + table.map((cells, i) => "<tr>" + cells.map((c) =>
      i === 0 ? `<th>${inline(c)}</th>` : `<td>${inline(c)}</td>`).join("") + "</tr>").join("") + "</table>");
    table = null;
  };
  for (const raw of esc(src).split("\n")) {
    if (code !== null) {
      if (raw.startsWith("    ") || raw === "") { code.push(raw.slice(4)); continue; }
      out.push(`<pre>${code.join("\n").trim()}</pre>`); code = null;
    }
    const line = raw.trimEnd();
    if (/^\s*\|/.test(line)) {
      flushPara(); flushList();
      const cells = line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
      if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
      (table = table || []).push(cells); continue;
    }
    flushTable();
    if (line.startsWith("    ") && !list) { flushPara(); code = [line.slice(4)]; continue; }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) { flushPara(); flushList(); out.push(`<h3>${inline(h[2])}</h3>`); continue; }
    const li = /^\s*[-*]\s+(.*)$/.exec(line);
    if (li) { flushPara(); if (!list) { out.push("<ul>"); list = true; } out.push(`<li>${inline(li[1])}`); continue; }
    if (line === "") { flushPara(); flushList(); continue; }
    if (list && /^\s+/.test(raw)) { out.push(" " + inline(line.trim())); continue; }
    flushList(); para.push(line.trim());
  }
  if (code !== null) out.push(`<pre>${code.join("\n").trim()}</pre>`);
  flushPara(); flushList(); flushTable();
  return out.join("\n");
}
function kvTable(obj) {
  const rows = Object.entries(obj || {}).map(([k, v]) =>
    `<tr><td>${esc(k)}</td><td>${esc(typeof v === "object" ? JSON.stringify(v) : v)}</td></tr>`);
  return rows.length ? `<table>${rows.join("")}</table>` : '<p class="muted">none recorded</p>';
}
function metricsTable(metrics) {
  // "demo_hole/mean/psnr" keys -> one row per mask set and decoding, PSNR and SSIM side by side
  const rows = {}, plain = {};
  for (const [k, v] of Object.entries(metrics || {})) {
    const parts = k.split("/");
    const metric = parts[parts.length - 1];
    if (parts.length <= 3 && parts.length >= 2 && (metric === "psnr" || metric === "ssim")) {
      // "set/metric" is the run's default decoding; "set/decoding/metric" names it
      const key = parts.length === 3 ? `${parts[0]} · ${parts[1]}` : parts[0];
      (rows[key] = rows[key] || {})[metric] = v;
    } else plain[k] = v;
  }
  const keys = Object.keys(rows);
  if (!keys.length) return kvTable(plain);
  const fmt = (v, d) => (typeof v === "number" ? v.toFixed(d) : "–");
  return "<table><tr><th>holes · decoding</th><th>PSNR dB</th><th>SSIM</th></tr>" +
    keys.map((k) => `<tr><td>${esc(k)}</td><td>${fmt(rows[k].psnr, 2)}</td><td>${fmt(rows[k].ssim, 3)}</td></tr>`).join("") +
    "</table>" + (Object.keys(plain).length ? kvTable(plain) : "");
}
function renderCard() {
  const entry = S.models.find((m) => m.key === S.key);
  if (!entry) return;
  const c = entry.card, m = S.model;
  const arch = Object.assign({}, c.architecture);
  if (m) {
    arch.parameters = m.parameters.toLocaleString("en");
    arch.grid = `${m.width}x${m.height}, ${m.channels} channel${m.channels > 1 ? "s" : ""}`;
    arch["default decoding"] = m.default_decoding;
  }
  const parts = [
    `<p><span class="kind">${esc(entry.kind)}</span> <b>${esc(entry.key)}</b></p>`,
    "<h3>architecture</h3>", kvTable(arch),
    "<h3>training data</h3>", kvTable(c.training),
    `<h3>metrics on the holes ${c.metrics_note ? `<span class="muted">(${esc(c.metrics_note)})</span>` : ""}</h3>`,
    metricsTable(c.metrics),
  ];
  if (m) parts.push(`<h3>watch mode</h3><p>${esc(m.watch_sampler)}</p>`);
  if (c.text) parts.push(`<details><summary>the full card</summary><div>${markdown(c.text)}</div></details>`);
  $("card").innerHTML = parts.join("\n");
}

// ------------------------------------------------------------------ drawing
const canvas = $("canvas");
const ctx = canvas.getContext("2d");
let hover = null, boxStart = null, boxEnd = null;

function resize() {
  S.zoom = Math.max(4, Math.floor(432 / Math.max(S.h, S.w)));
  canvas.width = S.w * S.zoom; canvas.height = S.h * S.zoom;
  const wz = Math.max(3, Math.floor(288 / Math.max(S.h, S.w)));
  const wc = $("watch-canvas");
  wc.width = S.w * wz; wc.height = S.h * wz; wc.dataset.zoom = wz;
}
function draw() {
  if (!S.image) return;
  const z = S.zoom;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(S.image, 0, 0, canvas.width, canvas.height);
  ctx.fillStyle = HOLE;
  for (let r = 0; r < S.h; r++) for (let c = 0; c < S.w; c++)
    if (S.mask[r * S.w + c]) ctx.fillRect(c * z, r * z, z, z);
  if (S.tool === "box" && boxStart && boxEnd) {
    const [r0, c0, r1, c1] = boxCells();
    ctx.strokeStyle = "#5b3cc4"; ctx.lineWidth = 2; ctx.setLineDash([6, 4]);
    ctx.strokeRect(c0 * z + 1, r0 * z + 1, (c1 - c0 + 1) * z - 2, (r1 - r0 + 1) * z - 2);
    ctx.setLineDash([]);
  } else if (hover) {
    ctx.strokeStyle = S.tool === "erase" ? "#0f7d6b" : "#1d2330"; ctx.lineWidth = 1.5;
    for (const [r, c] of brushCells(hover[0], hover[1])) ctx.strokeRect(c * z + .75, r * z + .75, z - 1.5, z - 1.5);
  }
  $("hole-count").textContent = `${holeCount()} hole pixel${holeCount() === 1 ? "" : "s"} of ${S.h * S.w}`;
}
function cellAt(ev) {
  const rect = canvas.getBoundingClientRect();
  const x = (ev.clientX - rect.left) * (canvas.width / rect.width) / S.zoom;
  const y = (ev.clientY - rect.top) * (canvas.height / rect.height) / S.zoom;
  return [y, x];
}
function brushCells(y, x) {
  // cells whose centres lie within the brush: size 1 is one pixel, size n a disc of diameter ~n
  const rad = S.size / 2, out = [];
  const cy = S.size % 2 ? Math.floor(y) + 0.5 : Math.round(y);
  const cx = S.size % 2 ? Math.floor(x) + 0.5 : Math.round(x);
  for (let r = Math.floor(cy - rad); r <= Math.ceil(cy + rad); r++)
    for (let c = Math.floor(cx - rad); c <= Math.ceil(cx + rad); c++) {
      if (r < 0 || c < 0 || r >= S.h || c >= S.w) continue;
      const dy = r + 0.5 - cy, dx = c + 0.5 - cx;
      if (dy * dy + dx * dx <= rad * rad + 0.01) out.push([r, c]);
    }
  return out;
}
function paint(y, x) {
  const v = S.tool === "erase" ? 0 : 1;
  for (const [r, c] of brushCells(y, x)) S.mask[r * S.w + c] = v;
}
function boxCells() {
  const r0 = Math.max(0, Math.floor(Math.min(boxStart[0], boxEnd[0])));
  const r1 = Math.min(S.h - 1, Math.floor(Math.max(boxStart[0], boxEnd[0])));
  const c0 = Math.max(0, Math.floor(Math.min(boxStart[1], boxEnd[1])));
  const c1 = Math.min(S.w - 1, Math.floor(Math.max(boxStart[1], boxEnd[1])));
  return [r0, c0, r1, c1];
}
function pushUndo() {
  S.undo.push(S.mask.slice());
  if (S.undo.length > UNDO_LIMIT) S.undo.shift();
}
function undo() {
  if (!S.undo.length) { say("nothing to undo"); return; }
  S.mask = S.undo.pop(); draw();
}
function clearMask() {
  if (!holeCount()) return;
  pushUndo(); S.mask.fill(0); draw();
}

let painting = false, last = null;
canvas.addEventListener("pointerdown", (ev) => {
  if (!S.image || ev.button !== 0) return;
  canvas.setPointerCapture(ev.pointerId);
  const p = cellAt(ev);
  pushUndo();
  if (S.tool === "box") { boxStart = p; boxEnd = p; }
  else { painting = true; last = p; paint(p[0], p[1]); }
  draw();
});
canvas.addEventListener("pointermove", (ev) => {
  if (!S.image) return;
  const p = cellAt(ev);
  hover = p;
  if (S.tool === "box" && boxStart) boxEnd = p;
  else if (painting) {
    // a fast stroke skips pixels between events: paint along the segment
    const steps = Math.ceil(Math.hypot(p[0] - last[0], p[1] - last[1]) * 2) || 1;
    for (let i = 1; i <= steps; i++)
      paint(last[0] + (p[0] - last[0]) * i / steps, last[1] + (p[1] - last[1]) * i / steps);
    last = p;
  }
  draw();
});
function endStroke() {
  if (S.tool === "box" && boxStart) {
    const [r0, c0, r1, c1] = boxCells();
    for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) S.mask[r * S.w + c] = 1;
    boxStart = boxEnd = null;
  }
  painting = false; last = null; draw();
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);
canvas.addEventListener("pointerleave", () => { hover = null; draw(); });

function setTool(tool) {
  S.tool = tool;
  for (const b of document.querySelectorAll(".tool")) b.classList.toggle("active", b.dataset.tool === tool);
  draw();
}
function setSize(n) {
  S.size = Math.max(1, Math.min(8, n));
  $("brush-size").value = S.size; $("brush-size-out").textContent = S.size; draw();
}

// ------------------------------------------------------------------ models and images
async function init() {
  const info = await api("/api/models");
  S.models = info.models; S.limits = info.limits;
  const select = $("model");
  for (const m of info.models) select.append(el("option", { value: m.key, text: `${m.key} — ${m.kind}` }));
  const box = $("samples");
  info.samples.forEach((url, i) => {
    box.append(el("button", { title: `sample face ${i + 1} (${i + 1})`, "data-sample": i,
      onclick: () => loadSample(i) }, el("img", { src: url, alt: `sample face ${i + 1}` })));
  });
  if (!info.models.length) { say("this server has no model to serve", "error"); return; }
  await selectModel(info.models[0].key);
}
async function selectModel(key) {
  S.key = key; $("model").value = key;
  $("model-state").textContent = "loading the model…";
  renderCard();
  try {
    S.model = await api(`/api/model?key=${encodeURIComponent(key)}`);
  } catch (e) { $("model-state").textContent = ""; say(e.message, "error"); return; }
  $("model-state").textContent = `${S.model.width}x${S.model.height} · ${S.model.parameters.toLocaleString("en")} parameters`;
  $("decoding").value = S.model.default_decoding;
  syncDecoding();
  renderCard();
  const sameGrid = S.h === S.model.height && S.w === S.model.width;
  if (!sameGrid) {
    S.h = S.model.height; S.w = S.model.width;
    S.mask = new Uint8Array(S.h * S.w); S.undo = [];
    resize();
  }
  // the image again, through this model's preprocessing
  if (S.from && S.from.file) await uploadImage(S.from.file);
  else await loadSample(S.from ? S.from.sample : 0);
}
async function setImage(resp, from) {
  document.body.dataset.image = "loading";
  S.image = await loadImage(resp.image);
  S.imageUrl = resp.image; S.source = resp.source; S.from = from;
  for (const b of document.querySelectorAll("#samples button"))
    b.classList.toggle("active", from.sample !== undefined && Number(b.dataset.sample) === from.sample);
  resetWatch();
  S.results = null; renderResults(); $("side-download").hidden = true;  // they were another image's
  draw();
  document.body.dataset.image = "ready";
  say(resp.notes.length ? resp.notes.join("\n") : "paint holes on the face, then fill (F) or watch (W)", "muted");
}
async function loadSample(i) {
  if (!S.key) return;
  try {
    const resp = await api(`/api/image?model=${encodeURIComponent(S.key)}&sample=${i}`, { method: "POST" });
    await setImage(resp, { sample: i });
  } catch (e) { say(e.message, "error"); }
}
async function uploadImage(file) {
  if (file.size > S.limits.max_upload_bytes) {
    say(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; the limit is ${(S.limits.max_upload_bytes / 1e6).toFixed(1)} MB`, "error");
    return;
  }
  try {
    say("preparing the image…", "busy");
    const resp = await api(`/api/image?model=${encodeURIComponent(S.key)}`, { method: "POST", body: file });
    await setImage(resp, { file });
  } catch (e) { say(`${file.name}: ${e.message}`, "error"); }
}
async function uploadMask(file) {
  if (!S.image) return;
  const q = S.source ? `&source_h=${S.source[0]}&source_w=${S.source[1]}` : "";
  try {
    const resp = await api(`/api/mask?model=${encodeURIComponent(S.key)}${q}`, { method: "POST", body: file });
    pushUndo();
    S.mask = Uint8Array.from(resp.mask, (ch) => (ch === "1" ? 1 : 0));
    draw();
    say([`mask ${file.name}: ${resp.holes} hole pixels`, ...resp.notes].join("\n"), "muted");
  } catch (e) { say(`${file.name}: ${e.message}`, "error"); }
}
function downloadMask() {
  const c = el("canvas", { width: S.w, height: S.h });
  const g = c.getContext("2d");
  g.fillStyle = "#000"; g.fillRect(0, 0, S.w, S.h); g.fillStyle = "#fff";
  for (let i = 0; i < S.mask.length; i++) if (S.mask[i]) g.fillRect(i % S.w, Math.floor(i / S.w), 1, 1);
  download(c.toDataURL("image/png"), "mask.png");
}

// ------------------------------------------------------------------ fill
function fillPayload() {
  return { model: S.key, image: S.imageUrl, mask: maskString(), decoding: $("decoding").value,
           temperature: Number($("temperature").value), seed: Number($("seed").value),
           original: $("original").checked, baselines: true };
}
function syncDecoding() {
  const sampling = $("decoding").value === "sample";
  for (const n of document.querySelectorAll(".fillbar .sample-only")) n.classList.toggle("muted", !sampling);
}
function resultCard(r, best, filename) {
  const score = r.psnr === null || r.psnr === undefined ? "not scored" : `${r.psnr.toFixed(2)} dB hole PSNR`;
  return el("div", { class: "result" + (best ? " best" : ""), "data-key": r.key },
    el("img", { src: r.image, alt: r.label }),
    el("div", { class: "name", text: r.label }),
    el("div", { class: "score", text: score }),
    el("a", { href: r.image, download: filename, text: "download" }));
}
function renderResults() {
  const box = $("results");
  box.replaceChildren();
  const rows = (S.results ? S.results.results : []).slice();
  if (S.watch && S.watch.result) rows.push(S.watch.result);
  if (!rows.length) { box.append(el("p", { class: "muted small", text: "paint holes, then fill" })); return; }
  const scores = rows.map((r) => r.psnr).filter((v) => typeof v === "number");
  const top = scores.length ? Math.max(...scores) : null;
  for (const r of rows) box.append(resultCard(r, top !== null && r.psnr === top, `filled_${r.key}.png`));
}
async function fill() {
  if (!S.image || S.busy.fill) return;
  if (!holeCount()) { say("paint some holes first (brush: B)", "error"); return; }
  S.busy.fill = true; $("fill").disabled = true; document.body.dataset.fill = "running";
  say("filling…", "busy");
  try {
    S.results = await postJSON("/api/fill", fillPayload());
    renderResults();
    const side = $("side-download"); side.href = S.results.side_by_side; side.hidden = false;
    say(`filled ${S.results.holes} hole pixels in ${S.results.seconds.toFixed(2)} s (${S.results.decoding})`, "muted");
    document.body.dataset.fill = "done";
  } catch (e) { say(e.message, "error"); document.body.dataset.fill = "error"; }
  finally { S.busy.fill = false; $("fill").disabled = false; }
}

// ------------------------------------------------------------------ watch
function speed() {                        // pixels per second; the top of the slider is "all at once"
  const v = Number($("speed").value);
  return v >= 100 ? Infinity : Math.round(4 * Math.pow(1.075, v));
}
function showSpeed() { const s = speed(); $("speed-out").textContent = s === Infinity ? "max" : `${s} px/s`; }
function resetWatch() {
  if (S.watch && S.watch.es) S.watch.es.close();
  if (S.watch && S.watch.raf) cancelAnimationFrame(S.watch.raf);
  S.watch = null; S.busy.watch = false;
  $("watch").disabled = false; $("watch-stop").hidden = true; $("watch-bar").style.width = "0";
  const wc = $("watch-canvas"), g = wc.getContext("2d");
  g.clearRect(0, 0, wc.width, wc.height);
  if (S.image) { g.imageSmoothingEnabled = false; g.drawImage(S.image, 0, 0, wc.width, wc.height); }
}
async function watch() {
  if (!S.image || S.busy.watch) return;
  if (!holeCount()) { say("paint some holes first (brush: B)", "error"); return; }
  resetWatch();
  S.busy.watch = true; $("watch").disabled = true; document.body.dataset.watch = "running";
  const payload = fillPayload();
  let job;
  try { job = await postJSON("/api/watch", payload); }
  catch (e) { say(e.message, "error"); S.busy.watch = false; $("watch").disabled = false; document.body.dataset.watch = "error"; return; }
  const wc = $("watch-canvas"), g = wc.getContext("2d"), z = Number(wc.dataset.zoom);
  g.imageSmoothingEnabled = false;
  g.drawImage(S.image, 0, 0, wc.width, wc.height);
  g.fillStyle = HOLE;
  for (let i = 0; i < S.mask.length; i++) if (S.mask[i]) g.fillRect((i % S.w) * z, Math.floor(i / S.w) * z, z, z);
  const W = S.watch = { queue: [], drawn: 0, total: job.pixels, done: null, es: null, raf: 0,
                        budget: 0, lastT: performance.now(), lastPx: null, payload };
  $("watch-info").textContent = `${job.pixels} pixels, ${job.order}`;
  $("watch-status").textContent = `sampling (T=${payload.temperature}, seed ${payload.seed})…`;
  $("watch-stop").hidden = false;
  const es = W.es = new EventSource(`/api/watch/${encodeURIComponent(job.id)}`);
  es.addEventListener("pixel", (ev) => W.queue.push(JSON.parse(ev.data)));
  es.addEventListener("done", (ev) => { W.done = JSON.parse(ev.data); es.close(); });
  es.addEventListener("failed", (ev) => { es.close(); stopWatch(JSON.parse(ev.data).error); });
  es.onerror = () => { if (!W.done) { es.close(); stopWatch("the stream broke off"); } };
  const frame = (t) => {
    if (S.watch !== W) return;
    const rate = speed();
    W.budget += rate === Infinity ? W.queue.length : (t - W.lastT) / 1000 * rate;
    W.lastT = t;
    if (W.lastPx) {   // redraw the previous "current pixel" without its outline
      const p = W.lastPx;
      g.fillStyle = `rgb(${p.v.length === 1 ? [p.v[0], p.v[0], p.v[0]] : p.v})`; g.fillRect(p.w * z, p.r * z, z, z);
    }
    while (W.budget >= 1 && W.queue.length) {
      const p = W.queue.shift(); W.budget -= 1; W.drawn += 1;
      g.fillStyle = `rgb(${p.v.length === 1 ? [p.v[0], p.v[0], p.v[0]] : p.v})`;
      g.fillRect(p.w * z, p.r * z, z, z);
      W.lastPx = p;
    }
    if (!W.queue.length) W.budget = Math.min(W.budget, 1);
    if (W.lastPx && !(W.done && !W.queue.length)) {
      g.strokeStyle = "#0f7d6b"; g.lineWidth = 2; g.strokeRect(W.lastPx.w * z + 1, W.lastPx.r * z + 1, z - 2, z - 2);
    }
    $("watch-bar").style.width = `${(100 * W.drawn / Math.max(1, W.total)).toFixed(1)}%`;
    $("watch-status").textContent = `${W.drawn} / ${W.total} pixels`;
    if (W.done && !W.queue.length) { finishWatch(W); return; }
    W.raf = requestAnimationFrame(frame);
  };
  W.raf = requestAnimationFrame(frame);
}
function finishWatch(W) {
  const d = W.done, p = W.payload;
  const score = typeof d.psnr === "number" ? `, ${d.psnr.toFixed(2)} dB hole PSNR` : "";
  $("watch-status").textContent = `done: ${d.pixels} pixels in ${d.seconds.toFixed(2)} s of sampling${score}`;
  $("watch-stop").hidden = true; $("watch").disabled = false; S.busy.watch = false;
  W.result = { key: "watch", label: `watched sample (T=${p.temperature}, seed ${p.seed})`,
               image: d.image, psnr: d.psnr };
  renderResults();
  document.body.dataset.watch = "done";
}
function stopWatch(reason) {
  const W = S.watch;
  if (!W) return;
  if (W.es) W.es.close();
  cancelAnimationFrame(W.raf);
  S.busy.watch = false; $("watch").disabled = false; $("watch-stop").hidden = true;
  $("watch-status").textContent = reason ? `stopped: ${reason}` : "stopped";
  if (reason) say(reason, "error");
  document.body.dataset.watch = "stopped";
}

// ------------------------------------------------------------------ wiring
$("model").addEventListener("change", (ev) => selectModel(ev.target.value));
for (const b of document.querySelectorAll(".tool")) b.addEventListener("click", () => setTool(b.dataset.tool));
$("brush-size").addEventListener("input", (ev) => setSize(Number(ev.target.value)));
$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", clearMask);
$("upload").addEventListener("change", (ev) => { if (ev.target.files[0]) uploadImage(ev.target.files[0]); ev.target.value = ""; });
$("mask-upload").addEventListener("change", (ev) => { if (ev.target.files[0]) uploadMask(ev.target.files[0]); ev.target.value = ""; });
$("mask-download").addEventListener("click", downloadMask);
$("decoding").addEventListener("change", syncDecoding);
$("reseed").addEventListener("click", () => { $("seed").value = Math.floor(Math.random() * 1e6); });
$("fill").addEventListener("click", fill);
$("watch").addEventListener("click", watch);
$("watch-stop").addEventListener("click", () => stopWatch(""));
$("speed").addEventListener("input", showSpeed);
$("original").addEventListener("change", () => { S.results = null; renderResults(); });

const stage = $("stage");
stage.addEventListener("dragover", (ev) => { ev.preventDefault(); stage.classList.add("dragging"); $("drop-hint").hidden = false; });
stage.addEventListener("dragleave", () => { stage.classList.remove("dragging"); $("drop-hint").hidden = true; });
stage.addEventListener("drop", (ev) => {
  ev.preventDefault(); stage.classList.remove("dragging"); $("drop-hint").hidden = true;
  if (ev.dataTransfer.files[0]) uploadImage(ev.dataTransfer.files[0]);
});

document.addEventListener("keydown", (ev) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)
    && document.activeElement.type !== "range" && document.activeElement.type !== "checkbox";
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "z") { if (!typing) { ev.preventDefault(); undo(); } return; }
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const k = ev.key;
  const actions = {
    b: () => setTool("brush"), e: () => setTool("erase"), x: () => setTool("box"),
    "[": () => setSize(S.size - 1), "]": () => setSize(S.size + 1), u: undo, c: clearMask,
    f: fill, Enter: fill, w: watch, r: () => $("reseed").click(),
  };
  const act = actions[k] || actions[k.toLowerCase()];
  if (act) { ev.preventDefault(); act(); return; }
  if (/^[1-9]$/.test(k) && Number(k) <= document.querySelectorAll("#samples button").length) loadSample(Number(k) - 1);
});

showSpeed();
init().catch((e) => say(e.message, "error"));
