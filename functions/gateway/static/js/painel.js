/* Painel (admin): the day at a glance from GET /api/dashboard — sales, revenue, average
   ticket against the same weekday last week, by payment method, the top 5 cuts, a bar
   chart by hour (inline SVG: no library), and links to what needs attention (low stock,
   pending PIX, suppliers' bills). A figure whose source is unavailable shows "—". */
window.Acougue.page("painel", function (A, $, h, page) {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const METHOD_ORDER = ["pix", "debit", "credit", "cash", "fiado"];
  const SOURCES = { inventory: "estoque", payables: "contas a pagar", sales: "vendas", payments: "pagamentos" };
  const percent = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 1, minimumFractionDigits: 1, signDisplay: "always" });
  let timer = null;
  let units = null; // product id → "kg" or "un", for the top cuts' quantities

  A.writeDate($("pn-day"), A.today());

  const known = (v) => v !== null && v !== undefined;

  /** "+12,5 %" of now against before; "" when there is nothing to compare with. */
  function change(now, before) {
    if (!known(now) || !known(before) || before === 0) return "";
    return percent.format(((now - before) * 100) / before) + " %";
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }

  /** 24 bars of the day's revenue by hour; each bar's <title> names its hour and figures. */
  function drawHours(hours) {
    const box = A.clear($("pn-chart"));
    const byHour = new Map((hours || []).map((x) => [x.hour, x]));
    const all = Array.from({ length: 24 }, (_, hour) => byHour.get(hour) || { hour, sales_count: 0, revenue_cents: 0 });
    const max = Math.max(1, ...all.map((x) => x.revenue_cents || 0));
    const W = 24 * 30, H = 180, top = 10, bottom = 24;
    const chart = svg("svg", {
      viewBox: `0 0 ${W} ${H}`,
      role: "img",
      "aria-label": "Faturamento por hora do dia",
      preserveAspectRatio: "none",
      class: "hour-svg",
    });
    chart.append(svg("line", { x1: 0, x2: W, y1: H - bottom, y2: H - bottom, class: "axis" }));
    for (const x of all) {
      const height = Math.round(((x.revenue_cents || 0) / max) * (H - top - bottom));
      const bar = svg(
        "rect",
        { x: x.hour * 30 + 4, y: H - bottom - height, width: 22, height: Math.max(height, 0), class: "bar" + (x.sales_count ? "" : " bar-empty"), "data-hour": x.hour },
        svg("title", {}, `${String(x.hour).padStart(2, "0")}h: ${x.sales_count} venda(s), ${A.money(x.revenue_cents)}`)
      );
      chart.append(bar);
      if (x.hour % 3 === 0) chart.append(svg("text", { x: x.hour * 30 + 15, y: H - 6, class: "tick" }, `${String(x.hour).padStart(2, "0")}h`));
    }
    box.append(chart);
    const rows = all
      .filter((x) => x.sales_count)
      .map((x) => h("tr", {}, h("th", { scope: "row" }, `${String(x.hour).padStart(2, "0")}h`), h("td", { class: "num" }, A.number(x.sales_count)), h("td", { class: "num" }, A.money(x.revenue_cents))));
    A.fillRows($("pn-hours"), rows, "Nenhuma venda no dia.");
  }

  function show(d) {
    const last = d.same_weekday_last_week || {};
    const lastTicket = last.sales_count ? Math.round(last.revenue_cents / last.sales_count) : null;
    const before = { sales_count: last.sales_count, revenue_cents: last.revenue_cents, average_ticket_cents: lastTicket };
    for (const card of A.$$("[data-kpi]", page.main)) {
      const key = card.dataset.kpi;
      const value = key === "last_week_revenue" ? last.revenue_cents : d[key];
      card.querySelector(".kpi-value").textContent = !known(value) ? "—" : card.dataset.kind === "money" ? A.money(value) : A.number(value);
      const note = card.querySelector("[data-compare]");
      if (note) {
        const text = change(value, before[key]);
        note.textContent = text ? `${text} vs. semana passada` : "";
        card.classList.toggle("up", text.startsWith("+"));
        card.classList.toggle("down", text.startsWith("-"));
      }
    }
    $("pn-last-count").textContent = known(last.sales_count) ? `${A.number(last.sales_count)} venda(s) em ${A.date(A.addDays(d.date, -7))}` : "";

    for (const el of A.$$("[data-count]", page.main)) {
      const value = d[el.dataset.count];
      el.textContent = known(value) ? A.number(value) : "—";
      el.closest("a").classList.toggle("alert-on", known(value) && value > 0);
    }
    for (const el of A.$$("[data-money]", page.main)) {
      const value = d[el.dataset.money];
      el.textContent = known(value) ? A.money(value) : "—";
      el.closest("a").classList.toggle("alert-on", known(value) && value > 0);
    }
    const gone = d.unavailable || [];
    $("pn-unavailable").hidden = !gone.length;
    $("pn-unavailable").textContent = gone.length ? `Indisponível agora: ${gone.map((s) => SOURCES[s] || s).join(", ")}. Os números afetados aparecem como —.` : "";

    const by = d.by_method || {};
    const total = METHOD_ORDER.reduce((t, k) => t + (by[k] || 0), 0);
    const methods = METHOD_ORDER.filter((k) => known(by[k])).map((k) =>
      h(
        "tr",
        { dataset: { method: k } },
        h("th", { scope: "row" }, A.METHODS[k]),
        h("td", { class: "num" }, A.money(by[k])),
        h("td", { class: "num" }, total ? A.percent(((by[k] * 100) / total).toFixed(1)) : "—")
      )
    );
    A.fillRows($("pn-methods"), methods, "Sem vendas no dia.");

    const top = (d.top_products || []).slice(0, 5).map((p, i) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, `${i + 1}. ${p.name}`),
        h("td", { class: "num" }, A.quantity(p.quantity, p.unit || (units && units.get(p.product_id)))),
        h("td", { class: "num" }, A.money(p.revenue_cents))
      )
    );
    A.fillRows($("pn-top"), top, "Sem vendas no dia.");
    drawHours(d.by_hour);
  }

  async function load() {
    const day = A.readDate($("pn-day"));
    if (day === null) {
      A.say($("pn-msg"), "Data inválida: use dd/mm/aaaa.", "error");
      $("pn-day").focus();
      return;
    }
    try {
      if (!units) {
        const listed = await A.api("GET", "/api/products").catch(() => ({ items: [] }));
        units = new Map(listed.items.map((p) => [p.id, p.unit]));
      }
      const d = await A.api("GET", "/api/dashboard" + (day ? "?date=" + day : ""));
      if (!page.alive) return;
      show(d);
      A.say($("pn-msg"), `Números de ${A.date(d.date || day)}.`, "info");
    } catch (err) {
      if (page.alive) A.say($("pn-msg"), err.message, "error");
    }
  }

  $("pn-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("pn-today").addEventListener("click", () => {
    A.writeDate($("pn-day"), A.today());
    load();
  });
  load();
  // Today's figures move while the shop sells: read again every minute when on today.
  timer = setInterval(() => {
    if (document.visibilityState === "visible" && A.readDate($("pn-day")) === A.today()) load();
  }, 60000);
  return () => clearInterval(timer);
});
