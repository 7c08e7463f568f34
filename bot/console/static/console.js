// The console's only script: confirm destructive forms, and show that a slow request is under way.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  var button = form.querySelector("button[type=submit]");
  if (button && form.method.toLowerCase() === "post") {
    window.setTimeout(function () { button.disabled = true; button.textContent = "Đang xử lý…"; }, 0);
  }
});

// A file over the upload limit is refused before it is sent (the server refuses it too).
document.addEventListener("change", function (event) {
  var input = event.target;
  var max = input.getAttribute && input.getAttribute("data-max-bytes");
  if (!max || !input.files) { return; }
  var tooBig = input.files.length > 0 && input.files[0].size > Number(max);
  input.setCustomValidity(tooBig ? input.getAttribute("data-too-large") : "");
  if (tooBig) { input.reportValidity(); }
});
