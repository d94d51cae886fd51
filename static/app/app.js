/* Small enhancements on top of htmx. Every page works without this file. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // --- live fragments: ordering by version ---------------------------------------------
  // Task rows carry data-version (Task.version). A pushed fragment (an out-of-band swap) as
  // old as or older than the row the page shows is dropped; so is the response to this
  // tab's own request when a push already brought a newer version.
  // Rows removed by a delete (id -> the delete's version), so a late insert of the deleted
  // task stays out while an undone delete (a newer version: the restored task) comes back.
  var deleted = new Map();

  function deletedBefore(el) {
    return deleted.has(el.id) && deleted.get(el.id) >= versionOf(el);
  }

  function versionOf(el) {
    var v = el && el.getAttribute && el.getAttribute("data-version");
    return v == null ? null : Number(v);
  }

  function versionedIn(fragment) {
    var found = [];
    if (fragment.nodeType === Node.ELEMENT_NODE && fragment.hasAttribute("data-version")) {
      found.push(fragment);
    }
    if (fragment.querySelectorAll) {
      fragment.querySelectorAll("[data-version][id]").forEach(function (el) { found.push(el); });
    }
    return found;
  }

  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var detail = evt.detail;
    var target = detail.target;
    var incoming = versionedIn(detail.fragment);
    if (!incoming.length) return;
    var isInsert = target.id === "task-rows";
    for (var i = 0; i < incoming.length; i++) {
      var el = incoming[i];
      var current = document.getElementById(el.id);
      var isDelete = el.hasAttribute("data-deleted");
      if (isInsert && (current || deletedBefore(el))) {
        detail.shouldSwap = false; // already shown (this tab created it) or already deleted
        return;
      }
      if (!isInsert && current && versionOf(current) !== null && versionOf(current) >= versionOf(el)) {
        detail.shouldSwap = false; // stale or duplicate
        return;
      }
      if (!isInsert && isDelete) deleted.set(el.id, versionOf(el));
    }
  });

  function flashRow(el) {
    el.classList.remove("flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("flash");
  }
  function flash(evt) {
    var el = evt.target;
    if (!el.classList || !el.classList.contains("task")) return;
    flashRow(el);
  }
  document.addEventListener("htmx:oobAfterSwap", flash);
  document.addEventListener("htmx:afterSwap", flash);

  // The same rules for this tab's own responses (quick add, complete, reopen): the
  // WebSocket may have delivered the same change, or a newer one, while the request was in
  // flight.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var detail = evt.detail;
    var response = detail.serverResponse;
    if (!detail.target || typeof response !== "string" || response.indexOf("data-version") < 0) return;
    var template = document.createElement("template");
    template.innerHTML = response;
    var incoming = template.content.querySelector("[data-version][id]:not([hx-swap-oob])");
    if (!incoming) return;
    var current = document.getElementById(incoming.id);
    if (current && current === detail.target) {
      if (versionOf(current) > versionOf(incoming)) detail.shouldSwap = false;
    } else if (detail.target.id === "task-rows" && (current || deletedBefore(incoming))) {
      detail.shouldSwap = false; // an insert of a row the page already shows, or deleted
    } else if (current && detail.target.id === incoming.id && !detail.target.isConnected) {
      // A push replaced the row while this request was in flight: swap into the row the
      // page shows now (the one the request started from is gone), unless it is newer.
      if (versionOf(current) >= versionOf(incoming)) detail.shouldSwap = false;
      else detail.target = current;
    }
    // A response dropped because a push already showed its row still says what it did:
    // its toast (an Undo offer) is shown.
    if (!detail.shouldSwap) keepToasts(template);
  });

  function keepToasts(template) {
    var region = document.getElementById("toasts");
    if (!region || !window.htmx) return;
    template.content.querySelectorAll('[hx-swap-oob="beforeend:#toasts"] > [data-toast]').forEach(function (toast) {
      region.appendChild(toast);
      htmx.process(toast);
    });
  }

  // --- live views: this tab's list follows its own filters, sort and page ------------------
  // The socket is told which list the tab shows (#task-results[data-view], the list's query)
  // and which rows it has; for each change the server answers with #live-view
  // (tasks/live.py): the rows to put in or refresh, the page's order of task ids, the
  // heading and the pagination. Rows not in the order leave the list; a row the order names
  // that the page lacks makes it reload the list.
  var liveSocket = null;
  var toldView = null;
  // Rows this tab completed, reopened or changed in place since its list was loaded: they
  // stay where they are (updated) when they leave the view, so the click can be undone
  // there. Other tabs let them go.
  var keptHere = new Set();
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var row = evt.detail.elt && evt.detail.elt.closest && evt.detail.elt.closest("#task-rows > li.task[id]");
    if (row) keptHere.add(row.id);
  });
  document.addEventListener("htmx:beforeSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "task-results") keptHere.clear();
  });

  function shownRows() {
    var list = document.getElementById("task-rows");
    if (!list) return [];
    return Array.prototype.map.call(list.querySelectorAll(":scope > li.task[id]"), function (li) {
      return Number(li.id.replace("task-", ""));
    });
  }

  function currentView() {
    var results = document.getElementById("task-results");
    return results ? results.getAttribute("data-view") : null;
  }

  // Told again whenever the list was loaded anew (a filter, a page link, the catch-up
  // after reconnecting), so the server knows the rows it has.
  function tellView(force) {
    var results = document.getElementById("task-results");
    if (!liveSocket || (!force && results === toldView)) return;
    toldView = results;
    var view = currentView();
    liveSocket.send(JSON.stringify({ view: view, rows: view === null ? [] : shownRows() }));
  }

  function reloadList() {
    htmx.ajax("GET", window.location.pathname + window.location.search, {
      target: "#task-results", swap: "outerHTML"
    });
  }

  function rowFocus(list) {
    var active = document.activeElement;
    var row = active && active.closest && active.closest("li.task[id]");
    return row && row.parentNode === list ? { id: row.id, className: active.className } : null;
  }

  function applyLiveView(box) {
    var list = document.getElementById("task-rows");
    if (!list || box.getAttribute("data-live-view") !== currentView()) return; // another view now
    // A view grouped by day (Upcoming) places rows in its day lists: it reloads instead.
    if (box.hasAttribute("data-refresh") || document.querySelector("#task-results ul[data-day]")) {
      reloadList();
      return;
    }
    var parts = box.querySelector("template").content;
    var focus = rowFocus(list);
    var order = (box.getAttribute("data-order") || "").split(",").filter(Boolean).map(function (id) {
      return "task-" + id;
    });
    parts.querySelectorAll("li.task[id]").forEach(function (row) {
      if (deletedBefore(row)) return; // deleted at or after this version (a restore is newer)
      var current = document.getElementById(row.id);
      if (order.indexOf(row.id) < 0 && !(current && keptHere.has(row.id))) return; // leaving
      if (current && versionOf(current) >= versionOf(row)) return; // stale or duplicate
      var fresh = document.importNode(row, true);
      if (current && focusRowId === row.id) {
        // This row's own request is in flight (its button disabled, so not focused): its
        // events will not reach the page once the row is replaced, so refocus here.
        focus = { id: row.id, className: "check" };
        focusRowId = null;
      }
      if (current) current.replaceWith(fresh);
      else list.appendChild(fresh);
      htmx.process(fresh);
      flashRow(fresh);
    });
    var lost = false;
    Array.prototype.slice.call(list.children).forEach(function (li) {
      if (order.indexOf(li.id) >= 0 || keptHere.has(li.id)) return;
      if (focus && focus.id === li.id) {
        // The focused row leaves this view: focus moves to its neighbour, not to <body>.
        var next = li.nextElementSibling || li.previousElementSibling;
        focus = next ? { id: next.id, className: "check" } : null;
      }
      li.remove();
    });
    var before = null;
    order.forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || el.parentNode !== list) { lost = true; return; }
      var want = before ? before.nextElementSibling : list.firstElementChild;
      if (want !== el) list.insertBefore(el, want);
      before = el;
    });
    var heading = document.getElementById("results-heading");
    var newHeading = parts.querySelector("[data-part=results-heading]");
    if (heading && newHeading) heading.innerHTML = newHeading.innerHTML;
    var pages = document.getElementById("task-pages");
    var newPages = parts.querySelector("[data-part=task-pages]");
    if (pages && newPages) {
      pages.innerHTML = newPages.innerHTML;
      htmx.process(pages);
    }
    if (focus && (document.activeElement === document.body || !document.activeElement)) {
      refocus(focus.id, focus.className);
    }
    if (lost) reloadList(); // the page lacks a row the view has: fetch the view
  }

  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var box = evt.target; // the element swapped in (htmx may announce it more than once)
    if (box.id !== "live-view" || !box.hasAttribute("data-live-view") || box.hasAttribute("data-applied")) return;
    box.setAttribute("data-applied", "");
    applyLiveView(box);
  });
  // A swap of the list's own requests (quick add) carries #live-view too: htmx swaps it
  // out of band like a pushed one.
  document.addEventListener("htmx:afterSettle", function () { tellView(false); });

  // A fragment for a part this page does not have (a task row on the inbox page) is not an
  // error: drop it before htmx looks for its target.
  if (window.htmx) {
    htmx.defineExtension("live", {
      transformResponse: function (text, xhr) {
        if (xhr) return text; // only WebSocket messages
        var template = document.createElement("template");
        template.innerHTML = text;
        Array.prototype.slice.call(template.content.children).forEach(function (child) {
          var spec = child.getAttribute("hx-swap-oob") || "true";
          var colon = spec.indexOf(":");
          var selector = colon > 0 ? spec.slice(colon + 1) : "#" + CSS.escape(child.id);
          var target = null;
          try { target = document.querySelector(selector); } catch (e) { target = null; }
          if (!target) child.remove();
        });
        return template.innerHTML;
      }
    });
  }

  // --- the socket: reconnect fast, say when offline, follow a sign-out ----------------
  // The extension's default backs off up to 64 s; a restarted server should be back in
  // the page within about a second.
  if (window.htmx) {
    htmx.config.wsReconnectDelay = function (retryCount) {
      return Math.min(1000, 250 * Math.pow(2, retryCount)) * (0.5 + Math.random() / 2);
    };
  }
  var SIGNED_OUT_CODES = [4401, 4403]; // realtime/consumers.py: UNAUTHENTICATED, SIGNED_OUT
  var OFFLINE_AFTER_MS = 800; // a page being left closes its socket too: no banner for that
  var offlineTimer = null;

  function goToLogin() {
    var login = document.body.getAttribute("data-login-url") || "/accounts/login/";
    var here = window.location.pathname + window.location.search;
    // Quoted as Django's redirect_to_login quotes it (slashes kept).
    window.location.assign(login + "?next=" + encodeURIComponent(here).replace(/%2F/g, "/"));
  }

  function setOffline(offline) {
    var banner = document.getElementById("offline-banner");
    clearTimeout(offlineTimer);
    if (!offline) {
      if (banner) banner.hidden = true;
      return;
    }
    offlineTimer = setTimeout(function () { if (banner) banner.hidden = false; }, OFFLINE_AFTER_MS);
  }

  // A page that submits a form the ordinary way (Log out) is leaving: its socket closing
  // meanwhile (4403 for that very logout) must not send it somewhere else.
  var leaving = false;
  document.addEventListener("submit", function (evt) {
    if (!evt.defaultPrevented) leaving = true;
  });
  window.addEventListener("pageshow", function () { leaving = false; });

  var everOpened = false;
  document.addEventListener("htmx:wsClose", function (evt) {
    document.documentElement.setAttribute("data-live", "closed");
    if (leaving) return;
    var code = evt.detail && evt.detail.event && evt.detail.event.code;
    if (SIGNED_OUT_CODES.indexOf(code) >= 0) {
      goToLogin();
      return;
    }
    setOffline(true);
  });
  document.addEventListener("htmx:wsOpen", function (evt) {
    liveSocket = evt.detail.socketWrapper;
    tellView(true);
    document.documentElement.setAttribute("data-live", "open");
    setOffline(false);
    if (everOpened && document.getElementById("task-results")) {
      htmx.ajax("GET", window.location.pathname + window.location.search, {
        target: "#task-results", swap: "outerHTML"
      });
    }
    everOpened = true;
  });

  // --- the filter bar -----------------------------------------------------------------
  document.addEventListener("change", function (evt) {
    // Typing in the search box already searched (debounced); its "change" on blur must not
    // search again.
    if (evt.target && evt.target.id === "task-search") evt.stopPropagation();
  }, true);

  // Keyboard and screen-reader users who followed a tag or page link land on the results
  // (the link itself was replaced with the results).
  var focusResults = false;
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    focusResults = !!(elt && elt.tagName === "A" && elt.getAttribute("hx-target") === "#task-results");
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (!focusResults || !evt.target || evt.target.id !== "task-results") return;
    focusResults = false;
    var heading = document.getElementById("results-heading");
    if (heading) heading.focus();
  });

  // --- a request in flight: its form's submit buttons wait (htmx adds .htmx-request) -----
  // (as hx-disabled-elt would, for every htmx form at once, without a second submit)
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || form.tagName !== "FORM") return;
    form.querySelectorAll("button[type=submit]:not(:disabled)").forEach(function (button) {
      button.disabled = true;
      button.setAttribute("data-pending", "");
    });
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || !form.querySelectorAll) return;
    form.querySelectorAll("button[data-pending]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("data-pending");
    });
  });

  // --- keyboard focus survives a row being replaced ------------------------------------
  // Complete, reopen and pushes swap the whole row; the focused control is found again in
  // the new row (by its class), else the row's check button, instead of falling to <body>.
  // The request's own button is disabled while it runs, which blurs it: so the row to
  // refocus is noted when the request starts, and restored after it is enabled again.
  var focusRowId = null;

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    var row = elt && elt.closest && elt.closest("li.task[id]");
    if (row && row.contains(document.activeElement)) focusRowId = row.id;
  }, true); // capture: before the button is disabled
  function refocus(rowId, className) {
    var row = document.getElementById(rowId);
    if (!row) return;
    var target = (className && row.querySelector("." + className.split(" ")[0])) || row.querySelector(".check");
    if (target) target.focus();
  }
  document.addEventListener("htmx:afterRequest", function () {
    if (!focusRowId) return;
    var rowId = focusRowId;
    focusRowId = null;
    if (document.activeElement === document.body || !document.activeElement) refocus(rowId, "check");
  });
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var row = evt.detail.target;
    if (!row || !row.matches || !row.matches("li.task[id]")) return;
    var className;
    if (row.contains(document.activeElement)) {
      className = document.activeElement.className;
    } else if (focusRowId === row.id) {
      // This row's own request is in flight (its button disabled, so not focused): the
      // request's events will not reach the page once its row is gone, so refocus here.
      className = "check";
      focusRowId = null;
    } else {
      return;
    }
    var rowId = row.id;
    document.addEventListener("htmx:oobAfterSwap", function restore() {
      document.removeEventListener("htmx:oobAfterSwap", restore);
      if (document.activeElement === document.body || !document.activeElement) refocus(rowId, className);
    });
  });

  // --- failed requests: say so, and offer to try again ---------------------------------
  function errorToast(text, retry) {
    var region = document.getElementById("toasts");
    if (!region) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-error";
    toast.setAttribute("data-toast", "");
    toast.setAttribute("role", "alert");
    toast.setAttribute("data-sticky", ""); // stays until retried or dismissed
    var message = document.createElement("p");
    message.className = "toast-text";
    message.textContent = text;
    toast.appendChild(message);
    if (retry) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small toast-action";
      button.textContent = "Retry";
      button.addEventListener("click", function () { toast.remove(); retry(); });
      toast.appendChild(button);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss notification");
    close.textContent = "×";
    toast.appendChild(close);
    region.querySelectorAll(".toast-error").forEach(function (old) { old.remove(); }); // one at a time
    region.appendChild(toast);
  }

  function retryOf(detail) {
    var elt = detail.elt;
    var config = detail.requestConfig || {};
    var trigger = config.triggeringEvent && config.triggeringEvent.type;
    if (!elt || !trigger || !document.body.contains(elt)) return null;
    return function () { htmx.trigger(elt, trigger); };
  }

  function failureText(status) {
    if (status === 404) return "That item no longer exists. Reload the page to see the current list.";
    if (status === 403) return "The page is out of date. Reload it and try again.";
    if (status === 429) return "Too many requests. Wait a moment and try again.";
    return "Something went wrong on the server (" + status + ").";
  }
  document.addEventListener("htmx:sendError", function (evt) {
    errorToast("Couldn't reach the server. Check your connection.", retryOf(evt.detail));
  });
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var status = xhr ? xhr.status : 0;
    // A refusal the server explains (an undo that is no longer possible) says why itself.
    var explained = status === 409 && /^text\/plain/.test(xhr.getResponseHeader("Content-Type") || "");
    var text = explained ? xhr.responseText : failureText(status);
    errorToast(text, status >= 500 || status === 429 ? retryOf(evt.detail) : null);
  });

  // An Undo taken up (or refused): its toast has done its job.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-undo")) return;
    var toast = form.closest("[data-toast]");
    if (toast) toast.remove();
    var heading = document.getElementById("results-heading");
    if (heading && (document.activeElement === document.body || !document.activeElement)) heading.focus();
  });

  // --- quick add --------------------------------------------------------------------------
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (form && form.id === "quick-add" && evt.detail.successful) {
      // reset() restores the value the form was rendered with, which after a rejected
      // title is that title: clear the defaults first.
      form.querySelectorAll("input[type=text]").forEach(function (input) { input.defaultValue = ""; });
      form.reset();
      var error = document.getElementById("quick-add-error");
      if (error) error.remove();
      var input = document.getElementById("quick-add-title");
      if (input) { input.removeAttribute("aria-invalid"); input.focus(); }
    }
  });

  // --- delete confirmation in a modal dialog --------------------------------------------
  var opener = null;

  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("a[data-confirm-delete]");
    if (!link) return;
    var dialog = document.getElementById("confirm-delete");
    if (!dialog || typeof dialog.showModal !== "function" || !window.htmx) return; // the page
    evt.preventDefault();
    opener = link;
    var form = dialog.querySelector("form");
    form.setAttribute("action", link.getAttribute("href").split("?")[0]);
    form.querySelector("input[name=next]").value = link.getAttribute("data-next") || "";
    dialog.querySelector("[data-task-title]").textContent = link.getAttribute("data-task-title") || "";
    dialog.showModal();
    // Cancel is the safe default for a destructive action.
    dialog.querySelector("[data-close-dialog]").focus();
  });

  document.addEventListener("click", function (evt) {
    var closer = evt.target.closest && evt.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.id !== "confirm-delete-form" || !window.htmx) return;
    evt.preventDefault();
    var dialog = form.closest("dialog");
    var row = opener && opener.closest("li.task");
    var nextFocus = row && (row.nextElementSibling || row.previousElementSibling);
    htmx.ajax("POST", form.getAttribute("action"), { source: form, swap: "none" }).then(function () {
      dialog.close();
      var focusTarget = nextFocus && nextFocus.querySelector(".task-title");
      if (focusTarget) focusTarget.focus();
      else if (document.getElementById("results-heading")) document.getElementById("results-heading").focus();
    });
  });

  document.addEventListener("close", function (evt) {
    if (evt.target.id !== "confirm-delete") return;
    if (opener && document.body.contains(opener)) opener.focus();
    opener = null;
  }, true);

  // --- toasts -------------------------------------------------------------------------------
  var TOAST_MS = 8000;

  function scheduleDismiss(toast) {
    if (toast.dataset.scheduled || toast.hasAttribute("data-sticky")) return;
    toast.dataset.scheduled = "1";
    var timer = setTimeout(function () { toast.remove(); }, TOAST_MS);
    // Hovering or focusing a toast keeps it, so it can be read and its link followed.
    toast.addEventListener("mouseenter", function () { clearTimeout(timer); });
    toast.addEventListener("focusin", function () { clearTimeout(timer); });
  }

  function watchToasts() {
    var region = document.getElementById("toasts");
    if (!region) return;
    region.querySelectorAll("[data-toast]").forEach(scheduleDismiss);
    new MutationObserver(function () {
      region.querySelectorAll("[data-toast]").forEach(scheduleDismiss);
    }).observe(region, { childList: true });
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-dismiss]");
    if (button) button.closest("[data-toast]").remove();
  });

  // --- sign up: suggest the browser's time zone -------------------------------------------
  function suggestTimezone() {
    var wrapper = document.querySelector("[data-detect-timezone]");
    var select = wrapper && wrapper.querySelector("select");
    if (!select || select.value !== "UTC") return;
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && select.querySelector('option[value="' + CSS.escape(zone) + '"]')) select.value = zone;
    } catch (e) { /* keep UTC */ }
  }

  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }
  // --- the filter panel: folded on a phone, always open on a wider screen ----------------
  function foldFilters() {
    var panel = document.getElementById("filter-panel");
    if (!panel || !window.matchMedia) return;
    var narrow = window.matchMedia("(max-width: 639px)");
    if (narrow.matches && !panel.hasAttribute("data-active")) panel.open = false;
    narrow.addEventListener("change", function () { if (!narrow.matches) panel.open = true; });
  }

  ready(function () {
    watchToasts();
    suggestTimezone();
    foldFilters();
  });
})();
