/* Fornecedores (admin and estoquista): search, register, edit and (de)activate suppliers.
   An admin also sees the suppliers' bills (receipts bought "a prazo"): open and paid,
   overdue ones highlighted, and pays a bill whole or in part. The API checks every role
   again: GET /api/finance/payables answers an admin only. */
window.Acougue.page("fornecedores", function (A, $, h, page) {
  "use strict";
  const isAdmin = A.can("admin");
  const q = $("sup-q");
  const inactive = $("sup-inactive");
  const msg = $("sup-msg");
  const editDialog = $("se-dialog");
  const editMsg = $("se-msg");
  const payDialog = $("pp-dialog");
  const payMsg = $("pp-msg");
  let suppliers = [];
  let bills = [];
  let editing = null;
  let paying = null;
  // The last payment sent: sent again unchanged (a lost answer, a busy system) it keeps its
  // Idempotency-Key, so the bill is paid once.
  let paySubmission = null;
  let typing = null;

  /** 11.222.333/0001-81 from the API's 14 digits (anything else as it is). */
  function cnpj(digits) {
    if (!digits) return "—";
    const d = String(digits);
    return /^\d{14}$/.test(d) ? `${d.slice(0, 2)}.${d.slice(2, 5)}.${d.slice(5, 8)}/${d.slice(8, 12)}-${d.slice(12)}` : d;
  }

  /** The open amount per supplier, from the open bills (admin only). */
  function openBy() {
    const by = new Map();
    for (const b of bills) if (b.status !== "paid") by.set(b.supplier_id, (by.get(b.supplier_id) || 0) + b.open_cents);
    return by;
  }

  async function load() {
    const params = new URLSearchParams();
    const text = q.value.trim();
    if (text) params.set("q", text);
    if (!inactive.checked) params.set("active", "true");
    try {
      const answer = await A.api("GET", "/api/suppliers?" + params.toString());
      if (!page.alive) return;
      suppliers = answer.items;
      render();
    } catch (err) {
      A.say(msg, err.message, "error");
    }
  }

  function render() {
    const open = openBy();
    const rows = suppliers.map((s) => {
      const buttons = [
        isAdmin ? h("button", { type: "button", class: "btn btn-small", "aria-label": "Contas de " + s.name, onclick: () => showBills(s.id) }, "Contas") : null,
        h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": "Editar " + s.name, onclick: () => openEdit(s) }, "Editar"),
        h(
          "button",
          { type: "button", class: "btn btn-small btn-quiet", "aria-label": (s.active ? "Desativar " : "Reativar ") + s.name, onclick: () => setActive(s, !s.active) },
          s.active ? "Desativar" : "Reativar"
        ),
      ];
      return h(
        "tr",
        { dataset: { supplier: s.id } },
        h("td", { class: "strong" }, s.name),
        h("td", {}, cnpj(s.cnpj)),
        h("td", {}, s.phone || "—"),
        h("td", { class: "num" }, isAdmin ? A.money(open.get(s.id) || 0) : "—"),
        h("td", {}, s.active ? A.badge("Ativo", "ok") : A.badge("Inativo", "neutral")),
        h("td", { class: "actions" }, buttons)
      );
    });
    A.fillRows($("sup-rows"), rows, q.value.trim() ? "Nenhum fornecedor encontrado." : "Nenhum fornecedor cadastrado.");
    // The bills' supplier filter lists every supplier shown.
    const select = $("pay-supplier");
    const keep = select.value;
    A.clear(select).append(h("option", { value: "" }, "Todos"));
    for (const s of suppliers) select.append(h("option", { value: s.id }, s.name));
    select.value = keep;
    if (select.value !== keep) select.value = "";
  }

  // ------------------------------------------------------------------ register
  $("sn-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("sn-msg");
    const name = $("sn-name").value.trim();
    if (A.need(name, m, "Informe o nome do fornecedor.", $("sn-name"))) return;
    const body = { name };
    const doc = $("sn-cnpj").value.trim();
    if (doc) {
      const digits = doc.replace(/[.\-/\s]/g, "");
      if (A.need(/^\d{14}$/.test(digits), m, "CNPJ inválido: informe os 14 dígitos.", $("sn-cnpj"))) return;
      body.cnpj = digits;
    }
    const phone = $("sn-phone").value.trim();
    if (phone) body.phone = phone;
    const button = $("sn-form").querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const saved = await A.api("POST", "/api/suppliers", { body });
      A.say(m, `Fornecedor ${saved.name} cadastrado.`, "ok");
      for (const id of ["sn-name", "sn-cnpj", "sn-phone"]) $(id).value = "";
      q.value = "";
      await load();
      $("sn-name").focus();
    } catch (err) {
      A.say(m, err.message, "error");
    } finally {
      button.disabled = false;
    }
  });

  // ------------------------------------------------------------------ edit
  function openEdit(s) {
    editing = s;
    $("se-title").textContent = "Editar " + s.name;
    $("se-name").value = s.name;
    $("se-cnpj").value = s.cnpj ? cnpj(s.cnpj) : "";
    $("se-phone").value = s.phone || "";
    $("se-active").checked = !!s.active;
    A.say(editMsg, "");
    editDialog.showModal();
    $("se-name").focus();
  }

  $("se-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!editing) return;
    const changed = {};
    const name = $("se-name").value.trim();
    if (A.need(name, editMsg, "Informe o nome do fornecedor.", $("se-name"))) return;
    if (name !== editing.name) changed.name = name;
    const digits = $("se-cnpj").value.trim().replace(/[.\-/\s]/g, "");
    if (A.need(!digits || /^\d{14}$/.test(digits), editMsg, "CNPJ inválido: informe os 14 dígitos.", $("se-cnpj"))) return;
    if (digits !== (editing.cnpj || "")) changed.cnpj = digits || null;
    const phone = $("se-phone").value.trim();
    if (phone !== (editing.phone || "")) changed.phone = phone || null;
    if ($("se-active").checked !== !!editing.active) changed.active = $("se-active").checked;
    if (!Object.keys(changed).length) {
      editDialog.close();
      return;
    }
    $("se-save").disabled = true;
    try {
      const saved = await A.api("PATCH", `/api/suppliers/${editing.id}`, { body: changed });
      editDialog.close();
      A.say(msg, `${(saved && saved.name) || name} atualizado.`, "ok");
      await load();
    } catch (err) {
      A.say(editMsg, err.message, "error");
    } finally {
      $("se-save").disabled = false;
    }
  });
  $("se-cancel").addEventListener("click", () => editDialog.close());
  editDialog.addEventListener("close", () => {
    editing = null;
  });

  async function setActive(s, active) {
    try {
      await A.api("PATCH", `/api/suppliers/${s.id}`, { body: { active } });
      A.say(msg, `${s.name} ${active ? "reativado" : "desativado"}.`, "ok");
      await load();
    } catch (err) {
      A.say(msg, err.message, "error");
    }
  }

  // ------------------------------------------------------------------ bills (admin)
  async function loadBills() {
    if (!isAdmin) return;
    const params = new URLSearchParams();
    if ($("pay-status").value) params.set("status", $("pay-status").value);
    if ($("pay-supplier").value) params.set("supplier_id", $("pay-supplier").value);
    let shown;
    try {
      const [answer, open] = await Promise.all([
        A.api("GET", "/api/finance/payables?" + params.toString()),
        // The suppliers' open totals, whatever the bills' filter.
        A.api("GET", "/api/finance/payables?status=open"),
      ]);
      if (!page.alive) return;
      shown = answer.items;
      bills = open.items;
    } catch (err) {
      A.say($("pay-summary"), err.message, "error");
      return;
    }
    const rows = shown.map((b) => {
      const overdue = b.overdue && b.status !== "paid";
      const status = b.status === "paid" ? A.badge("Paga", "ok") : overdue ? A.badge("Vencida", "danger") : b.paid_cents ? A.badge("Paga em parte", "warn") : A.badge("Em aberto", "neutral");
      return h(
        "tr",
        { class: overdue ? "overdue" : null, dataset: { payable: b.id } },
        h("td", { class: "strong" }, b.supplier_name || "—"),
        h("td", {}, A.dateTime(b.received_at), b.product_name ? h("span", { class: "tag" }, " · " + b.product_name) : null),
        h("td", {}, A.date(b.due_on)),
        h("td", { class: "num" }, A.money(b.amount_cents)),
        h("td", { class: "num" }, A.money(b.paid_cents)),
        h("td", { class: "num strong" }, A.money(b.open_cents)),
        h("td", {}, status),
        h(
          "td",
          { class: "actions" },
          b.status === "paid" || !b.open_cents
            ? null
            : h("button", { type: "button", class: "btn btn-small btn-primary", "aria-label": `Pagar conta de ${b.supplier_name || ""} com vencimento em ${A.date(b.due_on)}`, onclick: () => openPay(b) }, "Pagar")
        )
      );
    });
    A.fillRows($("pay-rows"), rows, "Nenhuma conta.");
    const openTotal = bills.reduce((t, b) => t + b.open_cents, 0);
    const late = bills.filter((b) => b.overdue);
    A.say(
      $("pay-summary"),
      `${bills.length} conta(s) em aberto somando ${A.money(openTotal)}` + (late.length ? ` · ${late.length} vencida(s): ${A.money(late.reduce((t, b) => t + b.open_cents, 0))}` : ""),
      late.length ? "error" : "info"
    );
    render();
  }

  function showBills(supplierId) {
    $("pay-supplier").value = supplierId;
    loadBills();
    $("pay-title").scrollIntoView({ block: "start" });
  }

  function openPay(b) {
    paying = b;
    $("pp-title").textContent = `Pagar conta de ${b.supplier_name || "fornecedor"}`;
    $("pp-amount-total").textContent = A.money(b.amount_cents);
    $("pp-paid").textContent = A.money(b.paid_cents);
    $("pp-open").textContent = A.money(b.open_cents);
    $("pp-due").textContent = A.date(b.due_on);
    $("pp-amount").value = A.moneyInput(b.open_cents);
    A.writeDate($("pp-date"), A.today());
    A.say(payMsg, "");
    payDialog.showModal();
    $("pp-amount").focus();
    $("pp-amount").select();
  }

  $("pp-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!paying) return;
    const amount = A.parseMoney($("pp-amount").value);
    if (A.need(amount !== null && amount > 0, payMsg, "Valor inválido: use, por exemplo, 500,00.", $("pp-amount"))) return;
    if (A.need(amount <= paying.open_cents, payMsg, `O valor é maior que o aberto na conta (${A.money(paying.open_cents)}).`, $("pp-amount"))) return;
    const paidOn = A.readDate($("pp-date"));
    if (A.need(paidOn, payMsg, "Informe a data do pagamento (dd/mm/aaaa).", $("pp-date"))) return;
    const body = { amount_cents: amount, paid_with: $("pp-with").value, paid_on: paidOn };
    const json = JSON.stringify([paying.id, body]);
    if (!paySubmission || paySubmission.json !== json) paySubmission = { json, key: A.uuid() };
    $("pp-save").disabled = true;
    try {
      await A.api("POST", `/api/finance/payables/${paying.id}/payments`, { body, headers: { "Idempotency-Key": paySubmission.key } });
      paySubmission = null;
      const left = paying.open_cents - amount;
      payDialog.close();
      A.say($("pay-summary"), `Pagamento de ${A.money(amount)} registrado. ${left ? "Em aberto: " + A.money(left) + "." : "Conta quitada."}`, "ok");
      const said = $("pay-summary").textContent;
      await loadBills();
      A.say($("pay-summary"), said, "ok");
    } catch (err) {
      // The same payment sent again keeps its Idempotency-Key: the bill is paid once.
      A.say(payMsg, A.unsure(err) ? err.message + " Envie de novo: o mesmo pagamento é registrado uma vez só." : err.message, "error");
    } finally {
      $("pp-save").disabled = false;
    }
  });
  $("pp-cancel").addEventListener("click", () => payDialog.close());
  payDialog.addEventListener("close", () => {
    paying = null;
  });

  $("pay-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadBills();
  });
  $("pay-status").addEventListener("change", loadBills);
  $("pay-supplier").addEventListener("change", loadBills);

  // ------------------------------------------------------------------ search
  $("sup-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  inactive.addEventListener("change", load);
  q.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(load, 250);
  });

  load().then(() => (isAdmin ? loadBills() : null));

  return () => {
    clearTimeout(typing);
  };
});
