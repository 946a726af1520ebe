// mlgateway ML pages: plotly.js charts drawn from the gateway's read-only JSON (no inline scripts).
"use strict";
(() => {
  const PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  const COLORS = ["#1f75cb", "#e24329", "#108548", "#6b4fbb", "#ab6100", "#0b7d85", "#c91c00", "#5c5c5c"];

  function layout(title, xTitle, extra) {
    return Object.assign({
      title: { text: title, font: { size: 14 }, x: 0.02, xanchor: "left" },
      margin: { l: 56, r: 16, t: 40, b: 44 },
      xaxis: { title: { text: xTitle }, automargin: true },
      yaxis: { automargin: true },
      legend: { orientation: "h", y: -0.25 },
      height: 300,
    }, extra || {});
  }

  function xValues(series, mode) {
    if (mode === "time") return series.time.map((t) => new Date(t));
    if (mode === "relative") {
      const first = series.time.length ? Math.min(...series.time) : 0;
      return series.time.map((t) => (t - first) / 1000);
    }
    return series.step;
  }

  const AXIS_TITLES = { step: "step", time: "time", relative: "seconds since the first point" };

  function drawHistories(container, data, mode) {
    const keys = [...new Set(data.runs.flatMap((run) => Object.keys(run.metrics)))].sort();
    container.replaceChildren();
    keys.forEach((key) => {
      const div = document.createElement("div");
      div.className = "chart";
      div.dataset.metric = key;
      container.appendChild(div);
      const traces = data.runs
        .filter((run) => run.metrics[key])
        .map((run, i) => ({
          x: xValues(run.metrics[key], mode),
          y: run.metrics[key].value,
          name: run.name,
          type: "scatter",
          mode: run.metrics[key].value.length > 1 ? "lines" : "markers",
          line: { color: COLORS[i % COLORS.length], width: 2 },
          connectgaps: false,
        }));
      Plotly.newPlot(div, traces, layout(key, AXIS_TITLES[mode], { showlegend: data.runs.length > 1 }), PLOT_CONFIG);
    });
  }

  function setUpHistories() {
    const container = document.querySelector("[data-metric-charts]");
    if (!container || typeof Plotly === "undefined") return;
    const axis = document.querySelector("[data-x-axis]");
    fetch(container.dataset.metricCharts, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error(`metric history: HTTP ${response.status}`);
        return response.json();
      })
      .then((data) => {
        const draw = () => drawHistories(container, data, axis ? axis.value : "step");
        draw();
        if (axis) axis.addEventListener("change", draw);
      })
      .catch((error) => {
        container.textContent = `Could not load the metric history (${error.message}).`;
      });
  }

  function numeric(values) {
    return values.every((v) => v === null || v === undefined || (v !== "" && !Number.isNaN(Number(v))));
  }

  // Parallel coordinates drawn as SVG lines over normalised axes: plotly's own "parcoords" trace needs
  // WebGL (missing in many locked-down browsers) and code generation our Content-Security-Policy forbids.
  function drawParallel(target, dimensions, names) {
    if (dimensions.length < 2) {
      target.textContent = "Parallel coordinates need at least two params or metrics.";
      return;
    }
    const scaled = dimensions.map((dim) => {
      const finite = dim.values.filter((v) => Number.isFinite(v));
      const low = finite.length ? Math.min(...finite) : 0;
      const high = finite.length ? Math.max(...finite) : 1;
      const span = high - low || 1;
      const label = (v) => (dim.ticktext ? dim.ticktext[v] : v);
      return {
        label: dim.label,
        y: dim.values.map((v) => (Number.isFinite(v) ? (v - low) / span : null)),
        text: dim.values.map((v) => `${dim.label} = ${Number.isFinite(v) ? label(v) : "–"}`),
        low: label(low),
        high: label(high),
      };
    });
    const labels = scaled.map((dim) => dim.label);
    const traces = names.map((name, run) => ({
      type: "scatter",
      mode: "lines+markers",
      name,
      x: labels,
      y: scaled.map((dim) => dim.y[run]),
      text: scaled.map((dim) => dim.text[run]),
      hovertemplate: "%{text}<extra>" + name.replace(/[<>&]/g, "") + "</extra>",
      line: { color: COLORS[run % COLORS.length], width: 2 },
    }));
    const annotations = scaled.flatMap((dim) => [
      { x: dim.label, y: 1.06, text: String(dim.high), showarrow: false, font: { size: 10 } },
      { x: dim.label, y: -0.08, text: String(dim.low), showarrow: false, font: { size: 10 } },
    ]);
    const extra = {
      height: 420,
      annotations,
      yaxis: { visible: false, range: [-0.15, 1.12] },
      xaxis: { showgrid: true, gridcolor: "#999", automargin: true },
      margin: { l: 24, r: 24, t: 48, b: 40 },
      legend: { orientation: "h", y: -0.4 },
    };
    Plotly.newPlot(target, traces, layout("Parallel coordinates", "", extra), PLOT_CONFIG);
  }

  function setUpComparePlots() {
    const source = document.getElementById("compare-data");
    if (!source || typeof Plotly === "undefined") return;
    const data = JSON.parse(source.textContent);
    const fields = [];
    const paramKeys = [...new Set(data.runs.flatMap((run) => Object.keys(run.params)))].sort();
    const metricKeys = [...new Set(data.runs.flatMap((run) => Object.keys(run.metrics)))].sort();
    paramKeys.forEach((key) => fields.push({ label: `params.${key}`, values: data.runs.map((r) => r.params[key]) }));
    metricKeys.forEach((key) => fields.push({ label: `metrics.${key}`, values: data.runs.map((r) => r.metrics[key]) }));
    const names = data.runs.map((run) => run.name);

    const dimensions = fields.map((field) => {
      if (numeric(field.values)) {
        return { label: field.label, values: field.values.map((v) => (v === undefined || v === null ? NaN : Number(v))) };
      }
      const categories = [...new Set(field.values.map((v) => (v === undefined ? "" : String(v))))].sort();
      return {
        label: field.label,
        values: field.values.map((v) => categories.indexOf(v === undefined ? "" : String(v))),
        tickvals: categories.map((_, i) => i),
        ticktext: categories,
      };
    });
    drawParallel(document.getElementById("parallel-coordinates"), dimensions.slice(0, 12), names);

    const selects = document.querySelectorAll("[data-scatter-axis]");
    selects.forEach((select, index) => {
      fields.forEach((field, i) => select.add(new Option(field.label, String(i))));
      const preferred = index === 0 ? Math.max(0, paramKeys.length - 1) : fields.length - 1;
      select.value = String(Math.max(0, Math.min(preferred, fields.length - 1)));
    });
    const scatter = document.getElementById("scatter");
    const drawScatter = () => {
      if (!fields.length) {
        scatter.textContent = "These runs have no params or metrics to plot.";
        return;
      }
      const [x, y] = [...selects].map((select) => fields[Number(select.value)]);
      Plotly.newPlot(scatter, [{
        type: "scatter",
        mode: "markers+text",
        x: x.values,
        y: y.values,
        text: names,
        textposition: "top center",
        marker: { size: 12, color: COLORS.slice(0, names.length) },
      }], layout("Scatter", x.label, { height: 420, yaxis: { title: { text: y.label }, automargin: true } }), PLOT_CONFIG);
    };
    selects.forEach((select) => select.addEventListener("change", drawScatter));
    drawScatter();
  }

  setUpHistories();
  setUpComparePlots();
})();
