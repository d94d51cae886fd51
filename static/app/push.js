/* The "Push reminders" card of the settings page: asks for permission, registers the
   service worker, subscribes with the server's VAPID key and tells the server. */
(function () {
  "use strict";

  const card = document.getElementById("push-settings");
  if (!card) {
    return;
  }
  const status = card.querySelector("[data-push-status]");
  const enableButton = card.querySelector("[data-push-enable]");
  const disableButton = card.querySelector("[data-push-disable]");

  function say(text) {
    status.textContent = text;
  }

  function show(subscribed) {
    enableButton.hidden = subscribed;
    disableButton.hidden = !subscribed;
  }

  if (!window.isSecureContext || !("serviceWorker" in navigator) || !("PushManager" in window)) {
    say("This browser cannot receive push notifications here: they need a secure (https) address and a browser with push support.");
    return;
  }

  function keyBytes(base64url) {
    const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": card.dataset.csrf },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let detail = "the server answered " + response.status;
      try {
        const data = await response.json();
        detail = data.detail || Object.values(data.errors || {}).flat().join(" ") || detail;
      } catch (error) {
        /* not JSON: keep the status */
      }
      throw new Error(detail);
    }
    return response.json();
  }

  async function currentSubscription() {
    const registration = await navigator.serviceWorker.getRegistration("/");
    return registration ? registration.pushManager.getSubscription() : null;
  }

  function blocked() {
    return Notification.permission === "denied";
  }

  async function refresh() {
    const subscription = await currentSubscription();
    show(Boolean(subscription));
    if (blocked()) {
      enableButton.disabled = true;
      say("Notifications are blocked for this site: allow them in the browser's site settings.");
    } else {
      say(subscription ? "Push reminders are on in this browser." : "Push reminders are off in this browser.");
    }
  }

  async function enable() {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      await refresh();
      if (!blocked()) {
        say("Push reminders need permission to show notifications.");
      }
      return;
    }
    await navigator.serviceWorker.register(card.dataset.swUrl, { scope: "/" });
    const registration = await navigator.serviceWorker.ready;
    say("Subscribing at this browser's push service…");
    const subscription =
      (await registration.pushManager.getSubscription()) ||
      (await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(card.dataset.pushKey),
      }));
    await post(card.dataset.subscribeUrl, subscription.toJSON());
    show(true);
    say("Push reminders are on in this browser.");
  }

  async function disable() {
    const subscription = await currentSubscription();
    if (subscription) {
      await post(card.dataset.unsubscribeUrl, { endpoint: subscription.endpoint });
      await subscription.unsubscribe();
    }
    show(false);
    say("Push reminders are off in this browser.");
  }

  function guarded(action, button, failure) {
    return async function () {
      button.disabled = true;
      try {
        await action();
      } catch (error) {
        say(failure + ": " + error.message);
      } finally {
        button.disabled = blocked() && button === enableButton;
      }
    };
  }

  enableButton.addEventListener("click", guarded(enable, enableButton, "Could not enable push reminders"));
  disableButton.addEventListener("click", guarded(disable, disableButton, "Could not disable push reminders"));
  refresh().catch((error) => say("Could not read this browser's push state: " + error.message));
})();
