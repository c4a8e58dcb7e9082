// Staff pages: small conveniences on top of pages that work without this script.
"use strict";

// Buttons that cannot be undone ask first.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});

// Password fields: a button shows what was typed, and hides it again. The button is hidden in
// the page itself, so that without this script the field just stays masked.
document.querySelectorAll("button[data-show-password]").forEach((button) => {
  const input = document.getElementById(button.dataset.showPassword);
  if (!input) return;
  const showLabel = button.textContent;
  const show = (visible) => {
    input.type = visible ? "text" : "password";
    button.textContent = visible ? button.dataset.hideLabel : showLabel;
    button.setAttribute("aria-pressed", String(visible));
  };
  button.hidden = false;
  button.addEventListener("click", () => show(input.type === "password"));
  // Masked again before sending: a browser then saves it as a password, not as text.
  input.form?.addEventListener("submit", () => show(false));
});

// The campaign form: the audience count follows the purpose and the filters as they change.
const campaignForm = document.querySelector("form[data-audience-url]");
if (campaignForm) {
  const output = document.getElementById("audience-count");
  let timer = null;
  const recount = async () => {
    const data = new FormData(campaignForm);
    const query = new URLSearchParams();
    for (const name of ["purpose", "programme", "graduation_years"]) {
      data.getAll(name).forEach((value) => query.append(name, value));
    }
    if (!query.get("purpose")) return;
    const response = await fetch(`${campaignForm.dataset.audienceUrl}?${query}`, {
      credentials: "same-origin",
    });
    if (response.ok) output.textContent = (await response.json()).text;
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(recount, 300);
  };
  campaignForm.addEventListener("change", later);
  campaignForm.querySelector("[name=graduation_years]").addEventListener("input", later);
}

// A campaign on its way: the progress bar and the counts keep themselves up to date.
const progress = document.querySelector("[data-progress-url]");
if (progress) {
  const bar = document.getElementById("progress-bar");
  const text = document.getElementById("progress-text");
  const poll = async () => {
    const response = await fetch(progress.dataset.progressUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const state = await response.json();
    if (state.status !== progress.dataset.status) {
      window.location.reload(); // started, finished or cancelled: other buttons, the result
      return;
    }
    bar.max = Math.max(state.total, 1);
    bar.value = state.handled;
    bar.textContent = `${state.percent}%`;
    text.textContent = state.text;
    document.getElementById("campaign-status").textContent = state.status_label;
    for (const name of ["sent", "skipped", "failed"]) {
      progress.querySelector(`[data-count=${name}]`).textContent = state[name];
    }
  };
  setInterval(poll, 2000);
}
