/* Meu caixa: the caller's own till session. Open it with the float, follow what is
   expected per method, sangria / suprimento with a reason, close it with the counted
   amounts and see expected, counted and the difference. An admin also sees every
   session of a day (GET /api/till/sessions?date=). */
window.Acougue.page("meu-caixa", function (A, $, h, page) {
  "use strict";
  const me = A.session.user || {};
  const msg = $("mc-msg");
  const openForm = $("mc-open-form");
  const sessionBox = $("mc-session");
  const resultBox = $("mc-result");
  const closeForm = $("cx-form");
  const closeMsg = $("cx-msg");
  const moveForm = $("mv-form");
  const moveMsg = $("mv-msg");
  const confirmButton = $("cx-confirm");
  const submitButton = $("cx-submit");
  const detailDialog = $("sd-dialog");
  const KINDS = { sangria: "Sangria", suprimento: "Suprimento" };
  const STATUS = { open: "Aberto", closed: "Fechado" };
  const COUNTED = { cash: "cx-cash", pix: "cx-pix", debit: "cx-debit", credit: "cx-credit" };
  let mine = null;
  let pendingCount = null;

  const amount = (amounts, method) => (amounts ? amounts[method + "_cents"] || 0 : 0);
  const sum = (amounts) => (amounts ? A.TILL_METHODS.reduce((t, m) => t + amount(amounts, m), 0) : null);

  function diffCell(cents, attrs) {
    const cls = cents < 0 ? " diff-neg" : cents > 0 ? " diff-pos" : "";
    const text = cents === null || cents === undefined ? "—" : (cents > 0 ? "+" : "") + A.money(cents);
    return h("td", Object.assign({ class: "num" + cls }, attrs || {}), text);
  }

  /** Expected, counted and difference per method (a closed session), or expected only. */
  function closingRows(s) {
    return A.TILL_METHODS.map((m) =>
      h(
        "tr",
        { dataset: { method: m } },
        h("td", {}, A.METHODS[m]),
        h("td", { class: "num" }, A.money(amount(s.expected, m))),
        h("td", { class: "num" }, s.counted ? A.money(amount(s.counted, m)) : "—"),
        diffCell(s.difference ? amount(s.difference, m) : null)
      )
    );
  }
  function closingFoot(s) {
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, "Total"),
      h("td", { class: "num" }, A.money(sum(s.expected))),
      h("td", { class: "num" }, s.counted ? A.money(sum(s.counted)) : "—"),
      diffCell(s.difference ? sum(s.difference) : null, { id: "mc-total-diff" })
    );
  }
  function movementRows(s) {
    return (s.movements || []).map((mv) =>
      h(
        "tr",
        {},
        h("td", {}, A.dateTime(mv.at)),
        h("td", {}, KINDS[mv.kind] || mv.kind),
        h("td", { class: "num" }, (mv.kind === "sangria" ? "−" : "+") + A.money(mv.amount_cents)),
        h("td", {}, mv.reason)
      )
    );
  }

  // ------------------------------------------------------------------ my session
  async function loadMine() {
    try {
      const answer = await A.api("GET", "/api/till/sessions?status=open");
      if (!page.alive) return;
      showMine(answer.items.find((s) => s.operator_id === me.id) || null);
    } catch (err) {
      A.say(msg, err.message, "error");
    }
  }

  function showMine(s) {
    mine = s;
    openForm.hidden = !!s;
    sessionBox.hidden = !s;
    if (!s) return;
    resultBox.hidden = true;
    $("mc-session-title").textContent = "Caixa aberto" + (s.operator_name ? " — " + s.operator_name : "");
    $("mc-since").textContent = A.dateTime(s.opened_at);
    $("mc-float").textContent = A.money(s.opening_cents);
    $("mc-sales").textContent = String(s.sales_count || 0);
    $("mc-cash").textContent = A.money(amount(s.expected, "cash"));
    A.fillRows(
      $("mc-expected"),
      A.TILL_METHODS.map((m) => h("tr", { dataset: { method: m } }, h("td", {}, A.METHODS[m]), h("td", { class: "num" }, A.money(amount(s.expected, m))))),
      ""
    );
    A.fillRows($("mc-movements"), movementRows(s), "Nenhuma sangria ou suprimento.");
  }

  openForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("mc-opening").value.trim();
    const opening = text ? A.parseMoney(text) : 0;
    if (A.need(opening !== null, msg, "Troco inicial inválido: use, por exemplo, 200,00.", $("mc-opening"))) return;
    const button = openForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const opened = await A.api("POST", "/api/till/sessions", { body: { opening_cents: opening } });
      $("mc-opening").value = "";
      A.say(msg, `Caixa aberto com troco inicial de ${A.money(opening)}.`, "ok");
      showMine(opened);
      $("mv-amount").focus();
      loadDay();
    } catch (err) {
      A.say(msg, err.message, "error");
      if (err.status === 409) loadMine();
    } finally {
      button.disabled = false;
    }
  });

  moveForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!mine) return;
    const kind = $("mv-kind").value;
    const value = A.parseMoney($("mv-amount").value);
    if (A.need(value !== null && value > 0, moveMsg, "Valor inválido: use, por exemplo, 100,00.", $("mv-amount"))) return;
    const reason = $("mv-reason").value.trim();
    if (A.need(reason, moveMsg, "Informe o motivo.", $("mv-reason"))) return;
    const button = moveForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await A.api("POST", `/api/till/sessions/${mine.id}/movements`, { body: { kind, amount_cents: value, reason } });
      $("mv-amount").value = "";
      $("mv-reason").value = "";
      A.say(moveMsg, `${KINDS[kind]} de ${A.money(value)} ${kind === "sangria" ? "registrada" : "registrado"}.`, "ok");
      await loadMine();
    } catch (err) {
      const unsure = A.unsure(err);
      A.say(moveMsg, err.message + (unsure ? " Confira os movimentos antes de registrar de novo: ele pode ter sido registrado." : ""), "error");
      if (unsure) loadMine();
    } finally {
      button.disabled = false;
    }
  });

  function readCounted() {
    const counted = {};
    for (const [method, id] of Object.entries(COUNTED)) {
      const text = $(id).value.trim();
      const value = text ? A.parseMoney(text) : 0;
      if (value === null) return { error: `Valor contado inválido em ${A.METHODS[method]}: use, por exemplo, 350,00.`, field: $(id) };
      counted[method + "_cents"] = value;
    }
    return { counted };
  }

  closeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!mine) return;
    const read = readCounted();
    if (read.error) {
      A.say(closeMsg, read.error, "error");
      read.field.focus();
      return;
    }
    pendingCount = read.counted;
    submitButton.hidden = true;
    confirmButton.hidden = false;
    A.say(closeMsg, `Contado: ${A.money(sum(read.counted))}. Confirme o fechamento: depois dele o caixa não recebe mais vendas.`, "info");
    confirmButton.focus();
  });
  for (const id of Object.values(COUNTED)) {
    $(id).addEventListener("input", () => {
      pendingCount = null;
      confirmButton.hidden = true;
      submitButton.hidden = false;
    });
  }
  confirmButton.addEventListener("click", async () => {
    if (!mine || !pendingCount) return;
    confirmButton.disabled = true;
    try {
      const closed = await A.api("POST", `/api/till/sessions/${mine.id}/close`, { body: { counted: pendingCount } });
      for (const id of Object.values(COUNTED)) $(id).value = "";
      A.say(closeMsg, "");
      showResult(closed);
      showMine(null);
      A.say(msg, "Caixa fechado. Para vender de novo, abra o caixa.", "ok");
      loadDay();
    } catch (err) {
      A.say(closeMsg, err.message, "error");
    } finally {
      pendingCount = null;
      confirmButton.disabled = false;
      confirmButton.hidden = true;
      submitButton.hidden = false;
    }
  });

  function showResult(s) {
    const total = s.difference ? sum(s.difference) : 0;
    $("mc-result-info").textContent =
      `Aberto em ${A.dateTime(s.opened_at)}, fechado em ${A.dateTime(s.closed_at)}. ` +
      (total === 0 ? "Sem diferença." : total < 0 ? `Faltam ${A.money(-total)}.` : `Sobram ${A.money(total)}.`);
    A.fillRows($("mc-result-rows"), closingRows(s));
    A.clear($("mc-result-foot")).append(closingFoot(s));
    resultBox.hidden = false;
  }

  $("mc-refresh").addEventListener("click", loadMine);

  // ------------------------------------------------------------------ the day (admin)
  async function loadDay() {
    if (!A.can("admin")) return;
    const day = A.readDate($("ad-day"));
    if (!day) {
      A.say($("ad-msg"), "Data inválida: use dd/mm/aaaa.", "error");
      $("ad-day").focus();
      return;
    }
    const params = new URLSearchParams({ date: day });
    if ($("ad-status").value) params.set("status", $("ad-status").value);
    try {
      const answer = await A.api("GET", "/api/till/sessions?" + params.toString());
      if (!page.alive) return;
      const sessions = answer.items;
      A.fillRows(
        $("ad-rows"),
        sessions.map((s) =>
          h(
            "tr",
            { dataset: { session: s.id } },
            h("td", {}, s.operator_name || s.operator_id.slice(0, 8)),
            h("td", {}, A.dateTime(s.opened_at)),
            h("td", {}, s.closed_at ? A.dateTime(s.closed_at) : "—"),
            h("td", {}, A.badge(STATUS[s.status] || s.status, s.status === "open" ? "warn" : "neutral")),
            h("td", { class: "num" }, String(s.sales_count || 0)),
            h("td", { class: "num" }, A.money(sum(s.expected))),
            h("td", { class: "num" }, s.counted ? A.money(sum(s.counted)) : "—"),
            diffCell(s.difference ? sum(s.difference) : null),
            h("td", { class: "actions" }, h("button", { type: "button", class: "btn btn-small", "aria-label": "Ver caixa de " + (s.operator_name || s.operator_id.slice(0, 8)), onclick: () => openDetail(s) }, "Ver"))
          )
        ),
        "Nenhum caixa aberto neste dia."
      );
      const closed = sessions.filter((s) => s.difference);
      A.clear($("ad-foot"));
      if (sessions.length) {
        $("ad-foot").append(
          h(
            "tr",
            {},
            h("th", { scope: "row", colspan: 4 }, "Total do dia"),
            h("td", { class: "num" }, String(sessions.reduce((t, s) => t + (s.sales_count || 0), 0))),
            h("td", { class: "num" }, A.money(sessions.reduce((t, s) => t + sum(s.expected), 0))),
            h("td", { class: "num" }, A.money(closed.reduce((t, s) => t + sum(s.counted), 0))),
            diffCell(closed.reduce((t, s) => t + sum(s.difference), 0)),
            h("td", {})
          )
        );
      }
      A.say($("ad-msg"), `${sessions.length} caixa(s) no dia ${A.date(day)}.`, "info");
    } catch (err) {
      A.say($("ad-msg"), err.message, "error");
    }
  }

  function openDetail(s) {
    $("sd-title").textContent = `Caixa de ${s.operator_name || s.operator_id.slice(0, 8)} — ${STATUS[s.status] || s.status}`;
    const foot = h("tfoot", {}, closingFoot(s));
    foot.querySelector("#mc-total-diff").removeAttribute("id");
    const closing = A.table("Esperado, contado e diferença", ["Forma", "Esperado", "Contado", "Diferença"], closingRows(s));
    closing.querySelector("table").append(foot);
    const moves = A.table("Movimentos", ["Data", "Tipo", "Valor", "Motivo"], movementRows(s));
    A.clear($("sd-body")).append(
      h(
        "dl",
        { class: "facts-inline" },
        h("div", {}, h("dt", {}, "Aberto em"), h("dd", {}, A.dateTime(s.opened_at))),
        h("div", {}, h("dt", {}, "Fechado em"), h("dd", {}, s.closed_at ? A.dateTime(s.closed_at) : "—")),
        h("div", {}, h("dt", {}, "Troco inicial"), h("dd", {}, A.money(s.opening_cents))),
        h("div", {}, h("dt", {}, "Vendas"), h("dd", {}, String(s.sales_count || 0)))
      ),
      closing,
      h("h3", {}, "Sangrias e suprimentos"),
      (s.movements || []).length ? moves : h("p", { class: "hint" }, "Nenhum.")
    );
    if (!detailDialog.open) detailDialog.showModal();
  }
  $("sd-close").addEventListener("click", () => detailDialog.close());

  $("ad-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadDay();
  });

  A.writeDate($("ad-day"), A.today());
  loadMine().then(() => {
    if (!page.alive) return;
    if (!mine) $("mc-opening").focus();
  });
  loadDay();
});
