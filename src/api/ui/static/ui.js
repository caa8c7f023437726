// OpenRuns web UI: live fragments, run selection and bulk actions, dialogs, copy buttons.
// Plain JavaScript, no build step. Every page also works without it (forms post normally).
(() => {
  "use strict";

  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function uiFetch(url, options = {}) {
    const headers = { "X-UI-Fetch": "1", ...(options.headers || {}) };
    if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrfToken();
    const response = await fetch(url, { credentials: "same-origin", ...options, headers });
    if (response.redirected && new URL(response.url).pathname === "/ui/login") {
      const here = location.pathname + location.search;
      location.assign("/ui/login?next=" + encodeURIComponent(here));
      throw new Error("the session ended");
    }
    return response;
  }

  function toast(text) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.textContent = ""; }, 3000);
  }

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  // Times are rendered in UTC; show them in the reader's own time zone (UTC stays the title).
  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  function localTimes(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach((el) => {
      const date = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) return;
      el.title = el.textContent;
      el.textContent = timeFormat.format(date);
      el.dataset.local = "1";
    });
  }

  // ---- live regions: [data-live-url] elements re-fetch themselves until data-final="true"
  // The same control in a refreshed fragment: a checkbox by its run id, a link by its address.
  function twin(root, el) {
    if (!el) return null;
    if (el.name === "run_id") return root.querySelector(`input[name="run_id"][value="${CSS.escape(el.value)}"]`);
    const href = el.getAttribute("href");
    return href ? root.querySelector(`a[href="${CSS.escape(href)}"]`) : null;
  }

  function swap(old, fresh, raw) {
    const checked = new Set(
      [...old.querySelectorAll('input[name="run_id"]:checked')].map((box) => box.value));
    const focused = old.contains(document.activeElement) ? document.activeElement : null;
    old.replaceWith(fresh);
    fresh._raw = raw;
    fresh.querySelectorAll('input[name="run_id"]').forEach((box) => {
      if (checked.has(box.value)) box.checked = true;
    });
    twin(fresh, focused)?.focus({ preventScroll: true });
    enhance(fresh);
    fresh.closest("form")?.updateSelection?.();
  }

  async function refresh(el) {
    const response = await uiFetch(el.dataset.liveUrl);
    if (!response.ok) return false;
    const raw = await response.text();
    if (raw === el._raw) return false;
    const fresh = fragment(raw);
    if (!fresh || !el.isConnected) return false;
    swap(el, fresh, raw);
    return true;
  }

  function live(el) {
    if (el._live) return;
    el._live = true;
    const polls = el.dataset.final !== "true" || "keepPolling" in el.dataset;
    if (!polls) return;
    const interval = Number(el.dataset.liveInterval || 2000);
    const tick = async () => {
      if (!el.isConnected) return;
      let delay = interval;
      if (!document.hidden) {
        try {
          if (await refresh(el)) return; // the new element polls on its own
        } catch (error) {
          delay = interval * 3;
        }
      }
      if (el.isConnected) setTimeout(tick, delay);
    };
    setTimeout(tick, interval);
  }

  function refreshNow(id) {
    const el = document.getElementById(id);
    if (el?.dataset.liveUrl) refresh(el).catch(() => {});
  }

  // ---- the runs table: select-all, the count, and buttons that need a selection
  function selection(form) {
    const all = form.querySelector("[data-select-all]");
    if (!all || form._selection) return;
    form._selection = true;
    const boxes = () => [...form.querySelectorAll('tbody input[name="run_id"]')];
    const count = form.querySelector("#selected-count");
    form.updateSelection = () => {
      const list = boxes();
      const chosen = list.filter((box) => box.checked).length;
      count.textContent = `${chosen} selected`;
      all.checked = chosen > 0 && chosen === list.length;
      all.indeterminate = chosen > 0 && chosen < list.length;
      form.querySelectorAll("[data-needs-selection]").forEach((b) => { b.disabled = chosen === 0; });
      list.forEach((box) => box.closest("tr").classList.toggle("selected", box.checked));
    };
    all.addEventListener("change", () => {
      boxes().forEach((box) => { box.checked = all.checked; });
      form.updateSelection();
    });
    form.addEventListener("change", (event) => {
      if (event.target.name === "run_id") form.updateSelection();
    });
    form.updateSelection();
  }

  async function runAction(form, submitter) {
    const data = new FormData(form);
    if (submitter?.name) data.set(submitter.name, submitter.value);
    const results = form.querySelector("#action-results");
    const buttons = [...form.querySelectorAll("button")];
    buttons.forEach((b) => { b.disabled = true; });
    results.innerHTML = '<p class="muted">Working…</p>';
    try {
      // form.action would be the button named "action": read the attribute.
      const response = await uiFetch(form.getAttribute("action"), { method: "POST", body: data });
      const html = await response.text();
      const page = fragment(`<div>${html}</div>`);
      const message = response.headers.get("content-type")?.includes("text/html") && !response.ok
        ? page.querySelector(".error-message")?.outerHTML : null;
      results.innerHTML = message || html;
      if (response.ok) {
        form.querySelectorAll('input[name="run_id"][type="checkbox"]').forEach((b) => { b.checked = false; });
      }
    } catch (error) {
      results.innerHTML = '<p class="alert error">The action could not be sent. Check the connection and try again.</p>';
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      enhance(results);
      form.updateSelection?.();
      refreshNow("runs-rows");
      refreshNow("run-live");
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const ask = event.submitter?.dataset.confirm || form.dataset.confirm;
    if (ask && !window.confirm(ask)) { event.preventDefault(); return; }
    if ("actions" in form.dataset) {
      event.preventDefault();
      runAction(form, event.submitter);
    } else if ("once" in form.dataset) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      setTimeout(() => form.querySelectorAll('button[type="submit"]').forEach((b) => { b.disabled = true; }));
    }
  });

  document.addEventListener("click", async (event) => {
    const opener = event.target.closest("[data-open-dialog]");
    const dialog = opener && document.getElementById(opener.dataset.openDialog);
    if (dialog?.showModal) {
      event.preventDefault();
      dialog.showModal();
      dialog.querySelector("input:not([type=hidden]), select, textarea")?.focus();
    }
    event.target.closest("[data-close-dialog]")?.closest("dialog")?.close();
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const source = document.querySelector(copy.dataset.copy);
      try {
        await navigator.clipboard.writeText(source.value);
      } catch (error) {
        source.select();
        document.execCommand("copy");
      }
      copy.textContent = "Copied";
      toast("Copied to the clipboard");
      setTimeout(() => { copy.textContent = "Copy"; }, 2000);
    }
  });

  // ---- a run's page: only the actions that apply to the run's state and archived flag
  function runActions(live) {
    document.querySelectorAll("[data-for-states]").forEach((button) => {
      button.hidden = !button.dataset.forStates.split(" ").includes(live.dataset.runState);
    });
    document.querySelectorAll("[data-for-archived]").forEach((button) => {
      button.hidden = button.dataset.forArchived !== live.dataset.archived;
    });
  }

  function enhance(root) {
    localTimes(root);
    const run = root.id === "run-live" ? root : root.querySelector("#run-live");
    if (run) runActions(run);
    if (root.dataset?.liveUrl) live(root);
    root.querySelectorAll("[data-live-url]").forEach(live);
    root.querySelectorAll("form[data-actions]").forEach(selection);
  }

  document.addEventListener("DOMContentLoaded", () => enhance(document.body));
})();
