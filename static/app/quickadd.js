// Quick add: as you type, the server reads the line (tasks/quickadd.py through
// /tasks/quick-add/parse/) and this shows the recognised words highlighted, with one click
// to keep a phrase as plain text or to use an uncertain one as a date. The choices live in
// hidden inputs of the form, so htmx and a plain submit carry them alike; without
// JavaScript the server reads the same line on submit.
(function () {
  "use strict";

  var DELAY = 120;
  var KIND_LABELS = { date: "date", time: "time", repeat: "repeat", tag: "tag", priority: "priority" };
  var timer = null;
  var sequence = 0;

  function form() { return document.getElementById("quick-add"); }
  function input() { return document.getElementById("quick-add-title"); }
  function choices() { return document.getElementById("quick-add-choices"); }
  function preview() { return document.getElementById("quick-add-preview"); }

  function chosen(name) {
    var box = choices();
    if (!box) return [];
    return Array.prototype.map.call(box.querySelectorAll("input[name=" + name + "]"), function (el) {
      return el.value;
    });
  }

  function setChoice(name, phrase, on) {
    var box = choices();
    if (!box) return;
    Array.prototype.forEach.call(box.querySelectorAll("input[name=" + name + "]"), function (el) {
      if (el.value.toLowerCase() === phrase.toLowerCase()) el.remove();
    });
    if (on) {
      var el = document.createElement("input");
      el.type = "hidden";
      el.name = name;
      el.value = phrase;
      box.appendChild(el);
    }
  }

  function clearChoices() {
    var box = choices();
    if (box) box.textContent = "";
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, DELAY);
  }

  function refresh() {
    var f = form(), field = input(), out = preview();
    if (!f || !field || !out) return;
    var text = field.value;
    if (!text.trim()) { out.hidden = true; out.textContent = ""; return; }
    var params = new URLSearchParams();
    params.append("title", text);
    chosen("keep").forEach(function (p) { params.append("keep", p); });
    chosen("accept").forEach(function (p) { params.append("accept", p); });
    var literal = f.querySelector("input[name=literal]");
    if (literal && literal.checked) params.append("literal", "1");
    var mine = ++sequence;
    fetch(f.getAttribute("data-parse-url") + "?" + params.toString(), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      redirect: "error",
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        // A newer keystroke or a changed line wins over an older answer.
        if (!data || mine !== sequence || field.value !== text) return;
        render(out, text, data);
      })
      .catch(function () { /* the highlight is a help; the submit still reads the line */ });
  }

  function button(label, action, phrase, title) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "quick-add-choice";
    b.setAttribute("data-action", action);
    b.setAttribute("data-phrase", phrase);
    b.setAttribute("aria-label", title);
    b.title = title;
    b.textContent = label;
    return b;
  }

  function render(out, text, data) {
    out.textContent = "";
    var line = document.createElement("p");
    line.className = "quick-add-echo";
    var kept = chosen("keep").map(function (p) { return p.toLowerCase(); });
    var at = 0;
    // The server counts offsets in UTF-16 code units, as String.slice does.
    data.spans.forEach(function (span) {
      if (span.start > at) line.appendChild(document.createTextNode(text.slice(at, span.start)));
      var mark = document.createElement("mark");
      var phrase = span.text;
      var isKept = kept.indexOf(phrase.toLowerCase()) !== -1;
      var dateLike = span.kind === "date" || span.kind === "time" || span.kind === "repeat";
      mark.className = "qa-span qa-" + span.kind + (span.applied ? " qa-applied" : " qa-offered");
      mark.textContent = text.slice(span.start, span.end);
      mark.title = (span.applied ? "Read as " : "Could be a ") + (KIND_LABELS[span.kind] || span.kind);
      line.appendChild(mark);
      if (dateLike && span.applied) {
        line.appendChild(button("×", "keep", phrase, "Keep “" + phrase + "” as text"));
      } else if (dateLike && isKept) {
        line.appendChild(button("↺", "unkeep", phrase, "Read “" + phrase + "” as a " + KIND_LABELS[span.kind]));
      } else if (dateLike && !span.confident) {
        line.appendChild(button("Use as date", "accept", phrase, "Use “" + phrase + "” as the date"));
      }
      at = span.end;
    });
    if (at < text.length) line.appendChild(document.createTextNode(text.slice(at)));
    out.appendChild(line);

    var facts = [];
    if (data.due_label) facts.push("Due " + data.due_label);
    if (data.recurrence_summary) facts.push("Repeats " + data.recurrence_summary);
    if (data.tags && data.tags.length) facts.push("Tags " + data.tags.join(", "));
    if (data.priority) facts.push("Priority " + data.priority);
    if (facts.length) {
      var summary = document.createElement("p");
      summary.className = "quick-add-summary";
      summary.textContent = facts.join(" · ");
      out.appendChild(summary);
    }
    // The server's own answer to a submit (#quick-add-error) says the same: not twice.
    var errors = document.getElementById("quick-add-error") ? [] : data.errors || [];
    errors.forEach(function (message) {
      var p = document.createElement("p");
      p.className = "quick-add-problem";
      p.textContent = message;
      out.appendChild(p);
    });
    if (errors.length && data.fold_choices && data.fold_choices.length) {
      var group = document.createElement("div");
      group.className = "quick-add-fold";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Which time?");
      data.fold_choices.forEach(function (choice) {
        var b = document.createElement("button");
        b.type = "submit";
        b.name = "fold";
        b.value = String(choice.value);
        b.className = "button";
        b.textContent = choice.label;
        group.appendChild(b);
      });
      out.appendChild(group);
    }
    out.hidden = !(data.spans.length || errors.length);
  }

  document.addEventListener("input", function (evt) {
    if (!evt.target || evt.target.id !== "quick-add-title") return;
    // The answer to the last submit was about the old line.
    var f = form();
    if (f) {
      Array.prototype.forEach.call(f.querySelectorAll("#quick-add-error, #quick-add > .quick-add-fold"), function (el) {
        el.remove();
      });
    }
    schedule();
  });
  document.addEventListener("change", function (evt) {
    if (evt.target && evt.target.name === "literal" && evt.target.closest("#quick-add")) schedule();
  });
  document.addEventListener("click", function (evt) {
    var b = evt.target.closest && evt.target.closest("#quick-add .quick-add-choice");
    if (!b) return;
    var phrase = b.getAttribute("data-phrase");
    var action = b.getAttribute("data-action");
    if (action === "keep") { setChoice("accept", phrase, false); setChoice("keep", phrase, true); }
    if (action === "unkeep") setChoice("keep", phrase, false);
    if (action === "accept") { setChoice("keep", phrase, false); setChoice("accept", phrase, true); }
    refresh();
    var field = input();
    if (field) field.focus();
  });
  // A task was added: the next line starts without the last one's choices.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var f = evt.detail.elt;
    if (f && f.id === "quick-add" && evt.detail.successful) {
      clearChoices();
      var out = preview();
      if (out) { out.hidden = true; out.textContent = ""; }
    }
  });
  // A refused line comes back as a new form: show what it read.
  document.addEventListener("htmx:afterSettle", function () {
    var field = input();
    if (field && field.value && preview() && preview().hidden) refresh();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var field = input();
    if (field && field.value) refresh();
  });
})();
