// "Copy" buttons: data-copy names the input whose value goes to the clipboard; the
// [data-copy-status] element beside it says what happened (a live region).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  const status = button.closest(".card")?.querySelector("[data-copy-status]");
  if (!field) return;
  try {
    await navigator.clipboard.writeText(field.value);
    if (status) status.textContent = "Copied to the clipboard.";
  } catch {
    field.focus();
    field.select();
    if (status) status.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
  }
});
