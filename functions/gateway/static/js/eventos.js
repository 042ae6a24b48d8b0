/* Eventos (admin): recent CloudEvents from the event log; dead letters with replay. */
window.Acougue.page("eventos", function (A, $, h, page) {
  "use strict";
  const TYPES = [
    "category.created", "product.created", "product.updated", "user.created", "user.updated",
    "inventory.movement.registered", "inventory.stock.low", "sale.completed", "sale.paid",
    "sale.payment_failed", "sale.cancelled", "sale.refunded", "payment.pending", "payment.approved",
    "payment.declined", "payment.refunded", "sale.payment_requested", "ledger.entry.posted",
  ];

  let timer = null;

  const datalist = $("ev-types");
  for (const t of TYPES) datalist.append(h("option", { value: "com.acougue." + t }));

  const short = (type) => String(type || "").replace(/^com\.acougue\./, "");

  function data(value) {
    return h("details", {}, h("summary", {}, "ver"), h("pre", { class: "json" }, JSON.stringify(value, null, 2)));
  }

  async function loadEvents() {
    const params = new URLSearchParams({ limit: $("ev-limit").value });
    if ($("ev-type").value.trim()) params.set("type", $("ev-type").value.trim());
    try {
      const answer = await A.api("GET", "/api/events?" + params.toString());
      if (!page.alive) return;
      const rows = answer.items.map((e) =>
        h(
          "tr",
          {},
          h("td", {}, A.dateTime(e.received_at || e.time)),
          h("td", {}, h("code", {}, short(e.type))),
          h("td", {}, e.subject ? h("code", { title: e.subject }, String(e.subject).slice(0, 8)) : "—"),
          h("td", {}, e.source || "—"),
          h("td", {}, e.actor ? h("code", { title: e.actor }, String(e.actor).slice(0, 8)) : "—"),
          h("td", {}, data(e.data))
        )
      );
      A.fillRows($("ev-rows"), rows, "Nenhum evento.");
      A.say($("ev-msg"), `${answer.items.length} evento(s).`, "info");
    } catch (err) {
      A.say($("ev-msg"), err.message, "error");
    }
  }

  async function loadDeadLetters() {
    try {
      const answer = await A.api("GET", "/api/dead-letters?limit=100");
      if (!page.alive) return;
      const rows = answer.items.map((d) =>
        h(
          "tr",
          { dataset: { deadLetter: d.id } },
          h("td", {}, A.dateTime(d.received_at)),
          h("td", {}, h("code", {}, short(d.type)), h("br"), data(d.data)),
          h("td", {}, d.error_dest || "—"),
          h("td", {}, d.error_code ? "HTTP " + d.error_code : "—", d.error_data ? h("pre", { class: "json" }, d.error_data) : null),
          h("td", { class: "num" }, String(d.failures || 1)),
          h("td", {}, d.replayed_at ? A.dateTime(d.replayed_at) : "—"),
          h(
            "td",
            { class: "actions" },
            h("button", { type: "button", class: "btn btn-small", "aria-label": "Reenviar " + short(d.type), onclick: (e) => replay(d, e.target) }, "Reenviar")
          )
        )
      );
      A.fillRows($("dl-rows"), rows, "Nenhuma mensagem morta. Tudo entregue.");
    } catch (err) {
      A.say($("dl-msg"), err.message, "error");
    }
  }

  async function replay(deadLetter, button) {
    button.disabled = true;
    try {
      await A.api("POST", `/api/dead-letters/${deadLetter.id}/replay`);
      A.say($("dl-msg"), `${short(deadLetter.type)} reenviado ao broker.`, "ok");
    } catch (err) {
      A.say($("dl-msg"), err.message, "error");
    }
    await loadDeadLetters();
  }

  function auto() {
    clearInterval(timer);
    if ($("ev-auto").checked) {
      timer = setInterval(() => {
        loadEvents();
        loadDeadLetters();
      }, 5000);
    }
  }

  $("ev-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadEvents();
    loadDeadLetters();
  });
  $("ev-limit").addEventListener("change", loadEvents);
  $("ev-auto").addEventListener("change", auto);
  loadEvents();
  loadDeadLetters();

  return () => {
    clearInterval(timer);
  };
});
