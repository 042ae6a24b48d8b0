/* Vendas: the list by period and status, a sale's detail, and (admin) cancel/refund.
   A vendedor sees only their own sales: the API answers only those. */
window.Acougue.page("vendas", function (A, $, h, page) {
  "use strict";
  const dialog = $("sl-dialog");
  const detail = $("sl-detail");
  const msg = $("sl-msg");
  const cancelButton = $("sl-cancel");
  const confirmButton = $("sl-confirm");
  let current = null;
  let watch = null;

  const today = A.today();
  A.writeDate($("sl-from"), A.addDays(today, -6));
  A.writeDate($("sl-to"), today);

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
      h("td", {}, A.statusBadge(s.status)),
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
    A.clear(detail).append(
      h("dl", { class: "total-detail facts" }, facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
      A.table("Itens da venda", ["Produto", "Quantidade", "Preço", "Total"], items)
    );
    $("sl-dialog-title").textContent = "Venda " + s.id.slice(0, 8);
    const cancellable = ["pending_payment", "payment_failed", "paid"].includes(s.status);
    cancelButton.hidden = !(A.can("admin") && cancellable);
    cancelButton.textContent = s.status === "paid" ? "Cancelar e estornar" : "Cancelar venda";
    confirmButton.hidden = true;
  }

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
