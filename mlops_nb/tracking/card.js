// The mlops-nb run card: renders the synced state of one tracked run. No network access.
function fmt(v) {
  if (typeof v !== "number") return String(v);
  return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : String(+v.toPrecision(4));
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el: root }) {
  const card = el("div", "mlops-nb-card");
  root.appendChild(card);

  function draw() {
    card.replaceChildren();
    const failed = model.get("cell_status") !== "FINISHED";
    card.classList.toggle("mlops-nb-failed", failed);
    const head = el("div", "mlops-nb-head");
    head.appendChild(el("span", "mlops-nb-badge", failed ? model.get("cell_status") : "tracked"));
    head.appendChild(el("b", "", model.get("run_name")));
    head.appendChild(el("span", "mlops-nb-dim", ` in ${model.get("experiment")} · ${model.get("duration").toFixed(2)} s`));
    const url = model.get("run_url");
    if (url) {
      const a = el("a", "mlops-nb-link", "open run ↗");
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener";
      head.appendChild(a);
    } else {
      head.appendChild(el("span", "mlops-nb-dim mlops-nb-queued", "· queued for delivery"));
    }
    card.appendChild(head);

    if (failed && model.get("error")) card.appendChild(el("div", "mlops-nb-error", model.get("error")));

    const metrics = model.get("metrics");
    const deltas = model.get("deltas");
    if (Object.keys(metrics).length) {
      const table = el("table", "mlops-nb-metrics");
      for (const [k, v] of Object.entries(metrics)) {
        const tr = el("tr");
        tr.appendChild(el("td", "mlops-nb-key", k));
        tr.appendChild(el("td", "", fmt(v)));
        const d = deltas[k];
        const td = el("td", d === undefined ? "" : d > 0 ? "mlops-nb-up" : d < 0 ? "mlops-nb-down" : "mlops-nb-dim");
        td.textContent = d === undefined ? "" : `${d >= 0 ? "+" : ""}${fmt(d)} vs previous`;
        tr.appendChild(td);
        table.appendChild(tr);
      }
      card.appendChild(table);
    }
    const params = Object.entries(model.get("params"));
    if (params.length) {
      const p = el("div", "mlops-nb-params");
      p.appendChild(el("span", "mlops-nb-dim", "params "));
      p.appendChild(el("span", "", params.slice(0, 12).map(([k, v]) => `${k}=${v}`).join(", ") + (params.length > 12 ? ` … (+${params.length - 12})` : "")));
      card.appendChild(p);
    }
    const bits = [];
    const models = model.get("models");
    if (models.length) bits.push(`model${models.length > 1 ? "s" : ""}: ${models.join(", ")}`);
    const datasets = model.get("datasets");
    if (datasets.length) bits.push(`data: ${datasets.join(", ")}`);
    if (model.get("figures")) bits.push(`${model.get("figures")} figure(s)`);
    if (bits.length) card.appendChild(el("div", "mlops-nb-dim", bits.join(" · ")));
  }

  draw();
  model.on("change", draw);
  return () => model.off("change", draw);
}

export default { render };
