// A small line chart on a canvas: a few series over a time window, the
// newest point at the right edge. No library.

/**
 * @typedef {{name: string, color: string, points: {t: number, v: number}[]}} Series
 */

/**
 * @param {HTMLCanvasElement} canvas
 * @param {Series[]} series
 * @param {number} windowMs the time span shown
 * @param {number} now
 */
export function drawChart(canvas, series, windowMs, now) {
  const ratio = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
    canvas.width = width * ratio;
    canvas.height = height * ratio;
  }
  const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const pad = { left: 56, right: 12, top: 12, bottom: 22 };
  const w = width - pad.left - pad.right, h = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.v))));
  const x = (t) => pad.left + w * (1 - (now - t) / windowMs);
  const y = (v) => pad.top + h * (1 - v / max);
  // Grid and labels.
  g.strokeStyle = "#d8dde3";
  g.fillStyle = "#5b6570";
  g.font = "11px system-ui, sans-serif";
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    g.beginPath();
    g.moveTo(pad.left, y(v));
    g.lineTo(pad.left + w, y(v));
    g.stroke();
    g.fillText(format(v), 4, y(v) + 4);
  }
  const minutes = Math.round(windowMs / 60000);
  g.fillText(`${minutes} min ago`, pad.left, height - 6);
  g.fillText("now", pad.left + w - 22, height - 6);
  // Lines.
  g.lineWidth = 2;
  for (const s of series) {
    g.strokeStyle = s.color;
    g.beginPath();
    let first = true;
    for (const p of s.points) {
      if (now - p.t > windowMs) continue;
      if (first) g.moveTo(x(p.t), y(p.v));
      else g.lineTo(x(p.t), y(p.v));
      first = false;
    }
    g.stroke();
  }
}

/** 1, 2 or 5 times a power of ten, at least `v`. */
function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** @param {number} v */
function format(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
