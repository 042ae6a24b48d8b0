/* Clientes: search (name, phone, CPF), register, edit (an admin: the fiado limit and
   active), a customer's statement and receiving a payment on their account. The API checks
   every role again: a vendedor sending a limit is refused (403) there too. */
window.Acougue.page("clientes", function (A, $, h, page) {
  "use strict";
  const isAdmin = A.can("admin");
  const q = $("cu-q");
  const inactive = $("cu-inactive");
  const rows = $("cu-rows");
  const msg = $("cu-msg");
  const createForm = $("cn-form");
  const createMsg = $("cn-msg");
  const editDialog = $("ce-dialog");
  const editMsg = $("ce-msg");
  const stDialog = $("st-dialog");
  const payForm = $("sp-form");
  const payMsg = $("sp-msg");
  const KINDS = { sale: "Compra no fiado", payment: "Pagamento", refund: "Devolução" };
  let editing = null;
  let shown = null; // the customer whose statement is open
  let statement = null;
  // The last payment sent: sent again unchanged (after a lost answer or a busy system) it
  // keeps its Idempotency-Key, so the account goes down once.
  let paySubmission = null;
  let typing = null;

  if (!isAdmin) inactive.closest("label").hidden = true;

  async function load() {
    const params = new URLSearchParams();
    const text = q.value.trim();
    if (text) params.set("q", text);
    if (!inactive.checked) params.set("active", "true");
    params.set("limit", "200");
    try {
      const answer = await A.api("GET", "/api/customers?" + params.toString());
      if (!page.alive) return;
      A.fillRows(rows, answer.items.map(row), text ? "Nenhum cliente encontrado." : "Nenhum cliente cadastrado.");
      $("cu-count").textContent = `${answer.items.length} cliente(s).`;
    } catch (err) {
      A.say(msg, err.message, "error");
    }
  }

  function row(c) {
    const buttons = [
      h("button", { type: "button", class: "btn btn-small", "aria-label": "Extrato de " + c.name, onclick: () => openStatement(c) }, "Extrato"),
      h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": "Editar " + c.name, onclick: () => openEdit(c) }, "Editar"),
    ];
    if (isAdmin) {
      buttons.push(
        h(
          "button",
          { type: "button", class: "btn btn-small btn-quiet", "aria-label": (c.active ? "Desativar " : "Reativar ") + c.name, onclick: () => setActive(c, !c.active) },
          c.active ? "Desativar" : "Reativar"
        )
      );
    }
    return h(
      "tr",
      { dataset: { customer: c.id } },
      h("td", { class: "strong" }, c.name),
      h("td", {}, c.phone || "—"),
      h("td", {}, A.cpf(c.cpf)),
      h("td", { class: "num" }, A.money(c.credit_limit_cents)),
      h("td", { class: "num" }, A.money(c.balance_cents)),
      h("td", { class: "num" }, A.money(c.available_cents)),
      h("td", {}, c.active ? A.badge("Ativo", "ok") : A.badge("Inativo", "neutral")),
      h("td", { class: "actions" }, buttons)
    );
  }

  /** The CPF's 11 digits (the API checks the check digits), "" when empty, null if not 11. */
  function readCpf(input) {
    const text = input.value.trim();
    if (!text) return "";
    const digits = text.replace(/[.\-\s]/g, "");
    return /^\d{11}$/.test(digits) ? digits : null;
  }

  // ------------------------------------------------------------------ register
  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("cn-name").value.trim();
    if (A.need(name, createMsg, "Informe o nome.", $("cn-name"))) return;
    const body = { name };
    const phone = $("cn-phone").value.trim();
    if (phone) body.phone = phone;
    const cpf = readCpf($("cn-cpf"));
    if (A.need(cpf !== null, createMsg, "CPF inválido: informe os 11 dígitos.", $("cn-cpf"))) return;
    if (cpf) body.cpf = cpf;
    // The field is shown to an admin only; the API checks the role again (403).
    if ($("cn-limit").value.trim()) {
      const limit = A.parseMoney($("cn-limit").value);
      if (A.need(limit !== null, createMsg, "Limite inválido: use, por exemplo, 500,00.", $("cn-limit"))) return;
      body.credit_limit_cents = limit;
    }
    const button = createForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const saved = await A.api("POST", "/api/customers", { body });
      A.say(createMsg, `${saved.name} cadastrado(a).`, "ok");
      for (const id of ["cn-name", "cn-phone", "cn-cpf", "cn-limit"]) $(id).value = "";
      q.value = saved.name;
      await load();
      $("cn-name").focus();
    } catch (err) {
      A.say(createMsg, err.message, "error");
    } finally {
      button.disabled = false;
    }
  });

  // ------------------------------------------------------------------ edit
  function openEdit(c) {
    editing = c;
    $("ce-title").textContent = "Editar " + c.name;
    $("ce-name").value = c.name;
    $("ce-phone").value = c.phone || "";
    $("ce-limit").value = A.moneyInput(c.credit_limit_cents);
    $("ce-active").checked = !!c.active;
    A.say(editMsg, "");
    editDialog.showModal();
    $("ce-name").focus();
  }

  $("ce-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!editing) return;
    const changed = {};
    const name = $("ce-name").value.trim();
    if (A.need(name, editMsg, "Informe o nome.", $("ce-name"))) return;
    if (name !== editing.name) changed.name = name;
    const phone = $("ce-phone").value.trim();
    if (phone !== (editing.phone || "")) changed.phone = phone || null;
    if (isAdmin) {
      const limit = A.parseMoney($("ce-limit").value || "0");
      if (A.need(limit !== null, editMsg, "Limite inválido: use, por exemplo, 500,00.", $("ce-limit"))) return;
      if (limit !== editing.credit_limit_cents) changed.credit_limit_cents = limit;
      if ($("ce-active").checked !== !!editing.active) changed.active = $("ce-active").checked;
    }
    if (!Object.keys(changed).length) {
      editDialog.close();
      return;
    }
    $("ce-save").disabled = true;
    try {
      const saved = await A.api("PATCH", `/api/customers/${editing.id}`, { body: changed });
      editDialog.close();
      A.say(msg, `${(saved && saved.name) || name} atualizado(a).`, "ok");
      await load();
    } catch (err) {
      A.say(editMsg, err.message, "error");
    } finally {
      $("ce-save").disabled = false;
    }
  });
  $("ce-cancel").addEventListener("click", () => editDialog.close());
  editDialog.addEventListener("close", () => {
    editing = null;
  });

  async function setActive(c, active) {
    try {
      await A.api("PATCH", `/api/customers/${c.id}`, { body: { active } });
      A.say(msg, `${c.name} ${active ? "reativado(a)" : "desativado(a)"}.`, "ok");
      await load();
    } catch (err) {
      A.say(msg, err.message, "error");
    }
  }

  // ------------------------------------------------------------------ statement
  async function openStatement(c) {
    shown = c;
    statement = null;
    $("st-title").textContent = "Extrato de " + c.name;
    A.say(payMsg, "");
    $("sp-amount").value = "";
    A.fillRows($("st-rows"), [], "Carregando…");
    if (!stDialog.open) stDialog.showModal();
    await loadStatement();
    $("sp-amount").focus();
  }

  async function loadStatement() {
    if (!shown) return;
    const from = A.readDate($("st-from"));
    const to = A.readDate($("st-to"));
    if (from === null || to === null) {
      A.say(payMsg, "Data inválida: use dd/mm/aaaa.", "error");
      return;
    }
    const params = new URLSearchParams();
    if (from) params.set("from", from);
    if (to) params.set("to", to);
    const id = shown.id;
    try {
      const answer = await A.api("GET", `/api/customers/${id}/statement` + (params.toString() ? "?" + params : ""));
      if (!page.alive || !shown || shown.id !== id) return;
      statement = answer;
      $("st-balance").textContent = A.money(answer.balance_cents);
      $("st-limit").textContent = A.money(answer.credit_limit_cents);
      $("st-available").textContent = A.money(answer.available_cents);
      const entries = answer.entries.map((e) =>
        h(
          "tr",
          { dataset: { kind: e.kind } },
          h("td", {}, A.dateTime(e.at)),
          h("td", {}, KINDS[e.kind] || e.kind, e.sale_id ? h("span", { class: "tag" }, " venda ", h("code", {}, e.sale_id.slice(0, 8))) : null),
          h("td", { class: "num" + (e.amount_cents < 0 ? " diff-pos" : "") }, A.money(e.amount_cents)),
          h("td", { class: "num strong" }, A.money(e.balance_after_cents))
        )
      );
      A.fillRows($("st-rows"), entries, "Nenhum lançamento no período.");
    } catch (err) {
      A.say(payMsg, err.message, "error");
    }
  }

  $("st-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadStatement();
  });
  $("sp-all").addEventListener("click", () => {
    if (statement) $("sp-amount").value = A.moneyInput(statement.balance_cents);
    $("sp-amount").focus();
  });
  payForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!shown) return;
    const amount = A.parseMoney($("sp-amount").value);
    if (A.need(amount !== null && amount > 0, payMsg, "Valor inválido: use, por exemplo, 50,00.", $("sp-amount"))) return;
    if (statement && A.need(amount <= statement.balance_cents, payMsg, `O valor é maior que o saldo devedor (${A.money(statement.balance_cents)}).`, $("sp-amount"))) return;
    const method = $("sp-method").value;
    const button = payForm.querySelector("button[type=submit]");
    const json = JSON.stringify({ customer: shown.id, amount, method });
    if (!paySubmission || paySubmission.json !== json) paySubmission = { json, key: A.uuid() };
    button.disabled = true;
    try {
      const paid = await A.api("POST", `/api/customers/${shown.id}/payments`, {
        body: { amount_cents: amount, method },
        headers: { "Idempotency-Key": paySubmission.key },
      });
      paySubmission = null;
      $("sp-amount").value = "";
      A.say(payMsg, `Pagamento de ${A.money(paid.amount_cents)} recebido (${A.METHODS[paid.method] || paid.method}). Saldo devedor: ${A.money(paid.balance_cents)}.`, "ok");
      await loadStatement();
      load();
    } catch (err) {
      if (A.unsure(err)) {
        // The same payment sent again keeps its Idempotency-Key: it is made once.
        const again = err.message + " Envie de novo: o mesmo pagamento é registrado uma vez só.";
        A.say(payMsg, again, "error");
        loadStatement().then(() => A.say(payMsg, again, "error"));
      } else {
        A.say(payMsg, err.message, "error");
      }
    } finally {
      button.disabled = false;
    }
  });
  $("st-close").addEventListener("click", () => stDialog.close());
  stDialog.addEventListener("close", () => {
    shown = null;
    statement = null;
  });

  // ------------------------------------------------------------------ search
  $("cu-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  inactive.addEventListener("change", load);
  q.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(load, 250);
  });

  load();
  const wanted = new URLSearchParams(location.search).get("cliente");
  if (wanted && /^[0-9a-f-]{36}$/i.test(wanted)) {
    A.api("GET", `/api/customers/${wanted}/statement`)
      .then((s) => page.alive && openStatement({ id: s.customer_id, name: s.name }))
      .catch((err) => A.say(msg, err.message, "error"));
  }

  return () => {
    clearTimeout(typing);
  };
});
