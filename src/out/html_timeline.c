// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The HTML report's timeline (issue 21), as fProfile's viewer shows one:
 * an overview of every thread over the whole run, and below it a zoomed
 * view of the range chosen by dragging in the overview; one lane per
 * thread (src/out/lanes.h), its functions as boxes stacked under it;
 * hovering a box gives the function, file:line, start and duration; the
 * wheel, or + - arrows 0, zoom and pan.  Drawn on canvases from the data
 * embedded in the page, so it opens offline, in one file, and stays
 * smooth with 100k samples: each row draws at most one box per pixel
 * column (narrower boxes share one), whatever the number of samples.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "out/formats.h"
#include "out/lanes.h"
#include "out/util.h"

static const char style[] =
	"<style>\n"
	"#timeline { outline: none; }\n"
	"#timeline .tl-bar { margin: 4px 0 6px; font-size: 13px; }\n"
	"#timeline button { font-size: 12px; margin-right: 4px; }\n"
	"#tl-ovwrap { border: 1px solid #ccc; cursor: crosshair; }\n"
	"#tl-overview, #tl-main { display: block; }\n"
	"#tl-scroll { position: relative; max-height: 70vh; overflow-y: auto; border: 1px solid #ccc; border-top: none; cursor: grab; }\n"
	"#tl-tip { display: none; position: absolute; z-index: 2; max-width: 300px; padding: 4px 7px; background: #fffbe6; border: 1px solid #aaa; font-size: 12px; pointer-events: none; word-break: break-all; }\n"
	"#tl-tip .tl-fn { font-weight: bold; font-family: \"DejaVu Sans Mono\", Menlo, monospace; }\n"
	"</style>\n";

static const char script[] =
	"<script>//<![CDATA[\n"
	"(function () {\n"
	"\"use strict\";\n"
	"var data = JSON.parse(document.getElementById(\"tl-data\").textContent);\n"
	"var root = document.getElementById(\"timeline\");\n"
	"var ov = document.getElementById(\"tl-overview\"), main = document.getElementById(\"tl-main\");\n"
	"var tip = document.getElementById(\"tl-tip\"), box = document.getElementById(\"tl-scroll\");\n"
	"var ROW = 15, HEAD = 18, GAP = 6, AXIS = 20, OVROW = 5, OVLANE = 4, MAXROWS = 48;\n"
	"var T = Math.max(data.t1, 1), lanes = data.lanes, frames = data.frames, funcs = data.funcs;\n"
	"var view = { a: 0, b: T }, drawn = [], tipLines = [], ready = false, sel = null;\n"
	"/* Each function's colour, as [r, g, b]: warm for Python, blue-green for\n"
	" * native, orange for the kernel, light blue off the CPU, grey markers. */\n"
	"function rgb(h, s, l) {\n"
	"  s /= 100; l /= 100;\n"
	"  var k = function (n) { return (n + h / 30) % 12; };\n"
	"  var a = s * Math.min(l, 1 - l);\n"
	"  var f = function (n) { return Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1)))); };\n"
	"  return [f(0), f(8), f(4)];\n"
	"}\n"
	"var colors = funcs.map(function (fn, i) {\n"
	"  var kind = fn[2], h = (i * 37) % 60, l = 52 + (i * 17) % 22;\n"
	"  if (kind === \"marker\") return /^\\[off-cpu/.test(fn[0]) ? rgb(205, 55, 78 - (i * 7) % 12) : rgb(0, 0, 72);\n"
	"  if (kind === \"native\") return rgb(170 + (i * 23) % 50, 45, l);\n"
	"  if (kind === \"kernel\") return rgb(25 + (i * 11) % 15, 80, l);\n"
	"  return rgb(h, 85, l);\n"
	"});\n"
	"var css = colors.map(function (c) { return \"rgb(\" + c.join(\",\") + \")\"; });\n"
	"/* The same, as one little-endian RGBA word for an ImageData. */\n"
	"var words = colors.map(function (c) { return (255 << 24 | c[2] << 16 | c[1] << 8 | c[0]) >>> 0; });\n"
	"/* Per lane and depth: starts, ends and frames, by start.  Boxes at one\n"
	" * depth of one lane never overlap, so their ends are in order too. */\n"
	"lanes.forEach(function (ln) {\n"
	"  var rows = [], n = ln.b.length / 4, d, i, r;\n"
	"  ln.depth = 0;\n"
	"  for (i = 0; i < n; i++) ln.depth = Math.max(ln.depth, ln.b[4 * i + 3] + 1);\n"
	"  ln.shown = Math.min(ln.depth, MAXROWS);\n"
	"  for (d = 0; d < ln.shown; d++) rows.push({ s: [], e: [], f: [] });\n"
	"  for (i = 0; i < n; i++) {\n"
	"    d = ln.b[4 * i + 3];\n"
	"    if (d >= ln.shown) continue;\n"
	"    r = rows[d];\n"
	"    r.s.push(ln.b[4 * i]);\n"
	"    r.e.push(ln.b[4 * i] + ln.b[4 * i + 1]);\n"
	"    r.f.push(ln.b[4 * i + 2]);\n"
	"  }\n"
	"  ln.rows = rows.map(function (r) {\n"
	"    return { s: Float64Array.from(r.s), e: Float64Array.from(r.e), f: Int32Array.from(r.f) };\n"
	"  });\n"
	"  delete ln.b;\n"
	"});\n"
	"/* The first index from lo whose end is after t. */\n"
	"function after(e, t, lo) {\n"
	"  var hi = e.length;\n"
	"  while (lo < hi) {\n"
	"    var mid = (lo + hi) >> 1;\n"
	"    if (e[mid] > t) hi = mid; else lo = mid + 1;\n"
	"  }\n"
	"  return lo;\n"
	"}\n"
	"/* A time in its unit, with the decimals a step of `step` ns needs (0:\n"
	" * a duration, shown to the microsecond). */\n"
	"function fmt(ns, step) {\n"
	"  if (ns === 0) return \"0\";\n"
	"  var a = Math.abs(ns), u = a >= 1e9 ? 1e9 : a >= 1e6 ? 1e6 : a >= 1e3 ? 1e3 : 1;\n"
	"  var name = u === 1e9 ? \" s\" : u === 1e6 ? \" ms\" : u === 1e3 ? \" \\u00b5s\" : \" ns\";\n"
	"  var dec = step ? Math.max(0, Math.ceil(-Math.log10(step / u) - 1e-9)) : Math.max(0, Math.log10(u) - 3);\n"
	"  return (ns / u).toFixed(Math.min(dec, 6)) + name;\n"
	"}\n"
	"function fit(c, h) {\n"
	"  var dpr = window.devicePixelRatio || 1, w = c.parentNode.clientWidth;\n"
	"  c.style.width = w + \"px\";\n"
	"  c.style.height = h + \"px\";\n"
	"  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {\n"
	"    c.width = Math.round(w * dpr);\n"
	"    c.height = Math.round(h * dpr);\n"
	"  }\n"
	"  var ctx = c.getContext(\"2d\");\n"
	"  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);\n"
	"  return ctx;\n"
	"}\n"
	"function laneLabel(ln) {\n"
	"  return ln.name + \"  (\" + ln.proc + \", tid \" + ln.tid + \", \" + ln.samples + \" samples)\";\n"
	"}\n"
	"/* Draws one row of boxes between times a and b on width W (CSS pixels).\n"
	" * Boxes narrower than a pixel are coalesced, one per pixel column, and\n"
	" * written straight into pix (an ImageData's words, device pixels): a row\n"
	" * costs at most one box per column, however many samples it holds. */\n"
	"function drawRow(ctx, pix, li, d, r, y, a, b, W, h, hits) {\n"
	"  var k = W / (b - a), i = after(r.e, a, 0), n = r.s.length, count = 0, last = -1;\n"
	"  while (i < n && r.s[i] < b) {\n"
	"    var x0 = (r.s[i] - a) * k, x1 = (r.e[i] - a) * k, f = r.f[i];\n"
	"    if (x1 - x0 < 1) {\n"
	"      /* A column once: a box across its left edge goes to the next. */\n"
	"      var px = Math.max(0, Math.floor(x0), last + 1);\n"
	"      if (px < W) {\n"
	"        var word = words[frames[f][0]], dpr = pix.dpr;\n"
	"        var c0 = Math.round(px * dpr), c1 = Math.max(Math.round((px + 1) * dpr), c0 + 1);\n"
	"        for (var yy = Math.round(y * dpr), y1 = Math.round((y + h) * dpr); yy < y1; yy++)\n"
	"          for (var cx0 = c0; cx0 < c1; cx0++) pix.data[yy * pix.w + cx0] = word;\n"
	"        count++;\n"
	"      }\n"
	"      last = px;\n"
	"      i = after(r.e, a + (px + 1) / k, i + 1);\n"
	"      continue;\n"
	"    }\n"
	"    var cx = Math.max(x0, 0), cw = Math.min(x1, W) - cx;\n"
	"    last = Math.floor(Math.min(x1, W));\n"
	"    if (cw < 4) {\n"
	"      /* Narrow: pixels too, without the border a wider box gets. */\n"
	"      var w4 = words[frames[f][0]], dp = pix.dpr;\n"
	"      var a0 = Math.round(cx * dp), a1 = Math.min(Math.max(Math.round((cx + cw) * dp), a0 + 1), pix.w);\n"
	"      for (var y2 = Math.round(y * dp), y3 = Math.round((y + h) * dp); y2 < y3; y2++)\n"
	"        pix.data.fill(w4, y2 * pix.w + a0, y2 * pix.w + a1);\n"
	"    } else if (hits) {\n"
	"      hits.push({ li: li, d: d, i: i, x: cx, y: y, w: cw, h: h });\n"
	"    } else {\n"
	"      ctx.fillStyle = css[frames[f][0]];\n"
	"      ctx.fillRect(cx, y, Math.max(cw - (cw > 3 ? 1 : 0), 1), h);\n"
	"    }\n"
	"    count++;\n"
	"    i++;\n"
	"  }\n"
	"  return count;\n"
	"}\n"
	"function mainHeight() {\n"
	"  var h = AXIS;\n"
	"  lanes.forEach(function (ln) { h += HEAD + ln.shown * ROW + GAP; });\n"
	"  return h;\n"
	"}\n"
	"function drawAxis(ctx, W, a, b, y, h) {\n"
	"  var span = b - a, step = Math.pow(10, Math.floor(Math.log10(span / 8)));\n"
	"  if (span / step > 40) step *= 5; else if (span / step > 16) step *= 2;\n"
	"  ctx.fillStyle = \"#666\";\n"
	"  ctx.font = \"11px sans-serif\";\n"
	"  for (var t = Math.ceil(a / step) * step; t <= b; t += step) {\n"
	"    var x = (t - a) * W / span;\n"
	"    ctx.fillRect(x, y + h - 5, 1, 5);\n"
	"    ctx.fillText(fmt(t, step), x + 2, y + h - 7);\n"
	"  }\n"
	"}\n"
	"var stats = { rects: 0 };\n"
	"/* A white canvas-sized ImageData for the coalesced columns. */\n"
	"function pixels(c) {\n"
	"  var img = new ImageData(c.width, c.height), data = new Uint32Array(img.data.buffer);\n"
	"  data.fill(0xffffffff);\n"
	"  return { img: img, data: data, w: c.width, dpr: c.width / c.clientWidth };\n"
	"}\n"
	"function drawMain() {\n"
	"  var H = mainHeight(), ctx = fit(main, H), W = main.clientWidth, y = AXIS;\n"
	"  var pix = pixels(main);\n"
	"  drawn = [];\n"
	"  stats.rects = 0;\n"
	"  /* The narrow boxes first, as pixels; then what is drawn over them. */\n"
	"  ctx.clearRect(0, 0, W, H);\n"
	"  lanes.forEach(function (ln) {\n"
	"    ln.y0 = y + HEAD;\n"
	"    y += HEAD + ln.shown * ROW + GAP;\n"
	"  });\n"
	"  var wide = [];\n"
	"  lanes.forEach(function (ln, li) {\n"
	"    ln.rows.forEach(function (r, d) {\n"
	"      stats.rects += drawRow(null, pix, li, d, r, ln.y0 + d * ROW, view.a, view.b, W, ROW - 1, wide);\n"
	"    });\n"
	"  });\n"
	"  ctx.putImageData(pix.img, 0, 0);\n"
	"  ctx.font = \"11px sans-serif\";\n"
	"  drawAxis(ctx, W, view.a, view.b, 0, AXIS);\n"
	"  lanes.forEach(function (ln, li) {\n"
	"    ctx.fillStyle = \"#f0f0ea\";\n"
	"    ctx.fillRect(0, ln.y0 - HEAD, W, HEAD - 2);\n"
	"    ctx.fillStyle = \"#222\";\n"
	"    ctx.font = \"bold 12px sans-serif\";\n"
	"    ctx.fillText(laneLabel(ln) + (ln.shown < ln.depth ? \", deepest \" + (ln.depth - ln.shown) + \" levels not shown\" : \"\"), 4, ln.y0 - HEAD + 12);\n"
	"  });\n"
	"  ctx.font = \"11px sans-serif\";\n"
	"  wide.forEach(function (h) {\n"
	"    var r = lanes[h.li].rows[h.d], f = r.f[h.i];\n"
	"    ctx.fillStyle = css[frames[f][0]];\n"
	"    ctx.fillRect(h.x, h.y, Math.max(h.w - (h.w > 3 ? 1 : 0), 1), h.h);\n"
	"    if (h.w > 28) {\n"
	"      var name = funcs[frames[f][0]][0], max = Math.floor((h.w - 6) / 6.2);\n"
	"      ctx.fillStyle = \"#111\";\n"
	"      ctx.fillText(name.length > max ? name.slice(0, Math.max(max - 1, 1)) + \"\\u2026\" : name, h.x + 3, h.y + h.h - 4);\n"
	"    }\n"
	"  });\n"
	"  drawn = wide;\n"
	"}\n"
	"var ovBase = null;\n"
	"function ovHeight() { return lanes.length * (OVLANE * OVROW + 5) + 14; }\n"
	"function drawOverview() {\n"
	"  var H = ovHeight(), ctx = fit(ov, H), W = ov.clientWidth, dpr = window.devicePixelRatio || 1;\n"
	"  if (!ovBase || ovBase.width !== ov.width || ovBase.height !== ov.height) {\n"
	"    ovBase = document.createElement(\"canvas\");\n"
	"    ovBase.width = ov.width;\n"
	"    ovBase.height = ov.height;\n"
	"    var b = ovBase.getContext(\"2d\"), y = 14;\n"
	"    var pix = { img: new ImageData(ovBase.width, ovBase.height), w: ovBase.width, dpr: dpr };\n"
	"    pix.data = new Uint32Array(pix.img.data.buffer);\n"
	"    pix.data.fill(0xfffafafa);\n"
	"    var wide = [];\n"
	"    lanes.forEach(function (ln, li) {\n"
	"      for (var d = 0; d < Math.min(OVLANE, ln.shown); d++)\n"
	"        drawRow(null, pix, li, d, ln.rows[d], y + d * OVROW, 0, T, W, OVROW, wide);\n"
	"      y += OVLANE * OVROW + 5;\n"
	"    });\n"
	"    b.putImageData(pix.img, 0, 0);\n"
	"    b.setTransform(dpr, 0, 0, dpr, 0, 0);\n"
	"    wide.forEach(function (h) {\n"
	"      b.fillStyle = css[frames[lanes[h.li].rows[h.d].f[h.i]][0]];\n"
	"      b.fillRect(h.x, h.y, Math.max(h.w, 1), h.h);\n"
	"    });\n"
	"    drawAxis(b, W, 0, T, 0, 14);\n"
	"  }\n"
	"  ctx.setTransform(1, 0, 0, 1, 0, 0);\n"
	"  ctx.drawImage(ovBase, 0, 0);\n"
	"  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);\n"
	"  var s = sel || view, x0 = s.a * W / T, x1 = s.b * W / T;\n"
	"  ctx.fillStyle = \"rgba(0,0,0,0.28)\";\n"
	"  ctx.fillRect(0, 14, x0, H - 14);\n"
	"  ctx.fillRect(x1, 14, W - x1, H - 14);\n"
	"  ctx.strokeStyle = \"#1a5fb4\";\n"
	"  ctx.lineWidth = 1.5;\n"
	"  ctx.strokeRect(x0, 14.5, Math.max(x1 - x0, 1), H - 15);\n"
	"}\n"
	"function draw() { pending = false; drawOverview(); drawMain(); ready = true; }\n"
	"/* Redraws at most once a frame, however many wheel or drag events come. */\n"
	"var pending = false;\n"
	"function schedule() {\n"
	"  if (pending) return;\n"
	"  pending = true;\n"
	"  requestAnimationFrame(function () { if (pending) draw(); });\n"
	"}\n"
	"function flush() { if (pending) draw(); }\n"
	"function setView(a, b) {\n"
	"  var min = Math.min(1e4, T);\n"
	"  if (b - a < min) { var m = (a + b) / 2; a = m - min / 2; b = m + min / 2; }\n"
	"  if (b - a > T) { a = 0; b = T; }\n"
	"  if (a < 0) { b -= a; a = 0; }\n"
	"  if (b > T) { a -= b - T; b = T; }\n"
	"  view = { a: Math.max(a, 0), b: b };\n"
	"  schedule();\n"
	"}\n"
	"function zoom(f, at) {\n"
	"  var t = at === undefined ? (view.a + view.b) / 2 : at;\n"
	"  setView(t - (t - view.a) * f, t + (view.b - t) * f);\n"
	"}\n"
	"function pan(f) {\n"
	"  var d = (view.b - view.a) * f;\n"
	"  setView(view.a + d, view.b + d);\n"
	"}\n"
	"/* The overview: drag to choose the zoomed view's bounds, click to centre\n"
	" * it. */\n"
	"var down = null;\n"
	"function ovTime(e) {\n"
	"  var r = ov.getBoundingClientRect();\n"
	"  return Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1) * T;\n"
	"}\n"
	"ov.addEventListener(\"mousedown\", function (e) {\n"
	"  down = { t: ovTime(e), x: e.clientX };\n"
	"  e.preventDefault();\n"
	"});\n"
	"window.addEventListener(\"mousemove\", function (e) {\n"
	"  if (!down) return;\n"
	"  var t = ovTime(e);\n"
	"  sel = { a: Math.min(down.t, t), b: Math.max(down.t, t) };\n"
	"  drawOverview();\n"
	"});\n"
	"window.addEventListener(\"mouseup\", function (e) {\n"
	"  if (!down) return;\n"
	"  var t = ovTime(e), moved = Math.abs(e.clientX - down.x) > 3, from = down.t;\n"
	"  down = null;\n"
	"  sel = null;\n"
	"  if (moved) setView(Math.min(from, t), Math.max(from, t));\n"
	"  else setView(t - (view.b - view.a) / 2, t + (view.b - view.a) / 2);\n"
	"});\n"
	"/* The zoomed view: wheel to zoom around the pointer, drag to pan, hover\n"
	" * for what a box is. */\n"
	"function mainTime(x) { return view.a + x * (view.b - view.a) / main.clientWidth; }\n"
	"main.addEventListener(\"wheel\", function (e) {\n"
	"  var r = main.getBoundingClientRect();\n"
	"  e.preventDefault();\n"
	"  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY))\n"
	"    pan((e.deltaX || e.deltaY) / 1000);\n"
	"  else\n"
	"    zoom(Math.pow(1.002, e.deltaY), mainTime(e.clientX - r.left));\n"
	"}, { passive: false });\n"
	"var grab = null;\n"
	"main.addEventListener(\"mousedown\", function (e) {\n"
	"  grab = { x: e.clientX, a: view.a, b: view.b };\n"
	"  root.focus();\n"
	"  e.preventDefault();\n"
	"});\n"
	"window.addEventListener(\"mousemove\", function (e) {\n"
	"  if (!grab) return;\n"
	"  var d = (grab.x - e.clientX) * (grab.b - grab.a) / main.clientWidth;\n"
	"  setView(grab.a + d, grab.b + d);\n"
	"});\n"
	"window.addEventListener(\"mouseup\", function () { grab = null; });\n"
	"function details(h) {\n"
	"  var ln = lanes[h.li], r = ln.rows[h.d], fr = frames[r.f[h.i]], fn = funcs[fr[0]];\n"
	"  var where = fn[1] ? fn[1] + (fr[1] >= 0 ? \":\" + fr[1] : \"\") : \"\";\n"
	"  return { lane: ln.name, name: fn[0], kind: fn[2], where: where, file: fn[1], line: fr[1],\n"
	"    start: r.s[h.i] / 1e6, dur: (r.e[h.i] - r.s[h.i]) / 1e6, depth: h.d,\n"
	"    x: h.x, y: h.y, w: h.w, h: h.h };\n"
	"}\n"
	"/* The box under a point: its lane and row from y, then the first box of\n"
	" * the row that ends after the pixel column begins and starts before it\n"
	" * ends (a narrow one among those coalesced there). */\n"
	"function hitAt(x, y) {\n"
	"  var W = main.clientWidth, k = W / (view.b - view.a);\n"
	"  for (var li = 0; li < lanes.length; li++) {\n"
	"    var ln = lanes[li], d = Math.floor((y - ln.y0) / ROW);\n"
	"    if (d < 0 || d >= ln.shown || y - ln.y0 - d * ROW >= ROW - 1) continue;\n"
	"    var r = ln.rows[d], px = Math.floor(x), t0 = view.a + px / k, t1 = view.a + (px + 1) / k;\n"
	"    var i = after(r.e, t0, 0);\n"
	"    if (i >= r.s.length || r.s[i] >= t1) return null;\n"
	"    var x0 = Math.max((r.s[i] - view.a) * k, 0), x1 = Math.min((r.e[i] - view.a) * k, W);\n"
	"    return { li: li, d: d, i: i, x: x0, y: ln.y0 + d * ROW, w: Math.max(x1 - x0, 1), h: ROW - 1 };\n"
	"  }\n"
	"  return null;\n"
	"}\n"
	"main.addEventListener(\"mousemove\", function (e) {\n"
	"  var r = main.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;\n"
	"  root.focus({ preventScroll: true });\n"
	"  flush();\n"
	"  var hit = hitAt(x, y);\n"
	"  if (!hit) { tip.style.display = \"none\"; tipLines = []; return; }\n"
	"  var d = details(hit);\n"
	"  tipLines = [d.name, d.where, \"start \" + fmt(d.start * 1e6) + \", duration \" + fmt(d.dur * 1e6), d.lane];\n"
	"  tip.textContent = \"\";\n"
	"  tipLines.forEach(function (t, i) {\n"
	"    if (!t) return;\n"
	"    var div = document.createElement(\"div\");\n"
	"    div.textContent = t;\n"
	"    if (i === 0) div.className = \"tl-fn\";\n"
	"    tip.appendChild(div);\n"
	"  });\n"
	"  tip.style.display = \"block\";\n"
	"  var br = box.getBoundingClientRect();\n"
	"  tip.style.left = Math.min(e.clientX - br.left + 14, br.width - 320) + \"px\";\n"
	"  tip.style.top = (e.clientY - br.top + box.scrollTop + 16) + \"px\";\n"
	"});\n"
	"main.addEventListener(\"mouseleave\", function () { tip.style.display = \"none\"; tipLines = []; });\n"
	"/* Keys, while the timeline has the focus: + - zoom, arrows pan, 0 all. */\n"
	"root.addEventListener(\"keydown\", function (e) {\n"
	"  var k = e.key;\n"
	"  if (e.ctrlKey || e.metaKey || e.altKey) return;\n"
	"  if (k === \"+\" || k === \"=\" || k === \"w\") zoom(0.5);\n"
	"  else if (k === \"-\" || k === \"_\" || k === \"s\") zoom(2);\n"
	"  else if (k === \"ArrowLeft\" || k === \"a\") pan(-0.2);\n"
	"  else if (k === \"ArrowRight\" || k === \"d\") pan(0.2);\n"
	"  else if (k === \"0\" || k === \"Home\") setView(0, T);\n"
	"  else return;\n"
	"  e.preventDefault();\n"
	"});\n"
	"root.addEventListener(\"mouseenter\", function () { root.focus({ preventScroll: true }); });\n"
	"document.getElementById(\"tl-all\").addEventListener(\"click\", function () { setView(0, T); });\n"
	"document.getElementById(\"tl-in\").addEventListener(\"click\", function () { zoom(0.5); });\n"
	"document.getElementById(\"tl-out\").addEventListener(\"click\", function () { zoom(2); });\n"
	"window.addEventListener(\"resize\", function () { ovBase = null; draw(); });\n"
	"/* What the tests read (tests/browser/timeline.mjs). */\n"
	"window.pfTimeline = {\n"
	"  ready: function () { return ready; },\n"
	"  view: function () { return { from: view.a / 1e6, to: view.b / 1e6, total: T / 1e6 }; },\n"
	"  lanes: function () { return lanes.map(function (ln) { return { name: ln.name, proc: ln.proc, tid: ln.tid, samples: ln.samples, depth: ln.depth }; }); },\n"
	"  drawn: function () { flush(); return drawn.map(details); },\n"
	"  tip: function () { return tipLines.slice(); },\n"
	"  bench: function (n) {\n"
	"    var out = [], views = [[0, T], [T * 0.4, T * 0.45], [T * 0.1, T * 0.1 + T / 1000]];\n"
	"    views.forEach(function (v) {\n"
	"      view = { a: v[0], b: v[1] };\n"
	"      var t = performance.now();\n"
	"      for (var i = 0; i < n; i++) drawMain();\n"
	"      out.push({ from: v[0] / 1e6, to: v[1] / 1e6, ms: (performance.now() - t) / n, rects: stats.rects });\n"
	"    });\n"
	"    view = { a: 0, b: T };\n"
	"    draw();\n"
	"    return out;\n"
	"  }\n"
	"};\n"
	"draw();\n"
	"})();\n"
	"//]]></script>\n";

/* s as a JSON string that a <script> element cannot end early: <, > and
 * & escaped too. */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	while (*s) {
		uint32_t cp;
		size_t n = out__utf8_next(s, &cp);

		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp < 0x20 || cp == 0x7f || cp == '<' || cp == '>' ||
			 cp == '&' || cp == 0x2028 || cp == 0x2029 ||
			 (cp == 0xfffd && n == 1))
			fprintf(f, "\\u%04" PRIx32, cp);
		else
			fwrite(s, 1, n, f);
		s += n;
	}
	fputc('"', f);
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case PF_PYTHON:
		return "python";
	case PF_NATIVE:
		return "native";
	case PF_KERNEL:
		return "kernel";
	default:
		return "marker";
	}
}

/* The frames and functions the boxes use, numbered from 0 as met. */
struct tables {
	uint32_t *frame_ix; /* profile frame -> its index + 1 */
	uint32_t *func_ix; /* function number -> its index + 1 */
	uint32_t *frames; /* index -> profile frame */
	uint32_t *funcs; /* index -> a profile frame of that function */
	size_t nframes, nfuncs;
};

static uint32_t frame_index(struct tables *t, const struct lanes *l,
			    uint32_t frame)
{
	uint32_t fn = l->func_of[frame];

	if (!t->func_ix[fn]) {
		t->funcs[t->nfuncs] = frame;
		t->func_ix[fn] = (uint32_t)++t->nfuncs;
	}
	if (!t->frame_ix[frame]) {
		t->frames[t->nframes] = frame;
		t->frame_ix[frame] = (uint32_t)++t->nframes;
	}
	return t->frame_ix[frame] - 1;
}

/* Each lane: its name, and its boxes as [start, duration, frame, depth]
 * (ns from the timeline's start). */
static int write_lanes(FILE *f, const struct profile *p, const struct lanes *l,
		       struct tables *t)
{
	struct lane_box *boxes;
	char buf[32];
	size_t n;
	int err;

	fputs(",\"lanes\":[", f);
	for (size_t i = 0; i < l->nlanes; i++) {
		const struct lane *ln = &l->lane[i];

		err = lanes__boxes(l, p, i, &boxes, &n);
		if (err)
			return err;
		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", f);
		put_str(f, lanes__thread_name(l, p, i, buf, sizeof(buf)));
		fputs(",\"proc\":", f);
		put_str(f,
			ln->proc == UINT32_MAX ?
				"all processes" :
				out__name(p, profile__frame_get(p, ln->proc)));
		fprintf(f,
			",\"tid\":%" PRIu32 ",\"samples\":%" PRIu64 ",\"b\":[",
			ln->tid, ln->samples);
		for (size_t j = 0; j < n; j++)
			fprintf(f,
				"%s%" PRIu64 ",%" PRIu64 ",%" PRIu32
				",%" PRIu32,
				j ? "," : "", boxes[j].start - l->t0,
				boxes[j].end - boxes[j].start,
				frame_index(t, l, boxes[j].frame),
				boxes[j].depth);
		fputs("]}", f);
		free(boxes);
	}
	fputs("]", f);
	return 0;
}

static void write_tables(FILE *f, const struct profile *p,
			 const struct tables *t, const struct lanes *l)
{
	fputs(",\n\"funcs\":[", f);
	for (size_t i = 0; i < t->nfuncs; i++) {
		const struct pframe *fr = profile__frame_get(p, t->funcs[i]);

		fputs(i ? ",[" : "[", f);
		put_str(f, out__name(p, fr));
		fputc(',', f);
		put_str(f, fr->file ? profile__string(p, fr->file) : "");
		fprintf(f, ",\"%s\"]", kind_name(fr->kind));
	}
	fputs("],\n\"frames\":[", f);
	for (size_t i = 0; i < t->nframes; i++) {
		const struct pframe *fr = profile__frame_get(p, t->frames[i]);

		fprintf(f, "%s[%" PRIu32 ",%" PRId32 "]", i ? "," : "",
			t->func_ix[l->func_of[t->frames[i]]] - 1,
			fr->kind == PF_PYTHON ? fr->line : -1);
	}
	fputs("]", f);
}

static void write_markup(FILE *f, const struct lanes *l,
			 const struct profile *p)
{
	uint64_t ds, dp, dt;

	profile__timeline_dropped(p, &ds, &dp, &dt);
	fputs(style, f);
	fputs("<div id=\"timeline\" tabindex=\"0\">\n<p class=\"note\">What "
	      "each thread ran, when: one lane per thread, its functions as "
	      "boxes, callers above callees. A box starts at a sample and "
	      "ends where the thread's next different sample begins, exact "
	      "to one sampling period; a gap is time the thread slept (in "
	      "wall mode, off-CPU time is drawn as the [off-cpu: ...] boxes "
	      "the kernel saw). Drag in the overview to choose the range "
	      "shown below; the wheel zooms around the pointer, shift+wheel "
	      "or dragging below pans; keys: + and - zoom, arrows pan, 0 "
	      "shows all. Hover a box for its function, file:line, start "
	      "and duration.</p>\n",
	      f);
	if (ds || dp)
		fprintf(f,
			"<p class=\"note\" id=\"tl-dropped\">The timeline is "
			"full from %.3f s on: %" PRIu64 " later samples and "
			"%" PRIu64 " off-CPU spans are in the profile but not "
			"on the timeline.</p>\n",
			dt > l->t0 ? (double)(dt - l->t0) / 1e9 : 0.0, ds, dp);
	fputs("<div class=\"tl-bar\"><button id=\"tl-all\">Show all "
	      "(0)</button><button id=\"tl-in\">Zoom in (+)</button><button "
	      "id=\"tl-out\">Zoom out (-)</button></div>\n<div "
	      "id=\"tl-ovwrap\"><canvas id=\"tl-overview\"></canvas></div>\n"
	      "<div id=\"tl-scroll\"><canvas id=\"tl-main\"></canvas><div "
	      "id=\"tl-tip\"></div></div>\n</div>\n",
	      f);
}

int out_html__timeline(const struct profile *p, const struct out_meta *m,
		       FILE *f)
{
	size_t nf = profile__nframes(p);
	struct tables t = {};
	struct lanes l;
	int err;

	err = lanes__build(&l, p, m ? m->freq : 0);
	if (err == -ENODATA) {
		fputs("<p class=\"note\" id=\"timeline\">No timeline: this "
		      "profile holds no sample times (folded stacks hold "
		      "none). A live run writes one: pyprof-bpf -p PID -o "
		      "FILE.html.</p>\n",
		      f);
		return 0;
	}
	if (err)
		return err;
	t.frame_ix = calloc(nf + 1, sizeof(*t.frame_ix));
	t.func_ix = calloc(nf + 1, sizeof(*t.func_ix));
	t.frames = calloc(nf + 1, sizeof(*t.frames));
	t.funcs = calloc(nf + 1, sizeof(*t.funcs));
	if (!t.frame_ix || !t.func_ix || !t.frames || !t.funcs) {
		err = -ENOMEM;
		goto out;
	}
	write_markup(f, &l, p);
	fprintf(f,
		"<script type=\"application/json\" id=\"tl-data\">{\"t1\":%" PRIu64
		",\"period\":%" PRIu64,
		l.t1 - l.t0, l.period);
	err = write_lanes(f, p, &l, &t);
	if (err)
		goto out;
	write_tables(f, p, &t, &l);
	fputs("}</script>\n", f);
	fputs(script, f);
out:
	free(t.frame_ix);
	free(t.func_ix);
	free(t.frames);
	free(t.funcs);
	lanes__free(&l);
	return err;
}
