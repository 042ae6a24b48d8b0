/* Financeiro (admin): the period's result with a Chart.js chart, by payment method,
   margin per cut, expenses (listed, and reversed with a reason), other income, the drawer (sangria, suprimento, opening float), the daily
   cash closing, CSV exports and the trial balance. All money is integer centavos. */
window.Acougue.page("financeiro", function (A, $, h, page) {
  "use strict";
  const CHART_JS = "/static/vendor/chart.umd.min.js";
  const METHOD_ORDER = ["pix", "debit", "credit", "cash"];
  const ACCOUNT_NAMES = {
    caixa: "Caixa (dinheiro)",
    banco: "Banco / PIX",
    cartoes_a_receber: "Cartões a receber",
    estoque: "Estoque",
    receita_vendas: "Receita de vendas",
    cmv: "CMV",
    taxas_cartao: "Taxas de cartão",
    perdas: "Perdas",
    fornecedores_a_pagar: "Fornecedores a pagar",
    outras_receitas: "Outras receitas",
  };

  const monthName = new Intl.DateTimeFormat("pt-BR", { month: "short", year: "numeric", timeZone: "UTC" });

  function periodLabel(period, groupBy) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(period || "");
    if (!m) return String(period);
    if (groupBy === "month") return monthName.format(new Date(Date.UTC(+m[1], +m[2] - 1, 1)));
    if (groupBy === "week") return `sem. ${m[3]}/${m[2]}`;
    return `${m[3]}/${m[2]}`;
  }

  /** Reais as a plain number for the chart's scale only: drawing needs no exactness. */
  const toReais = (cents) => Number(A.centsToDecimal(cents));

  let chart = null;

  const today = A.today();
  A.writeDate($("fin-from"), today.slice(0, 8) + "01");
  A.writeDate($("fin-to"), today);
  A.writeDate($("exp-date"), today);
  A.writeDate($("cl-day"), today);

  /** A date field's value, or a message and null (empty: the API's default). */
  function dateOf(id, msgEl) {
    const value = A.readDate($(id));
    if (value === null) {
      A.say(msgEl, "Data inválida: use dd/mm/aaaa.", "error");
      $(id).focus();
    }
    return value;
  }

  function period() {
    const params = new URLSearchParams();
    const from = dateOf("fin-from", $("fin-msg"));
    const to = dateOf("fin-to", $("fin-msg"));
    if (from === null || to === null) return null;
    if (from) params.set("from", from);
    if (to) params.set("to", to);
    return params;
  }
  const fromText = () => A.readDate($("fin-from")) || "inicio";
  const toText = () => A.readDate($("fin-to")) || today;

  function missing(err) {
    if (err && err.status === 404) {
      $("fin-missing").hidden = false;
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------ the report
  async function loadReport() {
    const params = period();
    if (!params) return;
    params.set("group_by", $("fin-group").value);
    let report;
    try {
      report = await A.api("GET", "/api/finance/report?" + params.toString());
    } catch (err) {
      if (!missing(err)) A.say($("fin-msg"), err.message, "error");
      return;
    }
    if (!page.alive) return;
    $("fin-missing").hidden = true;
    A.say($("fin-msg"), `Período de ${A.date(report.from || fromText())} a ${A.date(report.to || toText())}.`, "info");
    for (const card of A.$$("[data-kpi]", page.main)) {
      const cents = report[card.dataset.kpi];
      // A figure an older report does not carry (outras receitas) stays hidden.
      if (card.hasAttribute("data-optional")) card.hidden = cents === undefined;
      card.querySelector(".kpi-value").textContent = A.money(cents);
      if (card.hasAttribute("data-signed")) {
        card.classList.toggle("positive", cents > 0);
        card.classList.toggle("negative", cents < 0);
      }
    }
    renderSeries(report);
    renderMethods(report);
    renderMargins(report);
    await drawChart(report);
  }

  function renderSeries(report) {
    const rows = (report.series || []).map((s) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, periodLabel(s.period, $("fin-group").value)),
        h("td", { class: "num" }, A.money(s.revenue_cents)),
        h("td", { class: "num" }, A.money(s.cogs_cents)),
        h("td", { class: "num" }, A.money(s.expenses_cents)),
        h("td", { class: "num" }, A.money(s.net_result_cents))
      )
    );
    A.fillRows($("fin-series"), rows, "Sem dados no período.");
  }

  function methodCents(value) {
    if (typeof value === "number") return value;
    if (value && typeof value === "object") {
      if (typeof value.revenue_cents === "number") return value.revenue_cents;
      if (typeof value.amount_cents === "number") return value.amount_cents;
    }
    return 0;
  }

  function renderMethods(report) {
    const by = report.by_payment_method || {};
    const keys = [...METHOD_ORDER.filter((k) => k in by), ...Object.keys(by).filter((k) => !METHOD_ORDER.includes(k))];
    const total = keys.reduce((sum, k) => sum + methodCents(by[k]), 0);
    const rows = keys.map((k) => {
      const cents = methodCents(by[k]);
      const share = total ? A.percent(((cents * 100) / total).toFixed(1)) : "—";
      return h("tr", {}, h("th", { scope: "row" }, A.METHODS[k] || k), h("td", { class: "num" }, A.money(cents)), h("td", { class: "num" }, share));
    });
    A.fillRows($("fin-methods"), rows, "Sem vendas no período.");
  }

  function renderMargins(report) {
    const items = (report.margin_by_product || []).slice().sort((a, b) => b.gross_profit_cents - a.gross_profit_cents);
    const rows = items.map((m) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, m.name),
        h("td", { class: "num" }, A.money(m.revenue_cents)),
        h("td", { class: "num" }, A.money(m.cogs_cents)),
        h("td", { class: "num strong" }, A.money(m.gross_profit_cents)),
        h("td", { class: "num" }, m.margin_percent === null || m.margin_percent === undefined ? "—" : A.percent(m.margin_percent))
      )
    );
    A.fillRows($("fin-margins"), rows, "Sem vendas no período.");
  }

  async function drawChart(report) {
    try {
      await A.loadScript(CHART_JS);
    } catch (err) {
      A.say($("fin-msg"), "Não foi possível carregar o gráfico: " + err.message, "error");
      return;
    }
    if (!page.alive) return;
    const series = report.series || [];
    const groupBy = $("fin-group").value;
    const data = {
      labels: series.map((s) => periodLabel(s.period, groupBy)),
      datasets: [
        { type: "bar", label: "Receita", data: series.map((s) => toReais(s.revenue_cents)), backgroundColor: "#2e7d46", order: 2 },
        { type: "bar", label: "CMV", data: series.map((s) => toReais(s.cogs_cents)), backgroundColor: "#8b1a1a", order: 2 },
        { type: "bar", label: "Despesas", data: series.map((s) => toReais(s.expenses_cents)), backgroundColor: "#c99a2e", order: 2 },
        {
          type: "line",
          label: "Resultado",
          data: series.map((s) => toReais(s.net_result_cents)),
          borderColor: "#1457b8",
          backgroundColor: "#1457b8",
          tension: 0.2,
          order: 1,
        },
      ],
    };
    const money = (value) => A.money(Math.round(value * 100));
    const reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (chart) {
      chart.data = data;
      chart.update();
      return;
    }
    const Chart = window.Chart;
    chart = new Chart($("fin-chart"), {
      data,
      options: {
        locale: "pt-BR",
        responsive: true,
        maintainAspectRatio: false,
        animation: reduced ? false : { duration: 300 },
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { ticks: { callback: (value) => A.moneyCompact(Math.round(value * 100)) } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${money(ctx.parsed.y)}` } },
        },
      },
    });
  }

  // ------------------------------------------------------------ CSV exports
  async function csv(path, name) {
    const params = period();
    if (!params) return;
    try {
      const res = await A.api("GET", path + "?" + params.toString(), { raw: true, headers: { Accept: "text/csv" } });
      A.download(await res.blob(), name);
      A.say($("fin-msg"), `Arquivo ${name} baixado.`, "ok");
    } catch (err) {
      if (!missing(err)) A.say($("fin-msg"), err.message, "error");
    }
  }
  $("fin-csv-report").addEventListener("click", () => csv("/api/finance/report.csv", `resultado-${fromText()}-${toText()}.csv`));
  $("fin-csv-entries").addEventListener("click", () => csv("/api/finance/entries.csv", `lancamentos-${fromText()}-${toText()}.csv`));

  // ------------------------------------------------------------ expenses
  $("exp-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("exp-msg");
    const amount = A.parseMoney($("exp-amount").value);
    const description = $("exp-description").value.trim();
    if (A.need(amount, m, "Valor inválido: use, por exemplo, 1.297,45.", $("exp-amount"))) return;
    if (A.need(description, m, "Descreva a despesa.", $("exp-description"))) return;
    const occurredOn = A.readDate($("exp-date"));
    if (A.need(occurredOn, m, "Informe a data da despesa (dd/mm/aaaa).", $("exp-date"))) return;
    const body = {
      category: $("exp-category").value,
      amount_cents: amount,
      description,
      occurred_on: occurredOn,
      paid_with: $("exp-paid").value,
    };
    try {
      await A.api("POST", "/api/finance/expenses", { body });
      A.say(m, `Despesa de ${A.money(amount)} lançada (${$("exp-category").selectedOptions[0].textContent}).`, "ok");
      $("exp-amount").value = "";
      $("exp-description").value = "";
      await Promise.all([loadReport(), loadClosing(), loadTrialBalance(), loadExpenses()]);
    } catch (err) {
      if (!missing(err)) A.say(m, err.message, "error");
    }
  });

  // The period's expenses; a mistyped one is reversed (Estornar, with a reason): the
  // reversing entry takes it out of the result and the row says so.
  const EXPENSE_CATEGORIES = Object.fromEntries(A.$$("#exp-category option", page.main).map((o) => [o.value, o.textContent]));
  const PAID_WITH = { cash: "Dinheiro do caixa", bank: "Banco / PIX" };
  let reversing = null;

  async function loadExpenses() {
    const params = period();
    if (!params) return;
    let answer;
    try {
      answer = await A.api("GET", "/api/finance/expenses?" + params.toString());
    } catch (err) {
      if (!missing(err)) A.say($("ex-msg"), err.message, "error");
      return;
    }
    if (!page.alive) return;
    const rows = answer.items.map((x) => {
      const reversed = x.reversal || null;
      return h(
        "tr",
        { class: reversed ? "reversed" : null, dataset: { expense: x.id } },
        h("td", {}, A.date(x.occurred_on)),
        h("td", {}, EXPENSE_CATEGORIES[x.category] || x.category),
        h("td", {}, x.description),
        h("td", {}, PAID_WITH[x.paid_with] || x.paid_with || "—"),
        h("td", { class: "num" + (reversed ? " struck" : "") }, A.money(x.amount_cents)),
        h(
          "td",
          {},
          reversed
            ? [A.badge("Estornada", "neutral"), h("span", { class: "tag" }, `${reversed.reason}${reversed.at ? " · " + A.dateTime(reversed.at) : ""}`)]
            : A.badge("Lançada", "ok")
        ),
        h(
          "td",
          { class: "actions" },
          reversed
            ? null
            : h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": `Estornar ${x.description}`, onclick: () => openReverse(x) }, "Estornar")
        )
      );
    });
    A.fillRows($("ex-rows"), rows, "Nenhuma despesa no período.");
    const live = answer.items.filter((x) => !x.reversal);
    A.say($("ex-msg"), `${answer.items.length} despesa(s) · ${A.money(live.reduce((t, x) => t + x.amount_cents, 0))} no resultado`, "info");
  }

  function openReverse(x) {
    reversing = x;
    $("xr-what").textContent = `${A.date(x.occurred_on)} · ${EXPENSE_CATEGORIES[x.category] || x.category} · ${x.description} · ${A.money(x.amount_cents)}`;
    $("xr-reason").value = "";
    A.say($("xr-msg"), "");
    $("xr-dialog").showModal();
    $("xr-reason").focus();
  }
  $("xr-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!reversing) return;
    const m = $("xr-msg");
    const reason = $("xr-reason").value.trim();
    if (A.need(reason, m, "Informe o motivo do estorno.", $("xr-reason"))) return;
    const x = reversing;
    $("xr-save").disabled = true;
    try {
      await A.api("POST", `/api/finance/expenses/${x.id}/reverse`, { body: { reason } });
      $("xr-dialog").close();
      A.say($("ex-msg"), `Despesa ${x.description} estornada.`, "ok");
    } catch (err) {
      if (err.status === 409) {
        // Reversed already (another screen, or a lost answer): the list shows it.
        $("xr-dialog").close();
        A.say($("ex-msg"), `A despesa ${x.description} já estava estornada.`, "info");
      } else {
        A.say(m, err.message, "error");
        return;
      }
    } finally {
      $("xr-save").disabled = false;
    }
    const said = $("ex-msg").textContent;
    const kind = $("ex-msg").classList.contains("msg-ok") ? "ok" : "info";
    await Promise.all([loadExpenses(), loadReport(), loadClosing(), loadTrialBalance()]);
    A.say($("ex-msg"), said, kind);
  });
  $("xr-cancel").addEventListener("click", () => $("xr-dialog").close());
  $("xr-dialog").addEventListener("close", () => {
    reversing = null;
  });

  // ------------------------------------------------------------ other income
  A.writeDate($("inc-date"), today);
  $("inc-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("inc-msg");
    const description = $("inc-description").value.trim();
    const amount = A.parseMoney($("inc-amount").value);
    if (A.need(description, m, "Descreva a receita.", $("inc-description"))) return;
    if (A.need(amount, m, "Valor inválido: use, por exemplo, 150,00.", $("inc-amount"))) return;
    const occurredOn = A.readDate($("inc-date"));
    if (A.need(occurredOn, m, "Informe a data do recebimento (dd/mm/aaaa).", $("inc-date"))) return;
    const body = { description, amount_cents: amount, received_with: $("inc-with").value, occurred_on: occurredOn };
    const button = $("inc-form").querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await A.api("POST", "/api/finance/incomes", { body });
      A.say(m, `Receita de ${A.money(amount)} lançada (${description}).`, "ok");
      $("inc-amount").value = "";
      $("inc-description").value = "";
      await Promise.all([loadReport(), loadClosing(), loadTrialBalance()]);
    } catch (err) {
      if (!missing(err)) A.say(m, A.unsure(err) ? err.message + " Confira o resultado antes de lançar de novo." : err.message, "error");
    } finally {
      button.disabled = false;
    }
  });

  // ------------------------------------------------------------ the drawer and the closing
  function fact(label, value) {
    return h("div", {}, h("dt", {}, label), h("dd", {}, value));
  }
  function diff(cents) {
    if (cents === null || cents === undefined) return "—";
    return h("span", { class: cents < 0 ? "diff-neg" : cents > 0 ? "diff-pos" : "" }, (cents > 0 ? "+" : "") + A.money(cents));
  }

  async function loadClosing() {
    const day = dateOf("cl-day", $("cl-status"));
    if (!day) return;
    let c;
    try {
      c = await A.api("GET", "/api/finance/cash-closing?day=" + day);
    } catch (err) {
      if (!missing(err)) A.say($("cl-status"), err.message, "error");
      return;
    }
    if (!page.alive) return;
    A.clear($("cl-cash")).append(
      fact("Troco inicial", A.money(c.opening_float_cents)),
      fact("Vendas em dinheiro", A.money(c.cash_sales_cents)),
      fact("Troco dado", A.money(c.change_given_cents)),
      fact("Estornos em dinheiro", A.money(c.cash_refunds_cents)),
      fact("Sangrias", A.money(c.sangria_cents)),
      fact("Suprimentos", A.money(c.suprimento_cents)),
      fact("Despesas pagas do caixa", A.money(c.cash_paid_out_cents)),
      c.fiado_sales_cents !== undefined ? fact("Vendido no fiado (sem entrada de dinheiro)", A.money(c.fiado_sales_cents)) : null,
      c.customer_payments ? fact("Recebido de clientes do fiado", A.money(Object.values(c.customer_payments).reduce((t, v) => t + v, 0))) : null
    );
    showSessions(c.sessions || [], c.sessions_total || null);
    const expected = c.expected || {};
    const counted = c.counted || null;
    const difference = c.difference || null;
    const rows = METHOD_ORDER.filter((k) => k in expected).map((k) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, A.METHODS[k]),
        h("td", { class: "num" }, A.money(expected[k])),
        h("td", { class: "num" }, counted && k in counted ? A.money(counted[k]) : "—"),
        h("td", { class: "num" }, difference ? diff(difference[k]) : "—")
      )
    );
    A.fillRows($("cl-methods"), rows, "Sem movimento.");
    $("cl-status").textContent = c.closed_at
      ? `Caixa de ${A.date(c.day)} fechado em ${A.dateTime(c.closed_at)}.`
      : `Caixa de ${A.date(c.day)} ainda não foi fechado.`;
  }
  // The day's closed till sessions (each operator's own drawer, issue 17) and their sums.
  let operators = null;
  const sumOf = (amounts) => Object.values(amounts || {}).reduce((t, v) => t + v, 0);
  async function showSessions(sessions, total) {
    if (sessions.length && !operators) {
      try {
        const users = await A.api("GET", "/api/users");
        operators = new Map(users.items.map((u) => [u.id, u.full_name || u.username]));
      } catch (_) {
        operators = new Map();
      }
    }
    if (!page.alive) return;
    const name = (id) => (operators && operators.get(id)) || id.slice(0, 8);
    const rows = sessions.map((s) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, name(s.operator_id)),
        h("td", {}, s.closed_at ? A.dateTime(s.closed_at) : "—"),
        h("td", { class: "num" }, A.money(s.opening_cents)),
        h("td", { class: "num" }, A.money(sumOf(s.expected))),
        h("td", { class: "num" }, A.money(sumOf(s.counted))),
        h("td", { class: "num" }, diff(sumOf(s.difference)))
      )
    );
    A.fillRows($("cl-sessions"), rows, "Nenhum caixa de operador fechado neste dia.");
    A.clear($("cl-sessions-foot"));
    if (total && sessions.length) {
      $("cl-sessions-foot").append(
        h(
          "tr",
          {},
          h("th", { scope: "row", colspan: 2 }, `Total (${total.count})`),
          h("td", { class: "num" }, A.money(total.opening_cents)),
          h("td", { class: "num" }, A.money(sumOf(total.expected))),
          h("td", { class: "num" }, A.money(sumOf(total.counted))),
          h("td", { class: "num" }, diff(sumOf(total.difference)))
        )
      );
    }
  }

  $("cl-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadClosing();
  });

  $("op-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("op-msg");
    const kind = $("op-kind").value;
    const amount = A.parseMoney($("op-amount").value);
    const reason = $("op-reason").value.trim();
    if (A.need(amount !== null && (kind === "opening" || amount !== 0), m, "Valor inválido: use, por exemplo, 200,00.", $("op-amount"))) return;
    if (A.need(kind === "opening" || reason, m, "Informe o motivo da sangria ou do suprimento.", $("op-reason"))) return;
    const day = dateOf("cl-day", m);
    if (!day) return;
    const body = { kind, amount_cents: amount, day };
    if (reason) body.reason = reason;
    try {
      await A.api("POST", "/api/finance/cash-operations", { body });
      const names = { opening: "Troco inicial", sangria: "Sangria", suprimento: "Suprimento" };
      A.say(m, `${names[kind]} de ${A.money(amount)} registrado.`, "ok");
      $("op-amount").value = "";
      $("op-reason").value = "";
      await loadClosing();
    } catch (err) {
      if (!missing(err)) A.say(m, err.message, "error");
    }
  });

  $("cc-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("cc-msg");
    const counted = {};
    for (const k of METHOD_ORDER) {
      const field = $("cc-" + k);
      const value = field.value.trim() ? A.parseMoney(field.value) : 0;
      if (A.need(value !== null, m, `Valor inválido em ${A.METHODS[k]}.`, field)) return;
      counted[k] = value;
    }
    const day = dateOf("cl-day", m);
    if (!day) return;
    try {
      await A.api("POST", "/api/finance/cash-closing", { body: { day, counted } });
      A.say(m, `Caixa de ${A.date(day)} fechado.`, "ok");
      await loadClosing();
    } catch (err) {
      if (!missing(err)) A.say(m, err.message, "error");
    }
  });

  // ------------------------------------------------------------ trial balance
  async function loadTrialBalance() {
    let tb;
    try {
      tb = await A.api("GET", "/api/finance/trial-balance?to=" + (A.readDate($("fin-to")) || today));
    } catch (err) {
      missing(err);
      return;
    }
    if (!page.alive) return;
    const rows = tb.accounts.map((a) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, a.name || ACCOUNT_NAMES[a.account] || a.account),
        h("td", { class: "num" }, A.money(a.debit_cents)),
        h("td", { class: "num" }, A.money(a.credit_cents)),
        h("td", { class: "num" }, A.money(a.balance_cents))
      )
    );
    A.fillRows($("tb-rows"), rows, "Nenhum lançamento.");
    A.clear($("tb-foot")).append(
      h("tr", {}, h("th", { scope: "row" }, "Total"), h("td", { class: "num" }, A.money(tb.total_debit_cents)), h("td", { class: "num" }, A.money(tb.total_credit_cents)), h("td", {}, ""))
    );
  }

  $("fin-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadReport();
    loadTrialBalance();
    loadExpenses();
  });
  $("fin-group").addEventListener("change", loadReport);

  loadReport();
  loadClosing();
  loadTrialBalance();
  loadExpenses();

  return () => {
    if (chart) chart.destroy();
  };
});
