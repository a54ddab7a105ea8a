// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
//
// The timeline in a real browser (tests/test_timeline.py), in Debian's
// headless Chromium: what speedscope makes of a profile, and what the HTML
// report's timeline draws.  Prints one JSON object on stdout.
//
//   node timeline.mjs speedscope FILE SHOTS_PREFIX
//       speedscope imports FILE; its own Export button gives back what it
//       imported (the evented profile: each frame's open and close times)
//   node timeline.mjs html FILE SHOTS_PREFIX LANE FUNC
//       the report's timeline: what it draws, a drag in the overview, a
//       hover on a box of FUNC in lane LANE, wheel and key zoom
//   node timeline.mjs html-bench FILE SHOTS_PREFIX
//       a big report: how long drawing takes, and how much it draws
//
// Never downloads a browser: playwright-core only drives /usr/bin/chromium.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.PYPROF_CHROMIUM || "/usr/bin/chromium";

async function browser() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyprof-chromium-"));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
  // Offline: anything but a local file is refused and recorded.
  const external = [];
  await ctx.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:") || url.startsWith("blob:"))
      return route.continue();
    external.push(url);
    return route.abort();
  });
  return { ctx, external, close: async () => { await ctx.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

// speedscope opens FILE as its CLI does (a script naming the file in the
// URL's hash), then hands back, through its Export button, the profile it
// imported.
async function speedscope(page, file, shots, out) {
  const data = fs.readFileSync(file).toString("base64");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pyprof-speedscope-"));
  const loader = path.join(tmp, "load.js");
  const logs = [];
  page.on("console", (m) => logs.push(m.text()));
  fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(path.basename(file))}, ${JSON.stringify(data)})`);
  const index = path.join(here, "node_modules/speedscope/dist/release/index.html");
  await page.goto(`${pathToFileURL(index).href}#localProfilePath=${encodeURIComponent(loader)}`);
  await page.waitForFunction(() => / - speedscope$/.test(document.title), null, { timeout: 60000 });
  await page.waitForTimeout(500);
  out.title = await page.title();
  out.log = logs;
  await page.screenshot({ path: `${shots}-speedscope.png` });
  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: 30000 }),
    page.getByText("Export").first().click(),
  ]);
  const saved = path.join(tmp, "export.json");
  await download.saveAs(saved);
  out.exported = JSON.parse(fs.readFileSync(saved, "utf8"));
  fs.rmSync(tmp, { recursive: true, force: true });
}

// The timeline's state, as its script keeps it (pfTimeline, the object the
// page uses to draw), and the boxes it drew last.
async function tlState(page) {
  return page.evaluate(() => {
    const t = window.pfTimeline;
    return { view: t.view(), lanes: t.lanes(), drawn: t.drawn(), tip: t.tip(),
      tipVisible: getComputedStyle(document.getElementById("tl-tip")).display !== "none" };
  });
}

// The colours along a horizontal line of the zoomed canvas, as runs of
// equal pixels: what Chromium actually painted.
async function pixelRuns(page, y) {
  return page.evaluate((y) => {
    const c = document.getElementById("tl-main");
    const ctx = c.getContext("2d");
    const dpr = c.width / c.clientWidth;
    const row = ctx.getImageData(0, Math.round(y * dpr), c.width, 1).data;
    const runs = [];
    for (let x = 0; x < c.width; x++) {
      const col = `${row[4 * x]},${row[4 * x + 1]},${row[4 * x + 2]}`;
      if (runs.length && runs[runs.length - 1].color === col) runs[runs.length - 1].w++;
      else runs.push({ color: col, x, w: 1 });
    }
    return runs.map((r) => ({ color: r.color, x: r.x / dpr, w: r.w / dpr }));
  }, y);
}

async function html(page, file, shots, laneRe, funcRe, out) {
  await page.goto(pathToFileURL(path.resolve(file)).href);
  await page.locator("#timeline").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => window.pfTimeline && window.pfTimeline.ready());
  out.initial = await tlState(page);
  await page.locator("#timeline").screenshot({ path: `${shots}-initial.png` });

  // Drag in the overview: the zoomed view's bounds follow.
  const ov = await page.locator("#tl-overview").boundingBox();
  const x0 = ov.x + ov.width * 0.25, x1 = ov.x + ov.width * 0.30;
  await page.mouse.move(x0, ov.y + ov.height / 2);
  await page.mouse.down();
  await page.mouse.move((x0 + x1) / 2, ov.y + ov.height / 2, { steps: 4 });
  await page.mouse.move(x1, ov.y + ov.height / 2, { steps: 4 });
  await page.mouse.up();
  out.drag = { from: (x0 - ov.x) / ov.width, to: (x1 - ov.x) / ov.width };
  out.dragged = await tlState(page);
  await page.locator("#timeline").screenshot({ path: `${shots}-dragged.png` });

  // Hover the widest drawn box of FUNC in LANE.
  const lane = new RegExp(laneRe), func = new RegExp(funcRe);
  const boxes = out.dragged.drawn.filter((b) => lane.test(b.lane) && func.test(b.name));
  if (!boxes.length) throw new Error(`no box of ${funcRe} in ${laneRe} drawn`);
  const box = boxes.reduce((a, b) => (b.w > a.w ? b : a));
  const main = await page.locator("#tl-main").boundingBox();
  await page.mouse.move(main.x + box.x + box.w / 2, main.y + box.y + box.h / 2);
  out.hovered = box;
  out.hover = await tlState(page);
  await page.locator("#timeline").screenshot({ path: `${shots}-hover.png` });
  // Pixel runs along the top of the hovered box's row (above its label), as painted.
  out.pixels = await pixelRuns(page, box.y + 0.5);

  // Wheel: zoom in around the mouse; keys: zoom out, then back to all.
  await page.mouse.wheel(0, -300);
  await page.waitForTimeout(100);
  out.wheel = (await tlState(page)).view;
  await page.keyboard.press("-");
  out.keyOut = (await tlState(page)).view;
  await page.keyboard.press("0");
  out.keyReset = (await tlState(page)).view;
}

async function htmlBench(page, file, shots, out) {
  await page.goto(pathToFileURL(path.resolve(file)).href);
  await page.locator("#timeline").scrollIntoViewIfNeeded();
  await page.waitForFunction(() => window.pfTimeline && window.pfTimeline.ready());
  out.bench = await page.evaluate(() => window.pfTimeline.bench(20));
  out.state = await tlState(page);
  delete out.state.drawn;
  await page.locator("#timeline").screenshot({ path: `${shots}-big.png` });
}

async function run() {
  const [mode, file, shots, a, b] = process.argv.slice(2);
  const out = {};
  const br = await browser();
  try {
    const page = await br.ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    if (mode === "speedscope") await speedscope(page, file, shots, out);
    else if (mode === "html") await html(page, file, shots, a, b, out);
    else if (mode === "html-bench") await htmlBench(page, file, shots, out);
    else throw new Error(`unknown mode ${mode}`);
    out.errors = errors;
    out.external = br.external;
  } finally {
    await br.close();
  }
  console.log(JSON.stringify(out));
}

run().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
