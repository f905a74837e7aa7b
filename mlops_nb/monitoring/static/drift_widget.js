// mlops-nb drift widget: verdict, per-column table, distributions (inline SVG), full report on demand.
// One small ES module with no imports: nothing is fetched, so it works offline.

const SVG = "http://www.w3.org/2000/svg";
const REF = "#8c8c8c";
const CUR = "#d6604d";

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function s(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function fmt(x) {
  if (typeof x !== "number" || !isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e7 || a < 1e-3) return x.toExponential(2);
  if (a >= 100) return Math.round(x).toLocaleString("en-US");
  return x.toPrecision(3).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
}

// A small bar chart of reference vs current shares.
export function plot(name, dist) {
  const W = 300, H = 120, PAD = 18;
  const n = dist.reference.length;
  const ymax = Math.max(1e-12, ...dist.reference, ...dist.current);
  const svg = s("svg", { width: W, height: H + PAD, viewBox: `0 0 ${W} ${H + PAD}`, class: "mnd-plot", "data-column": name });
  const bw = (W - 2) / n;
  const bar = (i, v, color, half) => {
    const hgt = (v / ymax) * (H - 14);
    const x = 1 + i * bw + (half ? bw / 2 : 0);
    const rect = s("rect", { x, y: H - hgt, width: Math.max(bw / 2 - 0.5, 0.5), height: hgt, fill: color });
    const title = s("title");
    title.textContent = `${half ? "current" : "reference"}: ${fmt(v)}`;
    rect.append(title);
    svg.append(rect);
  };
  for (let i = 0; i < n; i++) { bar(i, dist.reference[i], REF, false); bar(i, dist.current[i], CUR, true); }
  svg.append(s("line", { x1: 0, y1: H, x2: W, y2: H, stroke: "#999" }));
  const label = (x, text, anchor) => {
    const t = s("text", { x, y: H + 13, "font-size": 10, "text-anchor": anchor, fill: "#555" });
    t.textContent = text;
    svg.append(t);
  };
  if (dist.kind === "num") {
    label(2, fmt(dist.edges[0]), "start");
    label(W - 2, fmt(dist.edges[dist.edges.length - 1]), "end");
  } else {
    dist.labels.slice(0, 6).forEach((l, i) => label(1 + i * bw + bw / 2, String(l).slice(0, 8), "middle"));
  }
  const cap = s("text", { x: 2, y: 10, "font-size": 11, "font-weight": "bold", fill: "#333" });
  cap.textContent = name;
  svg.append(cap);
  return svg;
}

function verdict(summary) {
  const drift = summary.dataset_drift;
  return h("div", { class: "mnd-verdict " + (drift ? "mnd-drift" : "mnd-ok") },
    h("span", { class: "mnd-badge" }, drift ? "Dataset drift" : "No dataset drift"),
    h("span", { class: "mnd-share" },
      `${summary.n_drifted} of ${summary.n_columns} columns drifted ` +
      `(share ${fmt(summary.drift_share)}, threshold ${fmt(summary.share_threshold)})`));
}

function table(summary, names, onPick) {
  const body = h("tbody");
  for (const [col, c] of Object.entries(summary.columns || {})) {
    const role = c.role && c.role !== "feature" ? ` (${c.role})` : "";
    const row = h("tr", { class: c.drifted ? "mnd-row mnd-row-drift" : "mnd-row", "data-column": col, onclick: () => onPick(col) },
      h("td", {}, col + role), h("td", {}, c.type), h("td", {}, names[c.stattest] || c.stattest),
      h("td", {}, fmt(c.score)), h("td", {}, fmt(c.threshold)), h("td", {}, c.drifted ? "yes" : "no"));
    body.append(row);
  }
  return h("table", { class: "mnd-table" },
    h("thead", {}, h("tr", {}, ...["column", "type", "test", "score", "threshold", "drifted"].map((t) => h("th", {}, t)))),
    body);
}

function render({ model, el }) {
  const root = h("div", { class: "mnd" });
  el.append(root);
  let picked = null;
  let reportHtml = null;

  const draw = () => {
    const summary = model.get("summary") || {};
    const dists = model.get("distributions") || {};
    const names = model.get("stattest_names") || {};
    const plots = h("div", { class: "mnd-plots" });
    const drifted = Object.entries(summary.columns || {}).filter(([, c]) => c.drifted).map(([n]) => n);
    const shown = picked && !drifted.includes(picked) ? [...drifted, picked] : drifted;
    for (const col of shown) if (dists[col]) plots.append(plot(col, dists[col]));
    if (!shown.length) plots.append(h("span", { class: "mnd-muted" }, "No drifted column. Click a row to see its distribution."));
    const legend = h("div", { class: "mnd-legend" },
      h("span", { style: `color:${REF}` }, "■ reference"), " ", h("span", { style: `color:${CUR}` }, "■ current"));

    const state = model.get("report_state");
    const button = h("button", {
      class: "mnd-report-button",
      onclick: () => {
        if (reportHtml) { frame.hidden = !frame.hidden; return; }
        model.send({ type: "load-report" });
      },
    }, state === "loading" ? "Building the Evidently report…" : reportHtml ? "Toggle the full Evidently report" : "Show the full Evidently report");
    if (state === "loading" || state === "unavailable") button.disabled = true;
    // No sandbox: Evidently's page needs its own origin (storage), as in Evidently's own notebook view.
    const frame = h("iframe", { class: "mnd-report", title: "Evidently report" });
    frame.hidden = !reportHtml;
    if (reportHtml) frame.srcdoc = reportHtml;
    const error = model.get("report_error");

    root.replaceChildren(
      verdict(summary),
      h("div", { class: "mnd-note" }, model.get("note") || ""),
      table(summary, names, (col) => { picked = col; draw(); }),
      legend, plots,
      h("div", { class: "mnd-actions" }, button, error ? h("span", { class: "mnd-error" }, error) : ""),
      frame);
  };

  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "report") { reportHtml = msg.html; draw(); }
  });
  for (const t of ["summary", "distributions", "note", "report_state", "report_error"]) model.on(`change:${t}`, draw);
  draw();
}

export default { render };
