/* The login page: POST /api/auth/login; the answer sets the HttpOnly refresh cookie, and
   the next page gets its own access token from it (the token is never stored). */
(function () {
  "use strict";
  const form = document.getElementById("login-form");
  const msg = document.getElementById("login-msg");
  const button = document.getElementById("login-submit");


  function nextPath() {
    const next = new URLSearchParams(location.search).get("next") || "/";
    // Only a path of this site (no open redirect). Browsers drop tabs and newlines from
    // URLs, so "/\t/evil.example" would become "//evil.example": refuse any control
    // character or backslash, then resolve and keep the result only if it stays here.
    if (!next.startsWith("/") || /[\u0000-\u001f\u007f\\]/.test(next)) return "/";
    let url;
    try {
      url = new URL(next, location.origin);
    } catch (_) {
      return "/";
    }
    if (url.origin !== location.origin || url.pathname.startsWith("/login")) return "/";
    return url.pathname + url.search + url.hash;
  }

  /** A form's message line: shows an error, or clears it with "". */
  const saying = (line) => (text) => {
    line.textContent = text;
    line.className = text ? "msg msg-error" : "msg";
  };
  const show = saying(msg);

  /** POSTs a JSON body (with the bearer token when there is one); answers the Response. */
  function post(path, body, token) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(path, { method: "POST", credentials: "same-origin", headers, body: JSON.stringify(body) });
  }

  /** Runs send with the form's button disabled and saying busyText; a network error is
      said with say. The button gets its own text back at the end. */
  async function sending(button, busyText, say, send) {
    const idle = button.textContent;
    say("");
    button.disabled = true;
    button.textContent = busyText;
    try {
      await send();
    } catch (_) {
      say("Sem conexão com o servidor. Verifique a rede e tente de novo.");
    } finally {
      button.disabled = false;
      button.textContent = idle;
    }
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
    await sending(button, "Entrando…", show, async () => {
      const res = await post("/api/auth/login", { username, password });
      if (res.ok) {
        const session = await res.json(); // the session cookie is set
        if (session.password_change_required) {
          askNewPassword(session.access_token, password);
          return;
        }
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
    });
  });

  /* First login (the bootstrap admin): the password just used was seen by a log or a
     Secret, so a new one is required before anything else. The token and the current
     password stay in this closure only, never in storage. */
  function askNewPassword(token, current) {
    const template = document.getElementById("password-template");
    form.replaceWith(template.content.cloneNode(true));
    const pwForm = document.getElementById("password-form");
    const pwMsg = document.getElementById("password-msg");
    const pwButton = document.getElementById("password-submit");
    const showPw = saying(pwMsg);
    pwForm.new_password.focus();
    pwForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const fresh = pwForm.new_password.value;
      if (fresh.length < 8) {
        showPw("A nova senha precisa de pelo menos 8 caracteres.");
        pwForm.new_password.focus();
        return;
      }
      if (fresh !== pwForm.confirm_password.value) {
        showPw("As duas senhas não são iguais.");
        pwForm.confirm_password.select();
        return;
      }
      if (fresh === current) {
        showPw("A nova senha precisa ser diferente da atual.");
        pwForm.new_password.select();
        return;
      }
      await sending(pwButton, "Trocando…", showPw, async () => {
        const res = await post("/api/auth/password", { current_password: current, new_password: fresh }, token);
        if (res.ok) {
          await res.json(); // a new session cookie replaces the old one
          location.replace(nextPath());
          return;
        }
        if (res.status === 422) showPw("Senha recusada: use pelo menos 8 caracteres, diferente do usuário.");
        else if (res.status === 401) showPw("A sessão expirou. Recarregue a página e entre de novo.");
        else if (res.status === 429) showPw("Muitas tentativas. Tente novamente mais tarde.");
        else showPw(`Não foi possível trocar a senha agora (erro ${res.status}).`);
      });
    });
  }
})();
