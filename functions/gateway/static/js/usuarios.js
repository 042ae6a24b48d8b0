/* Usuários (admin): list, create, change role, (de)activate, set a new password. */
window.Acougue.page("usuarios", function (A, $, h, page) {
  "use strict";
  const msg = $("us-msg");
  const dialog = $("pw-dialog");
  let target = null;

  async function load() {
    try {
      const answer = await A.api("GET", "/api/users");
      if (!page.alive) return;
      const users = answer.items.sort((a, b) => a.username.localeCompare(b.username, "pt-BR"));
      A.fillRows($("us-rows"), users.map(row), "Nenhum usuário.");
    } catch (err) {
      A.say(msg, err.message, "error");
    }
  }

  async function patch(user, body, done) {
    try {
      await A.api("PATCH", `/api/users/${user.id}`, { body });
      A.say(msg, `${user.username}: ${done}.`, "ok");
    } catch (err) {
      A.say(msg, `${user.username}: ${err.message}`, "error");
    }
    await load();
  }

  function row(u) {
    const me = A.session.user && A.session.user.id === u.id;
    const role = h(
      "select",
      { "aria-label": "Perfil de " + u.username, onchange: (e) => patch(u, { role: e.target.value }, "perfil alterado para " + A.ROLES[e.target.value]) },
      Object.entries(A.ROLES).map(([value, label]) => h("option", { value, selected: value === u.role }, label))
    );
    const active = h("input", {
      type: "checkbox",
      checked: u.active,
      "aria-label": "Ativo: " + u.username,
      onchange: (e) => patch(u, { active: e.target.checked }, e.target.checked ? "reativado" : "desativado"),
    });
    return h(
      "tr",
      { dataset: { user: u.username } },
      h("th", { scope: "row" }, u.username, me ? h("span", { class: "tag" }, " (você)") : null),
      h("td", {}, u.full_name || "—"),
      h("td", {}, role),
      h("td", {}, h("label", { class: "check" }, active, u.active ? "Sim" : "Não")),
      h("td", {}, A.dateTime(u.created_at)),
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "btn btn-small", "aria-label": "Trocar a senha de " + u.username, onclick: () => openPassword(u) }, "Trocar senha")
      )
    );
  }

  function openPassword(user) {
    target = user;
    $("pw-title").textContent = "Nova senha de " + user.username;
    $("pw-input").value = "";
    $("pw-username").value = user.username;
    A.say($("pw-msg"), "");
    dialog.showModal();
    $("pw-input").focus();
  }
  $("pw-cancel").addEventListener("click", () => dialog.close());
  $("pw-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = $("pw-input").value;
    if (A.need(password, $("pw-msg"), "Informe a nova senha.")) return;
    try {
      await A.api("PATCH", `/api/users/${target.id}`, { body: { password } });
      dialog.close();
      A.say(msg, `${target.username}: senha trocada.`, "ok");
    } catch (err) {
      A.say($("pw-msg"), err.message, "error");
    }
  });

  $("us-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = $("uf-msg");
    const username = $("uf-username").value.trim();
    const password = $("uf-password").value;
    if (A.need(username.length >= 3, m, "O usuário precisa de ao menos 3 caracteres.", $("uf-username"))) return;
    if (A.need(password, m, "Informe a senha.", $("uf-password"))) return;
    const body = { username, password, role: $("uf-role").value };
    if ($("uf-name").value.trim()) body.full_name = $("uf-name").value.trim();
    try {
      const user = await A.api("POST", "/api/users", { body });
      A.say(m, `Usuário ${user.username} criado (${A.ROLES[user.role]}).`, "ok");
      $("us-form").reset();
      await load();
    } catch (err) {
      A.say(m, err.message, "error");
    }
  });

  load();
});
