/* Caixa (POS): one input that keeps focus. A scanner types 13 digits + Enter:
   starting with 2 it is a scale label (PLU + printed price or weight), otherwise an
   EAN-13; up to 4 digits is a PLU; text searches by name. The sale's own answer (its
   lines and total) is what is charged: the preview here only shows the line at once. */
window.Acougue.page("caixa", function (A, $, h, page) {
  "use strict";
  const TERMINAL = ["paid", "payment_failed", "cancelled", "refunded"];

  function parseMask(text) {
    const body = String(text || "2CCCC0TTTTTTDV").slice(0, 12);
    const span = (letter) => {
      const first = body.indexOf(letter);
      return first < 0 ? null : [first, body.lastIndexOf(letter) + 1];
    };
    const total = span("T");
    return { plu: span("C"), value: total || span("P"), kind: total ? "total" : "weight" };
  }

  /** The weight a price label stands for: total / price, half-up to 3 places (as the API). */
  function quantityForPrice(totalCents, priceCents) {
    const t = BigInt(totalCents) * 1000n;
    const p = BigInt(priceCents);
    return A.fromThousandths((2n * t + p) / (2n * p));
  }

  const input = $("pos-input");
  const scanForm = $("pos-form");
  const results = $("pos-results");
  const msg = $("pos-msg");
  const qtyForm = $("qty-form");
  const qtyInput = $("qty-input");
  const qtyName = $("qty-name");
  const linesBody = $("pos-lines");
  const totalOut = $("pos-total");
  const subtotalOut = $("pos-subtotal");
  const discountInput = $("pos-discount");
  const creditForm = $("credit-form");
  const installments = $("credit-installments");
  const cashForm = $("cash-form");
  const cashInput = $("cash-received");
  const cashChange = $("cash-change");
  const salePanel = $("sale-panel");
  const saleTitle = $("sale-title");
  const saleStatus = $("sale-status");
  const saleInfo = $("sale-info");
  const pixBox = $("pix-box");
  const pixQr = $("pix-qr");
  const pixPayload = $("pix-payload");
  const retryButton = $("sale-retry");
  const newButton = $("sale-new");
  const payButtons = A.$$(".pay", page.main);
  const fiadoForm = $("fiado-form");
  const fiadoSearch = $("fiado-search");
  const fiadoResults = $("fiado-results");
  const fiadoChoice = $("fiado-choice");
  const fiadoSubmit = $("fiado-submit");
  const printButton = $("sale-print");
  const approvalDialog = $("approval-dialog");
  const approvalForm = $("approval-form");
  const approvalUser = $("approval-username");
  const approvalPassword = $("approval-password");
  const approvalMsg = $("approval-msg");
  const mask = parseMask(document.body.dataset.scaleMask);

  const state = {
    lines: [],
    found: [],
    active: -1,
    pending: null, // {product, item} waiting for a weight
    sale: null,
    submission: null, // {key, json, body} of the last POST /api/sales
    busy: false,
    escAt: 0,
    qrFor: null,
    fiado: { found: [], active: -1, chosen: null, asked: 0 },
    printing: false,
  };
  const byPlu = new Map();
  let pollTimer = null;
  let qrUrl = null;
  let nextLineId = 1;
  let fiadoTimer = null;

  // ------------------------------------------------------------------ messages
  function fail(text) {
    A.say(msg, text, "error");
    focusInput();
  }
  function info(text) {
    A.say(msg, text, "info");
  }
  function focusInput() {
    if (qtyForm.hidden && creditForm.hidden && cashForm.hidden && fiadoForm.hidden) input.focus();
  }

  // ------------------------------------------------------------------ totals
  function subtotal() {
    return state.lines.reduce((sum, line) => sum + line.total, 0);
  }
  function discount() {
    const value = A.parseMoney(discountInput.value);
    return value === null ? 0 : value;
  }
  function total() {
    if (state.sale) return state.sale.total_cents;
    return Math.max(0, subtotal() - discount());
  }

  function render() {
    const inSale = !!state.sale;
    const rows = inSale
      ? state.sale.items.map((item) =>
          A.h(
            "tr",
            {},
            A.h("td", {}, item.name, item.barcode && item.barcode.startsWith("2") ? A.h("span", { class: "tag" }, " etiqueta") : null),
            A.h("td", { class: "num" }, A.quantity(item.quantity, item.unit)),
            A.h("td", { class: "num" }, A.money(item.unit_price_cents), A.h("span", { class: "unit" }, "/" + item.unit)),
            A.h("td", { class: "num strong" }, A.money(item.total_cents)),
            A.h("td", {})
          )
        )
      : state.lines.map((line) =>
          A.h(
            "tr",
            { dataset: { line: String(line.id) } },
            A.h("td", {}, line.name, line.tag ? A.h("span", { class: "tag" }, " " + line.tag) : null),
            A.h("td", { class: "num" }, A.quantity(line.quantity, line.unit)),
            A.h("td", { class: "num" }, A.money(line.unitPrice), A.h("span", { class: "unit" }, "/" + line.unit)),
            A.h("td", { class: "num strong" }, A.money(line.total)),
            A.h(
              "td",
              { class: "actions" },
              A.h(
                "button",
                {
                  type: "button",
                  class: "btn btn-quiet btn-small",
                  "aria-label": "Remover " + line.name,
                  onclick: () => removeLine(line.id),
                },
                "Remover"
              )
            )
          )
        );
    A.fillRows(linesBody, rows, "Nenhum item. Leia uma etiqueta ou digite o PLU ou o nome.");
    const sub = inSale ? state.sale.subtotal_cents : subtotal();
    subtotalOut.textContent = A.money(sub);
    totalOut.textContent = A.money(total());
    discountInput.disabled = inSale;
    if (inSale) discountInput.value = state.sale.discount_cents ? A.centsToDecimal(state.sale.discount_cents).replace(".", ",") : "";
    const canPay = !state.busy && (inSale ? state.sale.status === "payment_failed" : state.lines.length > 0);
    for (const b of payButtons) b.disabled = !canPay;
    // While a sale waits for its payment or is paid, its panel takes the buttons' place.
    $("pay-buttons").hidden = inSale && state.sale.status !== "payment_failed";
    updateChange();
  }

  function updateChange() {
    const received = A.parseMoney(cashInput.value);
    if (received === null) {
      cashChange.textContent = "";
      return;
    }
    const due = total();
    cashChange.textContent =
      received >= due ? "Troco: " + A.money(received - due) : "Faltam " + A.money(due - received);
    cashChange.className = "change-line" + (received >= due ? " ok" : " short");
  }

  // ------------------------------------------------------------------ lines
  function addLine(line) {
    if (state.sale) {
      if (["paid", "cancelled", "refunded"].includes(state.sale.status)) newSale(true);
      else {
        fail("Esta venda ainda não foi paga. Conclua o pagamento ou comece uma nova venda.");
        return;
      }
    }
    line.id = nextLineId++;
    state.lines.push(line);
    state.submission = null;
    render();
    A.say(msg, `${line.name}: ${A.quantity(line.quantity, line.unit)} — ${A.money(line.total)}`, "ok");
    focusInput();
  }

  function removeLine(id) {
    const index = state.lines.findIndex((l) => l.id === id);
    if (index < 0) return;
    const [line] = state.lines.splice(index, 1);
    state.submission = null;
    render();
    info(`${line.name} removido.`);
    focusInput();
  }

  function choose(product, quantity, viaBarcode) {
    closeResults();
    if (!quantity && product.unit === "kg") {
      state.pending = { product, viaBarcode };
      qtyName.textContent = product.name;
      qtyInput.value = "";
      qtyForm.hidden = false;
      qtyInput.focus();
      return;
    }
    const q = quantity || "1.000";
    if (product.unit === "un" && !/\.0+$/.test(q)) {
      fail(`${product.name} é vendido por unidade: use quantidades inteiras.`);
      return;
    }
    const item = viaBarcode ? { barcode: viaBarcode, quantity: q } : { product_id: product.id, quantity: q };
    addLine({
      name: product.name,
      unit: product.unit,
      unitPrice: product.price_cents,
      quantity: q,
      total: A.lineTotal(q, product.price_cents),
      item,
      tag: viaBarcode ? "EAN" : product.plu ? "PLU " + product.plu : null,
    });
  }

  // ------------------------------------------------------------------ lookups
  async function search(q) {
    const answer = await A.api("GET", "/api/products?active=true&q=" + encodeURIComponent(q));
    return answer.items.filter((p) => p.active);
  }

  async function productByPlu(plu) {
    const cached = byPlu.get(plu);
    if (cached && Date.now() - cached.at < 60000) return cached.product;
    const found = (await search(String(plu))).find((p) => p.plu === plu) || null;
    if (found) byPlu.set(plu, { product: found, at: Date.now() });
    return found;
  }

  async function addLabel(code) {
    if (!A.ean13Valid(code)) return fail(`Etiqueta ${code}: dígito verificador inválido. Leia de novo.`);
    const plu = Number(code.slice(mask.plu[0], mask.plu[1]));
    const value = Number(code.slice(mask.value[0], mask.value[1]));
    const product = await productByPlu(plu);
    if (!product) return fail(`Etiqueta ${code}: nenhum produto com o PLU ${plu}.`);
    let quantity;
    let lineTotal;
    if (mask.kind === "total") {
      if (!product.price_cents) return fail(`Etiqueta ${code}: ${product.name} está sem preço.`);
      lineTotal = value;
      quantity = quantityForPrice(value, product.price_cents);
    } else {
      quantity = A.fromThousandths(BigInt(value));
      lineTotal = A.lineTotal(quantity, product.price_cents);
    }
    addLine({
      name: product.name,
      unit: product.unit,
      unitPrice: product.price_cents,
      quantity,
      total: lineTotal,
      item: { barcode: code },
      tag: "etiqueta",
    });
  }

  async function addEan(code, quantity) {
    if (!A.ean13Valid(code)) return fail(`Código ${code}: não é um EAN-13 válido.`);
    const product = (await search(code)).find((p) => p.barcode === code);
    if (!product) return fail(`Código ${code}: produto não cadastrado.`);
    choose(product, quantity, code);
  }

  async function addByPlu(digits, quantity) {
    const plu = Number(digits);
    const found = await search(digits);
    const exact = found.find((p) => p.plu === plu);
    if (exact) return choose(exact, quantity);
    if (found.length) return showResults(found, quantity);
    fail(`Nenhum produto com o PLU ${plu}.`);
  }

  async function addByName(text, quantity) {
    if (text.length < 2) return fail("Digite ao menos 2 letras do nome.");
    const found = await search(text);
    if (found.length === 1) return choose(found[0], quantity);
    if (found.length) return showResults(found, quantity);
    fail(`Nenhum produto encontrado para “${text}”.`);
  }

  function showResults(products, quantity) {
    state.found = products.slice(0, 20);
    state.foundQuantity = quantity;
    state.active = 0;
    A.clear(results);
    state.found.forEach((p, i) => {
      results.append(
        A.h(
          "li",
          {
            id: "pos-opt-" + i,
            role: "option",
            "aria-selected": i === 0 ? "true" : "false",
            onmousedown: (e) => e.preventDefault(),
            onclick: () => choose(p, state.foundQuantity),
          },
          A.h("span", { class: "opt-name" }, p.name),
          A.h("span", { class: "opt-meta" }, (p.plu ? "PLU " + p.plu + " · " : "") + A.money(p.price_cents) + "/" + p.unit)
        )
      );
    });
    results.hidden = false;
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-activedescendant", "pos-opt-0");
    info(`${state.found.length} produtos encontrados: ↑ ↓ e Enter para escolher.`);
  }

  function moveActive(delta) {
    if (results.hidden || !state.found.length) return;
    state.active = (state.active + delta + state.found.length) % state.found.length;
    A.$$("[role=option]", results).forEach((li, i) => li.setAttribute("aria-selected", i === state.active ? "true" : "false"));
    input.setAttribute("aria-activedescendant", "pos-opt-" + state.active);
    const li = results.children[state.active];
    if (li && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
  }

  function closeResults() {
    results.hidden = true;
    A.clear(results);
    state.found = [];
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  async function handleCode(raw) {
    let text = raw.trim();
    if (!text) return;
    let quantity = null;
    const multiplied = /^(\d{1,6}(?:[.,]\d{1,3})?)\s*\*\s*(.+)$/.exec(text);
    if (multiplied) {
      quantity = A.parseQuantity(multiplied[1]);
      if (!quantity) return fail("Quantidade inválida antes do *.");
      text = multiplied[2].trim();
    }
    if (/^\d{13}$/.test(text)) {
      if (text.startsWith("2")) {
        if (quantity) return fail("Uma etiqueta de balança já traz o peso ou o preço: leia sem multiplicar.");
        return addLabel(text);
      }
      return addEan(text, quantity);
    }
    if (/^\d{1,4}$/.test(text)) return addByPlu(text, quantity);
    if (/^\d+$/.test(text)) return fail(`Código ${text} não reconhecido: use o EAN-13, a etiqueta da balança ou o PLU.`);
    return addByName(text, quantity);
  }

  // ------------------------------------------------------------------ the sale
  function saleBody(payment) {
    const body = { items: state.lines.map((l) => l.item), payment };
    const d = discount();
    if (d) body.discount_cents = d;
    return body;
  }

  function setBusy(busy) {
    state.busy = busy;
    render();
  }

  async function pay(method) {
    if (state.busy) return;
    if (state.sale && state.sale.status === "pending_payment") return info("Aguardando o pagamento desta venda.");
    if (state.sale && state.sale.status !== "payment_failed") return info("Venda concluída. Enter começa uma nova venda.");
    if (!state.sale && !state.lines.length) return fail("Adicione ao menos um item.");
    if (!state.sale && A.parseMoney(discountInput.value) === null && discountInput.value.trim()) {
      return fail("Desconto inválido: use um valor como 5,00.");
    }
    if (!state.sale && discount() > subtotal()) return fail("O desconto não pode ser maior que o subtotal.");
    closePanels();
    if (method === "credit") {
      creditForm.hidden = false;
      installments.focus();
      return;
    }
    if (method === "cash") {
      cashForm.hidden = false;
      cashInput.value = "";
      updateChange();
      cashInput.focus();
      return;
    }
    if (method === "fiado") {
      openFiado();
      return;
    }
    await submit({ method });
  }

  async function submit(payment) {
    setBusy(true);
    try {
      if (state.sale && state.sale.status === "payment_failed") {
        const sale = await A.api("POST", `/api/sales/${state.sale.id}/payments`, { body: payment });
        showSale(sale);
      } else {
        const body = saleBody(payment);
        const json = JSON.stringify(body);
        // A retry of the same submission (after a network error) keeps its key, so the
        // API answers the sale it may already have made instead of making a second one.
        if (!state.submission || state.submission.json !== json) {
          state.submission = { key: A.uuid(), json, body };
        }
        await post();
      }
    } catch (err) {
      paymentError(err);
    } finally {
      setBusy(false);
    }
  }

  async function post() {
    const sub = state.submission;
    const sale = await A.api("POST", "/api/sales", { body: sub.body, headers: { "Idempotency-Key": sub.key } });
    showSale(sale);
  }

  // ------------------------------------------------------------------ discount approval
  // Above the seller's limit the API answers 403 with code discount_approval_required:
  // an admin types their own username and password here, auth issues a one-sale approval
  // (2 minutes), and the same sale (same Idempotency-Key) is sent again with it.
  function needsApproval(err) {
    const code = err && err.status === 403 && err.problem ? err.problem.code : null;
    return code === "discount_approval_required" || code === "discount_approval_invalid";
  }

  function openApproval(err) {
    const limit = err.problem && Number.isInteger(err.problem.limit_cents) ? err.problem.limit_cents : null;
    $("approval-info").textContent =
      `Desconto de ${A.money(discount())}` + (limit !== null ? `; o limite sem aprovação é ${A.money(limit)}.` : ".");
    approvalUser.value = "";
    approvalPassword.value = "";
    A.say(approvalMsg, err.problem && err.problem.code === "discount_approval_invalid" ? err.message : "");
    info("Desconto acima do limite: peça a aprovação de um administrador.");
    if (!approvalDialog.open) approvalDialog.showModal();
    approvalUser.focus();
  }

  function closeApproval() {
    if (approvalDialog.open) approvalDialog.close();
    approvalPassword.value = "";
  }

  approvalDialog.addEventListener("close", () => {
    approvalPassword.value = "";
    if (state.submission) delete state.submission.body.discount_approval;
    if (!state.sale) focusInput();
  });
  $("approval-cancel").addEventListener("click", () => {
    closeApproval();
    info("Desconto não aprovado: ajuste o desconto ou peça a aprovação.");
  });
  approvalForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = approvalUser.value.trim();
    const password = approvalPassword.value;
    if (!username || !password) {
      A.say(approvalMsg, "Informe o usuário e a senha do administrador.", "error");
      (username ? approvalPassword : approvalUser).focus();
      return;
    }
    if (state.busy || !state.submission) return;
    setBusy(true);
    let approval;
    try {
      approval = await A.api("POST", "/api/auth/approvals", {
        body: { username, password, purpose: "discount" },
        retry: false, // a wrong admin password is not the seller's session ending
      });
    } catch (err) {
      setBusy(false);
      approvalPassword.value = "";
      A.say(approvalMsg, err.status === 401 || err.status === 403 ? "Aprovação recusada: usuário ou senha de administrador incorretos." : err.message, "error");
      approvalPassword.focus();
      return;
    }
    approvalPassword.value = "";
    try {
      state.submission.body.discount_approval = approval.approval_token;
      await post();
      closeApproval();
      info("Desconto aprovado.");
    } catch (err) {
      if (needsApproval(err)) {
        A.say(approvalMsg, err.message, "error");
      } else {
        closeApproval();
        paymentError(err);
      }
    } finally {
      setBusy(false);
    }
  });

  function paymentError(err) {
    if (needsApproval(err)) return openApproval(err);
    if (A.busy(err)) {
      // Shed by the gateway before it reached the counter's function: nothing was done.
      // A new payment for a declined sale leaves that sale on screen, to be paid again.
      if (state.sale) return fail(err.message);
      return offerRetry(err, "Sistema ocupado", "A venda não foi registrada.", "Tente novamente em instantes: a mesma venda não será registrada nem cobrada duas vezes.");
    }
    if (err.network || (err.status >= 500 && err.status !== 501)) {
      return offerRetry(err, "Sem resposta do servidor", "A venda pode não ter sido registrada.", "Tente de novo: a mesma venda não será registrada nem cobrada duas vezes.");
    }
    fail(err.message);
  }

  /** The sale panel after a POST that may be sent again: "Tentar de novo" repeats the same
      submission with the same Idempotency-Key. */
  function offerRetry(err, title, status, text) {
    salePanel.hidden = false;
    saleTitle.textContent = title;
    saleStatus.className = "";
    saleStatus.textContent = status;
    saleInfo.textContent = text;
    retryButton.hidden = !state.submission || !!state.sale;
    pixBox.hidden = true;
    printButton.hidden = true;
    fail(err.message);
    if (!retryButton.hidden) retryButton.focus();
  }

  function closePanels() {
    creditForm.hidden = true;
    cashForm.hidden = true;
    closeFiado();
  }

  // ------------------------------------------------------------------ fiado (F7)
  // The customer is searched as the name, phone or CPF is typed; each shows the limit
  // still available. The customers domain decides: above the limit the sale's payment is
  // declined ("limite de fiado excedido") and the cashier takes another method.
  function openFiado() {
    const f = state.fiado;
    f.found = [];
    f.active = -1;
    f.chosen = null;
    fiadoSearch.value = "";
    closeFiadoResults();
    showChoice();
    fiadoForm.hidden = false;
    fiadoSearch.focus();
    info("Fiado: digite o nome, o telefone ou o CPF do cliente.");
  }

  function closeFiado() {
    clearTimeout(fiadoTimer);
    fiadoForm.hidden = true;
    closeFiadoResults();
  }

  function closeFiadoResults() {
    fiadoResults.hidden = true;
    A.clear(fiadoResults);
    fiadoSearch.setAttribute("aria-expanded", "false");
    fiadoSearch.removeAttribute("aria-activedescendant");
  }

  function showChoice() {
    const c = state.fiado.chosen;
    fiadoSubmit.disabled = !c || state.busy;
    if (!c) {
      fiadoChoice.textContent = "";
      fiadoChoice.className = "fiado-choice";
      return;
    }
    const short = c.available_cents < total();
    fiadoChoice.textContent =
      `${c.name} · disponível ${A.money(c.available_cents)}` +
      (short ? ` — menos que o total desta venda (${A.money(total())})` : "");
    fiadoChoice.className = "fiado-choice" + (short ? " msg-error" : " msg-ok");
  }

  async function searchCustomers() {
    const text = fiadoSearch.value.trim();
    const asked = ++state.fiado.asked;
    if (text.length < 2) {
      closeFiadoResults();
      return;
    }
    try {
      const answer = await A.api("GET", "/api/customers?active=true&limit=10&q=" + encodeURIComponent(text));
      if (!page.alive || asked !== state.fiado.asked || fiadoForm.hidden) return;
      showCustomers(answer.items.filter((c) => c.active !== false));
    } catch (err) {
      if (asked === state.fiado.asked) A.say(msg, err.message, "error");
    }
  }

  function showCustomers(customers) {
    const f = state.fiado;
    f.found = customers;
    f.active = customers.length ? 0 : -1;
    A.clear(fiadoResults);
    if (!customers.length) {
      closeFiadoResults();
      info(`Nenhum cliente encontrado para “${fiadoSearch.value.trim()}”.`);
      return;
    }
    customers.forEach((c, i) => {
      fiadoResults.append(
        A.h(
          "li",
          {
            id: "fiado-opt-" + i,
            role: "option",
            "aria-selected": i === 0 ? "true" : "false",
            onmousedown: (e) => e.preventDefault(),
            onclick: () => chooseCustomer(c),
          },
          A.h("span", { class: "opt-name" }, c.name, c.phone ? A.h("span", { class: "tag" }, " " + c.phone) : null),
          A.h("span", { class: "opt-meta" }, "disponível " + A.money(c.available_cents))
        )
      );
    });
    fiadoResults.hidden = false;
    fiadoSearch.setAttribute("aria-expanded", "true");
    fiadoSearch.setAttribute("aria-activedescendant", "fiado-opt-0");
  }

  function moveFiado(delta) {
    const f = state.fiado;
    if (fiadoResults.hidden || !f.found.length) return;
    f.active = (f.active + delta + f.found.length) % f.found.length;
    A.$$("[role=option]", fiadoResults).forEach((li, i) => li.setAttribute("aria-selected", i === f.active ? "true" : "false"));
    fiadoSearch.setAttribute("aria-activedescendant", "fiado-opt-" + f.active);
  }

  function chooseCustomer(c) {
    state.fiado.chosen = c;
    state.fiado.asked++;
    clearTimeout(fiadoTimer);
    fiadoSearch.value = c.name;
    closeFiadoResults();
    showChoice();
    info("Enter lança a venda no fiado de " + c.name + ".");
    fiadoSearch.focus();
  }

  function payFiado() {
    if (state.busy) return;
    const c = state.fiado.chosen;
    if (!c) {
      A.say(msg, "Escolha o cliente do fiado.", "error");
      fiadoSearch.focus();
      return;
    }
    submit({ method: "fiado", customer_id: c.id });
  }

  fiadoSearch.addEventListener("input", () => {
    state.fiado.chosen = null;
    showChoice();
    clearTimeout(fiadoTimer);
    fiadoTimer = setTimeout(searchCustomers, 200);
  });
  fiadoSearch.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      moveFiado(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const f = state.fiado;
      if (!fiadoResults.hidden && f.found.length) chooseCustomer(f.found[f.active]);
      else if (f.chosen) payFiado();
      else {
        clearTimeout(fiadoTimer);
        searchCustomers();
      }
    }
  });
  fiadoForm.addEventListener("submit", (event) => {
    event.preventDefault();
    payFiado();
  });

  // ------------------------------------------------------------------ the receipt (F9)
  async function printReceipt() {
    if (!state.sale || state.sale.status !== "paid" || state.printing) return;
    state.printing = true;
    printButton.disabled = true;
    try {
      await A.printReceipt(state.sale.id);
      info("Cupom enviado para a impressão.");
    } catch (err) {
      A.say(msg, "Cupom não impresso: " + err.message, "error");
    } finally {
      state.printing = false;
      printButton.disabled = false;
      if (!printButton.hidden) newButton.focus();
    }
  }
  printButton.addEventListener("click", printReceipt);

  function showSale(sale) {
    state.sale = sale;
    closePanels();
    retryButton.hidden = true;
    printButton.hidden = true;
    salePanel.hidden = false;
    saleTitle.textContent = "Venda " + sale.id.slice(0, 8);
    const status = sale.status;
    const payment = sale.payment || {};
    saleStatus.className = "status-big status-" + status;
    if (status === "payment_failed") {
      saleStatus.textContent = "Pagamento recusado" + (payment.reason ? ": " + payment.reason : "");
    } else if (status === "pending_payment") {
      saleStatus.textContent = payment.method === "pix" ? "Aguardando o PIX…" : "Aguardando o pagamento…";
    } else {
      saleStatus.textContent = A.SALE_STATUS[status] || status;
    }
    const parts = [(A.METHODS[payment.method] || payment.method) + " · " + A.money(sale.total_cents)];
    if (payment.method === "credit" && payment.installments) parts.push(payment.installments + "x");
    if (payment.method === "fiado" && (sale.customer_name || state.fiado.chosen)) {
      parts.push("Cliente " + (sale.customer_name || state.fiado.chosen.name));
    }
    if (payment.method === "cash") {
      if (payment.cash_received_cents !== null && payment.cash_received_cents !== undefined) {
        parts.push("Recebido " + A.money(payment.cash_received_cents));
      }
      if (payment.change_cents !== null && payment.change_cents !== undefined) parts.push("Troco " + A.money(payment.change_cents));
    }
    saleInfo.textContent = parts.join(" · ");
    if (status === "payment_failed") {
      A.say(
        msg,
        (payment.reason ? `Pagamento recusado (${payment.reason}). ` : "Pagamento recusado. ") +
          "Escolha outra forma de pagamento (F2 PIX, F3 Débito, F4 Crédito, F5 Dinheiro, F7 Fiado).",
        "error"
      );
    } else if (status === "paid") {
      A.say(msg, "Venda paga." + (payment.change_cents ? " Troco: " + A.money(payment.change_cents) + "." : ""), "ok");
    } else {
      A.say(msg, "", "info");
    }
    printButton.hidden = status !== "paid";
    showPix(sale);
    render();
    if (TERMINAL.includes(status)) {
      stopPolling();
      if (status === "paid") newButton.focus();
      else if (status === "payment_failed") input.focus();
    } else {
      startPolling();
    }
  }

  async function showPix(sale) {
    const pix = sale.payment && sale.payment.method === "pix" ? sale.payment.pix : null;
    if (!pix) {
      pixBox.hidden = true;
      return;
    }
    pixBox.hidden = false;
    if (pixPayload.value !== pix.payload) pixPayload.value = pix.payload;
    const key = sale.id + ":" + sale.attempt;
    if (state.qrFor === key) return;
    state.qrFor = key;
    try {
      const res = await A.api("GET", `/api/sales/${sale.id}/pix.svg`, { raw: true });
      const blob = await res.blob();
      if (!page.alive) return;
      if (qrUrl) URL.revokeObjectURL(qrUrl);
      qrUrl = URL.createObjectURL(blob);
      pixQr.src = qrUrl;
      pixQr.alt = "QR Code do PIX de " + A.money(sale.total_cents);
    } catch (err) {
      state.qrFor = null;
      A.toast("QR Code indisponível: " + err.message, "error");
    }
  }

  function startPolling() {
    stopPolling();
    pollTimer = setTimeout(async () => {
      if (!page.alive || !state.sale) return;
      try {
        const sale = await A.api("GET", `/api/sales/${state.sale.id}`);
        if (page.alive && state.sale && sale.id === state.sale.id) showSale(sale);
      } catch (err) {
        if (page.alive) startPolling(); // keep asking: the counter waits for the bank
      }
    }, 1000);
  }
  function stopPolling() {
    clearTimeout(pollTimer);
    pollTimer = null;
  }

  function newSale(keepMessage) {
    stopPolling();
    state.lines = [];
    state.sale = null;
    state.submission = null;
    state.qrFor = null;
    state.fiado.chosen = null;
    discountInput.value = "";
    salePanel.hidden = true;
    printButton.hidden = true;
    pixBox.hidden = true;
    pixPayload.value = "";
    pixQr.removeAttribute("src");
    if (qrUrl) URL.revokeObjectURL(qrUrl);
    qrUrl = null;
    closePanels();
    closeResults();
    qtyForm.hidden = true;
    if (!keepMessage) A.say(msg, "", "info");
    render();
    focusInput();
  }

  // ------------------------------------------------------------------ events
  scanForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!results.hidden && state.found.length) {
      choose(state.found[state.active], state.foundQuantity);
      input.value = "";
      return;
    }
    const raw = input.value;
    if (!raw.trim()) {
      if (state.sale && TERMINAL.includes(state.sale.status) && state.sale.status !== "payment_failed") newSale();
      return;
    }
    input.value = "";
    try {
      await handleCode(raw);
    } catch (err) {
      fail(err.message);
    }
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      moveActive(1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      moveActive(-1);
    }
  });

  qtyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const pending = state.pending;
    if (!pending) return;
    const quantity = A.parseQuantity(qtyInput.value);
    if (!quantity) {
      A.say(msg, "Peso inválido: use, por exemplo, 1,250.", "error");
      qtyInput.select();
      return;
    }
    state.pending = null;
    qtyForm.hidden = true;
    choose(pending.product, quantity, pending.viaBarcode);
  });
  $("qty-cancel").addEventListener("click", cancelQuantity);
  function cancelQuantity() {
    state.pending = null;
    qtyForm.hidden = true;
    info("Item não adicionado.");
    focusInput();
  }

  discountInput.addEventListener("input", () => {
    state.submission = null;
    render();
  });
  discountInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      focusInput();
    }
  });

  for (const button of payButtons) button.addEventListener("click", () => pay(button.dataset.method));

  creditForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submit({ method: "credit", installments: Number(installments.value) });
  });

  cashInput.addEventListener("input", updateChange);
  cashForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const received = A.parseMoney(cashInput.value);
    if (received === null) {
      A.say(msg, "Valor recebido inválido: use, por exemplo, 50,00.", "error");
      cashInput.select();
      return;
    }
    if (received < total()) {
      A.say(msg, "O valor recebido não cobre o total: faltam " + A.money(total() - received) + ".", "error");
      cashInput.select();
      return;
    }
    submit({ method: "cash", cash_received_cents: received });
  });
  for (const quick of A.$$("[data-cash]", cashForm)) {
    quick.addEventListener("click", () => {
      const value = quick.dataset.cash === "exact" ? total() : Number(quick.dataset.cash);
      cashInput.value = A.centsToDecimal(value).replace(".", ",");
      updateChange();
      cashInput.focus();
    });
  }

  pixCopyHandler();
  function pixCopyHandler() {
    $("pix-copy").addEventListener("click", async () => {
      const ok = await A.copy(pixPayload.value, pixPayload);
      A.toast(ok ? "Código PIX copiado." : "Selecione o código e copie.", ok ? "ok" : "info");
    });
  }

  retryButton.addEventListener("click", async () => {
    if (!state.submission || state.busy) return;
    setBusy(true);
    try {
      await post();
    } catch (err) {
      paymentError(err);
    } finally {
      setBusy(false);
    }
  });
  newButton.addEventListener("click", () => newSale());

  function onKey(event) {
    if (approvalDialog.open) return; // the dialog owns the keys (Esc closes it)
    const keys = { F2: "pix", F3: "debit", F4: "credit", F5: "cash", F7: "fiado" };
    if (keys[event.key]) {
      event.preventDefault();
      pay(keys[event.key]);
      return;
    }
    if (event.key === "F6") {
      event.preventDefault();
      if (!discountInput.disabled) discountInput.focus();
      return;
    }
    if (event.key === "F9") {
      event.preventDefault();
      printReceipt();
      return;
    }
    if (event.key === "F8") {
      event.preventDefault();
      if (!state.sale && state.lines.length) removeLine(state.lines[state.lines.length - 1].id);
      return;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      escape();
      return;
    }
    const target = event.target;
    const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    if (event.key === "Enter" && !typing && state.sale && state.sale.status === "paid" && target !== newButton) {
      event.preventDefault();
      newSale();
      return;
    }
    // A scanner types while focus is elsewhere (a button, the page): send it to the input.
    if (!typing && event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      input.focus();
    }
  }

  function escape() {
    if (!qtyForm.hidden) return cancelQuantity();
    if (!fiadoResults.hidden) {
      closeFiadoResults();
      return fiadoSearch.focus();
    }
    if (!results.hidden) {
      closeResults();
      return focusInput();
    }
    if (!creditForm.hidden || !cashForm.hidden || !fiadoForm.hidden) {
      closePanels();
      return focusInput();
    }
    if (input.value) {
      input.value = "";
      return focusInput();
    }
    if (state.sale && state.sale.status !== "pending_payment") return newSale();
    if (!state.lines.length) return focusInput();
    const now = Date.now();
    if (now - state.escAt < 2000) {
      state.escAt = 0;
      newSale();
      info("Venda limpa.");
    } else {
      state.escAt = now;
      info("Pressione Esc de novo para limpar a venda.");
      focusInput();
    }
  }

  // Each operator's sales count in their own till (Meu caixa) while it is open: say so
  // when it is not. Only a hint: selling is not blocked, and a failed look-up says nothing.
  async function checkTill() {
    try {
      const me = A.session.user || {};
      const open = await A.api("GET", "/api/till/sessions?status=open");
      if (!page.alive) return;
      $("till-hint").hidden = open.items.some((s) => s.operator_id === me.id);
      $("till-hint").dataset.checked = "true";
    } catch (_) {
      /* the counter works without it */
    }
  }
  $("till-open-link").addEventListener("click", (event) => {
    event.preventDefault();
    A.navigate("/meu-caixa");
  });

  document.addEventListener("keydown", onKey);
  render();
  input.focus();
  checkTill();

  return function cleanup() {
    stopPolling();
    clearTimeout(fiadoTimer);
    document.removeEventListener("keydown", onKey);
    if (qrUrl) URL.revokeObjectURL(qrUrl);
  };
});
