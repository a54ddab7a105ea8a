// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
//
// The agent's live page.  Every interval it asks the agent for the chosen
// range as speedscope JSON (/profile?format=speedscope: frames shared,
// one sampled profile per "THREAD (PROCESS)"), and draws from it, in the
// browser, the flame graph, the top functions and the pickers; /info gives
// the header.  Process, thread and search act on the data already here, so
// they answer at once.  Nothing is fetched from anywhere but the agent.
"use strict";

const ROW = 18; // px per flame graph level
const MAX_BOXES = 4000; // boxes drawn; narrower ones are left out first
const TABLE_ROWS = 200;

const $ = (id) => document.getElementById(id);
const ui = {
  range: $("range"), proc: $("proc"), thread: $("thread"), search: $("search"),
  pause: $("pause"), lines: $("lines"), flame: $("flame"), scroll: $("flame-scroll"),
  tbody: document.querySelector("#top tbody"), more: $("more"), status: $("status"),
  what: $("what"), matched: $("matched"), details: $("details"), unzoom: $("unzoom"),
  tip: $("tip"),
};

const st = {
  info: null, // the agent's /info
  data: null, // { frames, stacks: [{ proc, thread, fr: [frame ids], w }] }
  seq: 0, // the interval the data ends with
  paused: false,
  byLine: false,
  zoom: [], // keys from the root to the zoomed node
  sort: { col: "own", asc: false },
  timer: 0,
  failures: 0,
  boxes: [], // the drawn flame graph nodes, by index
};

// ---- Data ----

function parseProfile(json) {
  const frames = json.shared.frames.map((f) => {
    const file = f.file || "";
    const line = f.line === undefined ? -1 : f.line;
    const where = file ? ` (${file}${line >= 0 ? ":" + line : ""})` : "";
    return {
      name: f.name, file, line, label: f.name + where,
      fn: f.name + (file ? ` (${file})` : ""),
      kind: f.name.startsWith("[") && f.name.endsWith("]") ? "marker" : file ? "py" : "native",
    };
  });
  const stacks = [];
  for (const p of json.profiles) {
    // "THREAD (PROCESS)", or just the process with --no-threads.
    const m = /^(.*) \(([^()]*)\)$/.exec(p.name);
    const proc = m ? m[2] : p.name, thread = m ? m[1] : "";
    p.samples.forEach((fr, i) => stacks.push({ proc, thread, fr, w: p.weights[i] }));
  }
  return { frames, stacks };
}

// The stacks the pickers let through.
function selected() {
  const p = ui.proc.value, t = ui.thread.value;
  return st.data.stacks.filter((s) => (!p || s.proc === p) && (!t || s.thread === t));
}

function pidOf(proc) {
  const m = /-(\d+)$/.exec(proc);
  return m ? m[1] : "";
}

// ---- Search ----

function matcher() {
  const q = ui.search.value.trim();
  if (!q) return null;
  const m = /^\/(.*)\/$/.exec(q);
  if (m) {
    try {
      const re = new RegExp(m[1], "i");
      return (s) => re.test(s);
    } catch (e) {
      return null;
    }
  }
  const low = q.toLowerCase();
  return (s) => s.toLowerCase().includes(low);
}

// ---- Flame graph ----

function buildTree(stacks, frames) {
  const root = { key: "all", label: "all", kind: "root", w: 0, kids: new Map() };
  const p = ui.proc.value, t = ui.thread.value;
  for (const s of stacks) {
    const path = [];
    if (!p) path.push({ key: "p:" + s.proc, label: s.proc, kind: "proc" });
    if (!t && s.thread) path.push({ key: "t:" + s.thread, label: s.thread, kind: "thread" });
    for (const id of s.fr) {
      const f = frames[id];
      path.push({ key: "f:" + id, label: f.label, kind: f.kind, frame: f });
    }
    let n = root;
    n.w += s.w;
    for (const step of path) {
      let k = n.kids.get(step.key);
      if (!k) {
        k = { ...step, w: 0, kids: new Map() };
        n.kids.set(step.key, k);
      }
      k.w += s.w;
      n = k;
    }
  }
  if (p) root.label = t ? `${p} · ${t}` : p;
  return root;
}

function hue(str) {
  let h = 0;
  for (let i = 0; i < str.length; i++) h = (h * 31 + str.charCodeAt(i)) >>> 0;
  return h;
}

function colour(n) {
  switch (n.kind) {
    case "root": return "#c8c8c8";
    case "proc": return "#8fb3de";
    case "thread": return "#b5cfee";
    case "marker": return "#d2d2d2";
    case "native": return `hsl(${(hue(n.label) % 40) + 180}, 45%, 70%)`;
    default: { // Python: warm colours, one per function
      const h = hue(n.frame ? n.frame.fn : n.label);
      return `hsl(${h % 50}, ${70 + (h >> 8) % 20}%, ${60 + (h >> 16) % 12}%)`;
    }
  }
}

function renderFlame(tree) {
  const width = Math.max(200, ui.scroll.clientWidth - 18);
  const match = matcher();
  const boxes = [];
  let maxDepth = 0;
  // The zoomed node: the path of keys from the root, as far as it exists.
  const chain = [tree];
  for (const key of st.zoom) {
    const k = chain[chain.length - 1].kids.get(key);
    if (!k) break;
    chain.push(k);
  }
  if (chain.length - 1 < st.zoom.length) st.zoom = st.zoom.slice(0, chain.length - 1);
  const top = chain[chain.length - 1];
  ui.unzoom.classList.toggle("off", chain.length === 1);
  // Ancestors of the zoomed node: full width, dimmed.
  chain.slice(0, -1).forEach((n, d) => boxes.push({ n, x: 0, w: width, d, above: true }));
  // Breadth-first, so that the cap on boxes leaves out the deepest.
  const queue = [{ n: top, x: 0, w: width, d: chain.length - 1 }];
  const minPx = 0.5;
  for (let qi = 0; qi < queue.length && boxes.length < MAX_BOXES; qi++) {
    const b = queue[qi];
    boxes.push(b);
    maxDepth = Math.max(maxDepth, b.d);
    let x = b.x;
    const kids = [...b.n.kids.values()].sort((a, c) => (a.label < c.label ? -1 : a.label > c.label ? 1 : 0));
    for (const k of kids) {
      const w = (b.w * k.w) / b.n.w;
      if (w >= minPx) queue.push({ n: k, x, w, d: b.d + 1 });
      x += w;
    }
  }
  const total = tree.w || 1;
  const frag = document.createDocumentFragment();
  boxes.forEach((b, i) => {
    const el = document.createElement("div");
    el.className = "fr";
    el.dataset.i = i;
    el.dataset.name = b.n.frame ? b.n.frame.name : b.n.label;
    el.style.left = `${b.x}px`;
    el.style.width = `${Math.max(b.w, 1)}px`;
    el.style.top = `${b.d * ROW}px`;
    el.style.background = colour(b.n);
    if (b.above) el.classList.add("above");
    if (match && b.n.frame && match(b.n.label)) el.classList.add("hl");
    if (b.w > 28) el.textContent = b.n.label;
    frag.appendChild(el);
    b.pct = (100 * b.n.w) / total;
  });
  ui.flame.replaceChildren(frag);
  ui.flame.style.height = `${(maxDepth + 1) * ROW + 4}px`;
  ui.flame.style.width = `${width}px`;
  st.boxes = boxes;
}

function boxText(b) {
  return `${b.n.label}\n${b.n.w} samples, ${b.pct.toFixed(2)}%`;
}

ui.flame.addEventListener("mousemove", (e) => {
  const b = st.boxes[e.target.dataset ? e.target.dataset.i : -1];
  if (!b) {
    ui.tip.hidden = true;
    return;
  }
  ui.tip.textContent = boxText(b);
  ui.tip.hidden = false;
  const x = Math.min(e.clientX + 12, window.innerWidth - ui.tip.offsetWidth - 4);
  const y = Math.min(e.clientY + 14, window.innerHeight - ui.tip.offsetHeight - 4);
  ui.tip.style.left = `${x}px`;
  ui.tip.style.top = `${y}px`;
  ui.details.textContent = boxText(b).replace("\n", " — ");
});
ui.flame.addEventListener("mouseleave", () => { ui.tip.hidden = true; });
ui.flame.addEventListener("click", (e) => {
  const b = st.boxes[e.target.dataset ? e.target.dataset.i : -1];
  if (!b) return;
  // The keys from the root to the box clicked.
  const path = [];
  const find = (n, want) => {
    if (n === want) return true;
    for (const k of n.kids.values()) {
      path.push(k.key);
      if (find(k, want)) return true;
      path.pop();
    }
    return false;
  };
  if (find(st.tree, b.n)) {
    st.zoom = path;
    render();
  }
});
ui.unzoom.addEventListener("click", () => { st.zoom = []; render(); });

// ---- The table ----

function renderTable(stacks, frames) {
  const rows = new Map();
  let total = 0;
  const keyOf = (f) => (st.byLine ? f.label : f.fn);
  for (const s of stacks) {
    total += s.w;
    if (!s.fr.length) continue;
    const seen = new Set();
    s.fr.forEach((id) => {
      const f = frames[id];
      const k = keyOf(f);
      let r = rows.get(k);
      if (!r) {
        r = { name: f.name, file: st.byLine && f.line >= 0 ? `${f.file}:${f.line}` : f.file, label: k, own: 0, total: 0 };
        rows.set(k, r);
      }
      if (!seen.has(k)) {
        seen.add(k);
        r.total += s.w;
      }
    });
    rows.get(keyOf(frames[s.fr[s.fr.length - 1]])).own += s.w;
  }
  const col = st.sort.col, dir = st.sort.asc ? 1 : -1;
  const val = { own: "own", total: "total", ownN: "own", totalN: "total", name: "name", file: "file" }[col];
  const list = [...rows.values()].sort((a, b) => {
    const x = a[val], y = b[val];
    if (x !== y) return (x < y ? -1 : 1) * dir;
    return b.own - a.own || (a.label < b.label ? -1 : 1);
  });
  const match = matcher();
  const frag = document.createDocumentFragment();
  const pct = (n) => (total ? (100 * n) / total : 0);
  for (const r of list.slice(0, TABLE_ROWS)) {
    const tr = document.createElement("tr");
    tr.dataset.name = r.name;
    if (match && match(r.label)) tr.classList.add("hl");
    const cells = [
      [`${pct(r.own).toFixed(1)}%`, "num"],
      [`${pct(r.total).toFixed(1)}%`, "num"],
      [String(r.own), "num"],
      [String(r.total), "num"],
      [r.name, "name"],
      [r.file, "file"],
    ];
    for (const [text, cls] of cells) {
      const td = document.createElement("td");
      td.className = cls;
      if (cls === "name") {
        const bar = document.createElement("span");
        bar.className = "bar";
        bar.style.width = `${Math.round(pct(r.own) * 0.6)}px`;
        td.append(bar, text);
      } else if (cls === "file" && text.length > 64) {
        // The end of a long path says the most: its start goes first.
        td.textContent = "…" + text.slice(text.length - 63);
        td.title = text;
      } else {
        td.textContent = text;
      }
      tr.appendChild(td);
    }
    frag.appendChild(tr);
  }
  ui.tbody.replaceChildren(frag);
  ui.more.textContent = list.length > TABLE_ROWS ? `${list.length - TABLE_ROWS} more (search to find them)` : "";
  document.querySelectorAll("#top th").forEach((th) => {
    th.classList.toggle("sorted", th.dataset.col === col);
    th.classList.toggle("asc", th.dataset.col === col && st.sort.asc);
  });
  return total;
}

document.querySelector("#top thead").addEventListener("click", (e) => {
  const col = e.target.dataset && e.target.dataset.col;
  if (!col) return;
  st.sort = { col, asc: st.sort.col === col ? !st.sort.asc : col === "name" || col === "file" };
  render();
});
ui.tbody.addEventListener("click", (e) => {
  const tr = e.target.closest("tr");
  if (!tr) return;
  ui.search.value = tr.dataset.name;
  render();
});

// ---- Pickers ----

function fillSelect(sel, entries, allText) {
  const keep = sel.value;
  const opts = [new Option(allText, "")];
  for (const [value, text] of entries) opts.push(new Option(text, value));
  if (keep && !entries.some(([v]) => v === keep)) opts.push(new Option(`${keep} (no samples now)`, keep));
  sel.replaceChildren(...opts);
  sel.value = keep;
}

function renderPickers() {
  const byProc = new Map(), byThread = new Map();
  let total = 0;
  for (const s of st.data.stacks) {
    total += s.w;
    byProc.set(s.proc, (byProc.get(s.proc) || 0) + s.w);
    if (s.proc === ui.proc.value && s.thread) byThread.set(s.thread, (byThread.get(s.thread) || 0) + s.w);
  }
  const share = (n) => `${((100 * n) / (total || 1)).toFixed(1)}%`;
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  fillSelect(ui.proc, sorted(byProc).map(([p, n]) => [p, `${p} — ${share(n)}`]), `all processes (${byProc.size})`);
  fillSelect(ui.thread, sorted(byThread).map(([t, n]) => [t, `${t} — ${share(n)}`]), ui.proc.value ? `all threads (${byThread.size})` : "all threads");
  ui.thread.disabled = !ui.proc.value;
}

// ---- Drawing it all ----

function render() {
  if (!st.data) return;
  renderPickers();
  const stacks = selected();
  st.tree = buildTree(stacks, st.data.frames);
  renderFlame(st.tree);
  const total = renderTable(stacks, st.data.frames);
  const match = matcher();
  if (match) {
    let w = 0;
    for (const s of stacks) if (s.fr.some((id) => match(st.data.frames[id].label))) w += s.w;
    ui.matched.textContent = `matched ${w} of ${total} samples (${total ? ((100 * w) / total).toFixed(1) : 0}%)`;
  } else {
    ui.matched.textContent = "";
  }
  document.body.dataset.seq = String(st.seq);
  document.body.dataset.samples = String(total);
  updateLinks();
}

function rangeQuery() {
  const r = ui.range.value;
  if (r === "all") return "seconds=all";
  if (r === "window") return `seconds=${st.info ? st.info.window : 600}`;
  const max = st.info ? st.info.window : 600;
  return `seconds=${Math.min(Number(r), max)}`;
}

function updateLinks() {
  const pid = pidOf(ui.proc.value);
  const q = rangeQuery() + (pid ? `&pid=${pid}` : "");
  $("dl-pprof").href = `/debug/pprof/profile?${q}`;
  $("dl-folded").href = `/profile?${q}&format=folded`;
  $("dl-svg").href = `/profile?${q}&format=svg`;
}

function showStatus(text, cls) {
  ui.status.textContent = text;
  ui.status.className = `status ${cls || ""}`;
}

function describe(info) {
  const rate = info.uptime > 0 ? info.taken / info.uptime : 0;
  return `${info.processes} processes · ${rate.toFixed(0)} samples/s · ${info.lost} lost · ` +
    `window ${Math.round(info.window_seconds)} s of ${info.window} · ${info.frequency} Hz`;
}

// ---- The loop ----

async function fetchJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${(await r.text()).trim()}`);
  return { json: await r.json(), seq: Number(r.headers.get("X-Pyprof-Seq") || 0) };
}

async function refresh() {
  const [info, prof] = await Promise.all([
    fetchJSON("/info"),
    fetchJSON(`/profile?format=speedscope&${rangeQuery()}`),
  ]);
  st.info = info.json;
  st.data = parseProfile(prof.json);
  st.seq = prof.seq || st.info.seq;
  ui.what.textContent = `${st.info.what} on ${st.info.host}`;
  document.title = `pyprof-bpf · ${st.info.host}`;
  if (!st.paused) showStatus(describe(st.info));
  render();
}

function schedule() {
  clearTimeout(st.timer);
  if (st.paused) return;
  const every = st.info ? st.info.interval * 1000 : 1000;
  // After a failure, back off up to 10 s.
  st.timer = setTimeout(tick, st.failures ? Math.min(10000, every * 2 ** st.failures) : every);
}

async function tick() {
  try {
    await refresh();
    st.failures = 0;
  } catch (e) {
    st.failures++;
    showStatus(`disconnected (${e.message}); retrying`, "down");
  }
  schedule();
}

function setPaused(p) {
  st.paused = p;
  ui.pause.textContent = p ? "Resume" : "Pause";
  ui.pause.classList.toggle("on", p);
  if (p) {
    clearTimeout(st.timer);
    showStatus("paused: the view stands still (sampling goes on)", "paused");
  } else {
    tick();
  }
}

ui.pause.addEventListener("click", () => setPaused(!st.paused));
ui.lines.addEventListener("click", () => {
  st.byLine = !st.byLine;
  ui.lines.setAttribute("aria-pressed", String(st.byLine));
  render();
});
ui.range.addEventListener("change", () => { if (!st.paused) tick(); else refresh().catch(() => {}); });
ui.proc.addEventListener("change", () => { ui.thread.value = ""; st.zoom = []; render(); });
ui.thread.addEventListener("change", () => { st.zoom = []; render(); });
ui.search.addEventListener("input", () => render());
document.addEventListener("keydown", (e) => {
  if (e.target.matches("input, select, textarea")) {
    if (e.key === "Escape") { ui.search.value = ""; ui.search.blur(); render(); }
    return;
  }
  if (e.key === "/") { e.preventDefault(); ui.search.focus(); }
  else if (e.key === " ") { e.preventDefault(); setPaused(!st.paused); }
  else if (e.key === "Escape") { st.zoom = []; ui.search.value = ""; render(); }
});
window.addEventListener("resize", () => render());

tick();
