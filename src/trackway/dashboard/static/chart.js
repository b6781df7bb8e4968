// Small SVG charts (bars, lines) drawn with DOM calls: no library, labels as text nodes.
// Each chart is an image with a title for screen readers; the table beside it has the
// same numbers.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function svg(width, height, label) {
  const root = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  root.append(s("title", {}, label));
  return root;
}

function wrap(root) {
  const div = document.createElement("div");
  div.className = "chart";
  div.append(root);
  return div;
}

function short(n) {
  const v = Number(n);
  if (!Number.isFinite(v)) return String(n);
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

// Horizontal bars: ``items`` [{label, value}].
export function bars(items, label) {
  const shown = items.slice(0, 15);
  const row = 24;
  const width = 720;
  const left = 200;
  const height = shown.length * row + 10;
  const max = Math.max(1, ...shown.map((i) => Number(i.value) || 0));
  const root = svg(width, height, label);
  shown.forEach((item, n) => {
    const y = 5 + n * row;
    const w = Math.max(0, ((Number(item.value) || 0) / max) * (width - left - 70));
    root.append(s("text", { x: left - 8, y: y + 15, "text-anchor": "end" }, String(item.label).slice(0, 32)));
    root.append(s("rect", { class: "bar", x: left, y: y + 3, width: w, height: row - 8, rx: 2 }));
    root.append(s("text", { x: left + w + 6, y: y + 15 }, short(item.value)));
  });
  return wrap(root);
}

// Lines over periods: ``series`` {name: {period: value}}.
export function lines(series, label) {
  const names = Object.keys(series).slice(0, 4);
  const periods = [...new Set(names.flatMap((n) => Object.keys(series[n])))].sort();
  const width = 720;
  const height = 260;
  const pad = { l: 56, r: 24, t: 10, b: 28 }; // r: room for the last period's label
  const root = svg(width, height, label);
  const values = names.flatMap((n) => Object.values(series[n]).map(Number));
  const max = Math.max(1, ...values);
  const min = Math.min(0, ...values); // a day of refunds only: a net below zero, drawn inside the chart
  const x = (i) => pad.l + (periods.length > 1 ? (i / (periods.length - 1)) * (width - pad.l - pad.r) : 0);
  const y = (v) => height - pad.b - ((v - min) / (max - min)) * (height - pad.t - pad.b);
  root.append(s("line", { class: "axis", x1: pad.l, y1: y(0), x2: width - pad.r, y2: y(0) }));
  const ticks = [min, min < 0 ? 0 : max / 2, max].filter((v, i, all) => i === 0 || y(all[i - 1]) - y(v) >= 14); // no overlap
  for (const v of ticks) root.append(s("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end" }, short(v)));
  const step = Math.max(1, Math.ceil(periods.length / 8));
  periods.forEach((p, i) => {
    if (i % step === 0) root.append(s("text", { x: x(i), y: height - 8, "text-anchor": "middle" }, p.slice(5)));
  });
  names.forEach((name, k) => {
    const points = periods.map((p, i) => `${x(i)},${y(Number(series[name][p] || 0))}`).join(" ");
    root.append(s("polyline", { class: `line series-${k}`, points, fill: "none" }));
    if (periods.length === 1) {  // one period: a line of one point draws nothing
      root.append(s("circle", { class: `dot series-${k}`, cx: x(0), cy: y(Number(series[name][periods[0]] || 0)), r: 4 }));
    }
  });
  return wrap(root);
}

export function legend(names) {
  const div = document.createElement("div");
  div.className = "legend";
  names.slice(0, 4).forEach((n, k) => {
    const span = document.createElement("span");
    span.className = `series-${k}`;
    span.textContent = n;
    div.append(span);
  });
  return div;
}
