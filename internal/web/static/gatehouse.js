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
});
