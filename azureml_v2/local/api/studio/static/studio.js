// The studio's live parts: statuses, the log tail, chart read-outs, sortable tables, the pipeline graph and the
// endpoint form. Pages work without it; it only keeps them current.
"use strict";
(function () {
  const TERMINAL = new Set(["Completed", "Failed", "Canceled"]);
  const EVERY = 2000;

  // -- statuses: every element carrying data-job under (or on) a [data-live] element
  function liveStatuses() {
    const scopes = document.querySelectorAll("[data-live]");
    if (!scopes.length) return;
    const url = scopes[0].dataset.live;
    const tick = async () => {
      const rows = [];
      scopes.forEach((s) => {
        if (s.dataset.job) rows.push(s);
        s.querySelectorAll("[data-job]").forEach((r) => rows.push(r));
      });
      const open = rows.filter((r) => {
        const st = r.matches(".status") ? r : r.querySelector(".status");
        return st && !TERMINAL.has(st.dataset.status);
      });
      if (!open.length) return;
      const names = [...new Set(open.map((r) => r.dataset.job))];
      try {
        const res = await fetch(url + "?names=" + encodeURIComponent(names.join(",")), {credentials: "same-origin"});
        if (res.ok) {
          const found = await res.json();
          rows.forEach((r) => {
            const now = found[r.dataset.job];
            if (!now) return;
            const st = r.matches(".status") ? r : r.querySelector(".status");
            if (st && st.dataset.status !== now[0]) { st.dataset.status = now[0]; st.textContent = now[0]; }
            if (TERMINAL.has(now[0]) && r.matches("h1 .status")) {  // nothing left to cancel
              document.querySelectorAll("form.cancel").forEach((f) => f.remove());
            }
            const du = r.querySelector ? r.querySelector(".duration") : null;
            if (du) du.textContent = now[1];
          });
          document.querySelectorAll("dd.duration[data-job]").forEach((d) => {
            if (found[d.dataset.job]) d.textContent = found[d.dataset.job][1];
          });
        }
      } catch (e) { /* the server restarts: try again next time */ }
      setTimeout(tick, EVERY);
    };
    setTimeout(tick, EVERY);
  }

  // -- the log: its tail, then what is appended while the job runs
  function liveLog() {
    const pre = document.getElementById("log");
    if (!pre) return;
    const select = document.getElementById("log-file");
    let offset = null, file = select.value, timer = null;
    const tick = async () => {
      const q = "?file=" + encodeURIComponent(file) + (offset === null ? "" : "&offset=" + offset);
      try {
        const res = await fetch(pre.dataset.log + q, {credentials: "same-origin"});
        if (res.ok) {
          const got = await res.json();
          const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.textContent += got.text;
          offset = got.offset;
          if (atEnd) pre.scrollTop = pre.scrollHeight;
          if (TERMINAL.has(got.status) && !got.text) return;
        }
      } catch (e) { /* try again */ }
      timer = setTimeout(tick, EVERY);
    };
    select.addEventListener("change", () => {
      clearTimeout(timer); file = select.value; offset = null; pre.textContent = ""; tick();
    });
    tick();
  }

  // -- charts: the exact logged value nearest the pointer (drawn points are logged points)
  function chartReadouts() {
    document.querySelectorAll("figure.chart[data-points]").forEach((fig) => {
      const series = JSON.parse(fig.dataset.points);
      const svg = fig.querySelector("svg"), hover = svg.querySelector(".hover"), out = fig.querySelector(".readout");
      const dot = hover.querySelector("circle"), label = hover.querySelector("text");
      svg.addEventListener("mousemove", (ev) => {
        const pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
        const p = pt.matrixTransform(svg.getScreenCTM().inverse());
        let best = null, bestD = Infinity;
        series.forEach((s) => s.points.forEach((q) => {
          const d = (q[2] - p.x) ** 2 + ((q[3] - p.y) ** 2) / 16;
          if (d < bestD) { bestD = d; best = [s, q]; }
        }));
        if (!best) return;
        const [s, q] = best;
        dot.setAttribute("cx", q[2]); dot.setAttribute("cy", q[3]); dot.setAttribute("fill", s.colour);
        const text = `${s.label}: step ${q[0]}, ${q[1]}`;
        label.textContent = text;
        label.setAttribute("x", Math.min(q[2] + 8, 560)); label.setAttribute("y", Math.max(q[3] - 8, 14));
        hover.setAttribute("visibility", "visible");
        out.textContent = text;
      });
      svg.addEventListener("mouseleave", () => hover.setAttribute("visibility", "hidden"));
    });
  }

  // -- sortable tables: a header button sorts by its column's data-value (numbers as numbers)
  function sortable() {
    document.querySelectorAll("table.sortable").forEach((table) => {
      const heads = [...table.querySelectorAll("thead th")];
      heads.forEach((th, col) => {
        const button = th.querySelector("button");
        if (!button) return;
        button.addEventListener("click", () => {
          const ascending = th.getAttribute("aria-sort") !== "ascending";
          heads.forEach((h) => h.removeAttribute("aria-sort"));
          th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
          const numeric = button.hasAttribute("data-numeric") || col === 0;
          const body = table.tBodies[0];
          const key = (row) => {
            const cell = row.cells[col], v = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent;
            if (!numeric) return v;
            return v === "" || isNaN(Number(v)) ? null : Number(v);
          };
          const rows = [...body.rows].sort((a, b) => {
            const x = key(a), y = key(b);
            if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;  // no value: last
            return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
          });
          rows.forEach((r) => body.appendChild(r));
        });
      });
    });
  }

  // -- the pipeline's graph: laid out by dagre, redrawn while the pipeline runs
  const SVGNS = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    const e = document.createElementNS(SVGNS, name);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (parent) parent.appendChild(e);
    return e;
  }
  function drawGraph(box, graph) {
    const g = new dagre.graphlib.Graph({multigraph: true});
    g.setGraph({rankdir: "LR", nodesep: 24, ranksep: 60, marginx: 10, marginy: 10});
    graph.nodes.forEach((n) => g.setNode(n.id, {width: Math.max(120, 8 * n.id.length + 24), height: 44, node: n}));
    graph.edges.forEach((e, i) => g.setEdge(e.from, e.to, {label: e.label, width: 7 * e.label.length, height: 14,
                                                          labelpos: "c"}, "e" + i));
    dagre.layout(g);
    const size = g.graph();
    const svg = el("svg", {viewBox: `0 0 ${size.width} ${size.height}`, role: "img",
                           "aria-label": `pipeline graph, ${graph.nodes.length} nodes`, width: size.width});
    const defs = el("defs", {}, svg);
    const marker = el("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8,
                                 markerHeight: 8, orient: "auto-start-reverse"}, defs);
    el("path", {d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead"}, marker);
    g.edges().forEach((e) => {
      const edge = g.edge(e);
      const d = edge.points.map((p, i) => (i ? "L" : "M") + p.x + " " + p.y).join(" ");
      el("path", {d: d, class: "edge", "marker-end": "url(#arrow)"}, svg);
      const t = el("text", {x: edge.x, y: edge.y + 4, "text-anchor": "middle", class: "edge-label"}, svg);
      t.textContent = edge.label;
    });
    g.nodes().forEach((id) => {
      const n = g.node(id), info = n.node;
      const group = el(info.href ? "a" : "g", {class: "node", "data-node": id, "data-status": info.status}, svg);
      if (info.href) { group.setAttribute("href", info.href); group.setAttribute("aria-label", `${id}: ${info.status}`); }
      el("rect", {x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 6,
                  class: "node-box" + (info.reused ? " reused" : "")}, group);
      const name = el("text", {x: n.x, y: n.y - 3, "text-anchor": "middle", class: "node-name"}, group);
      name.textContent = id;
      const status = el("text", {x: n.x, y: n.y + 13, "text-anchor": "middle", class: "node-status"}, group);
      status.textContent = info.type + " · " + info.status + (info.reused ? " · reused" : "");
    });
    box.replaceChildren(svg);
  }
  function liveGraph() {
    const box = document.getElementById("graph");
    if (!box || typeof dagre === "undefined") return;
    let last = "";
    const tick = async () => {
      try {
        const res = await fetch(box.dataset.graph, {credentials: "same-origin"});
        if (res.ok) {
          const graph = await res.json();
          const text = JSON.stringify(graph);
          if (text !== last) { last = text; drawGraph(box, graph); }
          if (TERMINAL.has(graph.status)) return;
        }
      } catch (e) { /* try again */ }
      setTimeout(tick, EVERY);
    };
    tick();
  }

  // -- an online endpoint's form: the JSON body to its scoring URI, the answer below
  function invokeForms() {
    document.querySelectorAll("form.invoke").forEach((form) => {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const out = form.querySelector("output");
        const deployment = form.elements.deployment.value;
        out.textContent = "…";
        try {
          const res = await fetch(form.dataset.invoke + (deployment ? "?deployment=" + encodeURIComponent(deployment) : ""),
                                  {method: "POST", credentials: "same-origin", body: form.elements.body.value,
                                   headers: {"Content-Type": "application/json"}});
          const got = await res.json();
          out.textContent = got.answer === undefined ? JSON.stringify(got) : `${got.status}: ${got.answer}`;
          out.dataset.status = got.status;
        } catch (e) { out.textContent = "the request failed: " + e; }
      });
    });
  }

  liveStatuses(); liveLog(); chartReadouts(); sortable(); liveGraph(); invokeForms();
})();
