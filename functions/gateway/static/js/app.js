/* Açougue UI core: the session (access token in memory, refresh by HttpOnly cookie),
   the API client, pt-BR formatting, small DOM helpers and the page lifecycle.
   Every page script registers itself with Acougue.page(name, init). init(A, $, h, page)
   runs each time the page is shown: A is Acougue, $(id) finds an element of the page by
   its id, h is A.h, page.main is the page's <main> and page.alive turns false when the
   page is left (its open dialogs are closed then). init may return a cleanup function,
   called when the page is left. */
(function () {
  "use strict";

  const A = (window.Acougue = window.Acougue || {});
  const pages = {};
  A.page = function (name, init) {
    pages[name] = init;
  };

  // ---------------------------------------------------------------- formatting (pt-BR)
  const TZ = "America/Sao_Paulo";
  const currency = new Intl.NumberFormat("pt-BR", { style: "currency", currency: "BRL" });
  const compactCurrency = new Intl.NumberFormat("pt-BR", {
    style: "currency",
    currency: "BRL",
    notation: "compact",
    maximumFractionDigits: 1,
  });
  const three = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 3, maximumFractionDigits: 3 });
  const whole = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 0 });
  const two = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const dateTime = new Intl.DateTimeFormat("pt-BR", {
    timeZone: TZ,
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
  const isoDay = new Intl.DateTimeFormat("en-CA", {
    timeZone: TZ,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });

  /** "1234.56" from 123456 centavos, exactly (BigInt: no float ever touches the value). */
  function centsToDecimal(cents) {
    const n = BigInt(cents);
    const neg = n < 0n;
    const abs = neg ? -n : n;
    return (neg ? "-" : "") + (abs / 100n).toString() + "." + (abs % 100n).toString().padStart(2, "0");
  }
  A.centsToDecimal = centsToDecimal;

  /** R$ 1.234,56 (Intl formats the exact decimal string). */
  A.money = function (cents) {
    if (cents === null || cents === undefined || cents === "") return "—";
    return currency.format(centsToDecimal(cents));
  };
  A.moneyCompact = function (cents) {
    return compactCurrency.format(centsToDecimal(cents));
  };

  /** 1,250 kg from "1.250"; 3 un from "3.000". */
  A.quantity = function (text, unit) {
    if (text === null || text === undefined) return "—";
    const s = String(text);
    if (unit === "un" && /^-?\d+(\.0*)?$/.test(s)) return whole.format(s.split(".")[0]) + " un";
    return three.format(s) + (unit ? " " + unit : "");
  };
  A.percent = function (text) {
    return two.format(String(text)) + " %";
  };
  A.number = function (n) {
    return whole.format(n);
  };
  /** dd/mm/aaaa hh:mm in São Paulo from an ISO timestamp. */
  A.dateTime = function (iso) {
    if (!iso) return "—";
    return dateTime.format(new Date(iso)).replace(",", "");
  };
  /** dd/mm/aaaa from a plain date "2026-11-29" (no time zone shift). */
  A.date = function (day) {
    if (!day) return "—";
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day);
    return m ? `${m[3]}/${m[2]}/${m[1]}` : String(day);
  };
  /** Today in São Paulo as "2026-11-29" (what a date input and the API take). */
  A.today = function () {
    return isoDay.format(new Date());
  };
  A.addDays = function (day, days) {
    const [y, m, d] = day.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
  };

  /** Date fields are typed as dd/mm/aaaa (a native date input shows the device's own
      order, often mm/dd/yyyy): [data-date] inputs are set up by the page lifecycle. */
  A.setupDate = function (input) {
    input.setAttribute("placeholder", "dd/mm/aaaa");
    input.setAttribute("inputmode", "numeric");
    input.setAttribute("maxlength", "10");
    input.setAttribute("autocomplete", "off");
    input.addEventListener("input", () => {
      const d = input.value.replace(/\D/g, "").slice(0, 8);
      const shaped = d.length > 4 ? `${d.slice(0, 2)}/${d.slice(2, 4)}/${d.slice(4)}` : d.length > 2 ? `${d.slice(0, 2)}/${d.slice(2)}` : d;
      if (shaped !== input.value) input.value = shaped;
    });
  };
  /** "2026-11-29" from a dd/mm/aaaa field; "" when empty; null when not a real date. */
  A.readDate = function (input) {
    const text = input.value.trim();
    if (!text) return "";
    const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(text);
    if (!m) return null;
    const iso = `${m[3]}-${m[2]}-${m[1]}`;
    const parsed = new Date(iso + "T12:00:00Z");
    return !isNaN(parsed) && parsed.toISOString().slice(0, 10) === iso ? iso : null;
  };
  A.writeDate = function (input, iso) {
    input.value = iso ? A.date(iso) : "";
  };

  /** Centavos from what a person types: "1.234,56", "12,5", "12.50", "7". null if unreadable. */
  A.parseMoney = function (text) {
    let s = String(text || "").trim().replace(/^R\$\s*/i, "").replace(/\s/g, "");
    if (!s) return null;
    if (s.includes(",")) {
      if (!/^\d{1,3}(\.\d{3})*(,\d{0,2})?$|^\d+(,\d{0,2})?$/.test(s)) return null;
      s = s.replace(/\./g, "").replace(",", ".");
    } else if (/^\d{1,3}(\.\d{3})+$/.test(s)) {
      s = s.replace(/\./g, "");
    } else if (!/^\d+(\.\d{0,2})?$/.test(s)) {
      return null;
    }
    const [reais, cents = ""] = s.split(".");
    const value = BigInt(reais) * 100n + BigInt((cents + "00").slice(0, 2));
    if (value > 100000000n) return null;
    return Number(value);
  };

  /** The API's quantity "1.250" from "1,25" or "1.25" (comma or dot: the decimal mark). */
  A.parseQuantity = function (text, { allowZero = false } = {}) {
    const s = String(text || "").trim().replace(/\s*(kg|un)$/i, "");
    const m = /^(\d{1,9})(?:[.,](\d{0,3}))?$/.exec(s);
    if (!m) return null;
    const value = m[1].replace(/^0+(?=\d)/, "") + "." + ((m[2] || "") + "000").slice(0, 3);
    if (!allowZero && /^0\.000$/.test(value)) return null;
    return value;
  };

  /** Thousandths as a BigInt from "1.250". */
  A.thousandths = function (quantity) {
    const neg = quantity.startsWith("-");
    const [i, f = ""] = quantity.replace("-", "").split(".");
    const v = BigInt(i) * 1000n + BigInt((f + "000").slice(0, 3));
    return neg ? -v : v;
  };
  /** "1.250" from 1250n thousandths. */
  A.fromThousandths = function (value) {
    const v = BigInt(value);
    const neg = v < 0n;
    const s = (neg ? -v : v).toString().padStart(4, "0");
    return (neg ? "-" : "") + s.slice(0, -3) + "." + s.slice(-3);
  };
  /** Quantity × unit price, rounded half-up to the centavo, as the API computes a line. */
  A.lineTotal = function (quantity, unitPriceCents) {
    const product = A.thousandths(quantity) * BigInt(unitPriceCents);
    return Number((product + 500n) / 1000n);
  };

  A.METHODS = { pix: "PIX", debit: "Débito", credit: "Crédito", cash: "Dinheiro", fiado: "Fiado" };
  /** The methods money arrives by: what a till counts and a customer pays an account with. */
  A.TILL_METHODS = ["cash", "pix", "debit", "credit"];
  A.SALE_STATUS = {
    pending_payment: "Aguardando pagamento",
    paid: "Pago",
    payment_failed: "Pagamento recusado",
    cancelled: "Cancelada",
    refunded: "Estornada",
  };
  A.ROLES = { admin: "Administrador", estoquista: "Estoquista", vendedor: "Vendedor" };

  /** A random UUID (v4) even where crypto.randomUUID is missing (plain http on the LAN). */
  A.uuid = function () {
    if (window.crypto && typeof window.crypto.randomUUID === "function" && window.isSecureContext) {
      return window.crypto.randomUUID();
    }
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  /** 123.456.789-09 from the API's 11 digits (anything else as it is). */
  A.cpf = function (digits) {
    if (!digits) return "—";
    const d = String(digits);
    return /^\d{11}$/.test(d) ? `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6, 9)}-${d.slice(9)}` : d;
  };

  /** "1.234,56" as a person types it, from centavos (an input's value). */
  A.moneyInput = function (cents) {
    const s = A.centsToDecimal(cents);
    const [reais, frac] = s.replace("-", "").split(".");
    return (s.startsWith("-") ? "-" : "") + reais.replace(/\B(?=(\d{3})+(?!\d))/g, ".") + "," + frac;
  };

  /** EAN-13 check digit over the first 12 digits (GS1 mod 10). */
  A.ean13Valid = function (code) {
    if (!/^\d{13}$/.test(code)) return false;
    let sum = 0;
    for (let i = 0; i < 12; i++) sum += Number(code[i]) * (i % 2 ? 3 : 1);
    return (10 - (sum % 10)) % 10 === Number(code[12]);
  };

  // ---------------------------------------------------------------- DOM helpers
  /** h("td", {class: "num"}, "text", node...): text is always text (no HTML injection). */
  A.h = function (tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  };
  A.$ = (sel, root) => (root || document).querySelector(sel);
  A.$$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  A.clear = function (el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  };
  A.badge = function (text, kind) {
    return A.h("span", { class: "badge badge-" + (kind || "neutral") }, text);
  };
  A.statusBadge = function (status) {
    const kinds = {
      paid: "ok",
      pending_payment: "warn",
      payment_failed: "danger",
      cancelled: "neutral",
      refunded: "neutral",
    };
    return A.badge(A.SALE_STATUS[status] || status, kinds[status]);
  };
  /** Fills a <tbody> with rows, or one row saying there is nothing. */
  A.fillRows = function (tbody, rows, emptyText) {
    A.clear(tbody);
    if (!rows.length) {
      const cols = tbody.closest("table").querySelectorAll("thead th").length || 1;
      tbody.append(A.h("tr", { class: "empty" }, A.h("td", { colspan: cols }, emptyText || "Nada por aqui.")));
      return;
    }
    tbody.append(...rows);
  };

  /** A table of rows built here (its <tbody> filled already): columns are the header
      cells, the first a text, the others numbers (aligned right). */
  A.table = function (label, columns, rows) {
    const heads = columns.map((text, i) => A.h("th", { scope: "col", class: i ? "num" : null }, text));
    return A.h("div", { class: "table-wrap" }, A.h("table", { "aria-label": label }, A.h("thead", {}, A.h("tr", {}, heads)), A.h("tbody", {}, rows)));
  };

  /** A form's message line (role=status or alert): ok / error / info. */
  A.say = function (target, text, kind) {
    if (!target) return;
    target.textContent = text || "";
    target.className = "msg" + (text ? " msg-" + (kind || "info") : "");
    target.setAttribute("role", kind === "error" ? "alert" : "status");
  };

  /** A form's check: unless ok, says text as an error on target, focuses field and
      answers true (then the form stops: if (A.need(...)) return;). */
  A.need = function (ok, target, text, field) {
    if (ok) return false;
    A.say(target, text, "error");
    if (field) field.focus();
    return true;
  };

  A.toast = function (text, kind) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = A.h("div", { class: "toast toast-" + (kind || "info") }, text);
    box.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
  };

  /** Options of a <select> of products, by name: "Picanha (kg)". */
  A.productOptions = function (select, products, placeholder) {
    A.clear(select);
    select.append(A.h("option", { value: "" }, placeholder || "Escolha um produto…"));
    for (const p of products) {
      select.append(A.h("option", { value: p.id }, `${p.name} (${p.unit})${p.active === false ? " — inativo" : ""}`));
    }
  };

  /** Downloads a Blob under a file name. */
  A.download = function (blob, name) {
    const url = URL.createObjectURL(blob);
    const link = A.h("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  /** Copies text; falls back to selecting it where the Clipboard API is missing (http). */
  A.copy = async function (text, fallbackField) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (_) {
      /* fall through */
    }
    if (fallbackField) {
      fallbackField.focus();
      fallbackField.select();
      try {
        return document.execCommand("copy");
      } catch (_) {
        return false;
      }
    }
    return false;
  };

  /** Loads a same-origin script once (Chart.js, only on the pages that draw). */
  const loaded = {};
  A.loadScript = function (src) {
    if (!loaded[src]) {
      loaded[src] = new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = src;
        s.onload = () => resolve();
        s.onerror = () => reject(new Error("não foi possível carregar " + src));
        document.head.append(s);
      });
    }
    return loaded[src];
  };

  // ---------------------------------------------------------------- the receipt
  /** Prints a paid sale's receipt (GET /api/sales/{id}/receipt?format=html, fetched with
      the token like every API call) through the browser's print dialog. The HTML is parsed
      inert (a <template>: Chrome checks this origin's policy, which allows no inline style,
      even in a DOMParser document) and copied into a hidden same-origin frame: its <style>
      becomes a constructed stylesheet, style attributes go through CSSOM, scripts, handlers
      and external resources are dropped; then the frame's print() opens the dialog with the
      receipt's own 80 mm print style. Answers the frame. */
  A.printReceipt = async function (saleId) {
    const res = await A.api("GET", `/api/sales/${encodeURIComponent(saleId)}/receipt?format=html`, {
      raw: true,
      headers: { Accept: "text/html" },
    });
    const raw = await res.text();
    // Inside tags only (text is escaped), style="…" becomes data-receipt-style="…".
    const html = raw.replace(/<[a-zA-Z][^>]*>/g, (tag) => tag.replace(/(\s)style(\s*=)/gi, "$1data-receipt-style$2"));
    const template = document.createElement("template");
    template.innerHTML = html;
    const parsed = template.content;
    const css = A.$$("style", parsed).map((el) => el.textContent).join("\n");
    const titleEl = parsed.querySelector("title");
    const title = titleEl ? titleEl.textContent : "Cupom";
    for (const el of A.$$("script, style, link, meta, title, base, iframe, frame, object, embed, form, template", parsed)) el.remove();
    for (const el of A.$$("*", parsed)) {
      for (const attr of Array.from(el.attributes)) {
        const name = attr.name.toLowerCase();
        if (name.startsWith("on") || ((name === "href" || name === "src") && /^\s*javascript:/i.test(attr.value))) {
          el.removeAttribute(attr.name);
        }
      }
    }
    const old = document.getElementById("receipt-frame");
    if (old) old.remove();
    const frame = A.h("iframe", { id: "receipt-frame", class: "print-frame", title: "Cupom para impressão", tabindex: "-1", "aria-hidden": "true" });
    document.body.append(frame);
    const win = frame.contentWindow;
    const doc = frame.contentDocument;
    const lang = /<html[^>]*\slang="([^"]+)"/i.exec(raw);
    doc.documentElement.lang = lang ? lang[1] : "pt-BR";
    doc.title = title;
    const base = doc.createElement("link");
    base.rel = "stylesheet";
    base.href = document.body.dataset.receiptCss || "/static/css/receipt.css";
    const styled = new Promise((resolve) => {
      base.onload = base.onerror = resolve;
      setTimeout(resolve, 2000);
    });
    doc.head.append(base);
    if (css.trim()) {
      try {
        const sheet = new win.CSSStyleSheet();
        sheet.replaceSync(css);
        doc.adoptedStyleSheets = [sheet];
      } catch (err) {
        console.warn("receipt style not applied", err);
      }
    }
    doc.body.append(doc.importNode(parsed, true));
    for (const el of A.$$("[data-receipt-style]", doc)) {
      el.style.cssText = el.dataset.receiptStyle;
      delete el.dataset.receiptStyle;
    }
    await styled;
    win.focus();
    win.print();
    return frame;
  };

  // ---------------------------------------------------------------- errors
  const KNOWN = [
    [/^Your role may not do this\.?$/, "O seu perfil não tem permissão para isto."],
    [/^Authentication required\.?$/, "Sessão expirada. Entre novamente."],
    [/^The request has invalid fields\.?$/, "Há campos inválidos."],
    [/^No such product in stock's catalogue \(yet\)\.?$/, "Produto ainda não chegou ao estoque (o catálogo chega por eventos): tente de novo em alguns segundos."],
    [/^Unknown or inactive product .*$/, "Produto desconhecido ou inativo no caixa (um produto novo leva alguns segundos para chegar ao caixa): tente de novo."],
    [/^Another product already has this PLU\.?$/, "Outro produto já usa este PLU."],
    [/^Another product already has this barcode\.?$/, "Outro produto já usa este código de barras."],
    [/^A category with this name already exists\.?$/, "Já existe uma categoria com este nome."],
    [/^No such category\.?$/, "Categoria inexistente."],
    [/^The shop must keep at least one active admin\.?$/, "A loja precisa manter ao menos um administrador ativo."],
    [/the cash received does not cover the total/i, "O valor recebido não cobre o total."],
    [/the discount cannot exceed the subtotal/i, "O desconto não pode ser maior que o subtotal."],
    [/credit accepts 1 to 12 installments/i, "O crédito aceita de 1 a 12 parcelas."],
    [/whole units/i, "Este produto é vendido por unidade: use quantidades inteiras."],
    [/^No such sale\.?$/, "Venda não encontrada."],
    [/^The database is unavailable/, "O banco de dados está indisponível no momento: tente de novo."],
    [/^The (\S+) function (is unavailable|did not answer in time)/, (m) => `O serviço ${m[1]} não respondeu: tente de novo.`],
    [/^The \S+ function is at capacity/, "Sistema ocupado, tente novamente em instantes."],
    [/^username: 3 to 40 characters/, "Usuário: de 3 a 40 caracteres, com letras, números, ponto, hífen ou sublinhado."],
    [/^password: at least (\d+) characters/, (m) => `A senha precisa de ao menos ${m[1]} caracteres.`],
    [/^password: must not be the username/, "A senha não pode ser o nome do usuário."],
    [/^Este nome de usuário já existe/, "Este nome de usuário já existe."],
    [/^No such dead letter\.?$/, "Mensagem não encontrada."],
    [/^No such customer\.?$/, "Cliente não encontrado."],
    [/^No such till session\.?$/, "Caixa não encontrado."],
    [/^Settle up to today \((\d{4})-(\d{2})-(\d{2})\) at most/, (m) => `Só dá para liquidar até hoje (${m[3]}/${m[2]}/${m[1]}): esse dinheiro ainda não chegou.`],
  ];
  const STATUS_TEXT = {
    400: "Pedido inválido",
    401: "Sessão expirada",
    403: "Sem permissão",
    404: "Não encontrado",
    409: "Conflito",
    422: "Não foi possível concluir",
    429: "Muitas tentativas",
    500: "Erro no servidor",
    502: "Serviço indisponível",
    503: "Serviço indisponível",
    504: "O serviço não respondeu a tempo",
  };
  const FIELD_NAMES = {
    name: "nome",
    price_cents: "preço",
    plu: "PLU",
    barcode: "código de barras",
    min_stock: "estoque mínimo",
    quantity: "quantidade",
    unit_cost_cents: "custo unitário",
    username: "usuário",
    password: "senha",
    role: "perfil",
    amount_cents: "valor",
    description: "descrição",
    occurred_on: "data",
    category: "categoria",
    cpf: "CPF",
    phone: "telefone",
    credit_limit_cents: "limite de fiado",
    opening_cents: "troco inicial",
    reason: "motivo",
    kind: "tipo",
    method: "forma",
    customer_id: "cliente",
    items: "itens",
    counted: "contado",
    cash_cents: "dinheiro",
    pix_cents: "PIX",
    debit_cents: "débito",
    credit_cents: "crédito",
  };

  class ApiError extends Error {
    constructor(status, message, problem, network) {
      super(message);
      this.status = status;
      this.problem = problem || null;
      this.network = !!network;
    }
  }
  A.ApiError = ApiError;

  function translate(detail) {
    for (const [pattern, text] of KNOWN) {
      const match = pattern.exec(detail);
      if (match) return typeof text === "function" ? text(match) : text;
    }
    return detail;
  }
  A.translate = translate;

  async function problemOf(res) {
    let body = null;
    try {
      body = await res.json();
    } catch (_) {
      body = null;
    }
    const detail = body && typeof body.detail === "string" ? body.detail : "";
    let message = detail ? translate(detail) : STATUS_TEXT[res.status] || `Erro ${res.status}`;
    if (body && Array.isArray(body.errors) && body.errors.length) {
      const fields = body.errors.map((e) => {
        const loc = (e.loc || []).filter((p) => p !== "body" && p !== "query");
        const field = loc.map((p) => FIELD_NAMES[p] || p).join(" › ");
        const msg = String(e.msg || "").replace(/^Value error, /, "");
        return field ? `${field}: ${msg}` : msg;
      });
      message += " " + fields.join("; ");
    }
    if (res.status >= 500 && !detail) message = STATUS_TEXT[res.status] || message;
    const error = new ApiError(res.status, message, body, false);
    error.retryAfter = retryAfter(res);
    return error;
  }

  /** Seconds a 503 or 429 asks the client to wait (Retry-After in whole seconds), or 0. */
  function retryAfter(res) {
    const seconds = Number(res.headers.get("Retry-After"));
    return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
  }

  /** The gateway shed the request before it reached any function (503, code overloaded):
      nothing was done, and the same request may be sent again. */
  A.busy = (err) => !!(err && err.status === 503 && err.problem && err.problem.code === "overloaded");
  /** A write whose outcome is unknown: no answer, or a server error after the gateway let
      it through (it may have been done). Not a shed request, which was never sent on. */
  A.unsure = (err) => !!(err && (err.network || (err.status >= 500 && !A.busy(err))));

  // ---------------------------------------------------------------- session
  const session = {
    token: null,
    user: null,
    expiresAt: 0,
    timer: null,
    pending: null,
  };
  A.session = session;

  function schedule(expiresIn) {
    clearTimeout(session.timer);
    const seconds = Math.max(5, Math.min(expiresIn - 60, expiresIn * 0.8));
    session.timer = setTimeout(() => refresh(), seconds * 1000);
  }

  function adopt(answer) {
    session.token = answer.access_token;
    session.expiresAt = Date.now() + answer.expires_in * 1000;
    if (answer.user) session.user = Object.assign({}, session.user, answer.user);
    schedule(answer.expires_in);
  }

  /** One refresh at a time (and one per browser where Web Locks exist): the refresh
      cookie rotates, and presenting an already rotated one ends the whole session. */
  async function refreshOnce() {
    let res;
    try {
      res = await fetch("/api/auth/refresh", {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
    } catch (_) {
      return "offline";
    }
    if (res.status === 401 || res.status === 403) return "refused";
    if (!res.ok) return "offline";
    adopt(await res.json());
    return "ok";
  }
  function refresh() {
    if (!session.pending) {
      const run = () => refreshOnce();
      const locked = navigator.locks && window.isSecureContext ? navigator.locks.request("acougue-refresh", run) : run();
      session.pending = Promise.resolve(locked)
        .then((result) => {
          if (result === "offline") {
            showConnection("Sem conexão com o servidor. Tentando de novo…");
            clearTimeout(session.timer);
            session.timer = setTimeout(() => refresh(), 5000);
          } else if (result === "ok") {
            showConnection(null);
          } else if (result === "refused" && session.user) {
            toLogin();
          }
          return result;
        })
        .finally(() => {
          session.pending = null;
        });
    }
    return session.pending;
  }
  A.refresh = refresh;

  function showConnection(text) {
    const banner = document.getElementById("connection");
    if (!banner) return;
    banner.hidden = !text;
    banner.textContent = text || "";
  }

  function toLogin() {
    const here = location.pathname + location.search;
    location.replace("/login" + (here && here !== "/" ? "?next=" + encodeURIComponent(here) : ""));
  }

  // The tablet sleeps: timers stop. On waking, renew a token that is about to expire.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && session.token && session.expiresAt - Date.now() < 90000) {
      refresh();
    }
  });

  /** Calls the public API with the Bearer token; on a 401 refreshes once and retries.
      Answers the parsed JSON (null when empty), or the Response with {raw: true}. */
  A.api = async function (method, path, options) {
    const opts = options || {};
    const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (session.token) headers.Authorization = "Bearer " + session.token;
    let body;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store", signal: opts.signal });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(0, "Sem conexão com o servidor. Verifique a rede e tente de novo.", null, true);
    }
    // A read that met a restarting function or database, or a busy system (after the
    // Retry-After it names, at most 3 s), is asked once more.
    if ((res.status === 503 || res.status === 504) && method === "GET" && !opts.retried) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfter(res) * 1000, 3000) || 400));
      return A.api(method, path, Object.assign({}, opts, { retried: true }));
    }
    if (res.status === 401 && opts.retry !== false) {
      const result = await refresh();
      if (result === "ok") return A.api(method, path, Object.assign({}, opts, { retry: false }));
      if (result === "refused") toLogin();
    }
    // A session that must set a new password first (the first admin) goes to the login
    // page, which asks for it.
    if (res.status === 403) {
      const problem = await res.clone().json().catch(() => null);
      if (problem && problem.title === "Password change required") toLogin();
    }
    if (!res.ok) throw await problemOf(res);
    if (opts.raw) return res;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  };

  A.role = () => (session.user ? session.user.role : null);
  A.can = (...roles) => roles.includes(A.role());

  async function logout() {
    try {
      await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin" });
    } catch (_) {
      /* leave anyway */
    }
    session.token = null;
    session.user = null;
    clearTimeout(session.timer);
    location.replace("/login");
  }

  // ---------------------------------------------------------------- roles and pages
  /** Shows what the role may see: every [data-roles] element starts hidden. */
  A.applyRoles = function (root) {
    const role = A.role();
    for (const el of A.$$("[data-roles]", root || document)) {
      if (el.id === "main") continue;
      el.hidden = !el.dataset.roles.split(" ").includes(role);
    }
  };

  // The admin starts the day on the Painel (issue 18); the counter and the stock room on their own screens.
  const HOMES = { admin: "/painel", vendedor: "/caixa", estoquista: "/estoque" };

  let cleanup = null;
  let current = null;
  let shown = null; // the page that init was given

  function leave() {
    if (shown) {
      shown.alive = false;
      for (const dialog of A.$$("dialog[open]", shown.main)) dialog.close();
    }
    if (typeof cleanup === "function") {
      try {
        cleanup();
      } catch (err) {
        console.warn(err);
      }
    }
    shown = null;
    cleanup = null;
  }

  function initPage(main) {
    if (!main || main === current) return;
    current = main;
    leave();
    const slug = main.dataset.page;
    for (const link of A.$$("[data-nav]")) {
      if (link.dataset.nav === slug) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (slug === "inicio") {
      A.navigate(HOMES[A.role()] || "/produtos", { replace: true });
      return;
    }
    const allowed = (main.dataset.roles || "").split(" ").includes(A.role());
    const loading = A.$("[data-loading]", main);
    if (loading) loading.hidden = true;
    if (!allowed) {
      A.$("[data-refused]", main).hidden = false;
      A.$("[data-body]", main).remove();
      document.body.dataset.ready = "true";
      return;
    }
    const body = A.$("[data-body]", main);
    body.hidden = false;
    for (const input of A.$$("input[data-date]", main)) A.setupDate(input);
    A.applyRoles(main);
    const init = pages[slug];
    if (init) {
      try {
        shown = { main, alive: true };
        cleanup = init(A, (id) => main.querySelector("#" + id), A.h, shown) || null;
      } catch (err) {
        console.error(err);
        A.toast("Erro ao abrir a tela: " + err.message, "error");
      }
    }
    document.body.dataset.ready = "true";
  }

  /** Opens another page without reloading (the token stays in memory). */
  A.navigate = function (path, opts) {
    const replace = opts && opts.replace;
    return window.htmx
      .ajax("GET", path, { target: "#main", select: "#main", swap: "outerHTML" })
      .then(() => {
        if (replace) history.replaceState({ htmx: true }, "", path);
        else history.pushState({ htmx: true }, "", path);
      });
  };

  async function boot() {
    const main = document.getElementById("main");
    if (!main || main.dataset.page === "login") return;
    document.getElementById("logout").addEventListener("click", logout);
    const result = await refresh();
    if (result === "refused") {
      toLogin();
      return;
    }
    if (result !== "ok") {
      const retry = A.h("button", { type: "button", class: "btn", onclick: () => location.reload() }, "Tentar de novo");
      const loading = A.$("[data-loading]", main);
      A.clear(loading).append("Sem conexão com o servidor. ", retry);
      return;
    }
    try {
      session.user = await A.api("GET", "/api/me");
    } catch (err) {
      A.toast(err.message, "error");
      return;
    }
    document.getElementById("session-user").textContent = session.user.username;
    document.getElementById("session-role").textContent = A.ROLES[session.user.role] || session.user.role;
    document.getElementById("session").hidden = false;
    document.getElementById("nav").hidden = false;
    A.applyRoles(document.querySelector("header"));
    initPage(main);
  }

  // Boosted navigation: the page's own token and timers live on; #main is swapped.
  document.addEventListener("htmx:beforeRequest", () => {
    document.body.dataset.ready = "false";
  });
  document.addEventListener("htmx:afterSettle", () => {
    const main = document.getElementById("main");
    if (main && session.user) {
      document.title = (main.dataset.title || "Açougue") + " · Açougue";
      initPage(main);
      const focusTarget = A.$("[data-autofocus]", main) || main;
      focusTarget.focus({ preventScroll: false });
    }
  });
  document.addEventListener("htmx:sendError", () => {
    document.body.dataset.ready = "true";
    A.toast("Sem conexão com o servidor: a tela não foi aberta.", "error");
  });
  document.addEventListener("htmx:responseError", (event) => {
    document.body.dataset.ready = "true";
    A.toast(`A tela não abriu (erro ${event.detail.xhr.status}).`, "error");
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
