/* Vendas: the list by period and status, a sale's detail, its receipt, and (admin)
   cancel/refund and returning part of a paid sale. A vendedor sees only their own sales
   (the API answers only those) and may cancel one not yet paid. */
window.Acougue.page("vendas", function (A, $, h, page) {
  "use strict";
  const dialog = $("sl-dialog");
  const detail = $("sl-detail");
  const msg = $("sl-msg");
  const cancelButton = $("sl-cancel");
  const confirmButton = $("sl-confirm");
  const printButton = $("sl-print");
  const returnButton = $("sl-return");
  const returnForm = $("rt-form");
  const UNPAID = ["pending_payment", "payment_failed"];
  let current = null;
  let watch = null;
  // The last return sent: sent again unchanged (after a lost answer or a busy system) it
  // keeps its Idempotency-Key, so return-sale answers the return it made, not a second one.
  let returnSubmission = null;

  const today = A.today();
  A.writeDate($("sl-from"), A.addDays(today, -6));
  A.writeDate($("sl-to"), today);
  // The Painel's "PIX pendentes" link opens the sales awaiting payment.
  const wantedStatus = new URLSearchParams(location.search).get("situacao");
  if (wantedStatus && A.SALE_STATUS[wantedStatus]) $("sl-status").value = wantedStatus;

  async function load() {
    const params = new URLSearchParams();
    const from = A.readDate($("sl-from"));
    const to = A.readDate($("sl-to"));
    if (from === null || to === null) {
      A.say($("sl-summary"), "Data inválida: use dd/mm/aaaa.", "error");
      (from === null ? $("sl-from") : $("sl-to")).focus();
      return;
    }
    if (from) params.set("from", from);
    if (to) params.set("to", to);
    if ($("sl-status").value) params.set("status", $("sl-status").value);
    params.set("limit", "500");
    try {
      const answer = await A.api("GET", "/api/sales?" + params.toString());
      if (!page.alive) return;
      const sales = answer.items;
      A.fillRows($("sl-rows"), sales.map(row), "Nenhuma venda no período.");
      const paid = sales.filter((s) => s.status === "paid");
      const sum = paid.reduce((total, s) => total + s.total_cents, 0);
      A.say($("sl-summary"), `${sales.length} venda(s) · ${paid.length} paga(s) somando ${A.money(sum)}`, "info");
    } catch (err) {
      A.say($("sl-summary"), err.message, "error");
    }
  }

  function payment(s) {
    const p = s.payment || {};
    let text = A.METHODS[p.method] || p.method || "—";
    if (p.method === "credit" && p.installments) text += ` ${p.installments}x`;
    if (p.method === "fiado" && s.customer_name) text += ` · ${s.customer_name}`;
    return text;
  }

  function row(s) {
    return h(
      "tr",
      { dataset: { sale: s.id } },
      h("td", {}, A.dateTime(s.created_at)),
      h("td", {}, h("code", {}, s.id.slice(0, 8))),
      h("td", { class: "num" }, String(s.items.length)),
      h("td", {}, payment(s)),
      h("td", { class: "num strong" }, A.money(s.total_cents)),
      h("td", {}, A.statusBadge(s.status), s.returned_cents ? A.badge("Devolução " + A.money(s.returned_cents), "warn") : null),
      h("td", { class: "actions" }, h("button", { type: "button", class: "btn btn-small", "aria-label": "Ver venda " + s.id.slice(0, 8), onclick: () => open(s.id) }, "Ver"))
    );
  }

  function renderDetail(s) {
    const p = s.payment || {};
    const items = s.items.map((i) =>
      h(
        "tr",
        {},
        h("td", {}, i.name),
        h("td", { class: "num" }, A.quantity(i.quantity, i.unit)),
        h("td", { class: "num" }, A.money(i.unit_price_cents)),
        h("td", { class: "num" }, A.money(i.total_cents))
      )
    );
    const facts = [
      ["Data", A.dateTime(s.created_at)],
      ["Situação", A.statusBadge(s.status)],
      ["Pagamento", payment(s) + (p.status ? ` (${{ pending: "pendente", approved: "aprovado", declined: "recusado", refunded: "estornado" }[p.status] || p.status})` : "")],
      ["Subtotal", A.money(s.subtotal_cents)],
      ["Desconto", A.money(s.discount_cents)],
      ["Total", A.money(s.total_cents)],
    ];
    if (p.cash_received_cents !== null && p.cash_received_cents !== undefined) facts.push(["Recebido", A.money(p.cash_received_cents)]);
    if (p.change_cents !== null && p.change_cents !== undefined) facts.push(["Troco", A.money(p.change_cents)]);
    if (p.fee_cents) facts.push(["Taxa do cartão", A.money(p.fee_cents)]);
    if (p.reason) facts.push(["Motivo da recusa", p.reason]);
    if (p.pix) facts.push(["PIX txid", h("code", {}, p.pix.txid)]);
    if (s.attempt > 1) facts.push(["Tentativas de pagamento", String(s.attempt)]);
    if (p.method === "fiado" && s.customer_name) facts.push(["Cliente (fiado)", s.customer_name]);
    if (s.returned_cents) facts.push(["Devolvido", A.money(s.returned_cents)]);
    const returns = (s.returns || []).map((r) =>
      h(
        "tr",
        {},
        h("td", {}, A.dateTime(r.at)),
        h("td", {}, r.items.map((i) => `${i.name} ${A.quantity(i.quantity, unitOf(s, i.product_id))}`).join("; ")),
        h("td", {}, r.reason),
        h("td", { class: "num strong" }, A.money(r.refund_cents))
      )
    );
    A.clear(detail).append(
      h("dl", { class: "total-detail facts" }, facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
      A.table("Itens da venda", ["Produto", "Quantidade", "Preço", "Total"], items),
      returns.length ? h("h3", {}, "Devoluções") : null,
      returns.length ? returnsTable(returns) : null
    );
    $("sl-dialog-title").textContent = "Venda " + s.id.slice(0, 8);
    const me = A.session.user || {};
    const cancellable = A.can("admin")
      ? ["pending_payment", "payment_failed", "paid"].includes(s.status) && !s.returned_cents
      : A.can("vendedor") && UNPAID.includes(s.status) && s.seller_id === me.id;
    cancelButton.hidden = !cancellable;
    cancelButton.textContent = s.status === "paid" ? "Cancelar e estornar" : "Cancelar venda";
    confirmButton.hidden = true;
    printButton.hidden = s.status !== "paid";
    returnButton.hidden = !(A.can("admin") && s.status === "paid" && returnable(s).some((r) => r.left > 0n));
    returnForm.hidden = true;
  }

  function returnsTable(rows) {
    const heads = ["Data", "Itens", "Motivo", "Estorno"].map((text, i) => h("th", { scope: "col", class: i === 3 ? "num" : null }, text));
    return h("div", { class: "table-wrap" }, h("table", { "aria-label": "Devoluções da venda" }, h("thead", {}, h("tr", {}, heads)), h("tbody", {}, rows)));
  }

  function unitOf(s, productId) {
    const item = s.items.find((i) => i.product_id === productId);
    return item ? item.unit : "kg";
  }

  /** Per product: its name, unit, sold and returned so far (thousandths), and what is left. */
  function returnable(s) {
    const byProduct = new Map();
    for (const i of s.items) {
      const r = byProduct.get(i.product_id) || { product_id: i.product_id, name: i.name, unit: i.unit, sold: 0n, returned: 0n };
      r.sold += A.thousandths(i.quantity);
      byProduct.set(i.product_id, r);
    }
    for (const ret of s.returns || []) {
      for (const i of ret.items) {
        const r = byProduct.get(i.product_id);
        if (r) r.returned += A.thousandths(i.quantity);
      }
    }
    return Array.from(byProduct.values()).map((r) => Object.assign(r, { left: r.sold - r.returned }));
  }

  function openReturn() {
    const rows = returnable(current).map((r) =>
      h(
        "tr",
        { dataset: { product: r.product_id } },
        h("td", {}, r.name),
        h("td", { class: "num" }, A.quantity(A.fromThousandths(r.sold), r.unit)),
        h("td", { class: "num" }, r.returned ? A.quantity(A.fromThousandths(r.returned), r.unit) : "—"),
        h(
          "td",
          { class: "num" },
          h("input", {
            class: "return-qty",
            inputmode: "decimal",
            autocomplete: "off",
            placeholder: r.unit === "un" ? "0" : "0,000",
            "aria-label": `Devolver ${r.name} (${r.unit})`,
            disabled: r.left <= 0n,
            dataset: { product: r.product_id },
          })
        )
      )
    );
    A.fillRows($("rt-rows"), rows);
    $("rt-reason").value = "";
    A.say(msg, "");
    returnForm.hidden = false;
    returnButton.hidden = true;
    cancelButton.hidden = true;
    const first = returnForm.querySelector("input.return-qty:not([disabled])");
    if (first) first.focus();
  }

  returnButton.addEventListener("click", openReturn);
  $("rt-cancel").addEventListener("click", () => {
    if (current) renderDetail(current);
  });
  returnForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current) return;
    const lines = returnable(current);
    const items = [];
    for (const field of A.$$("input.return-qty", returnForm)) {
      const text = field.value.trim();
      if (!text || field.disabled) continue;
      const line = lines.find((l) => l.product_id === field.dataset.product);
      const quantity = A.parseQuantity(text, { allowZero: true });
      if (A.need(quantity !== null, msg, `Quantidade inválida para ${line.name}: use, por exemplo, 1,250.`, field)) return;
      if (/^0\.000$/.test(quantity)) continue;
      if (A.need(line.unit !== "un" || /\.000$/.test(quantity), msg, `${line.name} é vendido por unidade: use quantidades inteiras.`, field)) return;
      if (A.need(A.thousandths(quantity) <= line.left, msg, `${line.name}: no máximo ${A.quantity(A.fromThousandths(line.left), line.unit)} a devolver.`, field)) return;
      items.push({ product_id: line.product_id, quantity });
    }
    if (A.need(items.length, msg, "Informe a quantidade de ao menos um produto.", returnForm.querySelector("input.return-qty:not([disabled])"))) return;
    const reason = $("rt-reason").value.trim();
    if (A.need(reason, msg, "Informe o motivo da devolução.", $("rt-reason"))) return;
    const submit = $("rt-submit");
    submit.disabled = true;
    const id = current.id;
    const body = { items, reason };
    const json = JSON.stringify(body);
    if (!returnSubmission || returnSubmission.sale !== id || returnSubmission.json !== json) {
      returnSubmission = { sale: id, json, key: A.uuid() };
    }
    try {
      const done = await A.api("POST", `/api/sales/${id}/returns`, { body, headers: { "Idempotency-Key": returnSubmission.key } });
      returnSubmission = null;
      let sale = current;
      try {
        sale = await A.api("GET", `/api/sales/${id}`);
      } catch (_) {
        /* the return is made; the detail is shown as it was */
      }
      if (!page.alive || !current || current.id !== id) return;
      current = sale;
      renderDetail(sale);
      A.say(msg, `Devolução registrada: ${A.money(done.refund_cents)} estornado(s) (${A.METHODS[done.method] || done.method}).`, "ok");
      load();
    } catch (err) {
      const again = A.busy(err) || err.network || err.status >= 500;
      A.say(msg, err.message + (again ? " Confirme de novo: a mesma devolução não será feita duas vezes." : ""), "error");
    } finally {
      submit.disabled = false;
    }
  });

  printButton.addEventListener("click", async () => {
    if (!current) return;
    printButton.disabled = true;
    try {
      await A.printReceipt(current.id);
      A.say(msg, "Cupom enviado para a impressão.", "info");
    } catch (err) {
      A.say(msg, "Cupom não impresso: " + err.message, "error");
    } finally {
      printButton.disabled = false;
    }
  });

  async function open(id) {
    try {
      current = await A.api("GET", `/api/sales/${id}`);
    } catch (err) {
      A.say($("sl-summary"), err.message, "error");
      return;
    }
    A.say(msg, "");
    renderDetail(current);
    if (!dialog.open) dialog.showModal();
  }

  cancelButton.addEventListener("click", () => {
    cancelButton.hidden = true;
    confirmButton.hidden = false;
    returnButton.hidden = true;
    A.say(msg, current.status === "paid" ? "O valor será estornado e o estoque devolvido." : "A venda será cancelada.", "info");
    confirmButton.focus();
  });
  confirmButton.addEventListener("click", async () => {
    confirmButton.disabled = true;
    try {
      await A.api("POST", `/api/sales/${current.id}/cancel`);
      A.say(msg, "Cancelamento pedido. Aguardando a confirmação…", "info");
      confirmButton.hidden = true;
      const id = current.id;
      const started = Date.now();
      const step = async () => {
        if (!page.alive || !current || current.id !== id) return;
        const sale = await A.api("GET", `/api/sales/${id}`);
        current = sale;
        if (["cancelled", "refunded"].includes(sale.status)) {
          renderDetail(sale);
          A.say(msg, sale.status === "refunded" ? "Venda estornada." : "Venda cancelada.", "ok");
          load();
        } else if (Date.now() - started < 30000) {
          watch = setTimeout(step, 1000);
        }
      };
      watch = setTimeout(step, 500);
    } catch (err) {
      A.say(msg, err.message, "error");
    } finally {
      confirmButton.disabled = false;
    }
  });
  $("sl-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    clearTimeout(watch);
    current = null;
  });

  $("sl-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  load();
  const wanted = new URLSearchParams(location.search).get("venda");
  if (wanted && /^[0-9a-f-]{36}$/i.test(wanted)) open(wanted);

  return () => {
    clearTimeout(watch);
  };
});
