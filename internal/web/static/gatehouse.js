// Progressive enhancement only: every page works without this file.
// Copy buttons copy the value of the input they name.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy");
  if (!button) return;
  var input = document.getElementById(button.dataset.copy);
  if (!input) return;
  input.select();
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value);
  } else {
    document.execCommand("copy");
  }
  var label = button.textContent;
  button.textContent = "✓";
  setTimeout(function () { button.textContent = label; }, 1500);
  // The check mark is for the eye; a screen reader hears the live region,
  // emptied first so that a second copy is announced too.
  var status = document.getElementById("copied");
  if (status) {
    status.textContent = "";
    setTimeout(function () { status.textContent = status.dataset.text; }, 100);
  }
});

// A value shown once (a new client secret, marked data-once) is not shown
// again by the back button: the browser may keep the page in its
// back/forward cache even though it is no-store. Leaving the page blanks
// the value in the copy the cache keeps, and a page restored from that cache
// is fetched anew instead, which the server answers without the value.
window.addEventListener("pagehide", function () {
  document.querySelectorAll("[data-once]").forEach(function (input) {
    input.value = "";
    input.removeAttribute("value");
  });
});
window.addEventListener("pageshow", function (event) {
  if (event.persisted && document.querySelector("[data-once]")) location.reload();
});

// The phone's menu (a details element) closes with Escape, and when the
// focus leaves it, as a menu does, rather than stay open over the page.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  var menu = document.querySelector("details.menu[open]");
  if (!menu) return;
  menu.open = false;
  menu.querySelector("summary").focus();
});
document.addEventListener("focusin", function (event) {
  var menu = document.querySelector("details.menu[open]");
  if (menu && !menu.contains(event.target)) menu.open = false;
});
