/* The login page: POST /api/auth/login; the answer sets the HttpOnly refresh cookie, and
   the next page gets its own access token from it (the token is never stored). */
(function () {
  "use strict";
  const form = document.getElementById("login-form");
  const msg = document.getElementById("login-msg");
  const button = document.getElementById("login-submit");

  function nextPath() {
    const next = new URLSearchParams(location.search).get("next") || "/";
    // Only a path of this site: never "//host" or "http://…" (no open redirect).
    return /^\/(?![/\\])/.test(next) && !next.startsWith("/login") ? next : "/";
  }

  function show(text) {
    msg.textContent = text;
    msg.className = text ? "msg msg-error" : "msg";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      show("Informe o usuário e a senha.");
      (username ? form.password : form.username).focus();
      return;
    }
    show("");
    button.disabled = true;
    button.textContent = "Entrando…";
    try {
      const res = await fetch("/api/auth/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ username, password }),
      });
      if (res.ok) {
        await res.json(); // the session cookie is set; this page's token is not kept
        location.replace(nextPath());
        return;
      }
      let detail = "";
      try {
        detail = (await res.json()).detail || "";
      } catch (_) {
        detail = "";
      }
      if (res.status === 401) show("Usuário ou senha inválidos.");
      else if (res.status === 429) {
        const wait = Number(res.headers.get("Retry-After") || 0);
        show("Muitas tentativas de login. Tente novamente" + (wait ? ` em ${Math.ceil(wait / 60)} min.` : " mais tarde."));
      } else if (res.status === 422) show("Informe o usuário e a senha.");
      else show(`Não foi possível entrar agora (erro ${res.status}${detail ? ": " + detail : ""}).`);
      form.password.select();
      form.password.focus();
    } catch (_) {
      show("Sem conexão com o servidor. Verifique a rede e tente de novo.");
    } finally {
      button.disabled = false;
      button.textContent = "Entrar";
    }
  });
})();
