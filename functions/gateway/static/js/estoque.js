/* Estoque: levels with alerts, receipts, losses, counts, desossa, movement history. */
window.Acougue.page("estoque", function (A, $, h, page) {
  "use strict";
  const KINDS = {
    receipt: "Entrada",
    loss: "Perda",
    count: "Contagem",
    breakdown_out: "Desossa (peça)",
    breakdown_in: "Desossa (corte)",
    sale: "Venda",
    refund: "Estorno",
  };
  const REASONS = {
    aparas: "aparas",
    vencimento: "vencimento",
    "quebra de resfriamento": "quebra de resfriamento",
    avaria: "avaria",
    outro: "outro",
  };

  /** Quantity × cost in centavos, half-up, for display (negative stock keeps its sign). */
  function value(quantity, cents) {
    const negative = quantity.startsWith("-");
    const v = A.lineTotal(quantity.replace("-", ""), cents);
    return negative ? -v : v;
  }

  let products = [];
  let levels = [];
  let movementLimit = 25;
  const byId = () => new Map(products.map((p) => [p.id, p]));

  // ------------------------------------------------------------ levels
  async function loadLevels() {
    try {
      const answer = await A.api("GET", "/api/inventory/stock?expiring_within_days=" + $("lv-days").value);
      if (!page.alive) return;
      levels = answer.items;
      renderLevels();
    } catch (err) {
      A.say($("lv-summary"), err.message, "error");
    }
  }

  function badges(s) {
    const out = [];
    if (s.negative) out.push(A.badge("Negativo", "danger"));
    else if (s.low) out.push(A.badge("Baixo", "warn"));
    for (const lot of s.expiring || []) {
      out.push(A.badge(`Vence ${A.date(lot.expires_on)}${lot.lot ? " · lote " + lot.lot : ""} · ${A.quantity(lot.quantity, s.unit)}`, "warn"));
    }
    return out;
  }

  function renderLevels() {
    const text = $("lv-q").value.trim().toLowerCase();
    const alertsOnly = $("lv-alerts").checked;
    const shown = levels
      .filter((s) => !text || (s.name || "").toLowerCase().includes(text))
      .filter((s) => !alertsOnly || s.low || s.negative || (s.expiring || []).length)
      .sort((a, b) => (a.name || "").localeCompare(b.name || "", "pt-BR"));
    // Costs come only to admin and estoquista; for a vendedor their columns go away.
    const withCosts = levels.length ? levels.every((s) => Number.isInteger(s.average_cost_cents)) : A.can("admin", "estoquista");
    const headers = $("lv-rows").closest("table").querySelectorAll("thead th");
    for (const index of [2, 3]) if (headers[index]) headers[index].hidden = !withCosts;
    const rows = shown.map((s) =>
      h(
        "tr",
        { dataset: { product: s.product_id } },
        h("th", { scope: "row" }, s.name || s.product_id),
        h("td", { class: "num strong" }, A.quantity(s.quantity, s.unit)),
        withCosts ? h("td", { class: "num" }, A.money(s.average_cost_cents), h("span", { class: "unit" }, "/" + (s.unit || ""))) : null,
        withCosts ? h("td", { class: "num" }, A.money(value(s.quantity, s.average_cost_cents))) : null,
        h("td", { class: "num" }, s.min_stock && s.min_stock !== "0.000" ? A.quantity(s.min_stock, s.unit) : "—"),
        h("td", {}, badges(s)),
        h(
          "td",
          { class: "actions" },
          h(
            "button",
            { type: "button", class: "btn btn-small btn-quiet", "aria-label": "Movimentações de " + (s.name || ""), onclick: () => showMovements(s.product_id) },
            "Movimentações"
          )
        )
      )
    );
    A.fillRows($("lv-rows"), rows, "Nenhum produto no estoque.");
    const low = levels.filter((s) => s.low && !s.negative).length;
    const negative = levels.filter((s) => s.negative).length;
    const expiring = levels.filter((s) => (s.expiring || []).length).length;
    const total = withCosts ? levels.reduce((sum, s) => sum + value(s.quantity, s.average_cost_cents), 0) : null;
    const worth = total === null ? "" : ` · valor em estoque ${A.money(total)}`;
    A.say($("lv-summary"), `${levels.length} produtos${worth} · ${low} abaixo do mínimo · ${negative} negativos · ${expiring} vencendo`, "info");
  }

  // ------------------------------------------------------------ products
  async function loadProducts() {
    const answer = await A.api("GET", "/api/products");
    products = answer.items.sort((a, b) => a.name.localeCompare(b.name, "pt-BR"));
    const active = products.filter((p) => p.active);
    for (const select of A.$$("select[data-products]", page.main)) {
      const keep = select.value;
      A.productOptions(select, active);
      select.value = keep;
    }
    for (const select of A.$$("select[data-output]", page.main)) {
      const keep = select.value;
      A.productOptions(select, active, "Escolha o corte…");
      select.value = keep;
    }
    const mv = $("mv-product");
    const keep = mv.value;
    A.productOptions(mv, products, "Todos os produtos");
    mv.value = keep;
  }

  // ------------------------------------------------------------ suppliers (a receipt's)
  async function loadSuppliers() {
    let answer;
    try {
      answer = await A.api("GET", "/api/suppliers?active=true&limit=500");
    } catch (_) {
      return; // a receipt without a supplier still works
    }
    if (!page.alive) return;
    const select = $("rc-supplier");
    const keep = select.value;
    A.clear(select).append(h("option", { value: "" }, "Sem fornecedor"));
    for (const s of answer.items.slice().sort((a, b) => a.name.localeCompare(b.name, "pt-BR"))) select.append(h("option", { value: s.id }, s.name));
    select.value = keep;
  }
  function showDue() {
    $("rc-due-field").hidden = $("rc-paid").value !== "payable";
  }
  $("rc-paid").addEventListener("change", showDue);
  showDue();
  loadSuppliers();

  // ------------------------------------------------------------ tabs
  const tabs = A.$$("[role=tab]", page.main);
  function select(tab) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    }
  }
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      const next = tabs[(i + step + tabs.length) % tabs.length];
      select(next);
      next.focus();
    });
  });

  // ------------------------------------------------------------ forms
  const nameOf = (id) => (byId().get(id) || {}).name || "produto";
  const unitOf = (id) => (byId().get(id) || {}).unit || "kg";

  async function afterChange(productId) {
    await loadLevels();
    if (!$("mv-product").value || $("mv-product").value === productId) await loadMovements();
  }

  /** Registers a movement (body), says what it did (said(mv, unit)) on m, empties the
      fields emptied names and reloads what it changed. */
  async function record(m, body, said, emptied) {
    try {
      const mv = await A.api("POST", "/api/inventory/movements", { body });
      A.say(m, said(mv, unitOf(body.product_id)), "ok");
      for (const id of emptied) $(id).value = "";
      await afterChange(body.product_id);
    } catch (err) {
      A.say(m, err.message, "error");
    }
  }

  $("panel-receipt").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("rc-msg");
    const product = $("rc-product").value;
    const qty = A.parseQuantity($("rc-qty").value);
    const cost = A.parseMoney($("rc-cost").value);
    if (A.need(product, m, "Escolha o produto.", $("rc-product"))) return;
    if (A.need(qty, m, "Quantidade inválida: use, por exemplo, 12,500.", $("rc-qty"))) return;
    if (A.need(cost !== null, m, "Custo inválido: use, por exemplo, 38,00.", $("rc-cost"))) return;
    const expires = A.readDate($("rc-expires"));
    if (A.need(expires !== null, m, "Validade inválida: use dd/mm/aaaa.", $("rc-expires"))) return;
    const paidWith = $("rc-paid").value;
    const due = paidWith === "payable" ? A.readDate($("rc-due")) : "";
    if (A.need(due !== null, m, "Vencimento inválido: use dd/mm/aaaa.", $("rc-due"))) return;
    const supplier = $("rc-supplier").value;
    if (A.need(!due || supplier, m, "Escolha o fornecedor da conta a prazo.", $("rc-supplier"))) return;
    const body = { product_id: product, kind: "receipt", quantity: qty, unit_cost_cents: cost, paid_with: paidWith };
    if ($("rc-lot").value.trim()) body.lot = $("rc-lot").value.trim();
    if (expires) body.expires_on = expires;
    if (supplier) body.supplier_id = supplier;
    if (due) body.due_on = due;
    const supplierName = supplier ? $("rc-supplier").selectedOptions[0].textContent : "";
    await record(
      m,
      body,
      (mv, unit) =>
        `Entrada registrada: ${A.quantity(mv.quantity, unit)} de ${nameOf(product)} (${A.money(mv.total_cost_cents)}). Saldo: ${A.quantity(mv.balance_after, unit)}.` +
        (due ? ` Conta a pagar para ${supplierName} com vencimento em ${A.date(due)}.` : supplierName ? ` Fornecedor: ${supplierName}.` : ""),
      ["rc-qty", "rc-cost", "rc-lot", "rc-expires", "rc-due"]
    );
  });

  $("panel-loss").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("ls-msg");
    const product = $("ls-product").value;
    const qty = A.parseQuantity($("ls-qty").value);
    const reason = $("ls-reason").value;
    if (A.need(product, m, "Escolha o produto.", $("ls-product"))) return;
    if (A.need(qty, m, "Quantidade inválida: use, por exemplo, 0,850.", $("ls-qty"))) return;
    if (A.need(reason, m, "Escolha o motivo da perda.", $("ls-reason"))) return;
    await record(
      m,
      { product_id: product, kind: "loss", quantity: qty, reason },
      (mv, unit) => `Perda registrada (${REASONS[reason]}): ${A.quantity(qty, unit)} de ${nameOf(product)}, custo ${A.money(Math.abs(mv.total_cost_cents))}. Saldo: ${A.quantity(mv.balance_after, unit)}.`,
      ["ls-qty"]
    );
  });

  $("panel-count").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("ct-msg");
    const product = $("ct-product").value;
    const qty = A.parseQuantity($("ct-qty").value, { allowZero: true });
    if (A.need(product, m, "Escolha o produto.", $("ct-product"))) return;
    if (A.need(qty, m, "Quantidade inválida: use, por exemplo, 28,000.", $("ct-qty"))) return;
    await record(
      m,
      { product_id: product, kind: "count", quantity: qty },
      (mv, unit) => `Contagem registrada: ajuste de ${A.quantity(mv.quantity, unit)}. Saldo: ${A.quantity(mv.balance_after, unit)}.`,
      ["ct-qty"]
    );
  });

  // ------------------------------------------------------------ desossa
  let outputSeq = 0;
  function addOutput() {
    const n = ++outputSeq;
    const select = h("select", { id: "ds-out-" + n, "data-output": "" });
    A.productOptions(select, products.filter((p) => p.active), "Escolha o corte…");
    const qty = h("input", { id: "ds-outq-" + n, inputmode: "decimal", autocomplete: "off", placeholder: "ex.: 34,500", "data-output-qty": "" });
    const row = h(
      "div",
      { class: "outputs-row" },
      h("div", { class: "field" }, h("label", { for: "ds-out-" + n }, "Corte"), select),
      h("div", { class: "field" }, h("label", { for: "ds-outq-" + n }, "Peso (kg)"), qty),
      h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": "Remover este corte", onclick: () => row.remove() }, "Remover")
    );
    $("ds-outputs").append(row);
    return row;
  }
  $("ds-add").addEventListener("click", () => {
    const row = addOutput();
    row.querySelector("select").focus();
  });

  $("panel-desossa").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("ds-msg");
    const source = $("ds-source").value;
    const qty = A.parseQuantity($("ds-qty").value);
    if (A.need(source, m, "Escolha a peça.", $("ds-source"))) return;
    if (A.need(qty, m, "Peso da peça inválido: use, por exemplo, 100,000.", $("ds-qty"))) return;
    const outputs = [];
    for (const row of A.$$(".outputs-row", $("ds-outputs"))) {
      const product = row.querySelector("select").value;
      const raw = row.querySelector("input").value;
      if (!product && !raw.trim()) continue;
      const q = A.parseQuantity(raw);
      if (A.need(product, m, "Escolha o produto de cada corte.", row.querySelector("select"))) return;
      if (A.need(q, m, "Peso de corte inválido: use, por exemplo, 34,500.", row.querySelector("input"))) return;
      outputs.push({ product_id: product, quantity: q });
    }
    if (A.need(outputs.length, m, "Informe ao menos um corte.", $("ds-add"))) return;
    try {
      const result = await A.api("POST", "/api/inventory/breakdowns", {
        body: { source_product_id: source, source_quantity: qty, outputs, cost_allocation: $("ds-alloc").value },
      });
      A.say(m, "Desossa registrada.", "ok");
      showBreakdown(result);
      await afterChange(source);
    } catch (err) {
      A.say(m, err.message, "error");
    }
  });

  function showBreakdown(r) {
    const box = $("ds-result");
    const unit = unitOf(r.source_product_id);
    const produced = r.outputs.reduce((sum, o) => sum + A.thousandths(o.quantity), 0n);
    const rows = r.outputs.map((o) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, nameOf(o.product_id)),
        h("td", { class: "num" }, A.quantity(o.quantity, unit)),
        h("td", { class: "num" }, A.money(o.unit_cost_cents), h("span", { class: "unit" }, "/" + unit)),
        h("td", { class: "num strong" }, A.money(o.total_cost_cents))
      )
    );
    A.clear(box).append(
      h("h3", {}, `Desossa de ${A.quantity(r.source_quantity, unit)} de ${nameOf(r.source_product_id)}`),
      h(
        "dl",
        { class: "total-detail result-figures" },
        h("div", {}, h("dt", {}, "Rendimento"), h("dd", { class: "strong", id: "ds-yield" }, A.percent(r.yield_percent))),
        h("div", {}, h("dt", {}, "Cortes"), h("dd", {}, A.quantity(A.fromThousandths(produced), unit))),
        h("div", {}, h("dt", {}, "Perda (aparas)"), h("dd", {}, A.quantity(r.loss_quantity, unit))),
        h("div", {}, h("dt", {}, "Custo da peça"), h("dd", {}, A.money(r.source_cost_cents))),
        h("div", {}, h("dt", {}, "Rateio"), h("dd", {}, r.cost_allocation === "value" ? "por valor de venda" : "por peso"))
      ),
      A.table("Custos dos cortes", ["Corte", "Peso", "Custo unitário", "Custo total"], rows)
    );
    box.hidden = false;
  }

  // ------------------------------------------------------------ movements
  async function loadMovements() {
    const product = $("mv-product").value;
    const query = `/api/inventory/movements?limit=${movementLimit}` + (product ? "&product_id=" + product : "");
    try {
      const answer = await A.api("GET", query);
      if (!page.alive) return;
      const known = byId();
      const rows = answer.items.map((mv) => {
        const p = known.get(mv.product_id) || {};
        const details = [];
        if (mv.reason) details.push("motivo: " + mv.reason);
        if (mv.lot) details.push("lote " + mv.lot);
        if (mv.expires_on) details.push("validade " + A.date(mv.expires_on));
        if (mv.cause_type === "sale" && mv.cause_id) details.push("venda " + mv.cause_id.slice(0, 8));
        return h(
          "tr",
          {},
          h("td", {}, A.dateTime(mv.created_at)),
          h("td", {}, p.name || mv.product_id.slice(0, 8)),
          h("td", {}, KINDS[mv.kind] || mv.kind),
          h("td", { class: "num" }, A.quantity(mv.quantity, p.unit)),
          h("td", { class: "num" }, A.money(mv.unit_cost_cents)),
          h("td", { class: "num" }, A.money(mv.total_cost_cents)),
          h("td", { class: "num" }, A.quantity(mv.balance_after, p.unit)),
          h("td", {}, details.join(" · ") || "—")
        );
      });
      A.fillRows($("mv-rows"), rows, "Nenhuma movimentação.");
      $("mv-more").hidden = answer.items.length < movementLimit || movementLimit >= 1000;
    } catch (err) {
      A.fillRows($("mv-rows"), [], err.message);
    }
  }
  $("mv-more").addEventListener("click", () => {
    movementLimit = Math.min(movementLimit * 4, 1000);
    loadMovements();
  });
  function showMovements(productId) {
    $("mv-product").value = productId;
    loadMovements();
    $("mv-title").scrollIntoView({ block: "start" });
  }
  $("mv-product").addEventListener("change", () => {
    movementLimit = 25;
    loadMovements();
  });

  // The Painel's "Estoque baixo" link opens the alerts only.
  if (new URLSearchParams(location.search).get("alertas")) $("lv-alerts").checked = true;
  $("lv-q").addEventListener("input", renderLevels);
  $("lv-alerts").addEventListener("change", renderLevels);
  $("lv-days").addEventListener("change", loadLevels);
  $("lv-refresh").addEventListener("click", () => {
    loadLevels();
    loadMovements();
  });

  loadProducts()
    .then(() => {
      for (let i = 0; i < 3; i++) addOutput();
    })
    .catch((err) => A.toast(err.message, "error"))
    .then(() => Promise.all([loadLevels(), loadMovements()]));
});
