/* Produtos: list and search; admin and estoquista create, edit, deactivate; categories
   (created, renamed, deactivated: an inactive one takes no new products). */
window.Acougue.page("produtos", function (A, $, h, page) {
  "use strict";
  const canWrite = A.can("admin", "estoquista");
  const filter = $("prod-filter");
  const q = $("prod-q");
  const inactive = $("prod-inactive");
  const rows = $("prod-rows");
  const msg = $("prod-msg");
  const dialog = $("prod-dialog");
  const form = $("prod-form");
  const title = $("prod-dialog-title");
  const fields = {
    name: $("pf-name"),
    category: $("pf-category"),
    unit: $("pf-unit"),
    price: $("pf-price"),
    min: $("pf-min"),
    plu: $("pf-plu"),
    barcode: $("pf-barcode"),
  };
  const formMsg = $("pf-msg");
  let categories = [];
  let editing = null;

  const categoryName = (id) => (categories.find((c) => c.id === id) || {}).name || "—";

  const isActive = (c) => c.active !== false;

  async function loadCategories() {
    const answer = await A.api("GET", "/api/categories");
    categories = answer.items.slice().sort((a, b) => Number(isActive(b)) - Number(isActive(a)) || a.name.localeCompare(b.name, "pt-BR"));
    const list = $("cat-list");
    A.clear(list);
    for (const c of categories) {
      const buttons = canWrite
        ? [
            h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": "Renomear categoria " + c.name, onclick: () => openRename(c) }, "Renomear"),
            h(
              "button",
              { type: "button", class: "btn btn-small btn-quiet", "aria-label": (isActive(c) ? "Desativar categoria " : "Reativar categoria ") + c.name, onclick: () => setCategoryActive(c, !isActive(c)) },
              isActive(c) ? "Desativar" : "Reativar"
            ),
          ]
        : [];
      list.append(
        h(
          "li",
          { class: "cat-item" + (isActive(c) ? "" : " cat-inactive"), dataset: { category: c.id } },
          h("span", { class: "cat-name strong" }, c.name),
          isActive(c) ? null : A.badge("Inativa", "neutral"),
          buttons
        )
      );
    }
    if (!categories.length) list.append(h("li", { class: "hint" }, "Nenhuma categoria ainda."));
    fillCategorySelect(null);
  }

  /** The product form's categories: the active ones, and the product's own even if inactive. */
  function fillCategorySelect(current) {
    A.clear(fields.category).append(h("option", { value: "" }, "Sem categoria"));
    for (const c of categories) {
      if (isActive(c) || c.id === current) fields.category.append(h("option", { value: c.id }, c.name + (isActive(c) ? "" : " (inativa)")));
    }
  }

  let renaming = null;
  function openRename(c) {
    renaming = c;
    $("cat-dialog-title").textContent = "Renomear categoria " + c.name;
    $("cat-new-name").value = c.name;
    A.say($("cat-dialog-msg"), "");
    $("cat-dialog").showModal();
    $("cat-new-name").select();
  }
  $("cat-rename").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!renaming) return;
    const name = $("cat-new-name").value.trim();
    if (A.need(name, $("cat-dialog-msg"), "Informe o novo nome.", $("cat-new-name"))) return;
    if (name === renaming.name) {
      $("cat-dialog").close();
      return;
    }
    const before = renaming.name;
    $("cat-save").disabled = true;
    try {
      await A.api("PATCH", `/api/categories/${renaming.id}`, { body: { name } });
      $("cat-dialog").close();
      A.say($("cat-msg"), `Categoria ${before} renomeada para ${name}.`, "ok");
      await loadCategories();
      await loadProducts();
    } catch (err) {
      A.say($("cat-dialog-msg"), err.message, "error");
    } finally {
      $("cat-save").disabled = false;
    }
  });
  $("cat-cancel").addEventListener("click", () => $("cat-dialog").close());
  $("cat-dialog").addEventListener("close", () => {
    renaming = null;
  });

  async function setCategoryActive(c, active) {
    try {
      await A.api("PATCH", `/api/categories/${c.id}`, { body: { active } });
      A.say($("cat-msg"), `Categoria ${c.name} ${active ? "reativada" : "desativada"}.`, "ok");
      await loadCategories();
    } catch (err) {
      A.say($("cat-msg"), err.message, "error");
    }
  }

  async function loadProducts() {
    const params = new URLSearchParams();
    if (q.value.trim()) params.set("q", q.value.trim());
    if (!inactive.checked) params.set("active", "true");
    try {
      const answer = await A.api("GET", "/api/products?" + params.toString());
      if (!page.alive) return;
      A.fillRows(rows, answer.items.map(row), q.value.trim() ? "Nenhum produto encontrado." : "Nenhum produto cadastrado.");
      $("prod-count").textContent = `${answer.items.length} produto(s).`;
    } catch (err) {
      A.say(msg, err.message, "error");
    }
  }

  function row(p) {
    const actions = canWrite
      ? h(
          "td",
          { class: "actions" },
          h("button", { type: "button", class: "btn btn-small", "aria-label": "Editar " + p.name, onclick: () => openForm(p) }, "Editar"),
          h(
            "button",
            {
              type: "button",
              class: "btn btn-small btn-quiet",
              "aria-label": (p.active ? "Desativar " : "Reativar ") + p.name,
              onclick: () => setActive(p, !p.active),
            },
            p.active ? "Desativar" : "Reativar"
          )
        )
      : null;
    return h(
      "tr",
      { dataset: { product: p.id } },
      h("td", { class: "num" }, p.plu === null ? "—" : String(p.plu)),
      h("td", { class: "strong" }, p.name),
      h("td", {}, categoryName(p.category_id)),
      h("td", {}, p.unit),
      h("td", { class: "num" }, A.money(p.price_cents), h("span", { class: "unit" }, "/" + p.unit)),
      h("td", {}, p.barcode || "—"),
      h("td", { class: "num" }, p.min_stock === "0.000" ? "—" : A.quantity(p.min_stock, p.unit)),
      h("td", {}, p.active ? A.badge("Ativo", "ok") : A.badge("Inativo", "neutral")),
      actions
    );
  }

  async function setActive(p, active) {
    try {
      await A.api("PATCH", `/api/products/${p.id}`, { body: { active } });
      A.say(msg, `${p.name} ${active ? "reativado" : "desativado"}.`, "ok");
      await loadProducts();
    } catch (err) {
      A.say(msg, err.message, "error");
    }
  }

  function openForm(product) {
    editing = product || null;
    title.textContent = product ? "Editar " + product.name : "Novo produto";
    A.say(formMsg, "");
    fields.name.value = product ? product.name : "";
    fillCategorySelect(product ? product.category_id : null);
    fields.category.value = product && product.category_id ? product.category_id : "";
    fields.unit.value = product ? product.unit : "kg";
    fields.price.value = product ? A.centsToDecimal(product.price_cents).replace(".", ",") : "";
    fields.min.value = product && product.min_stock !== "0.000" ? product.min_stock.replace(".", ",") : "";
    fields.plu.value = product && product.plu !== null ? String(product.plu) : "";
    fields.barcode.value = product && product.barcode ? product.barcode : "";
    dialog.showModal();
    fields.name.focus();
  }

  function readForm() {
    const name = fields.name.value.trim();
    if (!name) return { error: "Informe o nome.", field: fields.name };
    const price = A.parseMoney(fields.price.value);
    if (price === null) return { error: "Preço inválido: use, por exemplo, 89,90.", field: fields.price };
    let minStock = "0.000";
    if (fields.min.value.trim()) {
      minStock = A.parseQuantity(fields.min.value, { allowZero: true });
      if (!minStock) return { error: "Estoque mínimo inválido: use, por exemplo, 5,000.", field: fields.min };
    }
    let plu = null;
    if (fields.plu.value.trim()) {
      if (!/^\d{1,4}$/.test(fields.plu.value.trim()) || Number(fields.plu.value) < 1) {
        return { error: "PLU inválido: um número de 1 a 9999.", field: fields.plu };
      }
      plu = Number(fields.plu.value);
    }
    let barcode = fields.barcode.value.trim() || null;
    if (barcode && !A.ean13Valid(barcode)) {
      return { error: "Código de barras inválido: 13 dígitos com o dígito verificador correto.", field: fields.barcode };
    }
    return {
      body: {
        name,
        unit: fields.unit.value,
        price_cents: price,
        category_id: fields.category.value || null,
        plu,
        barcode,
        min_stock: minStock,
      },
    };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const read = readForm();
    if (read.error) {
      A.say(formMsg, read.error, "error");
      read.field.focus();
      return;
    }
    let body = read.body;
    if (editing) {
      // Only what changed: the catalogue's event says which fields did.
      const changed = {};
      for (const [k, v] of Object.entries(body)) {
        const before = k === "min_stock" ? editing.min_stock : editing[k];
        if (before !== v) changed[k] = v;
      }
      body = changed;
      if (!Object.keys(body).length) {
        dialog.close();
        return;
      }
    } else {
      for (const k of ["category_id", "plu", "barcode"]) if (body[k] === null) delete body[k];
    }
    const save = $("pf-save");
    save.disabled = true;
    try {
      const saved = editing
        ? await A.api("PATCH", `/api/products/${editing.id}`, { body })
        : await A.api("POST", "/api/products", { body });
      dialog.close();
      A.say(msg, `${saved.name} ${editing ? "atualizado" : "cadastrado"}.`, "ok");
      await loadProducts();
    } catch (err) {
      A.say(formMsg, err.message, "error");
    } finally {
      save.disabled = false;
    }
  });
  $("pf-cancel").addEventListener("click", () => dialog.close());

  $("prod-new").addEventListener("click", () => openForm(null));
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    loadProducts();
  });
  inactive.addEventListener("change", loadProducts);
  let typing = null;
  q.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(loadProducts, 250);
  });

  $("cat-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("cat-name");
    const name = input.value.trim();
    if (!name) {
      A.say($("cat-msg"), "Informe o nome da categoria.", "error");
      return;
    }
    try {
      await A.api("POST", "/api/categories", { body: { name } });
      input.value = "";
      A.say($("cat-msg"), `Categoria ${name} criada.`, "ok");
      await loadCategories();
    } catch (err) {
      A.say($("cat-msg"), err.message, "error");
    }
  });

  loadCategories()
    .catch((err) => A.say(msg, err.message, "error"))
    .then(loadProducts);

  return () => {
    clearTimeout(typing);
  };
});
