/* Recebíveis (admin): the card money the acquirer will put in the bank — debit on D+1,
   credit one installment every 30 days — by expected day, with gross, fee and net, and
   "Liquidar até" to settle everything expected up to a day (the daily timer does it too). */
window.Acougue.page("recebiveis", function (A, $, h, page) {
  "use strict";
  const weekday = new Intl.DateTimeFormat("pt-BR", { weekday: "short", timeZone: "UTC" });
  const today = A.today();
  A.writeDate($("rv-from"), A.addDays(today, -7));
  A.writeDate($("rv-until"), today);

  const dayLabel = (day) => `${A.date(day)} (${weekday.format(new Date(day + "T12:00:00Z")).replace(".", "")})`;
  const stateBadge = (status) => (status === "settled" ? A.badge("Liquidado", "ok") : A.badge("A receber", "warn"));

  function sum(items, field) {
    return items.reduce((t, x) => t + (x[field] || 0), 0);
  }

  async function load() {
    const from = A.readDate($("rv-from"));
    const to = A.readDate($("rv-to"));
    if (from === null || to === null) {
      A.say($("rv-msg"), "Data inválida: use dd/mm/aaaa.", "error");
      return;
    }
    const params = new URLSearchParams();
    if (from) params.set("from", from);
    if (to) params.set("to", to);
    if ($("rv-status").value) params.set("status", $("rv-status").value);
    let answer;
    try {
      answer = await A.api("GET", "/api/finance/receivables?" + params.toString());
    } catch (err) {
      if (page.alive) A.say($("rv-msg"), err.message, "error");
      return;
    }
    if (!page.alive) return;
    const items = answer.items.slice().sort((a, b) => (a.expected_on < b.expected_on ? -1 : a.expected_on > b.expected_on ? 1 : 0));
    const expected = items.filter((x) => x.status !== "settled");
    const settled = items.filter((x) => x.status === "settled");
    const totals = {
      expected_net: sum(expected, "net_cents"),
      settled_net: sum(settled, "net_cents"),
      gross: sum(items, "gross_cents"),
      fee: sum(items, "fee_cents"),
    };
    for (const card of A.$$("[data-total]", page.main)) card.querySelector(".kpi-value").textContent = A.money(totals[card.dataset.total]);

    const days = new Map();
    for (const x of items) {
      const d = days.get(x.expected_on) || [];
      d.push(x);
      days.set(x.expected_on, d);
    }
    const dayRows = Array.from(days, ([day, list]) => {
      const open = list.filter((x) => x.status !== "settled").length;
      return h(
        "tr",
        { class: day < today && open ? "overdue" : day === today ? "today" : null, dataset: { day } },
        h("th", { scope: "row" }, dayLabel(day)),
        h("td", { class: "num" }, A.number(list.length)),
        h("td", { class: "num" }, A.money(sum(list, "gross_cents"))),
        h("td", { class: "num" }, A.money(sum(list, "fee_cents"))),
        h("td", { class: "num strong" }, A.money(sum(list, "net_cents"))),
        h("td", {}, open ? stateBadge("expected") : stateBadge("settled"))
      );
    });
    A.fillRows($("rv-days"), dayRows, "Nenhum recebível no período.");

    // A refund or a return is money the acquirer takes back: its row is negative.
    function partLabel(x) {
      if (x.kind === "refund") return "estorno";
      if (x.kind === "return") return "devolução";
      return x.installments > 1 ? `${x.installment}/${x.installments}` : "à vista";
    }

    const rows = items.map((x) =>
      h(
        "tr",
        { dataset: { receivable: x.id, status: x.status } },
        h("td", {}, A.date(x.expected_on)),
        h("td", {}, x.sale_id ? h("a", { href: `/vendas?venda=${x.sale_id}` }, h("code", {}, x.sale_id.slice(0, 8))) : "—"),
        h("td", {}, A.METHODS[x.method] || x.method),
        h("td", {}, partLabel(x)),
        h("td", { class: "num" }, A.money(x.gross_cents)),
        h("td", { class: "num" }, A.money(x.fee_cents)),
        h("td", { class: "num strong" }, A.money(x.net_cents)),
        h("td", {}, stateBadge(x.status), x.settled_on ? h("span", { class: "tag" }, " em " + A.date(x.settled_on)) : null)
      )
    );
    A.fillRows($("rv-items"), rows, "Nenhum recebível no período.");
    A.say($("rv-msg"), `${items.length} parcela(s): ${expected.length} a receber, ${settled.length} liquidada(s).`, "info");
  }

  $("rv-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("rv-status").addEventListener("change", load);

  $("rv-settle").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("rv-settle-msg");
    const until = A.readDate($("rv-until"));
    if (A.need(until, m, "Informe até que dia liquidar (dd/mm/aaaa).", $("rv-until"))) return;
    // The acquirer pays nothing ahead of time: the API refuses a day after today too.
    if (A.need(until <= A.today(), m, `Só dá para liquidar até hoje (${A.date(A.today())}): esse dinheiro ainda não chegou.`, $("rv-until"))) return;
    const button = $("rv-settle-button");
    button.disabled = true;
    try {
      const done = await A.api("POST", "/api/finance/receivables/settle", { body: { until } });
      const count = done && typeof done.settled === "number" ? done.settled : null;
      const net = done && typeof done.net_cents === "number" ? done.net_cents : null;
      A.say(
        m,
        count === 0
          ? `Nada previsto até ${A.date(until)} para liquidar.`
          : `${count === null ? "Recebíveis" : count + " recebível(is)"} até ${A.date(until)} liquidado(s)${net === null ? "" : ": " + A.money(net) + " no banco"}.`,
        "ok"
      );
      await load();
    } catch (err) {
      A.say(m, err.message, "error");
    } finally {
      button.disabled = false;
    }
  });

  load();
});
