// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
//
// Opens pyprof-bpf's output in Debian's headless Chromium and reports, as
// one JSON object on stdout, what a person would see; tests/test_formats.py
// asserts on it.  Screenshots go where the caller says.
//
//   node drive.mjs svg FILE SHOTS_PREFIX SEARCH ZOOM_REGEX
//   node drive.mjs html FILE SHOTS_PREFIX SEARCH ZOOM_REGEX
//   node drive.mjs heatmap FILE SHOTS_PREFIX FRAME_REGEX
//   node drive.mjs speedscope FILE SHOTS_PREFIX
//   node drive.mjs schema FILE
//   node drive.mjs live URL SHOTS_PREFIX OLD_FUNC NEW_FUNC PID
//       the agent's live page (pyprof-bpf serve): prints a JSON line once
//       OLD_FUNC shows and the controls were tried, then waits for a line
//       "switched" on stdin and prints a second one once NEW_FUNC shows
//   node drive.mjs hold URL SECONDS
//       keeps the agent's live page open for SECONDS (scripts/bench-serve)
//
// Never downloads a browser: playwright-core only drives /usr/bin/chromium.
import { chromium } from "playwright-core";
import Ajv from "ajv";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.PYPROF_CHROMIUM || "/usr/bin/chromium";

async function browser(allow) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyprof-chromium-"));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
  // Offline: anything but a local file is refused and recorded.
  const external = [];
  await ctx.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:") || url.startsWith("blob:") ||
        (allow && url.startsWith(allow)))
      return route.continue();
    external.push(url);
    return route.abort();
  });
  return { ctx, external, close: async () => { await ctx.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

// The flame graph's state, read from the live DOM.
async function flameState(page) {
  return page.evaluate(() => {
    const svg = document.getElementById("pf-flame");
    const frames = Array.from(svg.querySelectorAll("g.f"));
    const visible = frames.filter((g) => !g.classList.contains("pf-hidden"));
    const text = (id) => document.getElementById(id).textContent;
    return {
      frames: frames.length,
      visible: visible.length,
      highlighted: frames.filter((g) => g.querySelector("rect").getAttribute("fill") === "rgb(230,0,230)").length,
      matched: text("pf-matched"),
      details: text("pf-details"),
      tip: [text("pf-tip-l1"), text("pf-tip-l2")],
      tipVisible: getComputedStyle(document.getElementById("pf-tip")).visibility === "visible",
      unzoomVisible: !document.getElementById("pf-unzoom").classList.contains("pf-off"),
      searchButton: text("pf-search"),
      title: text("pf-title"),
      subtitle: text("pf-subtitle"),
      labels: visible.slice(0, 400).map((g) => {
        const r = g.querySelector("rect");
        return { label: g.querySelector("title").textContent.split("\n")[0],
          stats: g.querySelector("title").textContent.split("\n")[1],
          text: g.querySelector("text").textContent,
          x: +r.getAttribute("x"), width: +r.getAttribute("width"), d: +g.getAttribute("data-d") };
      }),
    };
  });
}

// The first visible frame whose label matches re, as a locator.
async function frameBox(page, re) {
  const i = await page.evaluate((src) => {
    const re = new RegExp(src);
    const frames = Array.from(document.querySelectorAll("#pf-flame g.f"));
    let best = -1, bestW = -1;
    frames.forEach((g, i) => {
      const w = +g.querySelector("rect").getAttribute("width");
      if (!g.classList.contains("pf-hidden") && re.test(g.querySelector("title").textContent.split("\n")[0]) && w > bestW) {
        best = i; bestW = w;
      }
    });
    return best;
  }, re);
  if (i < 0) throw new Error(`no frame matches ${re}`);
  return page.locator("#pf-flame g.f").nth(i).locator("rect");
}

// An SVG document has no page to scroll, so Chromium cannot take a
// full-page shot of it: the viewport is made the picture's size instead.
async function shoot(page, file, full) {
  await page.screenshot({ path: file, fullPage: full });
}

async function flame(page, shots, search, zoomRe, out, full) {
  out.initial = await flameState(page);
  await shoot(page, `${shots}-initial.png`, full);

  // Tooltip: hover the widest frame matching the search.
  const hot = await frameBox(page, search);
  await hot.scrollIntoViewIfNeeded();
  await hot.hover();
  out.hover = await flameState(page);
  await shoot(page, `${shots}-tooltip.png`, full);

  // Search through the button's prompt.
  page.once("dialog", (d) => d.accept(search));
  await page.locator("#pf-search").click();
  out.search = await flameState(page);
  await shoot(page, `${shots}-search.png`, full);
  await page.locator("#pf-search").click(); // "Reset search"
  out.searchReset = await flameState(page);

  // Click to zoom, then reset.
  const target = await frameBox(page, zoomRe);
  await target.click();
  out.zoom = await flameState(page);
  await shoot(page, `${shots}-zoom.png`, full);
  await page.locator("#pf-unzoom").click();
  out.unzoom = await flameState(page);
}

// ---- The agent's live page ----

// What the live page shows, read from its DOM.
async function liveState(page) {
  return page.evaluate(() => {
    const rows = Array.from(document.querySelectorAll("#top tbody tr"));
    const boxes = Array.from(document.querySelectorAll("#flame .fr"));
    return {
      seq: Number(document.body.dataset.seq || 0),
      samples: Number(document.body.dataset.samples || 0),
      status: document.getElementById("status").textContent,
      what: document.getElementById("what").textContent,
      rows: rows.slice(0, 30).map((r) => Array.from(r.cells).map((c) => c.textContent)),
      boxes: boxes.length,
      names: Array.from(new Set(boxes.map((b) => b.dataset.name))),
      highlighted: boxes.filter((b) => b.classList.contains("hl")).map((b) => b.dataset.name),
      matched: document.getElementById("matched").textContent,
      procs: Array.from(document.getElementById("proc").options).map((o) => o.value),
      proc: document.getElementById("proc").value,
      threads: Array.from(document.getElementById("thread").options).map((o) => o.value),
      paused: document.getElementById("pause").textContent === "Resume",
      width: document.documentElement.scrollWidth,
      height: document.documentElement.scrollHeight,
    };
  });
}

// Waits until the page's table holds a row for func.
async function waitRow(page, func) {
  await page.waitForFunction((f) => Array.from(document.querySelectorAll("#top tbody tr"))
    .some((r) => r.dataset.name === f), func, { timeout: 120000, polling: 100 });
}

// The lines of stdin, one at a time.
function stdinLines() {
  let buf = "";
  const waiting = [];
  const lines = [];
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    while (waiting.length && lines.length) waiting.shift()(lines.shift());
  });
  return () => new Promise((resolve) => (lines.length ? resolve(lines.shift()) : waiting.push(resolve)));
}

async function live(page, url, shots, oldFunc, newFunc, pid) {
  const next = stdinLines();
  const out = {};
  let navigations = 0;
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) navigations++; });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(url);
  await waitRow(page, oldFunc);
  out.initial = await liveState(page);
  await page.screenshot({ path: `${shots}-initial.png` });

  // Search highlights the frames and rows that match.
  await page.fill("#search", oldFunc);
  out.search = await liveState(page);
  await page.screenshot({ path: `${shots}-search.png` });
  await page.fill("#search", "");

  // The picker: the workload's process alone, then its main thread.
  const proc = out.initial.procs.find((p) => p.endsWith(`-${pid}`));
  out.pickedProc = proc || null;
  if (proc) {
    await page.selectOption("#proc", proc);
    await page.selectOption("#thread", "MainThread");
    await waitRow(page, oldFunc);
    out.picked = await liveState(page);
    await page.screenshot({ path: `${shots}-picked.png` });
    await page.selectOption("#proc", "");
  }

  // Since the start, then back to the last 30 s.
  await page.selectOption("#range", "all");
  await page.waitForFunction(() => document.getElementById("range").value === "all");
  await waitRow(page, oldFunc);
  out.sinceStart = await liveState(page);
  await page.selectOption("#range", "30");

  // Pause: the page stands still while the agent goes on.
  await page.click("#pause");
  const pausedAt = await liveState(page);
  const agentSeq = async () => (await (await fetch(`${url}info`)).json()).seq;
  const from = await agentSeq();
  while ((await agentSeq()) < from + 2) await page.waitForTimeout(200);
  out.paused = { before: pausedAt, after: await liveState(page), agentFrom: from, agentTo: await agentSeq() };
  await page.click("#pause");

  // Clicking a flame graph box zooms into it.
  const box = page.locator(`#flame .fr[data-name="${oldFunc}"]`).first();
  await box.click();
  out.zoomed = await page.evaluate(() => !document.getElementById("unzoom").classList.contains("off"));
  await page.click("#unzoom");

  await page.evaluate(() => { window.__noReload = 1; });
  out.phase = "ready";
  console.log(JSON.stringify(out));

  // The workload switches; the page must follow without a reload.
  const line = await next();
  if (line.trim() !== "switched") throw new Error(`expected "switched", got ${line}`);
  await waitRow(page, newFunc);
  const res = await liveState(page);
  res.noReload = await page.evaluate(() => window.__noReload === 1);
  res.navigations = navigations;
  await page.screenshot({ path: `${shots}-switched.png` });
  return res;
}

// The heatmap as a reader sees it: the index, the functions, each file's
// status and sampled lines, the hottest line; then a flame graph box
// followed to its line, and the colouring switched to total samples.
async function heatmap(page, shots, frameRe, out) {
  const rowsOf = (sel) => page.$$eval(sel, (rows) => rows.map((r) => Array.from(r.cells).map((c) => c.textContent)));
  out.h1 = await page.locator("h1").textContent();
  out.summary = await page.$$eval("#summary-table tr", (rows) => rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent]));
  out.files = await rowsOf("#files-table tbody tr");
  out.functions = await rowsOf("#functions-table tbody tr");
  out.functionLinks = await page.$$eval("#functions-table tbody tr a", (as) => as.map((a) => a.getAttribute("href")));
  out.sections = await page.$$eval("section.file", (secs) => secs.map((sec) => {
    const rows = (sel) => Array.from(sec.querySelectorAll(sel)).filter((r) => r.cells[1].textContent || r.cells[2].textContent)
      .map((r) => ({ id: r.id, line: r.cells[0].textContent, own: r.cells[1].textContent, total: r.cells[2].textContent, text: r.cells[3].textContent }));
    return { id: sec.id, name: sec.querySelector("h3").textContent,
      status: sec.querySelector("p.status").textContent,
      lines: sec.querySelectorAll("table.src:not(.out) tbody tr").length,
      rows: rows("table.src:not(.out) tbody tr"), outside: rows("table.out tbody tr") };
  }));
  // The hottest line by own samples, and the colour a reader sees on it.
  out.hottest = await page.evaluate(() => {
    let best = null, n = -1;
    document.querySelectorAll("table.src:not(.out) tbody tr").forEach((r) => {
      const v = +r.cells[1].textContent || 0;
      if (v > n) { n = v; best = r; }
    });
    if (!best) return null;
    return { id: best.id, own: n, text: best.cells[3].textContent, level: best.getAttribute("data-o"),
      background: getComputedStyle(best.cells[3]).backgroundColor };
  });
  await page.screenshot({ path: `${shots}-top.png` });
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  if (height < 16000) await page.screenshot({ path: `${shots}-page.png`, fullPage: true });

  // A flame graph box: its link, then the line it leads to.
  const box = await frameBox(page, frameRe);
  out.flameSamples = await box.evaluate((r) => +r.parentNode.getAttribute("data-n"));
  await box.scrollIntoViewIfNeeded();
  await box.click();
  out.goto = await page.locator("#hm-goto").textContent();
  await page.locator("#hm-goto-link").click();
  await page.waitForTimeout(200);
  out.jump = await page.evaluate(() => {
    const id = decodeURIComponent(location.hash.slice(1)), row = document.getElementById(id);
    if (!row) return { hash: location.hash };
    const r = row.getBoundingClientRect();
    return { hash: location.hash, inView: r.top >= 0 && r.bottom <= window.innerHeight,
      line: row.cells[0].textContent, own: row.cells[1].textContent, text: row.cells[3].textContent,
      outline: getComputedStyle(row.cells[3]).outlineStyle };
  });
  await page.screenshot({ path: `${shots}-jump.png` });

  // Colour by total samples.
  await page.locator("input[name=hm-by][value=total]").check();
  out.byTotal = await page.evaluate((id) => {
    const row = document.getElementById(id);
    return { body: document.body.className, level: row.getAttribute("data-t"),
      background: getComputedStyle(row.cells[3]).backgroundColor };
  }, out.hottest ? out.hottest.id : "");
  await page.screenshot({ path: `${shots}-by-total.png` });
}

async function run() {
  const [mode, file, shots, search, zoomRe] = process.argv.slice(2);
  if (mode === "hold") {
    const b = await browser(new URL(file).origin);
    try {
      const page = await b.ctx.newPage();
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.goto(file);
      await page.waitForTimeout(Number(shots) * 1000);
      console.log(JSON.stringify({ seq: await page.evaluate(() => document.body.dataset.seq) }));
    } finally {
      await b.close();
    }
    return;
  }
  if (mode === "live") {
    const b = await browser(new URL(file).origin);
    try {
      const page = await b.ctx.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      const res = await live(page, file, shots, search, zoomRe, process.argv[7]);
      res.errors = errors;
      res.external = b.external;
      res.phase = "switched";
      console.log(JSON.stringify(res));
    } finally {
      await b.close();
      process.stdin.destroy(); // nothing more to wait for
    }
    return;
  }
  const out = {};
  if (mode === "schema") {
    const schema = JSON.parse(fs.readFileSync(path.join(here, "node_modules/speedscope/dist/release/file-format-schema.json"), "utf8"));
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    out.valid = validate(JSON.parse(fs.readFileSync(file, "utf8")));
    out.errors = validate.errors || [];
    console.log(JSON.stringify(out));
    return;
  }
  const b = await browser();
  try {
    const page = await b.ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const logs = [];
    page.on("console", (m) => { logs.push(m.text()); if (m.type() === "error") errors.push(m.text()); });
    if (mode === "svg") {
      await page.goto(pathToFileURL(path.resolve(file)).href);
      const size = await page.evaluate(() => {
        const svg = document.documentElement;
        return { width: Math.ceil(svg.width.baseVal.value), height: Math.ceil(svg.height.baseVal.value) };
      });
      await page.setViewportSize({ width: size.width, height: Math.min(size.height, 4000) });
      out.size = size;
      await flame(page, shots, search, zoomRe, out, false);
    } else if (mode === "html") {
      await page.goto(pathToFileURL(path.resolve(file)).href);
      out.h1 = await page.locator("h1").textContent();
      out.summary = await page.$$eval("#summary-table tr", (rows) => rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent]));
      out.threads = await page.$$eval("#threads-table tbody tr", (rows) => rows.map((r) => Array.from(r.cells).map((c) => c.textContent)));
      out.functions = await page.$$eval("table.list", (tables) => Array.from(tables[1].tBodies[0].rows).map((r) => Array.from(r.cells).map((c) => c.textContent)));
      out.lines = await page.$$eval("table.list", (tables) => Array.from(tables[2].tBodies[0].rows).map((r) => Array.from(r.cells).map((c) => c.textContent)));
      await page.screenshot({ path: `${shots}-page.png`, fullPage: true });
      await page.locator("#flame").scrollIntoViewIfNeeded();
      await flame(page, shots, search, zoomRe, out, true);
    } else if (mode === "heatmap") {
      await page.goto(pathToFileURL(path.resolve(file)).href);
      await heatmap(page, shots, search, out);
    } else if (mode === "speedscope") {
      // speedscope's own way to open a local file (its CLI does this): a
      // script that hands the file over, named in the URL's hash.
      const data = fs.readFileSync(file).toString("base64");
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pyprof-speedscope-"));
      const loader = path.join(tmp, "load.js");
      fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(path.basename(file))}, ${JSON.stringify(data)})`);
      const index = path.join(here, "node_modules/speedscope/dist/release/index.html");
      await page.goto(`${pathToFileURL(index).href}#localProfilePath=${encodeURIComponent(loader)}`);
      // It titles the page after the profile once it has imported it.
      await page.waitForFunction(() => / - speedscope$/.test(document.title), null, { timeout: 30000 });
      await page.waitForTimeout(1000);
      out.log = logs;
      out.title = await page.title();
      out.body = await page.evaluate(() => document.body.innerText);
      await page.screenshot({ path: `${shots}-speedscope.png` });
      fs.rmSync(tmp, { recursive: true, force: true });
    } else {
      throw new Error(`unknown mode ${mode}`);
    }
    out.errors = errors;
    out.external = b.external;
  } finally {
    await b.close();
  }
  console.log(JSON.stringify(out));
}

run().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
