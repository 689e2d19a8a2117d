// llmstats live dashboard. The whole view is in the URL (page path + query string):
// since, until, tz, repeated where=KEY=VALUE (the CLI's words), and per page what_if,
// sort, dir, offset, trace. Every change is a history entry, so back/forward and shared
// links reproduce the view. Every user-chosen string reaches the page as text
// (textContent), never as markup; chart text arrives escaped for plotly (charts.py).
"use strict";

(function () {
  const body = document.body;
  const page = body.dataset.page;
  const pollMs = Math.max(500, 1000 * Number(body.dataset.pollSeconds || 3));
  const content = document.getElementById("content");
  const filters = document.getElementById("filters");
  const PRESETS = [["24h", "24h"], ["7d", "7 days"], ["30d", "30 days"], ["90d", "90 days"],
    ["365d", "1 year"], ["", "all time"]];
  const ZONES = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York",
    "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney"];
  let dimensions = [];
  let version = null;
  let loads = 0;
  let inflight = null;

  // ---------- small helpers ----------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }
  function params() { return new URLSearchParams(location.search); }
  function wheres(p) { return (p || params()).getAll("where"); }
  function go(p, options) {
    const query = p.toString();
    const url = location.pathname + (query ? "?" + query : "");
    if (options && options.replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    render();
  }
  function update(changes, options) {
    const p = params();
    for (const [key, value] of Object.entries(changes)) {
      if (value === null || value === undefined || value === "") p.delete(key);
      else p.set(key, value);
    }
    if (!("offset" in changes)) p.delete("offset");
    go(p, options);
  }
  function addFilters(pairs) {
    if (!pairs || !pairs.length) return;
    const p = params();
    const have = new Set(p.getAll("where"));
    for (const [key, value] of pairs) {
      const item = key + "=" + value;
      if (!have.has(item)) p.append("where", item);
    }
    p.delete("offset");
    p.delete("trace");
    go(p);
  }
  function removeFilter(item) {
    const p = params();
    const rest = p.getAll("where").filter((w) => w !== item);
    p.delete("where");
    for (const w of rest) p.append("where", w);
    p.delete("offset");
    go(p);
  }
  function filterQuery(extra) {
    const p = params();
    const out = new URLSearchParams();
    for (const key of ["since", "until", "tz"]) if (p.get(key)) out.set(key, p.get(key));
    for (const w of p.getAll("where")) out.append("where", w);
    for (const [key, value] of Object.entries(extra || {})) {
      if (value !== null && value !== undefined && value !== "") out.set(key, value);
    }
    return out;
  }
  async function api(path, query, signal) {
    const response = await fetch(path + (query && query.toString() ? "?" + query : ""),
      { signal, credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) throw new Error("This dashboard needs its access token: open it with ?token=… once.");
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  // ---------- value formatting (like the report tables) ----------
  const MONEY = /(_usd|^cost|^savings)$/;
  const RATE = /(rate|share)$/;
  function fmt(column, value) {
    if (value === null || value === undefined) return "—";
    if (Array.isArray(value)) return value.join(", ");
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "object") return JSON.stringify(value);
    if (typeof value !== "number") return String(value);
    if (MONEY.test(column)) {
      const digits = Math.abs(value) >= 100 ? 2 : Math.abs(value) >= 1 ? 3 : 4;
      return (value < 0 ? "-$" : "$") + Math.abs(value).toLocaleString("en-US",
        { minimumFractionDigits: digits, maximumFractionDigits: digits });
    }
    if (RATE.test(column)) return (100 * value).toFixed(2) + " %";
    if (/_ms$/.test(column)) return Math.round(value).toLocaleString("en-US") + " ms";
    if (Number.isInteger(value)) return value.toLocaleString("en-US");
    return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
  }
  function compact(value) {
    if (typeof value === "number" && Math.abs(value) >= 1e7) return (value / 1e6).toFixed(1) + " M";
    return null;
  }

  // ---------- the filter bar ----------
  function drawFilters() {
    const p = params();
    filters.replaceChildren();
    const presets = el("div", { class: "presets", role: "group", "aria-label": "Time window" });
    const since = p.get("since") || "";
    for (const [value, label] of PRESETS) {
      const active = since === value && !p.get("until");
      presets.append(el("button", { type: "button", class: active ? "preset active" : "preset",
        "data-since": value, "aria-pressed": active ? "true" : "false", text: label,
        onclick: () => update({ since: value, until: null }) }));
    }
    const sinceInput = el("input", { id: "since", name: "since", value: since, size: 12,
      placeholder: "since: 7d / 2026-11-01", "aria-label": "Since" });
    const untilInput = el("input", { id: "until", name: "until", value: p.get("until") || "",
      size: 12, placeholder: "until (date)", "aria-label": "Until" });
    const tzInput = el("input", { id: "tz", name: "tz", value: p.get("tz") || "", size: 14,
      placeholder: "UTC", list: "zones", "aria-label": "Time zone" });
    const zones = el("datalist", { id: "zones" });
    const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (const zone of [...new Set([local, ...ZONES])]) zones.append(el("option", { value: zone }));
    const custom = el("form", { class: "custom", onsubmit: (event) => {
      event.preventDefault();
      update({ since: sinceInput.value.trim(), until: untilInput.value.trim(), tz: tzInput.value.trim() });
    } }, sinceInput, untilInput, tzInput, zones, el("button", { type: "submit", text: "Apply" }));
    const chips = el("div", { class: "chips", id: "chips" });
    for (const item of wheres(p)) {
      const at = item.indexOf("=");
      chips.append(el("span", { class: "chip", "data-where": item },
        el("span", { class: "key", text: item.slice(0, at) }),
        el("span", { class: "value", text: item.slice(at + 1) }),
        el("button", { type: "button", class: "remove", "aria-label": "Remove filter " + item,
          text: "×", onclick: () => removeFilter(item) })));
    }
    filters.append(presets, custom, chips, picker());
  }

  function picker() {
    const select = el("select", { id: "pick-dimension", "aria-label": "Filter on" });
    for (const name of dimensions) select.append(el("option", { value: name, text: name }));
    select.value = dimensions.includes("team") ? "team" : dimensions[0];
    const input = el("input", { id: "pick-value", list: "pick-values", autocomplete: "off",
      placeholder: "search values…", "aria-label": "Filter value" });
    const list = el("datalist", { id: "pick-values" });
    let timer = null;
    let controller = null;
    async function suggest() {
      if (controller) controller.abort();
      controller = new AbortController();
      try {
        const data = await api("/api/values", filterQuery({ dim: select.value, q: input.value }),
          controller.signal);
        list.replaceChildren(...data.values.map((v) => el("option", { value: v.value,
          label: v.value + " (" + v.calls.toLocaleString("en-US") + " calls)" })));
        list.dataset.for = select.value + ":" + input.value;
      } catch (error) { if (error.name !== "AbortError") list.replaceChildren(); }
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 150); });
    input.addEventListener("focus", suggest);
    select.addEventListener("change", () => { input.value = ""; suggest(); });
    const form = el("form", { class: "pick", onsubmit: (event) => {
      event.preventDefault();
      if (input.value !== "") addFilters([[select.value, input.value]]);
    } }, select, input, list, el("button", { type: "submit", text: "Add filter" }));
    return form;
  }

  // ---------- building blocks ----------
  function notes(items) {
    if (!items || !items.length) return null;
    return el("ul", { class: "notes" }, ...items.map((n) => el("li", { text: n })));
  }
  function cards(items) {
    return el("div", { class: "cards" }, ...items.map(([id, label, column, value, sub]) =>
      el("div", { class: "card", id: "card-" + id, "data-value": typeof value === "number" ? String(value) : null },
        el("div", { class: "label", text: label }),
        el("div", { class: "value", text: compact(value) || fmt(column, value) }),
        sub ? el("div", { class: "sub", text: sub }) : null)));
  }
  function chart(spec, controls) {
    // A chart already on the page (a filter changed, new events came) keeps its box and
    // is updated with Plotly.react, far cheaper than drawing it anew.
    const shown = document.getElementById("chart-" + spec.id);
    const box = shown && shown.classList.contains("plot") && shown._plotted
      ? shown : el("div", { class: "plot", id: "chart-" + spec.id });
    delete box.dataset.drawn;
    box._spec = spec;  // what a click on it drills into: the newest answer's
    const block = el("section", { class: "chart", "data-chart": spec.id },
      el("h3", { text: spec.title }), spec.description ? el("p", { class: "desc", text: spec.description }) : null,
      controls instanceof Node ? controls : null, box);
    // Drawn on the first frame after plotly.js has run (the page's numbers and tables
    // need not wait for it) and the block is in the page.
    plotlyReady.then(() => requestAnimationFrame(() => {
      if (!window.Plotly || box._spec !== spec) return;  // a newer answer draws it
      const draw = box._plotted ? window.Plotly.react : window.Plotly.newPlot;
      draw(box, spec.figure.data, spec.figure.layout,
        { displaylogo: false, displayModeBar: false, responsive: true })
        .then(() => {
          if (box._spec !== spec) return;
          box.dataset.drawn = "1";
          if (box._plotted) return;
          box._plotted = true;
          box.on("plotly_click", (event) => {
            const point = event.points && event.points[0];
            const drill = box._spec.drill;
            if (!point || !drill || !drill[point.curveNumber]) return;
            addFilters(drill[point.curveNumber][point.pointNumber]);
          });
        });
    }));
    return block;
  }
  const DRILLABLE = new Set();
  function cell(column, value) {
    const td = el("td");
    if (typeof value === "number") { td.className = "num"; td.dataset.value = String(value); }
    if (column === "tags" && Array.isArray(value)) {
      value.forEach((tag, i) => {
        if (i) td.append(", ");
        td.append(el("button", { type: "button", class: "drill", "data-where": "tag=" + tag,
          text: tag, onclick: () => addFilters([["tag", tag]]) }));
      });
      return td;
    }
    if (DRILLABLE.has(column) && value !== null && value !== undefined && typeof value !== "object") {
      td.append(el("button", { type: "button", class: "drill", "data-where": column + "=" + value,
        title: "Filter on " + column + " = " + value, text: fmt(column, value),
        onclick: () => addFilters([[column, String(value)]]) }));
      return td;
    }
    if (column === "status" && value === "failure") td.className = "bad";
    td.textContent = fmt(column, value);
    return td;
  }
  function table(spec, options) {
    const opts = options || {};
    const columns = spec.columns;
    const rows = spec.rows.slice();
    const tbody = el("tbody");
    function fill() {
      tbody.replaceChildren(...rows.map((row) => {
        const tr = el("tr", {}, ...columns.map((c) => cell(c, row[c])));
        if (opts.onrow) { tr.classList.add("clickable"); tr.addEventListener("click", (e) => {
          if (!e.target.closest("button")) opts.onrow(row); }); }
        return tr;
      }));
    }
    const head = el("tr", {}, ...columns.map((c) => {
      const th = el("th", { scope: "col", text: c, "data-column": c });
      th.addEventListener("click", () => {
        if (opts.onsort) { opts.onsort(c); return; }
        const down = th.getAttribute("aria-sort") !== "descending";
        head.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        rows.sort((a, b) => compare(a[c], b[c]) * (down ? -1 : 1));
        fill();
      });
      if (opts.sorted === c) th.setAttribute("aria-sort", opts.descending ? "descending" : "ascending");
      return th;
    }));
    fill();
    return el("section", { class: "table", "data-table": spec.id },
      spec.title ? el("h3", { text: spec.title }) : null, notes(spec.notes),
      el("div", { class: "scroll" }, el("table", { id: "table-" + spec.id }, el("thead", {}, head), tbody)));
  }
  function compare(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return -1;
    if (b === null || b === undefined) return 1;
    return a < b ? -1 : 1;
  }
  function grid(...items) { return el("div", { class: "grid" }, ...items.filter(Boolean)); }
  function empty(what) { return el("p", { class: "empty", text: what }); }

  // ---------- pages ----------
  const PAGES = {
    async overview(signal) {
      const p = params();
      const data = await api("/api/page/overview", filterQuery({ what_if: p.get("what_if"),
        spenders: p.get("spenders"), bucket: p.get("bucket") }), signal);
      const t = data.totals, s = data.savings;
      const cost = t.cost_usd || 0, saved = t.savings_usd || 0;
      const blocks = [cards([
        ["cost", "Cost", "cost_usd", t.cost_usd, "at your prices and overrides"],
        ["savings", "Saved", "savings_usd", t.savings_usd, fmt("savings_rate", cost + saved ? saved / (cost + saved) : 0) + " of list price"],
        ["requests", "Requests", "requests", t.requests, fmt("calls", t.calls) + " call attempts"],
        ["input-tokens", "Input tokens", "input_tokens", t.input_tokens, fmt("cached_share", t.input_tokens ? t.cached_tokens / t.input_tokens : 0) + " from prompt cache"],
        ["output-tokens", "Output tokens", "output_tokens", t.output_tokens, ""],
        ["reported-cost", "LiteLLM's cost", "reported_cost_usd", t.reported_cost_usd, "response_cost at capture"],
        ["default-prices", "On default prices", "cost_usd", t.cost_on_default_prices_usd, fmt("calls", t.calls_on_default_prices) + " calls to unpriced models"],
      ]), notes(data.notes)];
      blocks.push(cards([
        ["prompt-cache", "Prompt cache saved", "savings_usd", s.prompt_cache_savings_usd, "net of the cache-write premium"],
        ["proxy-cache", "Response cache saved", "savings_usd", s.proxy_cache_savings_usd, fmt("calls", s.proxy_cache_hits) + " hits"],
        ["batch", "Batch discount", "savings_usd", s.batch_savings_usd, fmt("calls", s.batch_calls) + " batch calls"],
      ]));
      if (!t.calls) blocks.push(empty("No events in this window matching the filters."));
      const tabs = el("div", { class: "tabs", role: "group", "aria-label": "Top spenders by" },
        el("span", { text: "Top spenders by " }),
        ...data.spenders.choices.map((name) => el("button", { type: "button", "data-spenders": name,
          class: name === data.spenders.by ? "preset active" : "preset", text: name,
          "aria-pressed": name === data.spenders.by ? "true" : "false",
          onclick: () => update({ spenders: name === "team" ? null : name, offset: p.get("offset") }) })));
      blocks.push(buckets(data.bucket), tabs, grid(...data.charts.map((spec) => chart(spec))));
      for (const spec of data.tables) blocks.push(table(spec));
      blocks.push(whatIf(p.get("what_if") || ""));
      return blocks;
    },
    async engineering(signal) {
      const p = params();
      const data = await api("/api/page/engineering", filterQuery({ bucket: p.get("bucket"),
        latency_by: p.get("latency_by"), metric: p.get("metric") }), signal);
      const t = data.totals, e = data.errors;
      return [cards([
        ["error-rate", "Error rate", "error_rate", t.error_rate, fmt("failures", e.failures) + " failed attempts"],
        ["p50-latency", "p50 latency", "p50_latency_ms", t.p50_latency_ms, "p95 " + fmt("p95_latency_ms", t.p95_latency_ms)],
        ["p50-ttft", "p50 time to first token", "p50_ttft_ms", t.p50_ttft_ms, "p95 " + fmt("p95_ttft_ms", t.p95_ttft_ms)],
        ["retries", "Retries", "retries", e.retries, "as LiteLLM reported them"],
        ["fallbacks", "Fallbacks", "fallbacks", e.fallbacks, ""],
        ["client-retries", "Client retries", "client_retries", e.client_retries, fmt("requests", e.requests) + " client requests"],
      ]), t.calls ? null : empty("No events in this window matching the filters."),
      buckets(data.bucket), grid(...data.charts.map((spec) => chart(spec,
        spec.id === "latency-over-time" ? latencyPickers(data.latency) : null))),
      ...data.tables.map((s) => table(s))];
    },
    async segments(signal) {
      const data = await api("/api/page/segments", filterQuery(), signal);
      const blocks = [grid(...data.charts.map((spec) => chart(spec))), ...data.tables.map((s) => table(s))];
      if (!data.tables[0].rows.length) blocks.unshift(empty("No prompt segments in this window matching the filters."));
      return blocks;
    },
    async requests(signal) {
      const p = params();
      const sort = p.get("sort") || "time", dir = p.get("dir") || "desc";
      const offset = Number(p.get("offset") || 0), limit = 50;
      const data = await api("/api/requests", filterQuery({ sort, dir, offset, limit }), signal);
      const blocks = [];
      if (p.get("trace")) blocks.push(await traceView(p.get("trace"), signal));
      const columns = ["time", "status", "provider", "model", "team", "key", "user", "tags",
        "input_tokens", "output_tokens", "cached_tokens", "cost_usd", "latency_ms", "ttft_ms",
        "error", "http_status", "retries", "fallbacks", "trace_id"];
      const last = Math.min(offset + data.rows.length, data.total);
      const pager = el("div", { class: "pager" },
        el("button", { type: "button", id: "prev", disabled: offset <= 0, text: "← newer",
          onclick: () => update({ offset: Math.max(0, offset - limit) || null }) }),
        el("span", { id: "range", text: data.total ? `${(offset + 1).toLocaleString("en-US")}–${last.toLocaleString("en-US")} of ${data.total.toLocaleString("en-US")} call attempts` : "No call attempts in this window matching the filters." }),
        el("button", { type: "button", id: "next", disabled: last >= data.total, text: "older →",
          onclick: () => update({ offset: offset + limit }) }));
      blocks.push(pager, table({ id: "requests", title: "", columns, rows: data.rows,
        notes: ["One row per call attempt; click a row to open its trace. Click a header to sort."] }, {
        sorted: sort === "time" ? "time" : sort, descending: dir !== "asc",
        onsort: (column) => {
          const allowed = ["time", "cost_usd", "latency_ms", "ttft_ms", "input_tokens", "output_tokens", "model", "provider", "team", "status"];
          if (!allowed.includes(column)) return;
          update({ sort: column, dir: sort === column && dir === "desc" ? "asc" : "desc" });
        },
        onrow: (row) => update({ trace: row.trace_id || row.event_id, offset: offset || null }),
      }));
      return blocks;
    },
    async health(signal) {
      const data = await api("/api/page/health", filterQuery(), signal);
      const s = data.status;
      const list = el("dl", { class: "status", id: "status" });
      for (const [key, value] of Object.entries(s)) {
        list.append(el("dt", { text: key }), el("dd", { "data-key": key, text: fmt(key, value) }));
      }
      const engine = el("dl", { class: "status", id: "engine" });
      engine.append(el("dt", { text: "DuckDB memory limit" }), el("dd", { "data-key": "memory_limit", text: data.engine.memory_limit }),
        el("dt", { text: "DuckDB threads" }), el("dd", { "data-key": "threads", text: String(data.engine.threads) }));
      return [notes(data.notes), el("h3", { text: "Data dir" }), list, el("h3", { text: "Server" }), engine,
        ...data.tables.map((t) => table(t))];
    },
    async audit(signal) {
      const data = await api("/api/audit", null, signal);
      const state = el("p", { id: "verified", class: data.verified ? "ok" : "bad",
        text: data.verified ? `Verified: ${data.entries} entries, the hash chain is intact (head ${data.head.slice(0, 16)}…).`
          : `Verification failed: ${data.problems.length} problem(s) in ${data.entries} entries.` });
      const problems = data.problems.length ? table({ id: "problems", title: "Problems",
        columns: ["line", "seq", "problem"], rows: data.problems, notes: [] }) : null;
      return [state, problems, ...data.tables.map((t) => table(t))];
    },
  };

  // The trends' time bucket: automatic (hours for a short window, weeks for a long one)
  // unless one is picked.
  function buckets(bucket) {
    const choices = [["", "auto (" + bucket.by + ")"], ...bucket.choices.map((c) => [c, c])];
    return el("div", { class: "tabs", role: "group", "aria-label": "Trends per" },
      el("span", { text: "Trends per " }),
      ...choices.map(([value, label]) => {
        const active = (bucket.asked || "") === value;
        return el("button", { type: "button", "data-bucket": value, text: label,
          class: active ? "preset active" : "preset", "aria-pressed": active ? "true" : "false",
          onclick: () => update({ bucket: value }) });
      }));
  }

  // Latency over time: which dimension draws the lines, and which quantile of the latency
  // report they show (the defaults, model and p95 latency, leave the URL alone).
  function latencyPickers(latency) {
    function picker(label, key, choices, current, fallback) {
      return el("div", { class: "tabs", role: "group", "aria-label": label },
        el("span", { text: label + " " }),
        ...choices.map(([value, name]) => {
          const active = value === current;
          return el("button", { type: "button", ["data-" + key.replace("_", "-")]: value, text: name,
            class: active ? "preset active" : "preset", "aria-pressed": active ? "true" : "false",
            onclick: () => update({ [key]: value === fallback ? null : value }) });
        }));
    }
    return el("div", { class: "pickers" },
      picker("By", "latency_by", latency.choices.map((c) => [c, c]), latency.by, "model"),
      picker("Showing", "metric", latency.metrics, latency.metric, "p95_latency_ms"));
  }

  async function traceView(id, signal) {
    const close = el("button", { type: "button", class: "close", text: "close", onclick: () => update({ trace: null }) });
    try {
      const data = await api("/api/trace/" + encodeURIComponent(id), null, signal);
      const t = data.totals;
      return el("section", { class: "trace", id: "trace" }, el("h3", { text: data.title }), close,
        cards([["trace-attempts", "Attempts", "calls", t.attempts, t.final_status || ""],
          ["trace-cost", "Cost", "cost_usd", t.cost_usd, ""],
          ["trace-latency", "Latency", "latency_ms", t.latency_ms, ""]]),
        table({ id: "trace-attempts", title: "", columns: Object.keys(data.rows[0] || {}), rows: data.rows, notes: [] }));
    } catch (error) {
      if (error.name === "AbortError") throw error;
      return el("section", { class: "trace", id: "trace" }, el("p", { class: "bad", text: error.message }), close);
    }
  }

  function whatIf(current) {
    const input = el("input", { id: "what-if", list: "what-if-models", value: current,
      placeholder: "a catalog model, e.g. gpt-4o-mini", "aria-label": "Reprice on model", autocomplete: "off" });
    const list = el("datalist", { id: "what-if-models" });
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        try {
          const data = await api("/api/catalog", new URLSearchParams({ q: input.value }));
          list.replaceChildren(...data.models.map((m) => el("option", { value: m })));
        } catch (error) { list.replaceChildren(); }
      }, 150);
    });
    return el("form", { class: "what-if", onsubmit: (event) => {
      event.preventDefault(); update({ what_if: input.value.trim() });
    } }, el("h3", { text: "What if: the same traffic on another model" }), input, list,
    el("button", { type: "submit", text: "Reprice" }));
  }

  // ---------- drawing a page, and keeping it live ----------
  // plotly.js is the deferred script after this one: it has run by DOMContentLoaded (or
  // failed to load, and then the charts are left out). A deferred script runs while the
  // document is "interactive", before that event; "complete" means it has passed.
  const plotlyReady = new Promise((resolve) => {
    if (window.Plotly || document.readyState === "complete") resolve();
    else document.addEventListener("DOMContentLoaded", resolve, { once: true });
  });
  async function render(options) {
    const quiet = options && options.quiet;
    drawFilters();
    if (inflight) inflight.abort();  // the server interrupts the abandoned query
    const controller = new AbortController();
    inflight = controller;
    if (!quiet) body.classList.add("busy");
    try {
      const blocks = await PAGES[page](controller.signal);
      if (controller.signal.aborted) return;
      if (window.Plotly) content.querySelectorAll(".plot").forEach((p) => window.Plotly.purge(p));
      content.replaceChildren(...blocks.filter(Boolean));
      loads += 1;
      body.dataset.loads = String(loads);
    } catch (error) {
      if (error.name === "AbortError") return;
      content.replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
      loads += 1;
      body.dataset.loads = String(loads);
    } finally {
      if (inflight === controller) { inflight = null; body.classList.remove("busy"); }
    }
  }

  async function poll() {
    try {
      const data = await api("/api/version");
      body.dataset.version = data.version;
      if (version === null) {
        version = data.version;
      } else if (data.version !== version && !inflight) {
        // (While a page is loading the change waits for the next poll: that load may
        // have started before it.)
        version = data.version;
        await render({ quiet: true });
      }
    } catch (error) { /* the next poll tries again */ }
    setTimeout(poll, pollMs);
  }

  async function start() {
    // The allow-list comes with the page: the first data request goes out at once.
    dimensions = (body.dataset.dimensions || "").split(",").filter(Boolean);
    for (const name of dimensions) DRILLABLE.add(name);
    for (const link of document.querySelectorAll("nav a[data-page]")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        const keep = filterQuery();
        location.assign(link.getAttribute("href") + (keep.toString() ? "?" + keep : ""));
      });
    }
    window.addEventListener("popstate", () => render());
    await render();
    poll();
  }
  start();
})();
