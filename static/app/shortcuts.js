/* Keyboard shortcuts of the task list (issue 14). Every action is also a button or link:
 * this only saves reaching for the mouse. Nothing fires while typing in a field or while
 * a dialog is open; "?" lists them in a modal dialog. */
(function () {
  "use strict";

  var SHORTCUTS = [
    { keys: ["q", "n"], what: "Quick add a task" },
    { keys: ["/"], what: "Search tasks" },
    { keys: ["j", "↓"], what: "Next task" },
    { keys: ["k", "↑"], what: "Previous task" },
    { keys: ["x", "Space"], what: "Complete or reopen the focused task" },
    { keys: ["e", "Enter"], what: "Edit the focused task" },
    { keys: ["#", "Delete"], what: "Delete the focused task (asks first)" },
    { keys: ["z"], what: "Undo the last completion or deletion" },
    { keys: ["?"], what: "Show these shortcuts" },
    { keys: ["Esc"], what: "Close a dialog" }
  ];

  function isTyping(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    var type = (el.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset", "image", "range", "color"].indexOf(type) < 0;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#task-rows > li.task"));
  }

  function focusedRow() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("#task-rows > li.task") : null;
  }

  function focusRow(row) {
    var title = row && row.querySelector(".task-title");
    if (!title) return;
    title.focus();
    title.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return false;
    var current = focusedRow();
    var index = current ? all.indexOf(current) + step : (step > 0 ? 0 : all.length - 1);
    focusRow(all[Math.max(0, Math.min(all.length - 1, index))]);
    return true;
  }

  function clickIn(row, selector) {
    var target = row && row.querySelector(selector);
    if (!target) return false;
    target.click();
    return true;
  }

  // --- the help dialog ------------------------------------------------------------------
  var opener = null;

  function helpDialog() {
    var dialog = document.getElementById("shortcuts-help");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "shortcuts-help";
    dialog.className = "dialog shortcuts-dialog";
    dialog.setAttribute("aria-labelledby", "shortcuts-help-title");
    var heading = document.createElement("h2");
    heading.id = "shortcuts-help-title";
    heading.textContent = "Keyboard shortcuts";
    dialog.appendChild(heading);
    var note = document.createElement("p");
    note.className = "muted";
    note.textContent = "They work on the task list, except while you type in a field.";
    dialog.appendChild(note);
    var table = document.createElement("table");
    table.className = "shortcuts-table";
    var head = table.createTHead().insertRow();
    ["Keys", "Action"].forEach(function (label) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = label;
      head.appendChild(th);
    });
    var body = table.createTBody();
    SHORTCUTS.forEach(function (shortcut) {
      var row = body.insertRow();
      var keys = row.insertCell();
      shortcut.keys.forEach(function (key, i) {
        if (i) keys.appendChild(document.createTextNode(" or "));
        var kbd = document.createElement("kbd");
        kbd.textContent = key;
        keys.appendChild(kbd);
      });
      row.insertCell().textContent = shortcut.what;
    });
    dialog.appendChild(table);
    var actions = document.createElement("div");
    actions.className = "dialog-actions";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "button";
    close.textContent = "Close";
    close.setAttribute("data-close-dialog", ""); // app.js closes it
    actions.appendChild(close);
    dialog.appendChild(actions);
    dialog.addEventListener("keydown", trapFocus);
    dialog.addEventListener("close", function () {
      if (opener && document.body.contains(opener)) opener.focus();
      opener = null;
    });
    document.body.appendChild(dialog);
    return dialog;
  }

  // The modal dialog makes the page inert; Tab also stays inside instead of leaving for
  // the browser's own controls.
  function trapFocus(evt) {
    if (evt.key !== "Tab") return;
    var focusable = evt.currentTarget.querySelectorAll("button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])");
    if (!focusable.length) return;
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    if (evt.shiftKey && document.activeElement === first) {
      evt.preventDefault();
      last.focus();
    } else if (!evt.shiftKey && document.activeElement === last) {
      evt.preventDefault();
      first.focus();
    }
  }

  function openHelp() {
    var dialog = helpDialog();
    if (dialog.open) return;
    opener = document.activeElement;
    dialog.showModal();
    dialog.querySelector("button").focus();
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-shortcuts-help]");
    if (!button) return;
    evt.preventDefault();
    openHelp();
  });

  // --- the keys ---------------------------------------------------------------------------
  function handle(evt) {
    var key = evt.key;
    var row = focusedRow();
    var active = document.activeElement;
    switch (key) {
      case "?":
        openHelp();
        return true;
      case "q":
      case "n": {
        var quickAdd = document.getElementById("quick-add-title");
        if (!quickAdd) return false;
        quickAdd.focus();
        return true;
      }
      case "/": {
        var search = document.getElementById("task-search");
        if (!search) return false;
        var panel = document.getElementById("filter-panel");
        if (panel && !panel.open) panel.open = true;
        search.focus();
        search.select();
        return true;
      }
      case "j":
        return move(1);
      case "k":
        return move(-1);
      case "ArrowDown":
      case "ArrowUp":
        // Only inside the list: elsewhere the arrows scroll, as they always do.
        if (!row) return false;
        return move(key === "ArrowDown" ? 1 : -1);
      case "x":
        return clickIn(row, ".check");
      case " ":
        // On a button Space presses that button; on the row's title it completes.
        if (!row || (active && active.tagName === "BUTTON")) return false;
        return clickIn(row, ".check");
      case "e":
        return clickIn(row, ".task-title");
      case "#":
      case "Delete":
        return clickIn(row, "a[data-confirm-delete]");
      case "z": {
        var undos = document.querySelectorAll("#toasts [data-undo-toast] button[type=submit]");
        if (!undos.length) return false;
        undos[undos.length - 1].click();
        return true;
      }
    }
    return false;
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.defaultPrevented || evt.isComposing || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (isTyping(evt.target)) return;
    if (document.querySelector("dialog[open]")) return; // the dialog has the keyboard
    if (handle(evt)) evt.preventDefault();
  });
})();
